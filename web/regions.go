package web

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// The live topics. Every page follows "header"; each page adds its own.
const (
	topicHeader   = "header"
	topicOverview = "overview"
	topicOffers   = "offers"
	// topicTasks carries the tasks table's rows for its filtered pages
	// and those past livePages, which follow the rows they show and
	// re-render when the table's members change. The unfiltered pages up
	// to livePages each have a topic of their own (tasksPageTopic).
	topicTasks  = "tasks"
	topicQueue  = "queue"
	topicAgents = "agents"
	topicEvents = "events"
	topicAudit  = "audit"
	topicCalls  = "calls"
	// The whole cluster's pages: its numbers, its frameworks, and other
	// frameworks' tasks (their rows; the agents' rows go with topicAgents).
	topicCluster      = "cluster"
	topicFrameworks   = "frameworks"
	topicClusterTasks = "cluster-tasks"
)

// A region is a part of a page that one component renders from the model
// alone: the page renders it, and the feed re-renders it whenever a part
// of the model it shows changed, publishing it when its bytes differ. A
// page is its regions and text that never changes; nothing on a page is
// live by any other way.
type region struct {
	topic  string
	id     string
	shows  part
	render func(m *model, cfg Config) templ.Component
}

// regions are the pages' single regions. The lists (offer cards, rows,
// lines) are the collections below, rendered item by item.
var regions = append([]region{
	{topicHeader, "conn", partConn, func(m *model, cfg Config) templ.Component {
		return ui.ConnLight(connectionView(m.conn, cfg.Master))
	}},
	{topicHeader, "vital-master", partConn, func(m *model, cfg Config) templ.Component {
		return ui.VitalMaster(connectionView(m.conn, cfg.Master).Master)
	}},
	{topicHeader, "storage-banner", partConn, func(m *model, cfg Config) templ.Component {
		return ui.StorageBanner(m.conn.StorageErr)
	}},
	{topicHeader, "nav-count-offers", partOffers, func(m *model, cfg Config) templ.Component {
		return ui.NavCount("nav-count-offers", counts(m).Offers)
	}},
	{topicHeader, "nav-count-tasks", partTasks, func(m *model, cfg Config) templ.Component {
		return ui.NavCount("nav-count-tasks", counts(m).Tasks)
	}},
	{topicHeader, "nav-count-agents", partOffers, func(m *model, cfg Config) templ.Component {
		return ui.NavCount("nav-count-agents", counts(m).Agents)
	}},

	{topicOverview, "master-status", partConn, func(m *model, cfg Config) templ.Component {
		return ui.MasterStatusView(masterStatusView(m, cfg))
	}},
	{topicOverview, "master-card", partConn | partEvents, func(m *model, cfg Config) templ.Component {
		return ui.MasterCardView(masterCardView(m, cfg))
	}},
	{topicOverview, "framework-card", partConn, func(m *model, cfg Config) templ.Component {
		return ui.FrameworkCardView(frameworkCardView(m))
	}},
	{topicOverview, "offers-card", partOffers | partQueue, func(m *model, cfg Config) templ.Component {
		return ui.OffersCardView(offersCardView(m))
	}},
	{topicOverview, "tasks-card", partTasks, func(m *model, cfg Config) templ.Component {
		return ui.TasksCardView(tasksCardView(m))
	}},
	{topicOverview, "recent-events-list", partEvents, func(m *model, cfg Config) templ.Component {
		return ui.RecentEvents(recentEvents(m))
	}},

	{topicOffers, "offers-summary", partOffers | partConn, func(m *model, cfg Config) templ.Component {
		return ui.OffersSummaryView(offersSummary(m))
	}},
	{topicOffers, "offers-policy", partConn, func(m *model, cfg Config) templ.Component {
		return ui.OffersPolicyView(offersPolicy(m))
	}},

	{topicTasks, "tasks-older", partOlder, func(m *model, cfg Config) templ.Component {
		return ui.TasksOlder(olderRows(m))
	}},

	{topicQueue, "queue-empty", partQueue, func(m *model, cfg Config) templ.Component {
		return ui.QueueEmpty(len(m.queue) == 0)
	}},
	{topicAgents, "agents-empty", partOffers, func(m *model, cfg Config) templ.Component {
		return ui.AgentsEmpty(len(m.agents) == 0)
	}},
	{topicEvents, "heartbeat-count", partEvents, func(m *model, cfg Config) templ.Component {
		return ui.HeartbeatCount(heartbeats(m))
	}},
	{topicCalls, "ack-count", partCalls, func(m *model, cfg Config) templ.Component {
		return ui.AckCount(acks(m))
	}},
	{topicAudit, "audit-foot", partAudit, func(m *model, cfg Config) templ.Component {
		return ui.AuditFoot(len(m.audit) == 0, olderAudit(m))
	}},

	{topicCluster, "cluster-status", partClusterStatus, clusterStatusRegion},
	{topicCluster, "cluster-resources", partCluster | partOffers | partTasks | partConn, func(m *model, cfg Config) templ.Component {
		return ui.ClusterResourcesView(clusterResourcesView(m))
	}},
	{topicCluster, "cluster-counts", partCluster, func(m *model, cfg Config) templ.Component {
		return ui.ClusterCountsView(clusterCountsView(m))
	}},
	{topicFrameworks, "cluster-status", partClusterStatus, clusterStatusRegion},
	{topicFrameworks, "frameworks-table", partFrameworks | partOffers | partConn | partClusterStatus, func(m *model, cfg Config) templ.Component {
		return ui.FrameworksTableView(frameworksTable(m))
	}},
	{topicAgents, "cluster-status", partClusterStatus, clusterStatusRegion},
	{topicClusterTasks, "cluster-status", partClusterStatus, clusterStatusRegion},

	{topicBoard, "lanes-asof", partOffers, func(m *model, cfg Config) templ.Component {
		return ui.LanesAsOf(m.latest)
	}},
	{topicBoard, "board-chart", partChart, func(m *model, cfg Config) templ.Component {
		return ui.BoardChartView(boardChart(m))
	}},
	{topicBoard, "chart-numbers", partChart, func(m *model, cfg Config) templ.Component {
		return ui.ChartNumbers(boardChart(m))
	}},
}, tasksPageRegions()...)

