package ui

import "time"

// Flash is the visible answer to an action, shown once on the next page.
type Flash struct {
	// Kind is "ok" or "error".
	Kind    string
	Message string
}

// Form carries what a page's own action forms need. Forms inside live
// regions carry none of it: the same bytes go to every viewer, so the
// client script gives each submission a request id of its own, and
// without the script the answer returns to the page the form was on.
type Form struct {
	// RequestID makes a repeated submission (double click, reload) do the
	// action once.
	RequestID string
	// Back is where to return after the action, without JavaScript.
	Back string
}

// Pager says which part of a long list a page shows, with links to the
// rest. The zero Pager means the whole list fits.
type Pager struct {
	// Showing is e.g. "101–200 of 10,000 agents"; Prev and Next are URLs,
	// "" at the ends.
	Showing, Prev, Next string
	// Limit is how many items the page holds; live inserts beyond it
	// belong to another page.
	Limit int
}

// Attr is an agent attribute as a chip: name muted, value strong.
type Attr struct {
	Name, Value string
}

// Offers is the view model of the offers page.
type Offers struct {
	Layout Layout
	// Filter is the filter as typed: attribute tests (rack=r2d2, pod~demo)
	// and free text.
	Filter  string
	Summary OffersSummary
	Policy  OffersPolicy
	Groups  []AgentGroup
	// Hidden counts offers the filter hides.
	Hidden int
	Pager  Pager
}

// OffersSummary says how much is offered, and when nothing is, why.
type OffersSummary struct {
	Offers, Agents, Waiting int
	// Subscribed and Suppressed explain an empty page.
	Subscribed, Suppressed bool
}

// OffersPolicy is the hold policy and the Suppress or Revive button.
type OffersPolicy struct {
	// Text describes the hold policy; Suppressed reports suppressed
	// offers.
	Text       string
	Suppressed bool
}

// Choice is one option of a menu.
type Choice struct {
	Value, Label string
}

// AgentGroup is an agent with the offers it holds now; an agent with none
// says what it waits for.
type AgentGroup struct {
	DOMID      string
	AgentID    string
	Hostname   string
	Attributes []Attr
	Offers     []OfferView
	// Search is the lower-case text the client filters on; Hidden
	// reports that the page's filter hides the card.
	Search string
	Hidden bool
	// Waiting, when the agent has no offer, says why: e.g. "declined" with
	// Until the end of the refuse filter, or "offered to others".
	Waiting string
	Since   time.Time
	Until   time.Time
	// Calls links to the calls its last offer caused (its ACCEPT or
	// DECLINE), when it had one.
	Calls string
	// Removed is when the master removed the agent (zero: it was not).
	Removed time.Time
}

// OfferView is one offer on the offers page.
type OfferView struct {
	DOMID   string
	ID      string
	ShortID string
	AgentID string
	// Resources lists every resource: scalars with units, port ranges,
	// sets, with role or reservation when not "*".
	Resources []Resource
	// Arrived is when it came and HoldUntil when the hold policy
	// declines it.
	Arrived, HoldUntil time.Time
}

// Resource is one resource of an offer or task, formatted.
type Resource struct {
	Name, Value string
	// Role is "" for unreserved resources, else e.g. "eng (static)".
	Role string
}

// Tasks is the view model of the tasks page.
type Tasks struct {
	Layout      Layout
	StateFilter string
	AgentFilter string
	Query       string
	StateNames  []Choice
	Rows        []TaskRow
	Hidden      int
	Pager       Pager
	// Total counts the tasks before any filter.
	Total  int
	Older  []TaskRow // tasks of a registration the master removed
	CanAct bool
	Form   Form
	// Cluster says the cluster view is on: other frameworks' tasks can be
	// listed too.
	Cluster bool
}

// TaskRow is one task in a list.
type TaskRow struct {
	DOMID string
	// ID is the task's id, for links; Shown is the id as shown, with any
	// character that reorders text made visible.
	ID        string
	Shown     string
	Name      string
	State     State
	Hostname  string
	Resources string
	Ports     string
	// Launched is when the task was launched; zero when unknown.
	Launched time.Time
	// Message is the latest status message.
	Message string
	// Health is "healthy" or "unhealthy" after a health check result,
	// else empty.
	Health string
	// Updated is the timestamp of the latest status, in milliseconds
	// since the Unix epoch by the clock of whoever sent it (agent or
	// master), 0 before any; pages carry it as data-updated for tools
	// such as the latency bench.
	Updated int64
	Live    bool // not terminal: it can be killed, unless Unknown
	// Unknown: the master's last word was TASK_UNKNOWN, so a KILL has
	// nothing to act on.
	Unknown  bool
	Killing  bool
	Orphan   bool
	Search   string
	AgentID  string
	StateKey string
}

// TaskDetail is the view model of one task's page.
type TaskDetail struct {
	Layout  Layout
	Row     TaskRow
	Facts   TaskFacts
	History []HistoryLine
	// Stdout and Stderr are the tails read when the page was rendered;
	// their Next offsets let the client follow from there.
	Stdout, Stderr         string
	StdoutNext, StderrNext int64
	OutputErr              string
	CanAct                 bool
	Form                   Form
}

// TaskFacts is what a task was launched with.
type TaskFacts struct {
	ID        string
	Hostname  string
	Command   string
	Image     string
	OfferID   string
	AgentID   string
	Framework string
	Resources []Resource
	// Calls and OfferCalls link to the calls about the task and about
	// the offer it was launched on.
	Calls, OfferCalls string
}

// HistoryLine is one status update in a task's timeline.
type HistoryLine struct {
	// ID names the line's element: it stays the same for one status.
	ID                          string
	Time                        time.Time
	Source, Reason, Message     string
	State                       State
	Acked, NeedsAck, Reconciled bool
}

