package ui

import "time"

// Layout is the view model of the frame every page shares: the header with
// the framework's vital signs and the navigation.
type Layout struct {
	// Title is the page's own title; the product name is appended.
	Title string
	// Active is the Href of the navigation tab for this page.
	Active string
	// CSS, JS and Icon are the URLs of the stylesheet, the client script
	// and the favicon.
	CSS, JS, Icon string
	// Conn is the connection to the Mesos master as the header shows it.
	Conn Connection
	// Counts are the numbers the tabs show: offers, tasks (live), agents.
	Counts Counts
	// Flash is the answer to the last action, shown once.
	Flash Flash
	// Topics are the live topics this page follows, and Seqs their
	// sequence numbers at render time, for the client to resume from.
	Topics string
	// Epoch identifies the server's sequence numbering; a client that
	// resumes with another epoch resyncs instead.
	Epoch string
	// Banner is a warning every page shows, e.g. an exposure opt-out.
	Banner string
	// StorageErr, when set, is why the dashboard cannot save its state.
	StorageErr string
	// Bare leaves the navigation and the master out of the header: for
	// someone not logged in.
	Bare bool
	// User is who is logged in ("" without authentication) and Role
	// their role; a viewer's page hides every action.
	User, Role string
	// Presenter reports presenter mode, the viewer's choice (a cookie).
	Presenter bool
}

// Counts are the tab counts.
type Counts struct {
	Offers, Tasks, Agents int
}

// Connection describes the dashboard's link to the Mesos master.
type Connection struct {
	// State is one of "waiting", "live" or "offline"; it picks the colour.
	State string
	// Label is the words shown next to the light, e.g. "waiting for master".
	Label string
	// RetryAt, when not zero, is when the next attempt starts; it is
	// shown after Label ("reconnecting in 4 s").
	RetryAt time.Time
	// Master names the master, e.g. "embedded stand-in" or a URL.
	Master string
}

// NavItem is one tab of the navigation.
type NavItem struct {
	Href, Label string
	// Count is the tab's count element id, "" for tabs without one.
	Count string
}

// nav lists the pages, in the order the header shows them.
func nav() []NavItem {
	return []NavItem{
		{Href: "/", Label: "Overview"},
		{Href: "/board", Label: "Board"},
		{Href: "/cluster", Label: "Cluster"},
		{Href: "/offers", Label: "Offers", Count: "nav-count-offers"},
		{Href: "/tasks", Label: "Tasks", Count: "nav-count-tasks"},
		{Href: "/launch", Label: "Launch"},
		{Href: "/agents", Label: "Agents", Count: "nav-count-agents"},
		{Href: "/frameworks", Label: "Frameworks"},
		{Href: "/events", Label: "Events"},
		{Href: "/calls", Label: "Calls"},
		{Href: "/audit", Label: "Audit"},
	}
}

// count returns the number a tab shows.
func (c Counts) count(id string) int {
	switch id {
	case "nav-count-offers":
		return c.Offers
	case "nav-count-tasks":
		return c.Tasks
	case "nav-count-agents":
		return c.Agents
	}
	return 0
}

// Overview is the view model of the overview page: its regions.
type Overview struct {
	Layout    Layout
	Status    MasterStatus
	Master    MasterCard
	Framework FrameworkCard
	Offers    OffersCard
	Tasks     TasksCard
	Recent    []EventLine
}

// MasterStatus says what the dashboard waits for while it is not
// subscribed, and that the master removed an earlier registration.
type MasterStatus struct {
	// Subscribed reports a live subscription; until then the region says
	// what it waits for, and Err why the last attempt failed.
	Subscribed bool
	Embedded   bool
	Err        string
	// Removed names a framework id the master removed; a new registration
	// replaced it and its tasks stay readable.
	Removed string
}

// MasterCard describes the leading master and the link to it.
type MasterCard struct {
	Master, Version string
	// Embedded reports the embedded stand-in, Simulated that it simulates
	// command tasks.
	Embedded, Simulated bool
	Conn                Connection
	// LastHeard is when the master was last heard from; zero for never.
	LastHeard time.Time
}

// FrameworkCard identifies the subscription and the offer policy.
type FrameworkCard struct {
	FrameworkID, StreamID string
	// FailoverTimeout is e.g. "1 week"; Hold e.g. "hold 30 s, then
	// decline for 5 s".
	FailoverTimeout, Hold string
}

// OffersCard totals what is offered now.
type OffersCard struct {
	// Offers counts held offers, Agents the agents they come from, and
	// Resources totals what they offer.
	Offers, Agents int
	Resources      []Quantity
	// Queued counts the specs waiting in the launch queue.
	Queued int
}

// TasksCard counts the tasks by state.
type TasksCard struct {
	Counts []StateCount
}

// Quantity is an amount of one resource, formatted for display.
type Quantity struct {
	Name, Value string
}

// StateCount is how many tasks are in one state.
type StateCount struct {
	State State
	Count int
}

// State is a task state as shown: one colour class, icon and word per
// state everywhere.
type State struct {
	// Name is the Mesos name, e.g. TASK_RUNNING; Word the short word shown,
	// e.g. "running"; Class picks the colour; Icon is the glyph.
	Name, Word, Class, Icon string
}

// EventLine is one master event in a list.
type EventLine struct {
	Time          time.Time
	Type, Summary string
}

// Problem is the view model of an error page.
type Problem struct {
	Layout Layout
	// Status is the HTTP status code, Message what the reader is told.
	Status  int
	Message string
}