// renderer publishes what the dirt of one burst changed.
type renderer struct {
	l   *live
	ctx context.Context
}

func (r renderer) all() {
	l, m, d := r.l, r.l.m, &r.l.dirty
	for _, reg := range regions {
		if d.parts&reg.shows != 0 && l.follows(reg.topic) {
			l.put(r.ctx, reg.topic, change{ID: reg.id}, reg.render(m, l.s.cfg))
		}
	}
	r.boardFlow()
	r.boardMaps()
	r.boardLanes()
	r.agents()
	r.tasks()
	r.clusterAgents()
	r.clusterTasks()
	r.queue()
	r.events()
	r.calls()
	r.audit()
}

func clusterStatusRegion(m *model, cfg Config) templ.Component {
	return ui.ClusterStatusView(clusterStatusView(m))
}

// boardMaps re-renders the board's agent map in each grouping a page
// follows (see topicBoardMap).
func (r renderer) boardMaps() {
	l, m := r.l, r.l.m
	if l.dirty.parts&(partOffers|partTasks|partCluster) == 0 {
		return
	}
	for i := -1; i < len(m.groupings); i++ {
		if topic := groupingTopic(i); l.follows(topic) {
			r.boardMap(topic, boardMap(m, i))
		}
	}
}

// boardMap publishes the changes of one grouping of the map: the whole
// map when the groups or agents it shows changed (or after a full read of
// the cluster), else the cards of the agents that changed and their
// groups' totals, so that an offer coming or going costs a viewer a card.
func (r renderer) boardMap(topic string, v ui.BoardRacks) {
	l, m, d := r.l, r.l.m, &r.l.dirty
	shape := fmt.Sprintf("%t|%s", d.cluster.reset, mapShape(v))
	if l.putShaped(r.ctx, topic, "board-racks", shape, ui.BoardRacksView(v), "rack-", "rackagent-") {
		for _, g := range v.Groups {
			l.noteHead(topic, g.DOMID+"-total", strconv.Itoa(g.Size))
			for _, a := range g.Agents {
				l.noteHead(topic, a.DOMID, cardHead(a))
			}
		}
		return
	}
	agents, groups := map[string]bool{}, map[string]bool{} // that changed
	for id := range d.agents {
		agents[id], groups[domID("rack-", groupOf(m, id, v.By))] = true, true
	}
	for id := range d.cluster.agents {
		if m.agents[id] != nil {
			agents[id], groups[domID("rack-", groupOf(m, id, v.By))] = true, true
		}
	}
	for _, g := range v.Groups {
		if !groups[g.DOMID] {
			continue
		}
		if len(g.Total) > 0 {
			id := g.DOMID + "-total"
			if l.noteHead(topic, id, strconv.Itoa(g.Size)) {
				l.forget(topic, id+"-meters") // the totals carry them
				l.putPart(r.ctx, topic, "board-racks", change{ID: id}, ui.RackTotalView(g, 4))
			} else {
				l.putPart(r.ctx, topic, "board-racks", change{ID: id + "-meters"}, ui.MetersView(id+"-meters", g.Total))
			}
		}
		for _, a := range g.Agents {
			if !agents[a.ID] {
				continue
			}
			if l.noteHead(topic, a.DOMID, cardHead(a)) {
				l.forget(topic, a.DOMID+"-meters") // the card carries them
				l.putPart(r.ctx, topic, "board-racks", change{ID: a.DOMID}, ui.RackAgentView(a, 4))
			} else {
				l.putPart(r.ctx, topic, "board-racks", change{ID: a.DOMID + "-meters"}, ui.AgentMeters(a))
			}
		}
	}
}

