package ui

import (
	"strings"
	"time"
)

// Board is the view model of the demo board: offers and resources as
// pictures, for a room watching a projector.
type Board struct {
	Layout Layout
	Flow   BoardFlow
	Lanes  BoardLanes
	Racks  BoardRacks
	Chart  BoardChart
}

// BoardChart is offered against used cpus and mem over Window, as step
// lines in seconds of the window ending at Now (slid on by the client),
// one value a Step. Pending says the totals are known but no step of
// them has ended yet.
type BoardChart struct {
	Now     time.Time
	Window  time.Duration
	Step    time.Duration
	Pending bool
	Series  []ChartSeries
	// Minutes are the chart's numbers at the end of each whole minute it
	// draws, oldest first: its table, which changes once a minute.
	Minutes []ChartMinute
}

// ChartMinute is what was used and offered at the end of a minute, in
// words.
type ChartMinute struct {
	At                                         time.Time
	CPUsUsed, CPUsOffered, MemUsed, MemOffered string
}

// ChartSeries is one resource: SVG path data for what was used (an area)
// and offered (a line), scaled to Max, and the same in words.
type ChartSeries struct {
	Name          string
	Max           string
	Used, Offered string
	Text          string
}

// BoardFlow counts offers received and how they ended since the dashboard
// started.
type BoardFlow struct {
	Received int
	// ReceivedLastMinute counts the offers received in the minute up to
	// the board's newest moment.
	ReceivedLastMinute int
	Items              []FlowItem // accepted, declined, expired, rescinded, held now
}

// FlowItem is one way an offer ended (or "held", still held), with its
// share of the offers received, and how many ended so in the minute up
// to the board's newest moment (-1 for those held).
type FlowItem struct {
	Key, Label string
	Count      int
	LastMinute int
	Percent    float64
}

// BoardLanes are the offer lanes: per agent, each offer the model keeps
// as a bar from its arrival to its end. X positions are seconds from
// Origin; the client slides the lanes on as time passes.
type BoardLanes struct {
	// Now is the newest moment the board knows of; the lanes are drawn
	// up to End, the end of the clock's step Now is in.
	Now, End time.Time
	// Origin is where positions count from: it moves seldom, so that a
	// lane stands as drawn while End moves on.
	Origin time.Time
	// Kept says how far back the lanes' offers reach, in words.
	Kept string
	// Shown is how much of Window a page shows unless the viewer picks
	// another span: the newest part.
	Shown time.Duration
	Rows  []LaneRow
	// More counts the agents beyond the rows shown.
	More int
}

// LaneRow is one agent's lane.
type LaneRow struct {
	DOMID string
	// Counts are its offers by how they ended: accepted, declined,
	// expired, rescinded, and those held (the flow's order).
	Counts [5]int
	// AgentID names the agent, so that a viewer's own layer (where a spec
	// typed on Launch fits) can find its lane.
	AgentID  string
	Hostname string
	Summary  string // the lane in words, for screen readers
	// Became names the tasks its accepted offers became, the first two,
	// and BecameMore counts the rest.
	Became     []string
	BecameMore int
	Bars       []LaneBar
}

// LaneBar is one offer: X and W in seconds from the lanes' Origin, How
// how it ended ("held" while held), Title what a pointer or a reader is
// told.
type LaneBar struct {
	X, W  float64
	How   string
	Title string
}

// BoardRacks are the agents grouped by an attribute (rack by default),
// each with a bar per resource.
type BoardRacks struct {
	By     string // the attribute grouped by; "" when none
	Groups []RackGroup
	// More counts the agents not shown, MoreGroups the groups not shown
	// (at scale the map shows the busiest).
	More, MoreGroups int
	// Picked is the attribute the viewer asked to group by, "" for the
	// default (rack); Choices are the attributes one can pick.
	Picked  string
	Choices []string
}

// bigMap is how many agents a map shows before its groups off the screen
// are left out of the page's rendering passes (see .board-racks-big).
const bigMap = 12

// big reports whether r shows more than bigMap agents.
func (r BoardRacks) big() bool {
	n := 0
	for _, g := range r.Groups {
		n += len(g.Agents)
	}
	return n > bigMap
}

// RackGroup is the agents with one value of the grouping attribute.
type RackGroup struct {
	// DOMID names the group's card on the board, whose live changes
	// re-render one card at a time; "" elsewhere.
	DOMID string
	Name  string
	// Size counts the rack's agents; Total meters them together (for a
	// rack of more than one); Agents are those shown.
	Size   int
	Total  []Meter
	Agents []BoardAgent
}

// BoardAgent is one agent's card: what our tasks use and what is offered
// to us, per resource.
type BoardAgent struct {
	// DOMID names the card on the board, whose live changes re-render
	// one card at a time; "" elsewhere.
	DOMID      string
	ID         string
	Hostname   string
	Attributes []Attr
	Removed    bool
	Meters     []Meter
	// Fit is where a spec fits, on the Launch page's map; nil on the
	// board, whose regions every viewer shares.
	Fit *AgentFit
}

// AgentFit says whether one instance of a spec fits an agent's held
// offers now, and why not.
type AgentFit struct {
	// Held reports whether the agent has offers held; without any, nothing
	// fits it now.
	Held    bool
	Fits    bool
	Reasons []string
	// Amount is what its offers hold together, when Held.
	Amount string
}

// FitMap is the rack map of the Launch page: every agent the board shows,
// marked with whether the spec being typed fits it.
type FitMap struct {
	Racks BoardRacks
	// Summary says how many fit, in words.
	Summary string
}

// Meter is one resource of an agent: used by our tasks, used by other
// frameworks' and offered to us, as shares of everything it has when the
// cluster's view knows it, else of what this framework sees of it (used
// and offered together). Text says ours in words; More the others and the
// idle part, when known.
type Meter struct {
	Name                           string
	UsedPct, OthersPct, OfferedPct float64
	Text, More                     string
}

// fitKey is how the mark and the card's data-fit name a fit: "yes", "no"
// or "none" (no offer held).
func fitKey(f *AgentFit) string {
	switch {
	case f == nil:
		return ""
	case !f.Held:
		return "none"
	case f.Fits:
		return "yes"
	}
	return "no"
}

func fitIcon(f AgentFit) string {
	switch fitKey(&f) {
	case "yes":
		return "✓"
	case "no":
		return "✕"
	}
	return "–"
}

func fitWord(f AgentFit) string {
	switch fitKey(&f) {
	case "yes":
		return "fits"
	case "no":
		return "does not fit"
	}
	return "no offer held"
}

// fitWhy is what the mark says on hover and focus: what is short, or
// what the offers hold.
func fitWhy(f AgentFit) string {
	switch fitKey(&f) {
	case "yes":
		return "held now: " + f.Amount
	case "no":
		return strings.Join(f.Reasons, "; ")
	}
	return "nothing can launch here until it offers again"
}
