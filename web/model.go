package web

import (
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/cluster"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// model is the live side's one view of the framework: what every page
// shows and what every live change re-renders. It is built from one
// scheduler snapshot and then from the scheduler's changes, in order, by
// the feed alone (under live.mu); page handlers read it under the read
// lock together with the hub positions of their topics, so a page always
// shows exactly the state its positions name.
//
// The values it holds (tasks, offers) are the scheduler's immutable ones:
// a reader may keep them after it unlocks, never modify them.
type model struct {
	conn          scheduler.Connection
	holdTime      time.Duration
	refuseSeconds float64

	offers        map[string]scheduler.Offer
	offersByAgent map[string]map[string]scheduler.Offer
	// agents are every agent seen in an offer, in the order the pages
	// list them (hostname, then id); an agent stays listed between its
	// offers, saying what it waits for.
	agents     map[string]*agentState
	agentOrder []string

	// tasks holds the current registration's tasks, each in a slot of its
	// own that order points at too: a task's new value is put in its slot,
	// one lookup by id, and order stands.
	tasks map[string]*taskSlot
	// order holds the current registration's tasks oldest first (launch
	// time, then id descending), so that the newest, which the tasks
	// page shows first, are its tail, and a new task is appended.
	order []*taskSlot
	// posFrom: the slots of order below posFrom know their index in it
	// (taskSlot.pos). An insert or a delete moves posFrom down to where it
	// happened, and a lookup at or past it refreshes the tail (see
	// slotIndex). A health check moves nothing: finding its task is the
	// lookup of its slot, where a search of 100,000 by launch time was a
	// fifth of the dashboard's CPU at scale, and a second map of indexes
	// by id a twentieth.
	posFrom int
	// tasksByAgent holds the ids of the tasks on each agent; tasks holds
	// the tasks. Ids rather than tasks, so that a change that leaves a
	// task where it was (a health check) leaves this map alone: updating
	// it was 7% of the dashboard's CPU at 20,000 updates a second.
	tasksByAgent map[string]map[string]struct{}
	older        []*scheduler.Task // tasks of removed registrations, newest first

	queue  []scheduler.Queued     // oldest first
	events []scheduler.Event      // the newest eventsKept, oldest first
	calls  []scheduler.Call       // the newest callsKept, oldest first
	audit  []scheduler.AuditEntry // the newest auditPage, newest first

	// spans are the offers that ended within the board's window of the
	// latest one, oldest first; flow counts offers received and how they
	// ended since the model was built; latest is the newest time an offer
	// arrived or ended, the board's "now".
	spans  []offerSpan
	flow   map[string]int
	latest time.Time
	// lastMinute counts offers received and ended in each of the last
	// sixty seconds: the flow's rates.
	lastMinute [60]flowSecond
	// spansDropped are the agents whose lanes lost an old span since the
	// feed last took them: their lanes re-render.
	spansDropped map[string]bool
	// offered and used are the cpus and mem held in offers and used by
	// live tasks, kept as they change; samples are their steps over the
	// board's chart window, oldest first; chartAt is the chart's clock,
	// the last time the totals were sampled (see chartStep).
	offered, used resourceTotals
	samples       []sample
	chartAt       time.Time
	// agentOffered and agentUsed are the same per agent, for the board.
	agentOffered, agentUsed map[string]resourceTotals

	// byState counts tasks by shown state; live counts those not
	// terminal.
	byState map[string]int
	live    int

	// cluster is the whole cluster, from the operator stream.
	cluster clusterModel

	// groupings are the attribute names the agents offering to us have
	// had, in the order first seen, up to maxGroupings: the board's agent
	// map can be grouped by any of them, each grouping on a topic of its
	// own numbered by its place here (see groupingTopic).
	groupings     []string
	groupingIndex map[string]int
}

// agentState is an agent as the pages show it: what it is, and when its
// last offer left, why, and until when this framework refused its
// resources.
type agentState struct {
	scheduler.Agent
	Gone      string // why its last offer left: "declined", "expired", "accepted", "rescinded", ...
	GoneAt    time.Time
	GoneOffer string // the id of that offer
	RefuseEnd time.Time
}

// taskSlot is a task's place in the model: its latest value, and its
// index in order while the index is below the model's posFrom.
type taskSlot struct {
	t   *scheduler.Task
	pos int
}

// eventsKept is how many master events the model keeps: what the events
// page shows.
const eventsKept = eventsShown

func newModel() *model {
	return &model{
		offers: map[string]scheduler.Offer{}, offersByAgent: map[string]map[string]scheduler.Offer{},
		agents: map[string]*agentState{}, tasks: map[string]*taskSlot{},
		tasksByAgent: map[string]map[string]struct{}{}, byState: map[string]int{}, flow: map[string]int{},
		agentOffered: map[string]resourceTotals{}, agentUsed: map[string]resourceTotals{},
		cluster: newClusterModel(), groupingIndex: map[string]int{},
	}
}

// noteGroupings registers the attribute names of an agent as groupings
// of the board's agent map, while there is room.
func (m *model) noteGroupings(attrs []*mesos.Attribute) {
	for _, at := range attrs {
		name := at.GetName()
		if _, ok := m.groupingIndex[name]; ok || name == "" || len(m.groupings) == maxGroupings || len(name) > maxGroupingName {
			continue
		}
		m.groupingIndex[name] = len(m.groupings)
		m.groupings = append(m.groupings, name)
	}
}

// load fills an empty model from a snapshot and the newest audit entries.
func (m *model) load(snap *scheduler.Snapshot, audit []scheduler.AuditEntry) {
	m.conn, m.holdTime, m.refuseSeconds = snap.Conn, snap.HoldTime, snap.RefuseSeconds
	for _, a := range snap.Agents {
		m.agents[a.ID] = &agentState{Agent: a}
		m.agentOrder = append(m.agentOrder, a.ID)
		m.noteGroupings(a.Attributes)
	}
	m.sortAgents()
	for _, o := range snap.Offers {
		m.addOffer(o)
	}
	for i := len(snap.Tasks) - 1; i >= 0; i-- { // the snapshot's are newest first
		m.putTask(snap.Tasks[i])
	}
	m.older = slices.Clone(snap.Older)
	m.queue = slices.Clone(snap.Queue)
	m.events = slices.Clone(snap.Events[max(0, len(snap.Events)-eventsKept):])
	m.calls = slices.Clone(snap.Calls[max(0, len(snap.Calls)-callsKept):])
	m.audit = slices.Clone(audit)
	m.sample(time.Now())
}

// taskBefore reports whether a comes before b in order (oldest first).
func taskBefore(a, b *scheduler.Task) bool {
	if !a.Launched.Equal(b.Launched) {
		return a.Launched.Before(b.Launched)
	}
	return a.ID > b.ID
}

// current is the current registration's task id, or nil.
func (m *model) current(id string) *scheduler.Task {
	if s := m.tasks[id]; s != nil {
		return s.t
	}
	return nil
}

// putTask records t's latest value and returns the one before (nil for a
// new task).
func (m *model) putTask(t *scheduler.Task) (old *scheduler.Task) {
	s := m.tasks[t.ID]
	if s == nil {
		s = &taskSlot{t: t}
		m.tasks[t.ID] = s
	} else {
		old, s.t = s.t, t
	}
	// Most changes are a status of a running task that stays where and
	// what it was (a health check): the counts and the agent's ids stand.
	if old == nil || !sameCounts(old, t) {
		if old != nil {
			m.count(old, -1)
			delete(m.tasksByAgent[old.AgentID], t.ID)
		}
		m.count(t, 1)
		if m.tasksByAgent[t.AgentID] == nil {
			m.tasksByAgent[t.AgentID] = map[string]struct{}{}
		}
		m.tasksByAgent[t.AgentID][t.ID] = struct{}{}
	}
	if old != nil {
		if sameLaunchTime(old, t) {
			return old
		}
		if i := m.slotIndex(s); i >= 0 {
			m.removeOrder(i)
		}
	}
	// Launch times mostly grow: a new task is almost always appended.
	i := len(m.order)
	for i > 0 && taskBefore(t, m.order[i-1].t) {
		i--
	}
	m.order = slices.Insert(m.order, i, s)
	m.posFrom = min(m.posFrom, i)
	return old
}

// agentTasks yields the tasks on agent id, in no order.
func (m *model) agentTasks(id string) iter.Seq[*scheduler.Task] {
	return func(yield func(*scheduler.Task) bool) {
		for tid := range m.tasksByAgent[id] {
			if !yield(m.tasks[tid].t) {
				return
			}
		}
	}
}

// removeOrder takes order[i] out.
func (m *model) removeOrder(i int) {
	m.order = slices.Delete(m.order, i, i+1)
	m.posFrom = min(m.posFrom, i)
}

// slotIndex finds s in order; -1 when it is not there.
func (m *model) slotIndex(s *taskSlot) int {
	if s.pos < m.posFrom && m.order[s.pos] == s {
		return s.pos
	}
	for i := m.posFrom; i < len(m.order); i++ {
		m.order[i].pos = i
	}
	m.posFrom = len(m.order)
	if s.pos < len(m.order) && m.order[s.pos] == s {
		return s.pos
	}
	return -1
}

// orderedTasks is the tasks of order, oldest first, in a new slice.
func (m *model) orderedTasks() []*scheduler.Task {
	out := make([]*scheduler.Task, len(m.order))
	for i, s := range m.order {
		out[i] = s.t
	}
	return out
}

// archive moves t from the current registration to the older ones.
func (m *model) archive(t *scheduler.Task) {
	if s := m.tasks[t.ID]; s != nil {
		m.count(s.t, -1)
		delete(m.tasksByAgent[s.t.AgentID], t.ID)
		if i := m.slotIndex(s); i >= 0 {
			m.removeOrder(i)
		}
		delete(m.tasks, t.ID)
	}
	m.older = slices.Insert(m.older, 0, t)
}

// sameCounts reports whether a and b count alike (see count): the same
// state, agent and resources. A task's new value shares its Launch, so
// its resources, with the old one (scheduler.Task's clone), and they are
// compared as pointers; resources equal but not shared count as changed,
// which only costs a recount.
func sameCounts(a, b *scheduler.Task) bool {
	return a.State == b.State && a.Launching == b.Launching && a.AgentID == b.AgentID && sameResources(a, b)
}

// sameResources and sameLaunchTime compare two values of one task: copies
// of a task share its Launch, so most often neither is read.
func sameResources(a, b *scheduler.Task) bool {
	return a.Launch == b.Launch || slices.Equal(a.Resources, b.Resources)
}

func sameLaunchTime(a, b *scheduler.Task) bool {
	return a.Launch == b.Launch || a.Launched.Equal(b.Launched)
}

// count adds (or with -1 removes) a task to the counts.
func (m *model) count(t *scheduler.Task, n int) {
	name := stateOf(t).Name
	m.byState[name] += n
	if m.byState[name] == 0 {
		delete(m.byState, name)
	}
	if !t.Terminal() {
		m.live += n
		m.used.add(t.Resources, float64(n))
		addTo(m.agentUsed, t.AgentID, t.Resources, float64(n))
	}
}

func (m *model) addOffer(o scheduler.Offer) {
	m.offers[o.ID] = o
	if m.offersByAgent[o.AgentID] == nil {
		m.offersByAgent[o.AgentID] = map[string]scheduler.Offer{}
	}
	m.offersByAgent[o.AgentID][o.ID] = o
	a := m.agents[o.AgentID]
	if a == nil {
		a = &agentState{}
		m.agents[o.AgentID] = a
		m.agentOrder = append(m.agentOrder, o.AgentID)
		defer m.sortAgents()
	}
	a.ID, a.Hostname, a.Attributes = o.AgentID, o.Hostname, o.Offer.GetAttributes()
	m.noteGroupings(a.Attributes)
	m.flow["received"]++
	m.noteFlow("received", o.Arrived)
	m.offered.add(o.Offer.GetResources(), 1)
	m.cluster.offered = m.cluster.offered.Add(cluster.ResourcesOf(o.Offer.GetResources()))
	addTo(m.agentOffered, o.AgentID, o.Offer.GetResources(), 1)
	if o.Arrived.After(m.latest) {
		m.latest = o.Arrived
	}
	if o.Arrived.After(a.LastOffer) {
		a.LastOffer = o.Arrived
	}
	a.Removed = time.Time{}
}

// removeOffer forgets an offer and notes on its agent why it left.
func (m *model) removeOffer(id, why string, at, until time.Time) (agentID string, ok bool) {
	o, ok := m.offers[id]
	if !ok {
		return "", false
	}
	delete(m.offers, id)
	delete(m.offersByAgent[o.AgentID], id)
	m.offered.add(o.Offer.GetResources(), -1)
	m.cluster.offered = m.cluster.offered.Sub(cluster.ResourcesOf(o.Offer.GetResources()))
	if len(m.offers) == 0 {
		m.cluster.offered = cluster.Resources{} // no residue of float sums
	}
	addTo(m.agentOffered, o.AgentID, o.Offer.GetResources(), -1)
	m.endSpan(o, why, at)
	if a := m.agents[o.AgentID]; a != nil {
		a.Gone, a.GoneAt, a.RefuseEnd, a.GoneOffer = why, at, until, id
	}
	return o.AgentID, true
}

func (m *model) sortAgents() {
	slices.SortFunc(m.agentOrder, func(x, y string) int {
		a, b := m.agents[x], m.agents[y]
		if c := strings.Compare(a.Hostname, b.Hostname); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// agentOffers returns an agent's offers, oldest first.
func (m *model) agentOffers(agentID string) []scheduler.Offer {
	out := make([]scheduler.Offer, 0, len(m.offersByAgent[agentID]))
	for _, o := range m.offersByAgent[agentID] {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b scheduler.Offer) int {
		if c := a.Arrived.Compare(b.Arrived); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// offeringAgents counts the agents with an offer held.
func (m *model) offeringAgents() int {
	n := 0
	for _, os := range m.offersByAgent {
		if len(os) > 0 {
			n++
		}
	}
	return n
}

// newest returns up to n tasks, newest first.
func (m *model) newest(n int) []*scheduler.Task {
	out := make([]*scheduler.Task, 0, min(n, len(m.order)))
	for i := len(m.order) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, m.order[i].t)
	}
	return out
}

// rank is t's place in the tasks table, counted from 0 (newest), or -1.
func (m *model) rank(t *scheduler.Task) int { return m.rankOf(t.ID) }

// rankOf is the place of task id in the tasks table, as rank.
func (m *model) rankOf(id string) int {
	s := m.tasks[id]
	if s == nil {
		return -1
	}
	i := m.slotIndex(s)
	if i < 0 {
		return -1
	}
	return len(m.order) - 1 - i
}

// putQueued records a queued spec's latest state; one with nothing left
// leaves the queue.
func (m *model) putQueued(q scheduler.Queued) {
	i := slices.IndexFunc(m.queue, func(o scheduler.Queued) bool { return o.ID == q.ID })
	switch {
	case q.Left == 0 && i >= 0:
		m.queue = slices.Delete(m.queue, i, i+1)
	case q.Left == 0:
	case i >= 0:
		m.queue[i] = q
	default:
		m.queue = append(m.queue, q)
	}
}

func (m *model) addEvent(e scheduler.Event) {
	m.events = append(m.events, e)
	if len(m.events) >= 2*eventsKept {
		m.events = slices.Delete(m.events, 0, len(m.events)-eventsKept)
	}
}

// keptEvents are the newest eventsKept events, oldest first.
func (m *model) keptEvents() []scheduler.Event {
	return m.events[max(0, len(m.events)-eventsKept):]
}

func (m *model) addCall(c scheduler.Call) {
	m.calls = append(m.calls, c)
	if len(m.calls) >= 2*callsKept {
		m.calls = slices.Delete(m.calls, 0, len(m.calls)-callsKept)
	}
}

// keptCalls are the newest callsKept calls, oldest first.
func (m *model) keptCalls() []scheduler.Call {
	return m.calls[max(0, len(m.calls)-callsKept):]
}

func (m *model) addAudit(a scheduler.AuditEntry) {
	m.audit = slices.Insert(m.audit, 0, a)
	if len(m.audit) > auditPage {
		m.audit = m.audit[:auditPage]
	}
}

// subscribed reports a live subscription.
func (m *model) subscribed() bool { return m.conn.State == mesos.Subscribed }

// agentRank is an agent's place in the agents' order, or -1.
func (m *model) agentRank(id string) int {
	a := m.agents[id]
	if a == nil {
		return -1
	}
	i, ok := slices.BinarySearchFunc(m.agentOrder, a, func(x string, a *agentState) int {
		b := m.agents[x]
		if c := strings.Compare(b.Hostname, a.Hostname); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if !ok {
		return -1
	}
	return i
}

// agentAfter is the id of the agent listed after id, "" for the last.
func (m *model) agentAfter(id string) string {
	if i := m.agentRank(id); i >= 0 && i+1 < len(m.agentOrder) {
		return m.agentOrder[i+1]
	}
	return ""
}

// rankedTask is the task at rank in the tasks table (0: newest), or nil.
func (m *model) rankedTask(rank int) *scheduler.Task {
	if rank < 0 || rank >= len(m.order) {
		return nil
	}
	return m.order[len(m.order)-1-rank].t
}
