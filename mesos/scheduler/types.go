package scheduler

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

// Offer is an offer the framework holds, as the dashboard shows it.
// Values handed out by the scheduler are immutable.
type Offer struct {
	ID       string
	AgentID  string
	Hostname string
	// Offer is the offer as the master sent it.
	Offer *mesos.Offer
	// Arrived is when the offer came; HoldUntil is when the hold policy
	// declines it if nobody acted on it.
	Arrived   time.Time
	HoldUntil time.Time
}

// Status is one status update of a task, as kept in its history.
//
// Every task keeps up to maxHistory of them, so their size and their
// pointers are most of what the collector marks at scale: the fields are
// in an order that packs them in 72 bytes, and only Message and Time hold
// pointers. (The reason was its enum's name and the verdict a *bool: 96
// bytes and four pointers, and a full collection of 100,000 tasks' held
// statuses took a quarter longer; BenchmarkCollectHeldTasks.)
type Status struct {
	State  mesos.TaskState
	Source mesos.TaskStatus_Source
	// Reason is the update's reason when HasReason: the enum's zero is a
	// reason of its own. ReasonName gives it as Mesos names it.
	Reason    mesos.TaskStatus_Reason
	HasReason bool
	// Health is the health check's verdict; HealthNone when the update
	// carried none. Healthy gives it as a *bool.
	Health Health
	// Reconciliation reports whether the update answered a reconciliation.
	Reconciliation bool
	// UUID is the update's uuid (unset for updates the master generated);
	// Task.Acked reports whether the scheduler acknowledged it.
	UUID    UUID
	Message string
	Time    time.Time // the update's timestamp
}

// ReasonName is the reason's name ("REASON_RECONCILIATION"), "" when the
// update gave none.
func (s *Status) ReasonName() string {
	if !s.HasReason {
		return ""
	}
	if n := int(s.Reason); n >= 0 && n < len(reasonNames) && reasonNames[n] != "" {
		return reasonNames[n]
	}
	return s.Reason.String()
}

// reasonNames holds the reasons' names by number. The enum's String looks
// the name up in its descriptor, some 50 ns, and a task's record names
// the reason of every status it holds: a hundred for a rewrite.
var reasonNames = func() []string {
	var names []string
	for n, name := range mesos.TaskStatus_Reason_name {
		if n >= 0 && n < 1<<10 {
			names = append(names, make([]string, max(0, int(n)+1-len(names)))...)
			names[n] = name
		}
	}
	return names
}()

// reasonNamed is the reason a stored status names: by its name, or by its
// number where this build's enum lacks it (see TaskStatus_Reason.String).
// A name it cannot read is no reason: never written by a build with this
// enum or an older one.
func reasonNamed(name string) (mesos.TaskStatus_Reason, bool) {
	if name == "" {
		return 0, false
	}
	if v, ok := mesos.TaskStatus_Reason_value[name]; ok {
		return mesos.TaskStatus_Reason(v), true
	}
	if n, err := strconv.ParseInt(name, 10, 32); err == nil {
		return mesos.TaskStatus_Reason(n), true
	}
	return 0, false
}

// Health is a health check's verdict, as a status keeps it.
type Health int8

const (
	HealthNone    Health = iota // the update carried no verdict
	HealthOK                    // healthy
	HealthFailing               // unhealthy
)

// healthOf is the verdict healthy says.
func healthOf(healthy bool) Health {
	if healthy {
		return HealthOK
	}
	return HealthFailing
}

// Healthy is the verdict as Mesos gives it: nil when none. It points at
// one of two shared values, never to be written through.
func (s *Status) Healthy() *bool {
	switch s.Health {
	case HealthOK:
		return &healthy
	case HealthFailing:
		return &unhealthy
	}
	return nil
}