// Launch is the view model of the launch form.
type Launch struct {
	Layout Layout
	Fields LaunchFields
	// OfferID and OfferHost are set when the form accepts one offer.
	OfferID, OfferHost string
	Preview            []PreviewLine
	// FitMap is the rack map marked with where the spec fits.
	FitMap FitMap
	// OfferHoldUntil is when the dashboard declines the offer if nobody
	// acts on it; after that, Accept queues the spec pinned to the agent.
	OfferHoldUntil time.Time
	// OfferAgent is the offer's agent id, to which the spec is pinned if
	// the offer is gone when the form is sent.
	OfferAgent string
	Queue      []QueuedView
	// Error heads what is wrong with the last submission, and Problems
	// lists each problem; Invalid names the fields at fault.
	Error    string
	Problems []string
	Invalid  map[string]bool
	// NeverFits reports a spec refused because no agent seen can run it,
	// so the form points at its "wait for a bigger agent" box.
	NeverFits bool
	CanAct    bool
	// Viewer reports a logged-in viewer, who may look but not launch.
	Viewer bool
	Form   Form
}

// LaunchFields are the form's values, as typed.
type LaunchFields struct {
	Name, Command, Image, CPUs, Mem, Disk, Ports, Instances, Env, Constraints string
	// Wait is the "wait for a bigger agent" box.
	Wait bool
}

// PreviewLine says whether an agent's held offers, together, fit the
// form's spec, and why not.
type PreviewLine struct {
	OfferID, Hostname string
	Fits              bool
	Reasons           []string
	// Amount is what the agent's offers hold together ("cpus 2, mem 496
	// MB, 1001 ports") and Offers how many offers that is; empty and 0 for
	// a line that is not one agent.
	Amount string
	Offers int
}

// QueuedView is a spec waiting in the launch queue.
type QueuedView struct {
	DOMID    string
	ID       string
	Name     string
	Command  string
	Left     int
	Total    int
	Launched []string
	Why      []PreviewLine
	// Summary counts what the last offers said ("last 50 offers: 30 short
	// of mem, 12 failed rack==c3po"); empty before any offer.
	Summary string
}

// Agents is the view model of the agents page.
type Agents struct {
	Layout Layout
	Rows   []AgentRow
	Pager  Pager
	// Cluster is every agent of the cluster, when the cluster view is on.
	Cluster *ClusterAgents
}

// AgentRow is one agent seen in offers.
type AgentRow struct {
	DOMID, ID, Hostname string
	Attributes          []Attr
	Offered             string
	LastOffer           time.Time
	Removed             time.Time
	Tasks               int
	Running             int
}

// Events is the view model of the events page.
type Events struct {
	Layout Layout
	Types  []Toggle
	Rows   []EventRow
	// Heartbeats counts the heartbeats among the events kept.
	Heartbeats int
	// Newest is the number of the newest event kept: the list holds the
	// events after Newest-Keep.
	Newest uint64
	// Shown lists the event types shown, space-separated: live rows of
	// other types are not added.
	Shown string
	// Keep is how many rows the list holds; older ones leave as new ones
	// arrive.
	Keep int
}

// Toggle is a filter that is on or off, with the URL that flips it.
type Toggle struct {
	Label string
	On    bool
	Href  string
}

// EventRow is one master event.
type EventRow struct {
	Seq                        uint64
	DOMID, Type, Summary, JSON string
	Time                       time.Time
	// Whole, when JSON is cut short, is where the whole event is.
	Whole string
}

// Audit is the view model of the audit log.
type Audit struct {
	Layout Layout
	Rows   []AuditRow
	// Keep is how many rows the list holds as new ones arrive.
	Keep int
	// Empty reports an audit log without entries; More is the URL of
	// older entries, "" when there are none.
	Empty bool
	More  string
}

// AuditRow is one audit entry.
type AuditRow struct {
	Time                                                      time.Time
	DOMID, User, Origin, Action, Target, Request, Result, Err string
	// Calls links to the calls the action sent, "" for an action that
	// sends none.
	Calls string
}

// Calls is the view model of the calls page: what the framework said to
// the master, the other half of the events page.
type Calls struct {
	Layout Layout
	Types  []Toggle
	Causes []Toggle
	Rows   []CallRow
	// Acks counts the acknowledgements among the calls kept.
	Acks int
	// Newest is the number of the newest call kept: the list holds the
	// calls after Newest-Keep.
	Newest uint64
	// Shown and ShownCauses list the types and causes shown (tokens,
	// space-separated); Match, when set, is the one link token a row must
	// carry (an offer, task or audit entry): live rows that do not match
	// are not added.
	Shown, ShownCauses, Match string
	// Subject says what Match names, in words, and All links to every
	// call.
	Subject, All string
	Keep         int
	// Embedded says the master is the embedded stand-in, whose secret
	// nobody can know.
	Embedded bool
}

// CallRow is one call to the master and its answer.
type CallRow struct {
	Seq   uint64
	DOMID string
	Time  time.Time
	Type  string
	// Times is "×64" for a call standing for a burst of requests, else "".
	Times     string
	Cause     string // token of the cause's kind, for the filter
	CauseText string
	About     string // the first offer or task it is about, in short
	Status    string // "202 Accepted", or "no answer"
	OK        bool
	Answer    string
	Took      string
	JSON      string
	Note      string // why the body is shown as it is
	Curl      string
	CurlNote  string
	Links     []Link
	Tokens    string // what the row is about, for the link filter
}

// Link is a labelled link.
type Link struct {
	Label, Href string
}
