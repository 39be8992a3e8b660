package scheduler

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

// maxHistory bounds a task's kept status history; the first and the
// latest updates are what a reader needs.
const maxHistory = 100

// ChangeKind says what a Change is about.
type ChangeKind int

// The kinds of change the scheduler emits.
const (
	ConnectionChanged ChangeKind = iota + 1
	OfferAdded
	OfferRemoved
	TaskChanged
	QueueChanged
	EventAdded
	AuditAdded
	AgentRemoved
	CallAdded
)

// String names the kind.
func (k ChangeKind) String() string {
	switch k {
	case ConnectionChanged:
		return "connection"
	case OfferAdded:
		return "offer-added"
	case OfferRemoved:
		return "offer-removed"
	case TaskChanged:
		return "task"
	case QueueChanged:
		return "queue"
	case EventAdded:
		return "event"
	case AuditAdded:
		return "audit"
	case AgentRemoved:
		return "agent-removed"
	case CallAdded:
		return "call"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Change is one change of the scheduler's state, in sequence order. Only
// the fields of its Kind are set; all values are immutable copies.
type Change struct {
	Seq  uint64
	Kind ChangeKind
	Conn *Connection
	// Offer is set for OfferAdded; OfferID and Why for OfferRemoved (why:
	// "accepted", "declined", "rescinded", "expired", "resubscribed"), with
	// At, when it left, and Until, the end of the refuse filter sent with
	// its answer (zero when none: rescinded or dropped).
	Offer   *Offer
	OfferID string
	Why     string
	At      time.Time
	Until   time.Time
	// Task is set for TaskChanged; Archived reports that the task left the
	// current registration for the older ones (the master removed the
	// framework).
	Task     *Task
	Archived bool
	// AgentID is set for AgentRemoved, with At, when the master said so.
	AgentID string
	Queued  *Queued
	Event   *Event
	Audit   *AuditEntry
	Call    *Call
}

// state is everything the scheduler knows. Only the state goroutine
// touches it.
type state struct {
	s *Scheduler

	seq          uint64
	conn         Connection
	registration string
	offers       map[string]*Offer
	byAgent      map[string][]*Offer // offers held, by agent id, oldest first
	agents       map[string]*Agent   // every agent seen in an offer
	tasks        map[string]*Task    // the current registration's, by id
	nextKey      uint64              // the number of the next task's record key
	index        taskIndex           // counts and launching tasks, kept as tasks change
	older        []*Task             // tasks of registrations the master removed
	queue        []*queued
	placed       []*queued // specs fully placed recently, for requeues
	events       []Event   // oldest first; up to twice EventHistory(Bytes), see keptEvents
	eventBytes   int       // the sizes of events
	eventSeq     uint64
	orphans      int      // tasks in tasks that we never launched
	refused      refusals // input from the master refused, for the log
	auditSeq     uint64
	sent         []Call // calls sent, oldest first; up to twice CallHistory(Bytes), see keptCalls
	sentBytes    int    // the sizes of sent
	callSeq      uint64
	done         *results
	inflight     map[string]*inflight // requests with the master, by requestKey

	// log is the status log's account (see statuslog.go).
	log statusLog
	// shared is what tasks hold alike (see sharing.go).
	shared *sharing
	// pending is written at the next commit; acknowledgements, calls to
	// the master and replies wait for it; out holds the changes to emit
	// after it. See take.
	pending   write
	replies   []func(error)
	undos     []func(st *state)
	acksReady []ack
	acksLast  int // how many acksReady held at the last take (see oweAck)
	calls     []masterCall
	acker     *acker
	out       []Change
	observed  time.Time // when metrics last looked at the state
	// acked holds tasks whose only unsaved change is an acknowledgement
	// mark (see onAcked), with when it was made; each is written with its
	// task's next change or after ackMarkEvery, whichever comes first.
	acked map[*Task]time.Time
	// commitNow says that an update a user may be waiting on awaits
	// the next commit (see commitDue).
	commitNow bool
}

// restore builds the state from the database.
func (s *Scheduler) restore() (*state, error) {
	saved, err := s.store.load()
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	frameworkID, tasks, queue, auditSeq := saved.frameworkID, saved.tasks, saved.queue, saved.auditSeq
	st := &state{
		s:            s,
		registration: frameworkID,
		offers:       map[string]*Offer{},
		byAgent:      map[string][]*Offer{},
		agents:       map[string]*Agent{},
		tasks:        map[string]*Task{},
		queue:        queue,
		auditSeq:     auditSeq,
		acker:        newAcker(),
		index:        newTaskIndex(),
		inflight:     map[string]*inflight{},
		log:          saved.log,
		shared:       saved.shared,
		nextKey:      max(saved.nextKey, 1),
	}
	for _, t := range tasks {
		if t.Registration == frameworkID && frameworkID != "" {
			st.tasks[t.ID] = t
			st.index.track(t)
			if t.Orphan {
				st.orphans++
			}
		} else {
			st.older = append(st.older, t)
		}
	}
	answers, err := s.store.loadResults()
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	st.done = restoreResults(answers, time.Now(), &st.pending)
	st.conn.FrameworkID = frameworkID
	s.log.Info("state restored", "framework_id", frameworkID, "tasks", len(st.tasks), "queued", len(queue), "older_tasks", len(st.older), "answers", len(st.done.order))
	return st, nil
}

// oweAck adds a to the acknowledgements the next commit releases. A
// window's first one makes room for as many as the last window held:
// grown by doubling from nothing, their arrays were a fourteenth of what
// the dashboard allocated at 26,000 updates a second.
func (st *state) oweAck(a ack) {
	if st.acksReady == nil {
		st.acksReady = make([]ack, 0, max(st.acksLast, 8))
	}
	st.acksReady = append(st.acksReady, a)
}

// newKeyNumber numbers the record of a task made now (see keyPrefix).
func (st *state) newKeyNumber() uint64 {
	n := max(st.nextKey, 1) // 0 says the key is not numbered
	st.nextKey = n + 1
	return n
}

// change records a change for emission.
func (st *state) change(c Change) {
	st.seq++
	c.Seq = st.seq
	st.out = append(st.out, c)
}

func (st *state) connChanged() {
	c := st.conn
	st.change(Change{Kind: ConnectionChanged, Conn: &c})
}

// onConnection applies the client's status.
func (st *state) onConnection(cs mesos.Status) {
	st.conn.State, st.conn.Master, st.conn.MasterInfo = cs.State, cs.Master, cs.MasterInfo
	st.conn.StreamID, st.conn.Since, st.conn.LastEvent = cs.StreamID, cs.Since, cs.LastEvent
	st.conn.Heartbeat, st.conn.RetryAt = cs.HeartbeatInterval, cs.RetryAt
	st.conn.Err = ""
	if cs.Err != nil {
		st.conn.Err = cs.Err.Error()
	}
	if cs.State != mesos.Subscribed {
		// Offers do not outlive the subscription they came on.
		st.dropOffers("resubscribed")
	}
	st.connChanged()
}

// onMasterError records an ERROR that ended the subscription.
func (st *state) onMasterError(me *mesos.MasterError) {
	st.dropOffers("resubscribed")
	if me.FrameworkRemoved() && st.registration != "" {
		old := st.registration
		st.s.log.Warn("the master removed the framework; registering anew, old history kept", "framework_id", old)
		for _, t := range st.tasks {
			t.archived = true
			st.older = append(st.older, t)
			st.change(Change{Kind: TaskChanged, Task: t.clone(), Archived: true})
		}
		st.index.forget(st.tasks)
		st.tasks = map[string]*Task{}
		st.orphans = 0
		st.registration = ""
		empty := ""
		st.pending.frameworkID = &empty
		st.pending.archive = old
		st.conn.Removed = old
		st.conn.FrameworkID = ""
	}
	st.conn.Err = me.Error()
	st.connChanged()
}

// onEvent applies one master event.
func (st *state) onEvent(e *mesos.Event) {
	now := time.Now()
	st.conn.LastEvent = now
	if why := refusal(e); why != "" {
		st.refuse(e.GetType().String()+" event", why, now)
		st.refusedEvent(e, why, now)
		return
	}
	st.recordEvent(e, now)
	switch e.GetType() {
	case mesos.Event_SUBSCRIBED:
		st.onSubscribed(e.GetSubscribed())
	case mesos.Event_OFFERS:
		var refused []*mesos.OfferID
		for _, o := range e.GetOffers().GetOffers() {
			if why := offerProblem(o); why != "" {
				// Not kept, but given back when its id allows, so its
				// resources are not held by us for good.
				st.refuse("offer", why, now)
				if len(o.GetId().GetValue()) <= maxOfferIDBytes {
					refused = append(refused, o.GetId())
				}
				continue
			}
			st.addOffer(o, now)
		}
		if len(refused) > 0 {
			st.call(Cause{Kind: CauseRefused}, &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{
				OfferIds: refused,
				Filters:  &mesos.Filters{RefuseSeconds: proto.Float64(st.s.cfg.RefuseSeconds)},
			}}, nil)
		}
		st.placeQueued()
	case mesos.Event_RESCIND:
		st.removeOffer(e.GetRescind().GetOfferId().GetValue(), "rescinded", 0)
	case mesos.Event_UPDATE:
		st.onUpdate(e.GetUpdate().GetStatus(), now)
	case mesos.Event_FAILURE:
		// A FAILURE naming no executor says the agent itself was
		// removed: its tasks come as updates of their own.
		f := e.GetFailure()
		if a := st.agents[f.GetAgentId().GetValue()]; a != nil && f.GetExecutorId() == nil {
			a.Removed = now
			st.change(Change{Kind: AgentRemoved, AgentID: a.ID, At: now})
		}
	}
}

func (st *state) onSubscribed(sub *mesos.Event_Subscribed) {
	id := sub.GetFrameworkId().GetValue()
	if id != st.registration {
		st.registration = id
		st.pending.frameworkID = &id
		for _, t := range st.tasks {
			if t.Registration == "" {
				t.Registration = id
			}
		}
	}
	st.conn.FrameworkID = id
	st.dropOffers("resubscribed")
	st.connChanged()
	// After every (re)subscription: explicit reconciliation of what we
	// believe is live, then implicit to learn what we do not know.
	if live := st.liveTasks(); len(live) > 0 {
		st.reconcile(live, "after subscribing")
	}
	st.reconcile(nil, "after subscribing")
}

// liveTasks are the current registration's tasks not known to be over.
func (st *state) liveTasks() []*Task {
	var live []*Task
	for _, t := range st.tasks {
		if !t.Terminal() {
			live = append(live, t)
		}
	}
	return live
}

// reconcile asks the master for the tasks' states (nil: implicit), and
// says why for the calls page.
func (st *state) reconcile(tasks []*Task, why string) {
	if st.conn.State != mesos.Subscribed && st.registration == "" {
		return
	}
	r := &mesos.Call_Reconcile{}
	for _, t := range tasks {
		rt := &mesos.Call_Reconcile_Task{TaskId: &mesos.TaskID{Value: proto.String(t.ID)}}
		if t.AgentID != "" {
			rt.AgentId = &mesos.AgentID{Value: proto.String(t.AgentID)}
		}
		r.Tasks = append(r.Tasks, rt)
	}
	st.call(Cause{Kind: CauseReconcile, Detail: why}, &mesos.Call{Type: mesos.Call_RECONCILE.Enum(), Reconcile: r}, nil)
}

// recordEvent keeps the event for the events page; one too large to keep
// whole is kept as its summary.
func (st *state) recordEvent(e *mesos.Event, now time.Time) {
	size := eventSize(e)
	ev := Event{Time: now, Type: e.GetType().String(), Summary: summarize(e), msg: e} // addEvent gives it its JSON's place
	if size > maxKeptEventBytes {
		note := fmt.Sprintf("event of %d bytes, not kept (over %d)", size, maxKeptEventBytes)
		ev.Summary += " (" + note + ")"
		ev.msg, ev.json, size = nil, stubJSON(e, note), 0
	}
	st.addEvent(ev, size)
}

// eventRecord is the copy of an event the change announcing it points
// to, with the place its JSON is kept once asked for: one allocation for
// both, an event being most of what a busy master sends.
type eventRecord struct {
	ev   Event
	json lazyJSON
}

// addEvent appends ev, of size bytes, to the events kept, and announces it.
// An event of the master with no JSON yet gets the place to keep it.
func (st *state) addEvent(ev Event, size int) {
	st.eventSeq++
	r := &eventRecord{ev: ev}
	if r.ev.json == nil && r.ev.msg != nil {
		r.ev.json = &r.json
	}
	r.ev.Seq = st.eventSeq
	r.ev.size = eventOverhead + size + len(r.ev.Summary)
	st.events = append(st.events, r.ev)
	st.eventBytes += r.ev.size
	// Trim in halves, not one at a time: shifting the whole history on
	// every event made a reconciliation burst quadratic in its length.
	if keep, keepBytes := st.s.cfg.EventHistory, st.s.cfg.EventHistoryBytes; len(st.events) >= 2*keep || st.eventBytes >= 2*keepBytes {
		from := st.keptFrom()
		for _, old := range st.events[:from] {
			st.eventBytes -= old.size
		}
		st.events = slices.Delete(st.events, 0, from)
	}
	st.change(Change{Kind: EventAdded, Event: &r.ev})
}

// keptFrom is the index of the oldest event kept: the newest EventHistory
// events, as far as they fit in EventHistoryBytes, and at least the newest.
func (st *state) keptFrom() int {
	keep, budget := st.s.cfg.EventHistory, st.s.cfg.EventHistoryBytes
	i := len(st.events)
	// The newest is always kept: an event is at most maxKeptEventBytes.
	for i > 0 && len(st.events)-i < keep && (i == len(st.events) || budget >= st.events[i-1].size) {
		budget -= st.events[i-1].size
		i--
	}
	return i
}

// keptEvents are the events kept for the events page, oldest first.
func (st *state) keptEvents() []Event {
	return st.events[st.keptFrom():]
}

// summarize is the one-line text of an event for the events page.
func summarize(e *mesos.Event) string {
	switch e.GetType() {
	case mesos.Event_SUBSCRIBED:
		return "framework " + e.GetSubscribed().GetFrameworkId().GetValue()
	case mesos.Event_OFFERS:
		offers := e.GetOffers().GetOffers()
		var hosts []string
		for _, o := range offers[:min(len(offers), 5)] {
			hosts = append(hosts, clip(o.GetHostname(), maxHostnameBytes))
		}
		more := ""
		if len(offers) > 5 {
			more = fmt.Sprintf(" and %d more", len(offers)-5)
		}
		return fmt.Sprintf("%s: %s%s", plural(len(offers), "offer", "offers"), strings.Join(hosts, ", "), more)
	case mesos.Event_RESCIND:
		return "offer " + e.GetRescind().GetOfferId().GetValue()
	case mesos.Event_UPDATE:
		s := e.GetUpdate().GetStatus()
		msg := s.GetTaskId().GetValue() + " " + s.GetState().String()
		if s.GetMessage() != "" {
			msg += ": " + clip(s.GetMessage(), maxSummaryMessage)
		}
		return msg
	case mesos.Event_FAILURE:
		return "agent " + e.GetFailure().GetAgentId().GetValue()
	case mesos.Event_ERROR:
		return clip(e.GetError().GetMessage(), maxSummaryMessage)
	}
	return ""
}

func (st *state) addOffer(o *mesos.Offer, now time.Time) {
	off := &Offer{
		ID:        o.GetId().GetValue(),
		AgentID:   o.GetAgentId().GetValue(),
		Hostname:  o.GetHostname(),
		Offer:     o,
		Arrived:   now,
		HoldUntil: now.Add(st.s.cfg.HoldTime),
	}
	st.holdOffer(off)
	a := &Agent{ID: off.AgentID, Hostname: off.Hostname, Attributes: o.GetAttributes(), URL: agentURL(o), LastOffer: now}
	if old := st.agents[off.AgentID]; old != nil {
		a.Capacity = old.Capacity
	}
	var held placement.Need
	for _, h := range st.byAgent[off.AgentID] {
		held = held.Add(placement.Usable(h.Offer))
	}
	a.Capacity = a.Capacity.Max(held)
	st.agents[off.AgentID] = a
}

// holdOffer keeps an offer, and announces it.
func (st *state) holdOffer(o *Offer) {
	st.offers[o.ID] = o
	st.byAgent[o.AgentID] = append(st.byAgent[o.AgentID], o)
	c := *o
	st.change(Change{Kind: OfferAdded, Offer: &c})
}

// removeOffer forgets an offer; it reports whether it was held.
//
// refuse is the refuse_seconds of the filter sent with the offer's answer
// (0 when it was not answered), so that pages can say until when the
// agent's resources will not be offered to this framework again.
func (st *state) removeOffer(id, why string, refuse float64) bool {
	o, ok := st.offers[id]
	if !ok {
		return false
	}
	delete(st.offers, id)
	if rest := slices.DeleteFunc(st.byAgent[o.AgentID], func(h *Offer) bool { return h == o }); len(rest) > 0 {
		st.byAgent[o.AgentID] = rest
	} else {
		delete(st.byAgent, o.AgentID)
	}
	c := Change{Kind: OfferRemoved, OfferID: id, Why: why, At: time.Now()}
	if refuse > 0 {
		c.Until = c.At.Add(time.Duration(refuse * float64(time.Second)))
	}
	st.change(c)
	return true
}

func (st *state) dropOffers(why string) {
	for id := range st.offers {
		st.removeOffer(id, why, 0)
	}
}

// expireHolds declines offers nobody acted on within the hold time.
func (st *state) expireHolds(now time.Time) {
	var expired []*mesos.OfferID
	for id, o := range st.offers {
		if now.After(o.HoldUntil) {
			expired = append(expired, o.Offer.GetId())
			st.removeOffer(id, "expired", st.s.cfg.RefuseSeconds)
		}
	}
	if len(expired) == 0 {
		return
	}
	st.call(Cause{Kind: CauseHold}, &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{
		OfferIds: expired,
		Filters:  &mesos.Filters{RefuseSeconds: proto.Float64(st.s.cfg.RefuseSeconds)},
	}}, nil)
}

