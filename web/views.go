package web

import (
	"cmp"
	"fmt"
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
		if !c.RetryAt.IsZero() {
			if d := time.Until(c.RetryAt); d > 0 {
				v.Label = "reconnecting in " + ago(d)
			} else {
				v.Label = "reconnecting…"
			}
		} else if c.FrameworkID == "" && c.Err == "" {
			v.State, v.Label = "waiting", "waiting for master"
		}
	}
	return v
}

// ago renders a duration the way a reader glances at it: "3 s", "2 min".
func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "now"
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

func overviewView(snap *scheduler.Snapshot, layout ui.Layout, cfg Config, now time.Time) ui.Overview {
	c := snap.Conn
	v := ui.Overview{
		Layout:          layout,
		Embedded:        cfg.Embedded,
		Simulated:       cfg.Simulated,
		Subscribed:      c.State == mesos.Subscribed,
		Err:             c.Err,
		Removed:         c.Removed,
		Master:          layout.Conn.Master,
		FrameworkID:     c.FrameworkID,
		StreamID:        c.StreamID,
		LastEvent:       "never",
		FailoverTimeout: human(scheduler.DefaultFailoverTimeout),
		Hold:            fmt.Sprintf("hold %s, then decline for %s s", ago(snap.HoldTime), number(snap.RefuseSeconds)),
		Offers:          len(snap.Offers),
		Queued:          len(snap.Queue),
	}
	if mi := c.MasterInfo; mi != nil {
		v.MasterVersion, v.MasterID = mi.GetVersion(), mi.GetId()
	}
	if !c.LastEvent.IsZero() {
		v.LastEvent = ago(now.Sub(c.LastEvent)) + " ago"
	}
	agents := map[string]bool{}
	var all []*mesos.Resource
	for _, o := range snap.Offers {
		agents[o.AgentID] = true
		all = append(all, o.Offer.GetResources()...)
	}
	v.Agents = len(agents)
	v.Resources = quantities(all)
	counts := map[string]int{}
	for _, t := range snap.Tasks {
		name := t.State.String()
		if t.Launching {
			name = "TASK_STAGING"
		}
		counts[name]++
	}
	for name, n := range counts {
		v.TaskCounts = append(v.TaskCounts, ui.StateCount{State: ui.TaskState(name), Count: n})
	}
	slices.SortFunc(v.TaskCounts, func(a, b ui.StateCount) int { return cmp.Compare(a.State.Name, b.State.Name) })
	events := snap.Events
	for i := len(events) - 1; i >= 0 && len(v.RecentEvents) < 10; i-- {
		e := events[i]
		if e.Type == "HEARTBEAT" {
			continue
		}
		v.RecentEvents = append(v.RecentEvents, ui.EventLine{Time: e.Time.Format("15:04:05"), Type: e.Type, Summary: e.Summary})
	}
	return v
}

// quantities totals resources for the overview.
func quantities(all []*mesos.Resource) []ui.Quantity {
	if len(all) == 0 {
		return nil
	}
	return []ui.Quantity{
		{Name: "cpus", Value: number(mesos.ScalarSum(all, "cpus"))},
		{Name: "mem", Value: number(mesos.ScalarSum(all, "mem")) + " MB"},
		{Name: "disk", Value: number(mesos.ScalarSum(all, "disk")) + " MB"},
		{Name: "ports", Value: strconv.FormatUint(mesos.RangeCount(mesos.Ranges(all, "ports")), 10)},
	}
}
