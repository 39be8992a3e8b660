package web

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// connectionView is the header's light and words for the connection.
func connectionView(c scheduler.Connection, master string) ui.Connection {
	v := ui.Connection{Master: master}
	if c.Master != "" {
		v.Master = c.Master
	}
	switch c.State {
	case mesos.Subscribed:
		v.State, v.Label = "live", "live"
	case mesos.Connecting:
		v.State, v.Label = "waiting", "connecting…"
	default:
		v.State, v.Label = "offline", "offline"
		switch {
		case !c.RetryAt.IsZero():
			v.Label, v.RetryAt = "reconnecting", c.RetryAt
		case c.FrameworkID == "" && c.Err == "":
			v.State, v.Label = "waiting", "waiting for master"
		}
	}
	return v
}

// duration renders a configured duration the way a reader glances at
// it: "3 s", "2 min".
func duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " days"
}

func human(d time.Duration) string {
	switch {
	case d%(7*24*time.Hour) == 0 && d >= 7*24*time.Hour:
		n := int(d / (7 * 24 * time.Hour))
		if n == 1 {
			return "1 week"
		}
		return strconv.Itoa(n) + " weeks"
	case d%time.Hour == 0 && d >= time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h"
	}
	return d.String()
}

// number formats a quantity without trailing zeros.
func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// overviewView is the overview page's regions.
func overviewView(m *model, cfg Config) ui.Overview {
	return ui.Overview{
		Status: masterStatusView(m, cfg), Master: masterCardView(m, cfg), Framework: frameworkCardView(m),
		Offers: offersCardView(m), Tasks: tasksCardView(m), Recent: recentEvents(m),
	}
}

func masterStatusView(m *model, cfg Config) ui.MasterStatus {
	return ui.MasterStatus{Subscribed: m.subscribed(), Embedded: cfg.Embedded, Err: m.conn.Err, Removed: m.conn.Removed}
}

func masterCardView(m *model, cfg Config) ui.MasterCard {
	conn := connectionView(m.conn, cfg.Master)
	v := ui.MasterCard{Master: conn.Master, Embedded: cfg.Embedded, Simulated: cfg.Simulated, Conn: conn, LastHeard: m.conn.LastEvent}
	if mi := m.conn.MasterInfo; mi != nil {
		v.Version = mi.GetVersion()
	}
	if n := len(m.events); n > 0 && m.events[n-1].Time.After(v.LastHeard) {
		v.LastHeard = m.events[n-1].Time
	}
	return v
}

func frameworkCardView(m *model) ui.FrameworkCard {
	return ui.FrameworkCard{
		FrameworkID: m.conn.FrameworkID, StreamID: m.conn.StreamID,
		FailoverTimeout: human(scheduler.DefaultFailoverTimeout),
		Hold:            fmt.Sprintf("hold %s, then decline for %s s", duration(m.holdTime), number(m.refuseSeconds)),
	}
}

// offersCardView totals the held offers' resources.
func offersCardView(m *model) ui.OffersCard {
	v := ui.OffersCard{Offers: len(m.offers), Agents: m.offeringAgents(), Queued: len(m.queue)}
	if len(m.offers) == 0 {
		return v
	}
	var all []*mesos.Resource
	for _, o := range m.offers {
		all = append(all, o.Offer.GetResources()...)
	}
	v.Resources = quantities(all)
	return v
}

func tasksCardView(m *model) ui.TasksCard {
	var v ui.TasksCard
	for name, n := range m.byState {
		st := ui.TaskState(name)
		if name == "LAUNCHING" {
			st = stateOf(&scheduler.Task{Launching: true})
		}
		st.Name = name
		v.Counts = append(v.Counts, ui.StateCount{State: st, Count: n})
	}
	slices.SortFunc(v.Counts, func(a, b ui.StateCount) int { return cmp.Compare(a.State.Word, b.State.Word) })
	return v
}

// recentEvents are the newest ten events that are not heartbeats, newest
// first.
func recentEvents(m *model) []ui.EventLine {
	var lines []ui.EventLine
	for i := len(m.events) - 1; i >= 0 && len(lines) < 10; i-- {
		if e := m.events[i]; e.Type != "HEARTBEAT" {
			lines = append(lines, ui.EventLine{Time: e.Time, Type: e.Type, Summary: e.Summary})
		}
	}
	return lines
}

// counts are the tab counts.
func counts(m *model) ui.Counts {
	return ui.Counts{Offers: len(m.offers), Tasks: len(m.tasks), Agents: len(m.agents)}
}

// quantities totals resources for the overview.
func quantities(all []*mesos.Resource) []ui.Quantity {
	if len(all) == 0 {
		return nil
	}
	return []ui.Quantity{
		{Name: "cpus", Value: number(round3(mesos.ScalarSum(all, "cpus")))},
		{Name: "mem", Value: scalarText("mem", round3(mesos.ScalarSum(all, "mem")))},
		{Name: "disk", Value: scalarText("disk", round3(mesos.ScalarSum(all, "disk")))},
		// A count of ports, said so: "ports 3003" read as the port 3003.
		{Name: "ports", Value: strconv.FormatUint(mesos.RangeCount(mesos.Ranges(all, "ports")), 10) + " free"},
	}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