// checkLaunches reconciles tasks launched a while ago that have heard
// nothing since: their ACCEPT may have been lost.
func (st *state) checkLaunches(now time.Time) {
	if st.conn.State != mesos.Subscribed {
		return
	}
	var stale []*Task
	for t := range st.index.launching {
		if now.Sub(t.Launched) > st.s.cfg.LaunchCheck && time.Duration(now.UnixNano()-t.checked) > st.s.cfg.LaunchCheck {
			t.checked = now.UnixNano()
			stale = append(stale, t)
		}
	}
	if len(stale) > 0 {
		st.s.log.Warn("reconciling tasks that heard nothing since their launch", "tasks", len(stale))
		st.reconcile(stale, "launched tasks heard nothing")
	}
}

// neverLaunched reports a reconciliation answer saying the master does not
// know a task we were launching: its ACCEPT never took effect.
func neverLaunched(t *Task, ts *mesos.TaskStatus) bool {
	if !t.Launching || ts.GetReason() != mesos.TaskStatus_REASON_RECONCILIATION {
		return false
	}
	switch ts.GetState() {
	case mesos.TaskState_TASK_UNKNOWN, mesos.TaskState_TASK_GONE, mesos.TaskState_TASK_LOST, mesos.TaskState_TASK_DROPPED:
		return true
	}
	return false
}