// cardHead is what an agent's card shows besides its meters.
func cardHead(a ui.BoardAgent) string {
	return fmt.Sprintf("%s|%t|%v", a.Hostname, a.Removed, a.Attributes)
}

// boardFlow publishes the parts of the offer flow that changed.
func (r renderer) boardFlow() {
	l, m := r.l, r.l.m
	if l.dirty.parts&partOffers == 0 || !l.follows(topicBoard) {
		return
	}
	f := boardFlow(m)
	l.put(r.ctx, topicBoard, change{ID: "flow-received"}, ui.FlowReceived(f))
	l.put(r.ctx, topicBoard, change{ID: "flow-received-rate"}, ui.FlowReceivedRate(f))
	for _, it := range f.Items {
		id := "flow-" + it.Key
		l.put(r.ctx, topicBoard, change{ID: id + "-count"}, ui.FlowCount(it))
		l.put(r.ctx, topicBoard, change{ID: id + "-rate"}, ui.FlowRate(it))
		l.put(r.ctx, topicBoard, change{ID: id + "-bar"}, ui.FlowBar(it))
	}
}

// boardLanes publishes the board's lanes: all of them when the lanes
// shown or their origin changed, else the lanes of the agents whose offers
// changed, and the axis when the lanes' clock stepped on.
func (r renderer) boardLanes() {
	l, m, d := r.l, r.l.m, &r.l.dirty
	if d.parts&partOffers == 0 && len(d.lanes) == 0 || !l.follows(topicBoard) {
		return
	}
	v := boardLanes(m)
	var shape strings.Builder
	fmt.Fprintf(&shape, "%d|%d|%d", v.Origin.UnixMilli(), v.More, len(v.Rows))
	for _, row := range v.Rows {
		shape.WriteString("|" + row.AgentID)
	}
	stepped := len(v.Rows) > 0 && l.noteHead(topicBoard, "lanes-axis", strconv.FormatInt(v.End.UnixMilli(), 10))
	if l.putShaped(r.ctx, topicBoard, "board-lanes", shape.String(), ui.BoardLanesView(v), "lane-of-") {
		return
	}
	if stepped {
		l.putPart(r.ctx, topicBoard, "board-lanes", change{ID: "lanes-axis"}, ui.LanesAxis(v))
	}
	for _, row := range v.Rows {
		if d.agents[row.AgentID] || d.lanes[row.AgentID] {
			l.putPart(r.ctx, topicBoard, "board-lanes", change{ID: row.DOMID + "-bars"}, ui.LaneBars(row, v))
			l.putPart(r.ctx, topicBoard, "board-lanes", change{ID: row.DOMID + "-numbers"}, ui.LaneNumbers(row))
		}
	}
}