// UUID is a status update's uuid, kept in the status itself. A slice of
// its own for each was an object the collector marked in every status of
// every history: at 100,000 tasks, an eighth of the live objects. Mesos
// makes uuids of 16 bytes and acknowledges no other length ("Not a valid
// UUID"); refusal turns any other away at the door, but a record stored
// before it may hold a shorter one, which is kept as it is.
type UUID struct {
	b [16]byte
	n uint8 // bytes of b in use; 0: none
}

// UUIDOf is the uuid b holds: unset when b is empty, and when it is
// longer than 16 bytes, as no uuid Mesos would acknowledge is.
func UUIDOf(b []byte) UUID {
	var u UUID
	if len(b) <= len(u.b) {
		u.n = uint8(copy(u.b[:], b))
	}
	return u
}

// IsSet reports whether the update carried a uuid.
func (u UUID) IsSet() bool { return u.n > 0 }

// Bytes is the uuid in a new slice, or nil when unset.
func (u UUID) Bytes() []byte { return slices.Clone(u.slice()) }

// slice is the uuid's bytes in u itself, or nil when unset.
func (u *UUID) slice() []byte {
	if u.n == 0 {
		return nil
	}
	return u.b[:u.n]
}

// UnmarshalText reads a uuid as JSON carries bytes, in standard base64:
// how schema 1 stored a status (see decodeTaskJSON).
func (u *UUID) UnmarshalText(text []byte) error {
	b, err := base64.StdEncoding.AppendDecode(nil, text)
	if err != nil {
		return fmt.Errorf("uuid: %w", err)
	}
	*u = UUIDOf(b)
	return nil
}

// MarshalText writes what UnmarshalText reads.
func (u UUID) MarshalText() ([]byte, error) {
	return base64.StdEncoding.AppendEncode(nil, u.slice()), nil
}

// healthy and unhealthy are what Status.Healthy points at.
var healthy, unhealthy = true, false

// Launch is what a task was launched with: set when the task is made (or
// read back), never changed after, so that every copy of the task shares
// it. A task's copy is handed out with every change, two or three times an
// update; with these fields in each copy it was 384 bytes and 18 pointers
// for the collector to follow in every copy kept, with them shared it is
// 208 bytes and 9.
type Launch struct {
	Name     string
	Hostname string
	// Attributes are the agent's attributes as text, from the offer.
	Attributes map[string]string
	// OfferID and Resources are what the task was launched with; Ports are
	// the port numbers among them.
	OfferID   string
	Resources []*mesos.Resource
	Ports     []uint64
	Command   string
	Image     string
	Launched  time.Time
	// QueueID names the queued spec the task was placed from, if any.
	QueueID string
}

// unlaunched is the Launch of every task this framework did not launch
// (an orphan, see Task.Orphan): it has none to tell.
var unlaunched = new(Launch)

// Task is a task the framework launched (or learned of), with its history.
//
// Its Launch is never nil: every task is made by the state (newTask, an
// orphan's update) or read from the store, and each gives it one; a Task
// made by hand elsewhere (a test's) needs one too.
type Task struct {
	ID string
	*Launch
	AgentID string
	// AgentURL is the agent's base URL (from the offer), for its files API.
	AgentURL   string
	ExecutorID string
	// State is the latest state; Launching until the master's first word.
	State mesos.TaskState
	// Launching reports that ACCEPT was (or is about to be) sent and no
	// update has arrived yet.
	Launching bool
	// Orphan reports an update for a task this framework never launched:
	// shown, never killed automatically.
	Orphan bool
	// Killing reports that a kill was requested.
	Killing bool
	History []Status
	// Statuses is how many statuses the task has had since the scheduler
	// started (restored tasks count what their history kept); History
	// keeps the first and the latest. StatusNumber says which one of them
	// History[i] is.
	Statuses int
	// Unacked holds the numbers (see StatusNumber), ascending, of the
	// statuses in History that carry a UUID and await the scheduler's
	// acknowledgement; Acked reads it. The marks live here rather than
	// in History because values handed out share History's array: a mark
	// in it meant copying the whole history, some 10 KB, for every update.
	Unacked []int
	// Registration is the framework id the task belongs to; tasks of an
	// earlier registration stay readable after the master removed it.
	Registration string

	// persisted is the number of the newest status stored, and
	// loggedSince the status log's oldest record of this task after its
	// own record (0: none); see write.encode.
	persisted   int
	loggedSince uint64
	// keyNumber numbers the key of its record in the tasks bucket (see
	// keyPrefix); 0 for a task stored before keys were numbered, whose
	// record is under key, or appendTaskKey's when key is "" (as it was stored).
	keyNumber uint64
	key       string

	// checked is when (Unix nanoseconds) a launching task was last
	// reconciled: a number, not a time.Time, keeps a task in 384 bytes.
	checked int64
	// archived reports that the task left the state's tasks for its
	// older ones (the master removed the framework).
	archived bool
	// indexed and indexedState are what the state's taskIndex counted
	// this task as.
	indexed      bool
	indexedState mesos.TaskState
}

