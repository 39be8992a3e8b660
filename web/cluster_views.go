package web

import (
	"cmp"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/offerdeck/offerdeck/mesos/cluster"
	"github.com/offerdeck/offerdeck/ui"
)

// frameworksShown bounds the frameworks table.
const frameworksShown = 500

// clusterTasksPerPage is a page of another framework's tasks.
const clusterTasksPerPage = tasksPerPage

func clusterStatusView(m *model) ui.ClusterStatus {
	c := &m.cluster
	s := c.status
	return ui.ClusterStatus{
		On: c.on, Loaded: c.loaded, Live: s.Live, Polling: s.Source == cluster.SourcePoll, Refused: s.Refused,
		PollEvery: s.PollEvery.String(), Master: s.Master, Err: s.Err, Since: s.Since, LastRead: s.LastRead, RetryAt: s.RetryAt,
	}
}

// ours is what this framework's live tasks hold on an agent, and how many
// they are, from the framework's own tasks.
func (m *model) ours(agentID string) (cluster.Resources, int) {
	var r cluster.Resources
	n := 0
	for t := range m.agentTasks(agentID) {
		if !t.Terminal() {
			r = r.Add(cluster.ResourcesOf(t.Resources))
			n++
		}
	}
	return r, n
}

// offeredToUs is what is offered to this framework now on one agent.
func (m *model) offeredToUs(agentID string) cluster.Resources {
	var r cluster.Resources
	for _, o := range m.offersByAgent[agentID] {
		r = r.Add(cluster.ResourcesOf(o.Offer.GetResources()))
	}
	return r
}

// resourceRows splits total into used by us, used by others, offered to
// us and idle, per resource (gpus only where there are some).
func resourceRows(total, used, ours, offered cluster.Resources) []ui.ResourceRow {
	others := used.Sub(ours)
	idle := total.Sub(used).Sub(offered)
	type pick struct {
		name string
		get  func(cluster.Resources) float64
		unit string
	}
	picks := []pick{
		{"cpus", func(r cluster.Resources) float64 { return r.CPUs }, ""},
		{"mem", func(r cluster.Resources) float64 { return r.Mem }, " MB"},
		{"disk", func(r cluster.Resources) float64 { return r.Disk }, " MB"},
		{"ports", func(r cluster.Resources) float64 { return float64(r.Ports) }, ""},
	}
	if total.GPUs > 0 {
		picks = append(picks, pick{"gpus", func(r cluster.Resources) float64 { return r.GPUs }, ""})
	}
	var rows []ui.ResourceRow
	for _, p := range picks {
		t := p.get(total)
		if t == 0 && p.name == "ports" {
			continue
		}
		pct := func(r cluster.Resources) float64 {
			if t <= 0 {
				return 0
			}
			return min(100, 100*p.get(r)/t)
		}
		f := func(r cluster.Resources) string { return amount(p.get(r)) + p.unit }
		row := ui.ResourceRow{
			Name: p.name, Total: f(total), Ours: f(ours), Others: f(others), Offered: f(offered), Idle: f(idle),
			OursPct: pct(ours), OthersPct: pct(others), OfferedPct: pct(offered),
		}
		row.OthersPct = min(row.OthersPct, 100-row.OursPct)
		row.OfferedPct = min(row.OfferedPct, 100-row.OursPct-row.OthersPct)
		row.IdlePct = 100 - row.OursPct - row.OthersPct - row.OfferedPct
		row.Text = fmt.Sprintf("%s: %s of %s used by us, %s by others, %s offered to us, %s idle",
			p.name, f(ours), f(total), f(others), f(offered), f(idle))
		row.Short = fmt.Sprintf("%s us · %s others · %s offered · %s idle of %s", f(ours), f(others), f(offered), f(idle), f(total))
		rows = append(rows, row)
	}
	return rows
}