// mapShape is what decides the map's layout: its grouping, the choices,
// the groups and the agents it shows, and what it counts beyond them.
func mapShape(v ui.BoardRacks) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%q|%d|%d", v.By, v.Picked, v.Choices, v.More, v.MoreGroups)
	for _, g := range v.Groups {
		b.WriteString("|" + g.DOMID)
		for _, a := range g.Agents {
			b.WriteString("," + a.ID)
		}
	}
	return b.String()
}

// clusterAgents re-renders the cluster's agent rows whose agent changed,
// or whose offers to us or our tasks on it changed; after a full read of
// the cluster, the pages of the list re-render instead.
func (r renderer) clusterAgents() {
	l, m, d := r.l, r.l.m, &r.l.dirty
	if len(d.cluster.agents) == 0 && len(d.agents) == 0 && !d.cluster.reset || !l.follows(topicAgents) {
		return
	}
	if d.cluster.reset {
		l.resync(topicAgents, "cluster-agents-body")
		l.forget(topicAgents, "cagent-")
		return
	}
	c := &m.cluster
	rank := func(id string) int { return c.agentRank(id) }
	ids := sortedKeys(d.cluster.agents, rank)
	slices.Reverse(ids) // last first, as for the offer cards (see agents)
	for _, id := range ids {
		r.clusterAgent(id)
	}
	for id := range d.agents {
		if !d.cluster.agents[id] && c.agents[id] != nil {
			r.clusterAgent(id)
		}
	}
}

func (r renderer) clusterAgent(id string) {
	l, c := r.l, &r.l.m.cluster
	if c.agents[id] == nil {
		l.resync(topicAgents, domID("cagent-", id)) // a page of a paged list: see clusterTasks
		return
	}
	l.put(r.ctx, topicAgents, change{ID: domID("cagent-", id), Parent: "cluster-agents-body", Before: domIDOr("cagent-", c.agentAfter(id))},
		ui.ClusterAgentRowView(clusterAgentRow(r.l.m, id)))
}

// clusterTasks re-renders other frameworks' task rows that changed; after
// a full read of the cluster the pages of those tasks re-render instead.
// Their lists count as paged even when one page holds them all, so that a
// task arriving or leaving re-renders the page around it (pager included)
// rather than growing a list its reload would cut.
func (r renderer) clusterTasks() {
	l, m, d := r.l, r.l.m, &r.l.dirty
	if len(d.cluster.tasks) == 0 && len(d.cluster.frameworks) == 0 && !d.cluster.reset || !l.follows(topicClusterTasks) {
		return
	}
	c := &m.cluster
	if d.cluster.reset {
		for id := range c.frameworks {
			l.resync(topicClusterTasks, clusterTasksPageID(id))
		}
		l.forget(topicClusterTasks, "ctask-")
		return
	}
	for id := range d.cluster.frameworks {
		l.resync(topicClusterTasks, clusterTasksPageID(id))
	}
	for k := range d.cluster.tasks {
		t := c.tasks[k]
		if t == nil {
			// The list is paged: a row that leaves pulls the next page's
			// first up, so a page that shows it re-renders.
			l.resync(topicClusterTasks, clusterTaskDOMID(k))
			continue
		}
		l.put(r.ctx, topicClusterTasks, change{ID: clusterTaskDOMID(k), Parent: clusterTasksBodyID(k.FrameworkID), Prepend: true},
			ui.ClusterTaskRowView(clusterTaskRow(m, t)))
	}
}

