package web

import (
	"bytes"
	"context"
	"encoding/json"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/offerdeck/offerdeck/hub"
	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// The live topics. Every page follows "header"; each page adds its own.
const (
	topicHeader   = "header"
	topicOverview = "overview"
	topicOffers   = "offers"
	topicTasks    = "tasks"
	// topicTasksFirst carries the rows of the tasks on the tasks table's
	// first page alone, for the viewers of that page (see newest).
	topicTasksFirst = "tasks-first"
	// topicTask carries what a task's own page shows beyond the tasks
	// table (its state badge and status timeline), which the tasks page
	// never needs: a timeline holds up to 100 lines, and sending it to
	// every tasks page made each change several times bigger.
	topicTask   = "task"
	topicQueue  = "queue"
	topicAgents = "agents"
	topicEvents = "events"
	topicAudit  = "audit"
)

// change is one entry as the client script applies it, by element id:
//   - put: replace the element with html, or insert it into parent (at the
//     top with prepend) when the page does not have it yet;
//   - del: remove the element, marked with why first so the reader sees
//     it go;
//   - text: set the element's text.
//
// Every change is idempotent, so a change applied twice (a page rendered
// just after it was published) does no harm.
type change struct {
	Op      string `json:"op"`
	ID      string `json:"id"`
	Parent  string `json:"parent,omitempty"`
	Prepend bool   `json:"prepend,omitempty"`
	HTML    string `json:"html,omitempty"`
	Text    string `json:"text,omitempty"`
	Mark    string `json:"mark,omitempty"`
}

// feed turns the scheduler's changes into rendered entries on the hub. It
// keeps the little model it needs to render them (offers by agent, tasks,
// recent events). It runs on one goroutine: Server.Run.
type feed struct {
	s      *Server
	conn   scheduler.Connection
	offers map[string]scheduler.Offer // by offer id
	agents map[string]scheduler.Agent
	tasks  map[string]*scheduler.Task
	// byAgent indexes offers and tasks by agent id, so re-rendering one
	// agent costs what that agent holds, not what the cluster holds.
	offersByAgent map[string]map[string]scheduler.Offer
	tasksByAgent  map[string]map[string]*scheduler.Task
	recent        []scheduler.Event // the last few non-heartbeat events
	recentChanged bool              // recent needs rendering at publish
	heard         bool              // an event arrived since the last publish
	events        []scheduler.Event // arrived since the last publish
	// byState and live count tasks by shown state and not terminal, kept
	// as tasks change so a change costs the same with 10 or 100,000 tasks.
	byState map[string]int
	live    int
	totals  totals
	// pending entries per topic, published together after a burst.
	pending map[string][]hub.Entry
	// texts are the texts last published, by element id.
	texts map[string]string
	// shown hashes each task's row as last published, by task id.
	shown map[string]uint64
	seed  maphash.Seed
	// newest are the tasks on the first page of the tasks table.
	newest newest
	// batch and latest are run's: the changes taken at once, and the
	// index of each task's last change among them.
	batch  []scheduler.Change
	latest map[string]int
	// skipped are the topics whose changes were left unrendered since the
	// last publish, nobody following them (see interest).
	skipped map[string]bool
}

func newFeed(s *Server) *feed {
	return &feed{s: s, offers: map[string]scheduler.Offer{}, agents: map[string]scheduler.Agent{}, tasks: map[string]*scheduler.Task{},
		byState: map[string]int{}, pending: map[string][]hub.Entry{}, texts: map[string]string{},
		shown: map[string]uint64{}, seed: maphash.MakeSeed(), newest: newest{n: tasksPerPage}, latest: map[string]int{},
		skipped:       map[string]bool{},
		offersByAgent: map[string]map[string]scheduler.Offer{}, tasksByAgent: map[string]map[string]*scheduler.Task{}}
}

// maxBurst is the longest the feed renders changes before it publishes
// them: a bound on what a steady flood of changes adds to their latency.
const maxBurst = 5 * time.Millisecond

// Run consumes the scheduler's changes until they end or ctx is done,
// rendering each once and publishing the bytes to every viewer.
func (s *Server) Run(ctx context.Context) {
	defer s.streams.Wait()
	defer s.hub.Close() // ends the streams
	newFeed(s).run(ctx, s.sched.Changes())
}

// maxTake is the most changes the feed takes at once: what it renders
// before it looks at the channel again, unless it publishes meanwhile.
const maxTake = 16384

// run renders and publishes changes until they end or ctx is done.
//
// It takes every change that waits, not one at a time: a burst then costs
// one wakeup per viewer, and when the feed has fallen behind, a task that
// changed several times in the backlog (an update, then its
// acknowledgement) is rendered once, in its latest state, so the feed
// catches up faster the further behind it is.
func (f *feed) run(ctx context.Context, changes <-chan scheduler.Change) {
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-changes:
			if !ok {
				return
			}
			f.batch = append(f.batch[:0], c)
		}
		open := true
	take:
		for len(f.batch) < maxTake {
			select {
			case c, ok := <-changes:
				if !ok {
					open = false
					break take
				}
				f.batch = append(f.batch, c)
			default:
				break take
			}
		}
		f.applyBatch(ctx)
		f.publish(ctx)
		if !open {
			return
		}
	}
}