// onUpdate applies a status update: history first, persisted before the
// acknowledgement goes out.
func (st *state) onUpdate(ts *mesos.TaskStatus, now time.Time) {
	id := ts.GetTaskId().GetValue()
	t := st.tasks[id]
	if t == nil {
		// An update for a task we never launched: shown as an orphan,
		// never killed automatically; so many of them are refused,
		// unacknowledged, that they cannot grow the state unbounded.
		if st.orphans >= st.s.cfg.MaxOrphans {
			st.refuse("update", fmt.Sprintf("over %d tasks this framework never launched", st.s.cfg.MaxOrphans), now)
			return
		}
		t = &Task{ID: id, Launch: unlaunched, Orphan: true, Registration: st.registration, State: ts.GetState(), keyNumber: st.newKeyNumber()}
		st.tasks[id] = t
		st.orphans++
	}
	uuid := UUIDOf(ts.GetUuid())
	// The task's own ids, not the update's copies of them: an
	// acknowledgement waits for its commit, and the copies would be held
	// as long.
	agent := ts.GetAgentId().GetValue()
	if agent == t.AgentID {
		agent = t.AgentID
	}
	ack := ack{agentID: agent, taskID: t.ID, uuid: uuid, task: t}
	was, wasLaunching, wasKilling, wasAgent, wasExecutor := t.State, t.Launching, t.Killing, t.AgentID, t.ExecutorID
	if uuid.IsSet() {
		for i := range t.History {
			if t.History[i].UUID == uuid {
				// A resend of an update we have: acknowledge it again.
				st.oweAck(ack)
				return
			}
		}
	}
	status := Status{
		State:          ts.GetState(),
		Source:         ts.GetSource(),
		Message:        clip(ts.GetMessage(), maxMessageBytes),
		Time:           now,
		UUID:           uuid,
		Reconciliation: ts.GetReason() == mesos.TaskStatus_REASON_RECONCILIATION,
	}
	if ts.Reason != nil {
		status.Reason, status.HasReason = ts.GetReason(), true
	}
	if ts.Healthy != nil {
		status.Health = healthOf(ts.GetHealthy())
	}
	if ts.Timestamp != nil {
		status.Time = time.Unix(0, int64(ts.GetTimestamp()*1e9))
	}
	if t.AgentID == "" {
		t.AgentID = ts.GetAgentId().GetValue()
	}
	// Only a different id replaces the one kept: an agent names the
	// executor in every update, and taking each new copy of the same text
	// kept one more string alive a task, for the collector to mark.
	if e := ts.GetExecutorId().GetValue(); e != "" && e != t.ExecutorID {
		t.ExecutorID = e
	}
	// The Mesos surprise: once a terminal update was acknowledged, the
	// master forgets the task and reconciliation calls it lost or unknown.
	// Keep the terminal state we know; record what was said.
	keep := t.Terminal() && status.Reconciliation
	if neverLaunched(t, ts) {
		// Nothing runs: say so in terms a reader understands.
		status.State = mesos.TaskState_TASK_DROPPED
		status.Message = "the master does not know this task: its launch never took effect (" + ts.GetMessage() + ")"
		t.State, t.Launching = mesos.TaskState_TASK_DROPPED, false
		keep = true
	}
	if !keep {
		t.State, t.Launching = ts.GetState(), false
		if mesos.IsTerminal(t.State) {
			t.Killing = false
		}
	}
	if n := len(t.History); n > 0 && status.Reconciliation && !uuid.IsSet() && sameAnswer(t.History[n-1], status) {
		// Reconcile now asks twice (explicitly for the live tasks, then
		// implicitly for all), and the master answers both alike: one
		// line says it, with the time of the latest answer. Into a new
		// array: snapshots share this one.
		t.History = slices.Clone(t.History)
		t.History[n-1].Time = status.Time
		st.taskChanged(t)
	} else if t.addStatus(status); t.State != was || t.Launching != wasLaunching || t.Killing != wasKilling ||
		t.AgentID != wasAgent || t.ExecutorID != wasExecutor || t.persisted == 0 {
		st.taskChanged(t)
	} else {
		// One more status and nothing else: to the status log.
		st.statusAdded(t)
	}
	if uuid.IsSet() {
		st.oweAck(ack)
		// The agent sends a task's next update once this one is
		// acknowledged: where a user may wait for it (a launch on its
		// way to running, a kill), the commit does not wait.
		st.commitNow = st.commitNow || t.State != was || wasLaunching || t.Killing
	}
}