// amount writes a resource amount: at most two decimals, no trailing
// zeros.
func amount(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

func clusterResourcesView(m *model) ui.ClusterResources {
	c := &m.cluster
	var ours cluster.Resources
	if f := c.frameworks[m.conn.FrameworkID]; f != nil {
		ours = f.Used
	}
	v := ui.ClusterResources{Rows: resourceRows(c.summary.Total, c.summary.Used, ours, c.offered)}
	for _, role := range slices.Sorted(maps.Keys(c.summary.UsedByRole)) {
		r := c.summary.UsedByRole[role]
		v.Roles = append(v.Roles, ui.RoleRow{Role: role, CPUs: amount(r.CPUs), Mem: amount(r.Mem) + " MB", Disk: amount(r.Disk) + " MB"})
	}
	return v
}

func clusterCountsView(m *model) ui.ClusterCounts {
	s := m.cluster.summary
	v := ui.ClusterCounts{
		Active: s.Active, Deactivated: s.Deactivated, Disconnected: s.Disconnected, Gone: s.Gone,
		FrameworksActive: s.FrameworksActive, FrameworksInactive: s.FrameworksInactive,
	}
	for state, n := range s.TasksByState {
		v.States = append(v.States, ui.StateCount{State: ui.TaskState(state), Count: n})
		v.Tasks += n
	}
	slices.SortFunc(v.States, func(a, b ui.StateCount) int { return cmp.Compare(a.State.Word, b.State.Word) })
	return v
}

func frameworksTable(m *model) ui.FrameworksTable {
	c := &m.cluster
	var t ui.FrameworksTable
	switch s := c.status; {
	case s.Source == cluster.SourcePoll:
		t.OffersNote = "theirs are read from /master/state every " + s.PollEvery.String() + "."
	case s.RefreshEvery > 0:
		t.OffersNote = "theirs are read with GET_FRAMEWORKS every " + s.RefreshEvery.String() + ", and shown as of that read."
	default:
		t.OffersNote = "theirs are read once, when the stream begins."
	}
	order := c.fwOrder
	// Ours first: the one the reader came from.
	if c.frameworks[m.conn.FrameworkID] != nil {
		order = append([]string{m.conn.FrameworkID}, slices.DeleteFunc(slices.Clone(order), func(id string) bool { return id == m.conn.FrameworkID })...)
	}
	if len(order) > frameworksShown {
		t.More = len(order) - frameworksShown
		order = order[:frameworksShown]
	}
	for _, id := range order {
		f := c.frameworks[id]
		row := ui.FrameworkRow{
			ID: f.ID, Name: f.Name, User: f.User, Principal: f.Principal, Roles: strings.Join(f.Roles, ", "),
			Active: f.Active, Connected: f.Connected, Registered: f.Registered, Tasks: f.Tasks,
			Used: resourcesText(f.Used), WebUI: safeWebUI(f.WebUI), TasksHref: "/tasks?framework=" + url.QueryEscape(f.ID),
		}
		if f.ID == m.conn.FrameworkID {
			row.Ours, row.Offered, row.TasksHref = true, resourcesText(c.offered), "/tasks"
		} else if !f.OfferedAt.IsZero() {
			row.Offered, row.OfferedAt = resourcesText(f.Offered), f.OfferedAt
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// safeWebUI keeps a framework's web UI link only when it is http(s): the
// master passes on whatever the framework said.
func safeWebUI(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

func resourcesText(r cluster.Resources) string {
	if r == (cluster.Resources{}) {
		return "nothing"
	}
	parts := []string{"cpus " + amount(r.CPUs), "mem " + amount(r.Mem) + " MB"}
	if r.Disk > 0 {
		parts = append(parts, "disk "+amount(r.Disk)+" MB")
	}
	if r.GPUs > 0 {
		parts = append(parts, "gpus "+amount(r.GPUs))
	}
	if r.Ports > 0 {
		parts = append(parts, fmt.Sprintf("%d ports", r.Ports))
	}
	return strings.Join(parts, ", ")
}

func clusterAgentRow(m *model, id string) ui.ClusterAgentRow {
	a := m.cluster.agents[id]
	ours, n := m.ours(id)
	row := ui.ClusterAgentRow{
		DOMID: domID("cagent-", id), ID: id, Hostname: a.Hostname, State: "active", Registered: a.Registered,
		Resources: resourceRows(a.Total, a.Used, ours, m.offeredToUs(id)), Tasks: a.Tasks, Ours: n,
		TasksHref: "/tasks?agent=" + url.QueryEscape(id),
	}
	switch {
	case a.Deactivated:
		row.State = "deactivated"
	case !a.Active:
		row.State = "disconnected"
	}
	for _, at := range a.Attributes {
		name, value, _ := strings.Cut(at, ":")
		row.Attributes = append(row.Attributes, ui.Attr{Name: name, Value: value})
	}
	return row
}

func clusterTaskRow(m *model, t *cluster.Task) ui.ClusterTaskRow {
	agent := cmp.Or(m.cluster.hostnames[t.AgentID], t.AgentID)
	return ui.ClusterTaskRow{
		DOMID: clusterTaskDOMID(t.Key()), ID: t.ID, Name: cmp.Or(t.Name, t.ID), State: ui.TaskState(t.State),
		Agent: agent, Resources: resourcesText(t.Resources), Role: t.Role, Updated: t.Updated,
	}
}

func clusterTaskDOMID(k cluster.TaskKey) string {
	return domID("ctask-", k.FrameworkID+"/"+k.TaskID)
}

func clusterTasksPageID(frameworkID string) string {
	return domID("ctasks-", frameworkID)
}

func clusterTasksBodyID(frameworkID string) string {
	return domID("ctasks-body-", frameworkID)
}