// applyBatch applies the changes taken, skipping a task's change when a
// later one of the same task follows: the later carries the whole task.
// It publishes at least every maxBurst while it renders: a backlog is
// published in slices, never held back until it is all rendered.
func (f *feed) applyBatch(ctx context.Context) {
	many := len(f.batch) > 1
	if many {
		for i, c := range f.batch {
			if c.Kind == scheduler.TaskChanged {
				f.latest[c.Task.ID] = i
			}
		}
	}
	start := time.Now()
	for i, c := range f.batch {
		if many && c.Kind == scheduler.TaskChanged && f.latest[c.Task.ID] != i {
			f.s.feed.coalesced.Add(1)
			continue
		}
		f.apply(ctx, c)
		f.s.feed.rendered.Add(1)
		if i%64 == 63 && time.Since(start) >= maxBurst {
			f.publish(ctx)
			start = time.Now()
		}
	}
	if many {
		// Entry by entry: clearing the map costs what it ever held.
		for _, c := range f.batch {
			if c.Kind == scheduler.TaskChanged {
				delete(f.latest, c.Task.ID)
			}
		}
	}
	clear(f.batch) // drop the tasks it holds
}

// publish renders what was held back for the burst and hands every
// topic's pending entries to the hub.
func (f *feed) publish(ctx context.Context) {
	if len(f.events) > 0 && !f.follows(topicEvents) {
		f.events = f.events[:0]
	}
	for _, e := range f.events[max(0, len(f.events)-eventsShown):] {
		row := eventRow(e)
		f.add(topicEvents, "", change{Op: "put", ID: row.DOMID, Parent: "events-list", Prepend: true, HTML: f.html(ctx, ui.EventRowView(row))})
	}
	f.events = f.events[:0]
	if f.recentChanged {
		f.overviewEvents(ctx)
		f.recentChanged = false
	}
	if f.heard {
		f.add(topicOverview, "last-event", change{Op: "text", ID: "last-event", Text: "now"})
		f.heard = false
	}
	// A topic that had changes skipped publishes none of the burst: an
	// older entry must not follow the skip's position.
	for topic := range f.skipped {
		delete(f.pending, topic)
		f.s.hub.Skip(topic)
	}
	clear(f.skipped)
	for topic, entries := range f.pending {
		if len(entries) > 0 {
			f.s.hub.Publish(topic, entries...)
		}
		delete(f.pending, topic)
	}
}

// add renders a change into a topic's pending entries.
//
// It leaves <, > and & as they are: json.Marshal would write each as a
// six-byte escape, which made a task row's change a third bigger, for
// every viewer. The message is parsed by JSON.parse, never placed in HTML.
func (f *feed) add(topic, key string, c change) {
	if !f.follows(topic) {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		f.s.log.Error("encode live change", "err", err)
		return
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	f.pending[topic] = append(f.pending[topic], hub.Entry{Key: key, Data: b})
}

// html renders a component to a string.
func (f *feed) html(ctx context.Context, c templ.Component) string {
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		f.s.log.Error("render live fragment", "err", err)
		return ""
	}
	return buf.String()
}

func (f *feed) put(ctx context.Context, topic, id, parent string, prepend bool, c templ.Component) {
	if !f.follows(topic) {
		return
	}
	f.add(topic, id, change{Op: "put", ID: id, Parent: parent, Prepend: prepend, HTML: f.html(ctx, c)})
}