// sameAnswer reports whether s repeats the reconciliation answer last.
func sameAnswer(last, s Status) bool {
	return last.Reconciliation && !last.UUID.IsSet() && last.State == s.State && last.Source == s.Source &&
		last.Reason == s.Reason && last.HasReason == s.HasReason && last.Message == s.Message
}

// taskChanged persists a task and announces it.
func (st *state) taskChanged(t *Task) {
	if st.tasks[t.ID] == t { // not one of an earlier registration's
		st.index.track(t)
	}
	st.pending.tasks = append(st.pending.tasks, t)
	delete(st.acked, t) // its record carries the marks
	st.change(Change{Kind: TaskChanged, Task: t.clone()})
}

// statusAdded persists and announces a task whose only change is a
// status added (see statuslog.go).
func (st *state) statusAdded(t *Task) {
	st.pending.logged = append(st.pending.logged, t)
	delete(st.acked, t) // its log record carries the marks
	st.change(Change{Kind: TaskChanged, Task: t.clone()})
}

// ackMarkEvery bounds how long an acknowledgement mark may go unsaved.
// The mark is what the task's page shows ("acknowledged"); the update
// itself was saved before it was acknowledged, as ever. Saving each mark
// at once made a write of its own for every update; held back, it rides
// with the task's next update, which in a steady stream comes within
// seconds, or is saved alone as a small record of the status log. A
// shutdown saves what is held; a crash loses at most ackMarkEvery of marks
// (the page then says those updates await acknowledgement), never an
// update: the master has every acknowledgement it was sent.
const ackMarkEvery = 5 * time.Second