// agents re-renders the offer cards and agent rows of the agents whose
// offers or tasks changed, each placed in the agents' order.
func (r renderer) agents() {
	l, m := r.l, r.l.m
	if len(l.dirty.agents) == 0 {
		return
	}
	offers, agents := l.follows(topicOffers), l.follows(topicAgents)
	if !offers && !agents {
		return
	}
	// Last first: a new card names the card after it, which is then on
	// the page even when it is new too (several agents first heard of in
	// one burst, as after a restart).
	ids := sortedKeys(l.dirty.agents, m.agentRank)
	slices.Reverse(ids)
	for _, id := range ids {
		if m.agents[id] == nil {
			continue
		}
		next := m.agentAfter(id)
		if offers {
			l.put(r.ctx, topicOffers, change{ID: domID("agent-", id), Parent: "offers-list", Before: domIDOr("agent-", next)},
				ui.AgentOffers(agentGroup(m, id)))
		}
		if agents {
			l.put(r.ctx, topicAgents, change{ID: domID("agentrow-", id), Parent: "agents-body", Before: domIDOr("agentrow-", next)},
				ui.AgentRowView(agentRow(m, id)))
		}
	}
}

// tasks re-renders the rows, heads and timelines of the tasks that
// changed: for the live pages of the table (tasksPages), for the pages
// that follow every task's row, which re-render when the table's members
// changed, and for the pages of the tasks themselves.
func (r renderer) tasks() {
	l, m, d := r.l, r.l.m, &r.l.dirty
	if len(d.tasks) == 0 {
		return
	}
	var rendered map[string]string // each row rendered once, for every topic that shows it
	row := func(id string) (string, bool) {
		if html, ok := rendered[id]; ok {
			return html, true
		}
		html, ok := l.render(r.ctx, ui.TaskRowView(taskRow(m.current(id))))
		if ok {
			if rendered == nil {
				rendered = map[string]string{}
			}
			rendered[id] = html
		}
		return html, ok
	}
	r.tasksPages(row)

	all := l.follows(topicTasks)
	members := d.order
	var followed [taskGroups]int8 // whether a task page follows each group: 1 yes, -1 no, 0 not asked yet
	for id, old := range d.tasks {
		t := m.current(id)
		if t == nil {
			continue // archived: the pages re-render (d.order)
		}
		if all {
			if old == nil || stateOf(old).Name != stateOf(t).Name || old.AgentID != t.AgentID {
				members = true // a filtered page may gain or lose it
			}
			if html, ok := row(id); ok {
				l.putHTML(topicTasks, change{ID: domID("task-", id)}, html)
			}
		}
		g := taskGroup(id)
		if followed[g] == 0 {
			followed[g] = -1
			if l.follows(taskGroupTopics[g]) {
				followed[g] = 1
			}
		}
		if followed[g] > 0 {
			topic := taskGroupTopics[g]
			view := taskRow(t)
			l.put(r.ctx, topic, change{ID: "task-head-" + domID("task-", id)}, ui.TaskHead(view))
			l.put(r.ctx, topic, change{ID: "task-facts-" + domID("", id)}, ui.TaskFactsView(taskFacts(t)))
			r.timeline(topic, old, t)
		}
	}
	if all && members {
		l.resync(topicTasks, "tasks-body")
	}
}

// timeline publishes what changed in a task's timeline since old: the
// lines of new statuses, lines that show something else now (mostly an
// acknowledgement), and the deletion of lines that left the history.
// Rendering the whole timeline for every update cost as much as
// everything else the feed did together once histories were long.
func (r renderer) timeline(topic string, old, t *scheduler.Task) {
	l := r.l
	list := "timeline-" + domID("", t.ID)
	if old == nil {
		l.put(r.ctx, topic, change{ID: list}, ui.Timeline(list, historyLines(t)))
		return
	}
	for i := range t.History {
		if j, ok := old.StatusIndex(t.StatusNumber(i)); !ok || !sameLine(old, j, t, i) {
			h := historyLine(t, i)
			l.put(r.ctx, topic, change{ID: h.ID, Parent: list}, ui.TimelineLine(h))
		}
	}
	for i := range old.History {
		if n := old.StatusNumber(i); !t.HasStatus(n) {
			l.del(topic, timelineLineID(t.ID, n), "")
		}
	}
}