// timeline publishes what changed in a task's timeline since old: the
// lines of new statuses, lines that show something else now (mostly an
// acknowledgement), and the deletion of lines that left the history. Rendering the whole timeline
// for every update cost as much as everything else the feed did together
// once histories were long.
func (f *feed) timeline(ctx context.Context, old, t *scheduler.Task) {
	list := "timeline-" + t.ID
	if old == nil {
		f.put(ctx, topicTask, list, "", false, ui.Timeline(t.ID, historyLines(t)))
		return
	}
	line := func(i int) {
		h := historyLine(t, i)
		f.put(ctx, topicTask, h.ID, list, false, ui.TimelineLine(h))
	}
	for i := range t.History {
		if j, ok := old.StatusIndex(t.StatusNumber(i)); !ok || !sameLine(old.History[j], t.History[i]) {
			line(i)
		}
	}
	for i := range old.History {
		if n := old.StatusNumber(i); !t.HasStatus(n) {
			id := timelineLineID(t.ID, n)
			f.add(topicTask, id, change{Op: "del", ID: id})
		}
	}
}

// follows reports whether a stream follows topic or a page was rendered
// for it lately; if not, it notes the topic as skipped, and the caller
// leaves the change unrendered.
func (f *feed) follows(topic string) bool {
	if f.s.hub.Subscribed(topic) || f.s.interest.recent(topic) {
		return true
	}
	f.skipped[topic] = true
	return false
}

// sameLine reports whether two versions of a status show the same
// timeline line (see historyLine): mostly its acknowledgement changes, but
// a requeue adds to its message too.
func sameLine(a, b scheduler.Status) bool {
	return a.Acked == b.Acked && a.Message == b.Message && a.State == b.State && a.Source == b.Source &&
		a.Reason == b.Reason && a.Reconciliation == b.Reconciliation && a.Time.Equal(b.Time) &&
		(len(a.UUID) > 0) == (len(b.UUID) > 0)
}

// liveForm is the form data live fragments carry. A request id in a live
// fragment is shared by every viewer, which is harmless: it only makes a
// second identical submission a no-op, and the page's own forms are
// fresh.
func liveForm() ui.Form { return ui.Form{RequestID: newRequestID()} }