// saveAckMarks moves the tasks whose acknowledgement marks have waited
// ackMarkEvery (all of them when all is set) into the pending write.
func (st *state) saveAckMarks(now time.Time, all bool) {
	for t, since := range st.acked {
		if all || now.Sub(since) >= ackMarkEvery {
			st.pending.logged = append(st.pending.logged, t)
			delete(st.acked, t)
		}
	}
}

// clone copies a task deeply enough that the copy never changes.
//
// The clone shares the history's array, up to its length: copying up to
// 100 statuses of every task made a snapshot of 20k tasks cost some 50 ms
// of the state goroutine, long enough that a page load held up the
// updates behind it. Sharing is safe because the state never writes an
// element a clone can see: it appends past the length, and writes
// elements only of a fresh copy (editHistory) or a trimmed new array.
func (t *Task) clone() *Task {
	c := *t
	c.History = slices.Clip(t.History)
	c.Unacked = slices.Clip(t.Unacked)
	return &c
}

// editHistory gives t a history of its own to change elements of; see
// clone.
func (t *Task) editHistory() []Status {
	t.History = slices.Clone(t.History)
	return t.History
}

// onAcked marks an update as acknowledged.
func (st *state) onAcked(a ack) {
	t := a.task
	if t == nil || t.archived {
		return // the master removed the framework: its tasks are history
	}
	for _, n := range t.Unacked {
		if i, ok := t.StatusIndex(n); ok && t.History[i].UUID == a.uuid {
			t.markAcked(n)
			// Shown at once, saved later (see ackMarkEvery).
			if st.acked == nil {
				st.acked = map[*Task]time.Time{}
			}
			if _, ok := st.acked[t]; !ok {
				st.acked[t] = time.Now()
			}
			st.change(Change{Kind: TaskChanged, Task: t.clone()})
			return
		}
	}
}

// plural is "1 offer", "2 offers": n with the word in the right number.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