// sameLine reports whether two versions of a status, History[i] of ta
// and History[j] of tb, show the same timeline line (see historyLine).
func sameLine(ta *scheduler.Task, i int, tb *scheduler.Task, j int) bool {
	a, b := ta.History[i], tb.History[j]
	return ta.Acked(i) == tb.Acked(j) && a.Message == b.Message && a.State == b.State && a.Source == b.Source &&
		a.Reason == b.Reason && a.HasReason == b.HasReason && a.Reconciliation == b.Reconciliation && a.Time.Equal(b.Time) &&
		a.UUID.IsSet() == b.UUID.IsSet()
}

// queue re-renders the queued specs that changed; one placed whole leaves.
func (r renderer) queue() {
	l, m := r.l, r.l.m
	if len(l.dirty.queue) == 0 || !l.follows(topicQueue) {
		return
	}
	for i := len(m.queue) - 1; i >= 0; i-- { // last first, as for the offer cards (see agents)
		q := m.queue[i]
		if !l.dirty.queue[q.ID] {
			continue
		}
		c := change{ID: domID("queued-", q.ID), Parent: "queue-list"}
		if i+1 < len(m.queue) {
			c.Before = domID("queued-", m.queue[i+1].ID)
		}
		l.put(r.ctx, topicQueue, c, ui.QueuedItem(queuedView(q)))
	}
	for id := range l.dirty.queue {
		if !slices.ContainsFunc(m.queue, func(q scheduler.Queued) bool { return q.ID == id }) {
			l.del(topicQueue, domID("queued-", id), "placed")
		}
	}
}

// events publishes the newest of the events that arrived: the list keeps
// no more.
func (r renderer) events() {
	l := r.l
	if len(l.dirty.events) == 0 || !l.follows(topicEvents) {
		return
	}
	for _, e := range l.dirty.events[max(0, len(l.dirty.events)-eventsKept):] {
		row := eventRow(*e)
		l.put(r.ctx, topicEvents, change{ID: row.DOMID, Parent: "events-list", Prepend: true, Seq: e.Seq}, ui.EventRowView(row))
	}
}

// calls publishes the newest of the calls sent: the list keeps no more.
func (r renderer) calls() {
	l := r.l
	if len(l.dirty.calls) == 0 || !l.follows(topicCalls) {
		return
	}
	for _, c := range l.dirty.calls[max(0, len(l.dirty.calls)-callsKept):] {
		row := callRow(*c)
		l.put(r.ctx, topicCalls, change{ID: row.DOMID, Parent: "calls-list", Prepend: true, Seq: c.Seq}, ui.CallRowView(row))
	}
}

func (r renderer) audit() {
	l := r.l
	if len(l.dirty.audit) == 0 || !l.follows(topicAudit) {
		return
	}
	for _, a := range l.dirty.audit {
		row := auditRow(a)
		l.put(r.ctx, topicAudit, change{ID: row.DOMID, Parent: "audit-body", Prepend: true}, ui.AuditRowView(row))
	}
}

// sortedKeys returns a set's keys ordered by rank.
func sortedKeys[V any](set map[string]V, rank func(string) int) []string {
	// Each key's rank is found once, not in every comparison: a task's is
	// a search of 100,000 at scale.
	type ranked struct {
		key  string
		rank int
	}
	rs := make([]ranked, 0, len(set))
	for k := range set {
		rs = append(rs, ranked{k, rank(k)})
	}
	slices.SortFunc(rs, func(a, b ranked) int { return cmp.Compare(a.rank, b.rank) })
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.key
	}
	return keys
}

func domIDOr(prefix, id string) string {
	if id == "" {
		return ""
	}
	return domID(prefix, id)
}
