package ui

import "time"

// ClusterStatus says where the whole cluster's view comes from and how
// fresh it is.
type ClusterStatus struct {
	// On is false when the dashboard runs without a cluster view; Loaded
	// once the whole cluster has been read.
	On, Loaded bool
	// Live: subscribed to the operator stream, or the last poll worked.
	Live bool
	// Polling: the master refused the operator API (Refused says how)
	// and /master/state is read every PollEvery.
	Polling   bool
	Refused   string
	PollEvery string
	Master    string
	Err       string
	Since     time.Time
	LastRead  time.Time
	RetryAt   time.Time
}

// Cluster is the view model of the Cluster page.
type Cluster struct {
	Layout    Layout
	Status    ClusterStatus
	Resources ClusterResources
	Counts    ClusterCounts
}

// ClusterResources is the cluster's resources: total, used, offered to
// this framework and idle, each with a meter; and what each role uses.
type ClusterResources struct {
	Rows  []ResourceRow
	Roles []RoleRow
}

// ResourceRow is one resource of the cluster, or of an agent.
type ResourceRow struct {
	Name                                    string
	Total, Ours, Others, Offered, Idle      string
	OursPct, OthersPct, OfferedPct, IdlePct float64
	// Text says the row in words, for the meter's readers; Short says it
	// briefly, beside a meter.
	Text, Short string
}

// RoleRow is what one role's tasks use.
type RoleRow struct {
	Role            string
	CPUs, Mem, Disk string
}

// ClusterCounts are the cluster's agents, frameworks and tasks counted.
type ClusterCounts struct {
	Active, Deactivated, Disconnected, Gone int
	FrameworksActive, FrameworksInactive    int
	States                                  []StateCount
	Tasks                                   int
}

// Frameworks is the view model of the Frameworks page.
type Frameworks struct {
	Layout Layout
	Status ClusterStatus
	Table  FrameworksTable
}

// FrameworksTable is every registered framework, ours marked.
type FrameworksTable struct {
	Rows []FrameworkRow
	// More counts the frameworks beyond the rows shown.
	More int
	// OffersNote says where others' offers come from and how often.
	OffersNote string
}

// FrameworkRow is one framework.
type FrameworkRow struct {
	ID, Name, User, Principal, Roles string
	Active, Connected, Ours          bool
	Registered                       time.Time
	Tasks                            int
	Used                             string
	// Offered is what is offered to it now (ours) or was at OfferedAt
	// (another's, from a full read); "" when unknown.
	Offered   string
	OfferedAt time.Time
	WebUI     string
	TasksHref string
}

// ClusterAgents is every agent of the cluster, a page of them.
type ClusterAgents struct {
	Status ClusterStatus
	Pager  Pager
	Rows   []ClusterAgentRow
}

// ClusterAgentRow is one agent: the unit replaced live.
type ClusterAgentRow struct {
	DOMID, ID, Hostname string
	Attributes          []Attr
	// State is "active", "deactivated" or "disconnected".
	State      string
	Registered time.Time
	Resources  []ResourceRow
	Tasks      int
	// Ours counts this framework's live tasks on it.
	Ours      int
	TasksHref string
}

// ClusterTasks is another framework's tasks, read-only: a page of them,
// newest first.
type ClusterTasks struct {
	Layout    Layout
	Status    ClusterStatus
	Framework string // its name
	ID        string
	// PageID names the page's one region; BodyID its rows' parent.
	PageID, BodyID string
	Pager          Pager
	Rows           []ClusterTaskRow
	Gone           bool // the framework is not registered (any more)
}

// ClusterTaskRow is one task of another framework: the unit replaced
// live.
type ClusterTaskRow struct {
	DOMID, ID, Name string
	State           State
	Agent           string
	Resources       string
	Role            string
	Updated         time.Time
}