func (f *feed) apply(ctx context.Context, c scheduler.Change) {
	now := time.Now()
	switch c.Kind {
	case scheduler.ConnectionChanged:
		f.conn = *c.Conn
		f.header(ctx)
	case scheduler.OfferAdded:
		o := *c.Offer
		if old, ok := f.offers[o.ID]; ok {
			f.totals.add(old.Offer, -1)
		}
		f.offers[o.ID] = o
		if f.offersByAgent[o.AgentID] == nil {
			f.offersByAgent[o.AgentID] = map[string]scheduler.Offer{}
		}
		f.offersByAgent[o.AgentID][o.ID] = o
		f.totals.add(o.Offer, 1)
		f.agents[o.AgentID] = scheduler.Agent{ID: o.AgentID, Hostname: o.Hostname, Attributes: o.Offer.GetAttributes(), LastOffer: o.Arrived}
		f.agentGroup(ctx, o.AgentID, now)
		f.agentRow(ctx, o.AgentID, now)
		f.counts()
		f.offered(ctx)
	case scheduler.OfferRemoved:
		o, ok := f.offers[c.OfferID]
		if !ok {
			return
		}
		delete(f.offers, c.OfferID)
		delete(f.offersByAgent[o.AgentID], c.OfferID)
		f.totals.add(o.Offer, -1)
		f.add(topicOffers, domID("offer-", c.OfferID), change{Op: "del", ID: domID("offer-", c.OfferID), Mark: c.Why})
		if f.agentOffers(o.AgentID) == 0 {
			f.add(topicOffers, domID("agent-", o.AgentID), change{Op: "del", ID: domID("agent-", o.AgentID), Mark: c.Why})
		}
		f.agentRow(ctx, o.AgentID, now)
		f.counts()
		f.offered(ctx)
	case scheduler.TaskChanged:
		t := c.Task
		old := f.tasks[t.ID]
		if old != nil {
			f.count(old, -1)
			delete(f.tasksByAgent[old.AgentID], t.ID)
		}
		f.count(t, 1)
		f.tasks[t.ID] = t
		if f.tasksByAgent[t.AgentID] == nil {
			f.tasksByAgent[t.AgentID] = map[string]*scheduler.Task{}
		}
		f.tasksByAgent[t.AgentID][t.ID] = t
		// An acknowledgement changes a task without changing its row:
		// the row goes out only when what it shows changed.
		// The age is left out: it changes every second by itself, and
		// an acknowledgement arriving a second after its update would
		// send the row again for it.
		onFirstPage, entered := f.newest.update(t)
		all, first := f.follows(topicTasks), onFirstPage && f.follows(topicTasksFirst)
		if all || first {
			row := taskRow(t, now)
			unaged := row
			unaged.Age = ""
			h := maphash.Comparable(f.seed, unaged)
			changed := f.shown[t.ID] != h
			f.shown[t.ID] = h
			if changed || entered {
				put := change{Op: "put", ID: row.DOMID, Parent: "tasks-body", Prepend: true,
					HTML: f.html(ctx, ui.TaskRowView(row, true, liveForm()))}
				if changed {
					f.add(topicTasks, row.DOMID, put)
				}
				if onFirstPage {
					f.add(topicTasksFirst, row.DOMID, put)
				}
			}
		} else {
			delete(f.shown, t.ID) // unknown to the pages now: sent when next followed
		}
		if f.follows(topicTask) {
			f.timeline(ctx, old, t)
			st := stateOf(t)
			f.add(topicTask, "task-state-"+t.ID, change{Op: "put", ID: "task-state-" + t.ID,
				HTML: `<span id="` + templ.EscapeString("task-state-"+t.ID) + `" class="badge ` + st.Class + `"><span aria-hidden="true">` + st.Icon + `</span> ` + templ.EscapeString(st.Word) + `</span>`})
		}
		// An agent's row counts its tasks and the live ones among them:
		// most updates (health checks, acknowledgements) change neither,
		// and re-rendering the row for each was a quarter of the feed's
		// time under a stream of health checks.
		if old != nil && old.AgentID != t.AgentID && old.AgentID != "" {
			f.agentRow(ctx, old.AgentID, now)
		}
		if t.AgentID != "" && (old == nil || old.AgentID != t.AgentID || old.Terminal() != t.Terminal()) {
			f.agentRow(ctx, t.AgentID, now)
		}
		f.counts()
	case scheduler.QueueChanged:
		q := c.Queued
		v := queuedView(*q)
		if q.Left == 0 {
			f.add(topicQueue, v.DOMID, change{Op: "del", ID: v.DOMID, Mark: "placed"})
		} else {
			f.put(ctx, topicQueue, v.DOMID, "queue-list", false, ui.QueuedItem(v, true, liveForm()))
		}
	case scheduler.EventAdded:
		// Rows are rendered at publish, and only the newest eventsShown of
		// a burst: the page keeps no more, and rendering the rest cost as
		// much as everything else a burst does.
		e := *c.Event
		f.events = append(f.events, e)
		if len(f.events) >= 2*eventsShown {
			f.events = slices.Delete(f.events, 0, len(f.events)-eventsShown)
		}
		if e.Type != "HEARTBEAT" {
			f.recent = append(f.recent, e)
			if len(f.recent) > 10 {
				f.recent = f.recent[len(f.recent)-10:]
			}
			f.recentChanged = true
		}
		f.heard = true
	case scheduler.AuditAdded:
		if f.follows(topicAudit) {
			row := auditRow(*c.Audit)
			f.add(topicAudit, "", change{Op: "put", ID: row.DOMID, Parent: "audit-body", Prepend: true, HTML: f.html(ctx, ui.AuditRowView(row))})
		}
	}
}

func (f *feed) agentOffers(agentID string) int { return len(f.offersByAgent[agentID]) }

// agentGroup re-renders one agent's offers card.
func (f *feed) agentGroup(ctx context.Context, agentID string, now time.Time) {
	var offers []scheduler.Offer
	for _, o := range f.offersByAgent[agentID] {
		offers = append(offers, o)
	}
	groups := agentGroups(offers, now)
	if len(groups) == 0 {
		return
	}
	f.put(ctx, topicOffers, groups[0].DOMID, "offers-list", false, ui.AgentOffers(groups[0], true, liveForm(), refuseChoices()))
}

func (f *feed) agentRow(ctx context.Context, agentID string, now time.Time) {
	if !f.follows(topicAgents) {
		return
	}
	a, ok := f.agents[agentID]
	if !ok {
		return
	}
	snap := &scheduler.Snapshot{}
	for _, o := range f.offersByAgent[agentID] {
		snap.Offers = append(snap.Offers, o)
	}
	for _, t := range f.tasksByAgent[agentID] {
		snap.Tasks = append(snap.Tasks, t)
	}
	row := agentRow(a, snap, now)
	f.put(ctx, topicAgents, row.DOMID, "agents-body", false, ui.AgentRowView(row))
}