// StatusNumber is the number, counted from 1, of History[i] among the
// task's statuses: it stays the same as later statuses arrive and older
// ones leave the history, so a page can name the status's line by it.
func (t *Task) StatusNumber(i int) int {
	if i == 0 {
		return 1
	}
	return max(t.Statuses, len(t.History)) - (len(t.History) - 1) + i
}

// StatusIndex is the index in History of status number n, if the history
// still has it.
func (t *Task) StatusIndex(n int) (int, bool) {
	switch {
	case len(t.History) == 0 || n < 1:
		return 0, false
	case n == 1:
		return 0, true
	case len(t.History) == 1:
		return 0, false
	}
	i := n - t.StatusNumber(1) + 1
	return i, 1 <= i && i < len(t.History)
}

// HasStatus reports whether History still has status number n.
func (t *Task) HasStatus(n int) bool {
	_, ok := t.StatusIndex(n)
	return ok
}

// keptHistory is what addStatus trims a full history back to: it drops a
// quarter of maxHistory at once, so that the copy a trim makes (clones
// share the array, see clone) comes once in that many updates, not with
// every update of a long-lived task.
const keptHistory = maxHistory - maxHistory/4

// addStatus appends s to the history, keeping the first status and the
// latest ones, at most maxHistory of them and maxHistoryBytes of
// messages: past either bound, the oldest after the first go until
// keptHistory statuses are left and the messages fit again.
func (t *Task) addStatus(s Status) {
	t.History = append(t.History, s)
	t.Statuses = max(t.Statuses, len(t.History)-1) + 1
	if s.UUID.IsSet() {
		t.Unacked = append(t.Unacked, t.StatusNumber(len(t.History)-1))
	}
	excess := t.historyBytes() - maxHistoryBytes
	if len(t.History) <= maxHistory && excess <= 0 {
		return
	}
	drop := len(t.History) - keptHistory // statuses after the first to drop
	if excess > 0 {
		n := 0
		for i := 1; i < len(t.History)-1 && excess > 0; i++ {
			excess -= len(t.History[i].Message)
			n++
		}
		drop = max(drop, n)
	}
	if drop = min(drop, len(t.History)-2); drop <= 0 { // the first and the latest stay
		return
	}
	// Into a new array: snapshots share this one (see clone). Its room
	// up to maxHistory takes the next appends without another copy.
	kept := make([]Status, 0, max(maxHistory, len(t.History)-drop))
	t.History = append(append(kept, t.History[0]), t.History[1+drop:]...)
	if len(t.Unacked) > 0 {
		var still []int // a new slice: clones share the old one
		for _, n := range t.Unacked {
			if t.HasStatus(n) {
				still = append(still, n)
			}
		}
		t.Unacked = still
	}
}

// Acked reports whether the scheduler acknowledged History[i]: false for
// an update the master generated, which takes no acknowledgement.
func (t *Task) Acked(i int) bool {
	return t.History[i].UUID.IsSet() && !slices.Contains(t.Unacked, t.StatusNumber(i))
}

