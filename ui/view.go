package ui

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
}

// Connection describes the dashboard's link to the Mesos master.
type Connection struct {
	// State is one of "waiting", "live" or "offline"; it picks the colour.
	State string
	// Label is the words shown next to the light, e.g. "waiting for master".
	Label string
	// Master names the master, e.g. "embedded stand-in" or a URL.
	Master string
}

// NavItem is one tab of the navigation.
type NavItem struct {
	Href, Label string
}

// nav lists the pages that exist, in the order the header shows them.
func nav() []NavItem {
	return []NavItem{
		{Href: "/", Label: "Overview"},
	}
}

// Overview is the view model of the overview page.
type Overview struct {
	Layout Layout
	// Embedded reports whether the dashboard runs its own stand-in master.
	Embedded bool
	// Master is the configured master, as the user gave it.
	Master string
}

// Problem is the view model of an error page.
type Problem struct {
	Layout Layout
	// Status is the HTTP status code, Message what the reader is told.
	Status  int
	Message string
}