// header publishes the connection light and the overview's master card.
func (f *feed) header(ctx context.Context) {
	cv := connectionView(f.conn, f.s.cfg.Master)
	f.add(topicHeader, "conn", change{Op: "put", ID: "conn",
		HTML: `<span id="conn" class="conn" data-state="` + cv.State + `" role="status">` + templ.EscapeString(cv.Label) + `</span>`})
	f.add(topicHeader, "vital-master", change{Op: "text", ID: "vital-master", Text: "master " + cv.Master})
	f.add(topicOverview, "master-conn", change{Op: "text", ID: "master-conn", Text: cv.Label})
	f.add(topicOverview, "framework-id", change{Op: "text", ID: "framework-id", Text: orDash(f.conn.FrameworkID)})
	f.add(topicOverview, "stream-id", change{Op: "text", ID: "stream-id", Text: orDash(f.conn.StreamID)})
	if f.conn.State == mesos.Subscribed {
		f.add(topicOverview, "master-status", change{Op: "del", ID: "master-status"})
	}
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// count adds (or with -1 removes) a task to the counts.
func (f *feed) count(t *scheduler.Task, n int) {
	name := stateOf(t).Name
	f.byState[name] += n
	if f.byState[name] == 0 {
		delete(f.byState, name)
	}
	if !t.Terminal() {
		f.live += n
	}
}

// counts publishes the tab counts and the overview's numbers.
func (f *feed) counts() {
	live, byState := f.live, f.byState
	f.text(topicHeader, "nav-count-offers", strconv.Itoa(len(f.offers)))
	f.text(topicHeader, "nav-count-tasks", strconv.Itoa(live))
	f.text(topicHeader, "nav-count-agents", strconv.Itoa(len(f.agents)))
	f.text(topicOverview, "offer-count", strconv.Itoa(len(f.offers)))
	var parts []string
	for name, n := range byState {
		parts = append(parts, ui.TaskState(name).Word+" "+strconv.Itoa(n))
	}
	slices.Sort(parts)
	f.text(topicOverview, "task-summary", strings.Join(parts, " · "))
}

// text sets an element's text on the pages of topic, unless it already
// says that: most changes leave the counts as they were, and every page
// would otherwise receive them again with each change.
func (f *feed) text(topic, id, text string) {
	if f.texts[id] == text {
		return
	}
	f.texts[id] = text
	f.add(topic, id, change{Op: "text", ID: id, Text: text})
}

// offered re-renders the overview's totals of what is offered, from
// totals kept as offers come and go (an OFFERS event of 10,000 offers must
// not cost 10,000 passes over 10,000 offers).
func (f *feed) offered(ctx context.Context) {
	var qs []ui.Quantity
	if len(f.offers) > 0 {
		qs = []ui.Quantity{
			{Name: "cpus", Value: number(round3(f.totals.cpus))},
			{Name: "mem", Value: number(round3(f.totals.mem)) + " MB"},
			{Name: "disk", Value: number(round3(f.totals.disk)) + " MB"},
			{Name: "ports", Value: strconv.FormatInt(f.totals.ports, 10)},
		}
	}
	f.put(ctx, topicOverview, "offered-resources", "", false, ui.OfferedResources(qs))
}

// totals are the sums of the held offers' resources.
type totals struct {
	cpus, mem, disk float64
	ports           int64
}

func (t *totals) add(o *mesos.Offer, sign float64) {
	rs := o.GetResources()
	t.cpus += sign * mesos.ScalarSum(rs, "cpus")
	t.mem += sign * mesos.ScalarSum(rs, "mem")
	t.disk += sign * mesos.ScalarSum(rs, "disk")
	t.ports += int64(sign) * int64(mesos.RangeCount(mesos.Ranges(rs, "ports")))
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func (f *feed) overviewEvents(ctx context.Context) {
	var lines []ui.EventLine
	for i := len(f.recent) - 1; i >= 0; i-- {
		e := f.recent[i]
		lines = append(lines, ui.EventLine{Time: e.Time.Format("15:04:05"), Type: e.Type, Summary: e.Summary})
	}
	f.put(ctx, topicOverview, "recent-events-list", "", false, ui.RecentEvents(lines))
}

func refuseChoices() []ui.Choice {
	return []ui.Choice{{Value: "5s", Label: "5 s"}, {Value: "1m", Label: "1 min"}, {Value: "1h", Label: "1 h"}}
}