// markAcked records that status number n was acknowledged, reporting
// whether it awaited that.
func (t *Task) markAcked(n int) bool {
	k := slices.Index(t.Unacked, n)
	if k < 0 {
		return false
	}
	if len(t.Unacked) == 1 {
		t.Unacked = nil
	} else { // a new slice: clones share the old one
		t.Unacked = slices.Delete(slices.Clone(t.Unacked), k, k+1)
	}
	return true
}

// Terminal reports whether the task's latest state is terminal.
func (t *Task) Terminal() bool {
	return !t.Launching && mesos.IsTerminal(t.State)
}

// Agent is an agent the framework has seen in an offer.
type Agent struct {
	ID         string
	Hostname   string
	Attributes []*mesos.Attribute
	// URL is the agent's base URL; LastOffer is when it last offered.
	URL       string
	LastOffer time.Time
	// Removed is when the master said the agent was removed (a FAILURE
	// event naming no executor); zero once it offers again.
	Removed time.Time
	// Capacity is the most the agent was seen to offer at once (all its
	// offers held together), resource by resource: its size as far as
	// this framework can tell, smaller than its total while other
	// frameworks or this one's tasks use part of it.
	Capacity placement.Need
}

// Connection is the framework's link to the master.
type Connection struct {
	State       mesos.State
	Master      string
	MasterInfo  *mesos.MasterInfo
	FrameworkID string
	StreamID    string
	Since       time.Time
	LastEvent   time.Time
	Heartbeat   time.Duration
	Err         string
	RetryAt     time.Time
	// Removed is set when the master said the framework id is no longer
	// valid; a new registration follows and the old history stays.
	Removed string
	// Suppressed reports whether offers are suppressed.
	Suppressed bool
	// StorageErr, when set, says why the dashboard cannot save its state
	// (a full disk, say): actions fail with ErrStorage until a write
	// succeeds again, and the dashboard is not ready. Every page should
	// show it.
	StorageErr string
}

// Event is one master event, kept for the events page.
type Event struct {
	Seq     uint64
	Time    time.Time
	Type    string
	Summary string

	msg  *mesos.Event // never modified after it arrives; nil when not kept
	json *lazyJSON    // shared by every copy of this Event
	size int          // what keeping it costs, in bytes, roughly
}

// lazyJSON holds an event's JSON once something has asked for it.
type lazyJSON struct {
	once sync.Once
	b    []byte
	err  error
}

// JSON returns the event as the master sent it, re-encoded in Mesos's
// JSON. It is encoded on first use, once for every copy: a reconciliation
// burst brings tens of thousands of events of which only the newest are
// ever shown, so encoding each on arrival was a quarter of the cost of
// applying it.
func (e Event) JSON() ([]byte, error) {
	if e.json == nil {
		return nil, nil
	}
	e.json.once.Do(func() { e.json.b, e.json.err = mesos.MarshalJSON(e.msg) })
	return e.json.b, e.json.err
}

// AuditEntry records one action: who asked for what, when, and with which
// result.
type AuditEntry struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Origin  string    `json:"origin,omitempty"`
	Action  string    `json:"action"`
	Target  string    `json:"target,omitempty"`
	Request string    `json:"request,omitempty"`
	Result  string    `json:"result"`
	Err     string    `json:"error,omitempty"`

	// undoable reports an action that is nothing but what it wrote (a
	// launch queued): if the write fails, the action did not happen.
	undoable bool
}

// Actor says who asks for an action, for the audit log.
type Actor struct {
	User   string
	Origin string
	// RequestID makes the action idempotent: a repeat by the same user,
	// of the same action on the same target, with the same id, gets the
	// first answer and sends nothing again, also after a restart (answers
	// are kept for a day, up to 4,096 of them). Repeats are audited as
	// replays. Empty means none.
	RequestID string
}
