package scheduler

import (
	"context"
	"slices"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
)

// What caused a call: Cause.Kind.
const (
	// CauseUser: a user's action (a button, a form, a script's POST).
	CauseUser = "user"
	// CauseHold: the hold policy declined offers nobody acted on.
	CauseHold = "hold"
	// CauseQueue: the launch queue placed specs on an offer.
	CauseQueue = "queue"
	// CauseAck: an update was persisted and is acknowledged.
	CauseAck = "acknowledgement"
	// CauseReconcile: reconciliation, after subscribing, periodically, or
	// for a launch that heard nothing.
	CauseReconcile = "reconciliation"
	// CauseRefused: offers the framework cannot keep are given back.
	CauseRefused = "refused offer"
	// CauseSubscribe: the client (re)subscribes.
	CauseSubscribe = "subscription"
	// CauseRetry: the client sent a call again after the master refused
	// it for a stream id a re-subscription had just replaced.
	CauseRetry = "retry"
)

// CauseKinds lists every Cause.Kind, for filters.
func CauseKinds() []string {
	return []string{CauseUser, CauseHold, CauseQueue, CauseAck, CauseReconcile, CauseRefused, CauseSubscribe, CauseRetry}
}

// Cause says who or what made the scheduler send a call.
type Cause struct {
	// Kind is one of the Cause constants.
	Kind string
	// Detail says more: the reason for a reconciliation, the cause a
	// retry repeats.
	Detail string
	// User and Action name a user's action, and Audit the sequence number
	// of the audit entry that records it.
	User, Action string
	Audit        uint64
}

// Call is one request the scheduler sent to the master and the master's
// answer, kept for the calls page. Values handed out are immutable.
type Call struct {
	Seq  uint64
	Time time.Time // when it was sent
	Type string    // "ACCEPT", "DECLINE", ...
	// Cause is who or what made the scheduler send it.
	Cause Cause
	// Master, StreamID, MediaType and Principal are how it was sent (see
	// mesos.SentCall); the secret is never kept.
	Master, StreamID, MediaType, Principal string
	// JSON is the body as JSON, its first MaxCallJSON bytes; JSONSize is
	// the whole body's size.
	JSON     []byte
	JSONSize int
	// Status is the master's HTTP status, 0 when no answer came; Answer
	// its text, or why no answer came.
	Status int
	Answer string
	Took   time.Duration
	// OfferIDs and TaskIDs are the offers and tasks the call is about
	// (the first maxCallIDs of each; of a group, up to maxGroupIDs).
	OfferIDs, TaskIDs []string
	// Count is how many requests the call stands for: more than one for
	// a burst of acknowledgements pipelined on one connection, kept as
	// one call (its body and curl line are the first's; Took is the
	// burst's, to its last answer). Failed counts the requests not
	// accepted; Status and Answer are then the first of those's.
	Count, Failed int

	size int // what keeping it costs, in bytes, roughly
}

// Whole reports whether JSON is the whole body.
func (c Call) Whole() bool { return len(c.JSON) == c.JSONSize }

// Requests is how many requests the call stands for.
func (c Call) Requests() int { return max(c.Count, 1) }

// accepted reports whether a status is the master's yes.
func accepted(status int) bool { return status >= 200 && status < 300 }

// join adds a request of the same burst to a group call.
func (c *Call) join(sc *mesos.SentCall) {
	c.Count++
	c.Took = max(c.Took, sc.Sent.Add(sc.Took).Sub(c.Time))
	if !accepted(sc.Status) {
		if c.Failed == 0 && accepted(c.Status) {
			c.Status, c.Answer = sc.Status, clip(sc.Answer, maxAuditResult)
			c.size += len(c.Answer)
		}
		c.Failed++
	}
	if len(c.TaskIDs) >= maxGroupIDs {
		return
	}
	if sc.Call.GetType() == mesos.Call_ACKNOWLEDGE { // a group's calls; as callTargets, without a slice each
		if id := sc.Call.GetAcknowledge().GetTaskId().GetValue(); id != "" {
			id = clip(id, maxAuditName)
			c.TaskIDs = append(c.TaskIDs, id)
			c.size += len(id) + 16
		}
		return
	}
	_, tasks := callTargets(sc.Call)
	for _, id := range tasks {
		if len(c.TaskIDs) < maxGroupIDs {
			c.TaskIDs = append(c.TaskIDs, id)
			c.size += len(id) + 16
		}
	}
}

// Bounds of the calls kept.
const (
	// MaxCallJSON is how much of a call's body is kept: a RECONCILE of
	// every task of a big cluster is megabytes.
	MaxCallJSON = 16 << 10
	// maxCallIDs bounds the offer and task ids noted of one call, and
	// maxGroupIDs those of a group (as many as a sender pipelines).
	maxCallIDs  = 20
	maxGroupIDs = ackBatch
	// callOverhead is what keeping a call costs beyond its body and text.
	callOverhead = 512
	// DefaultCallHistory and DefaultCallHistoryBytes are the defaults of
	// Config.CallHistory and CallHistoryBytes.
	DefaultCallHistory      = 500
	DefaultCallHistoryBytes = 4 << 20
)

// causeKey carries a *callTag in the context of a call.
type causeKey struct{}

// callTag is the cause of the calls sent with its context. With
// deferred, the calls wait in pending (written by the sending goroutine
// while it sends, read on the state goroutine after) for its sender to
// post them: a user's action, once the audit entry they belong to exists;
// an acknowledgement, with its answer.
type callTag struct {
	cause    Cause
	deferred bool
	// group keeps the deferred calls as one call of Count requests: the
	// acknowledgements one sender pipelines at once. At tens of thousands
	// a second, one record each was a tenth of what the dashboard
	// allocated, for a page nobody reads at that pace.
	group   bool
	pending []Call
}

func withCause(ctx context.Context, tag *callTag) context.Context {
	return context.WithValue(ctx, causeKey{}, tag)
}

// onCall receives every request the client sent.
func (s *Scheduler) onCall(ctx context.Context, sc *mesos.SentCall) {
	tag, _ := ctx.Value(causeKey{}).(*callTag)
	if tag != nil && tag.group && len(tag.pending) > 0 {
		tag.pending[0].join(sc)
		return
	}
	c := newCall(sc, tag)
	if tag != nil && tag.deferred {
		tag.pending = append(tag.pending, c)
		return
	}
	s.post(ctx, func(st *state) { st.addCall(c) })
}

// newCall keeps what the calls page shows of a request.
func newCall(sc *mesos.SentCall, tag *callTag) Call {
	c := Call{Time: sc.Sent, Type: sc.Type, Master: sc.Master, StreamID: sc.StreamID, MediaType: sc.MediaType,
		Principal: sc.Principal, JSON: sc.JSON, JSONSize: len(sc.JSON), Status: sc.Status, Answer: clip(sc.Answer, maxAuditResult), Took: sc.Took,
		Count: 1}
	if !accepted(c.Status) {
		c.Failed = 1
	}
	// A copy of its own, at most MaxCallJSON of it: the body may be
	// longer, or share its array with the bodies of a pipelined batch.
	c.JSON = slices.Clone(c.JSON[:min(len(c.JSON), MaxCallJSON)])
	switch {
	case tag != nil:
		c.Cause = tag.cause
	case sc.Type == mesos.Call_ACKNOWLEDGE.String():
		c.Cause.Kind = CauseAck
	case sc.Type == mesos.Call_SUBSCRIBE.String():
		c.Cause.Kind = CauseSubscribe
	}
	if sc.Retry {
		c.Cause.Detail, c.Cause.Kind = "retry of a call of cause "+c.Cause.Kind, CauseRetry
	}
	c.OfferIDs, c.TaskIDs = callTargets(sc.Call)
	c.size = callOverhead + len(c.JSON) + len(c.Answer) + len(c.Master) + len(c.StreamID)
	for _, id := range append(c.OfferIDs, c.TaskIDs...) {
		c.size += len(id) + 16
	}
	return c
}

// callTargets names the offers and tasks a call is about.
func callTargets(call *mesos.Call) (offers, tasks []string) {
	addOffer := func(id *mesos.OfferID) {
		if len(offers) < maxCallIDs {
			offers = append(offers, clip(id.GetValue(), maxOfferIDBytes))
		}
	}
	addTask := func(id *mesos.TaskID) {
		if len(tasks) < maxCallIDs && id.GetValue() != "" {
			tasks = append(tasks, clip(id.GetValue(), maxAuditName))
		}
	}
	switch call.GetType() {
	case mesos.Call_ACCEPT:
		for _, id := range call.GetAccept().GetOfferIds() {
			addOffer(id)
		}
		for _, op := range call.GetAccept().GetOperations() {
			for _, ti := range op.GetLaunch().GetTaskInfos() {
				addTask(ti.GetTaskId())
			}
		}
	case mesos.Call_DECLINE:
		for _, id := range call.GetDecline().GetOfferIds() {
			addOffer(id)
		}
	case mesos.Call_KILL:
		addTask(call.GetKill().GetTaskId())
	case mesos.Call_ACKNOWLEDGE:
		addTask(call.GetAcknowledge().GetTaskId())
	case mesos.Call_RECONCILE:
		for _, t := range call.GetReconcile().GetTasks() {
			addTask(t.GetTaskId())
		}
	}
	return offers, tasks
}

// addCall appends c to the calls kept, and announces it.
func (st *state) addCall(c Call) {
	st.callSeq++
	c.Seq = st.callSeq
	st.sent = append(st.sent, c)
	st.sentBytes += c.size
	// Trimmed in halves, as the events are.
	if keep, keepBytes := st.s.cfg.CallHistory, st.s.cfg.CallHistoryBytes; len(st.sent) >= 2*keep || st.sentBytes >= 2*keepBytes {
		from := st.keptCallsFrom()
		for _, old := range st.sent[:from] {
			st.sentBytes -= old.size
		}
		st.sent = slices.Delete(st.sent, 0, from)
	}
	st.change(Change{Kind: CallAdded, Call: &c})
}

// addDeferredCalls records the calls sent with tag, as belonging to the
// audit entry numbered audit (0: none).
func (st *state) addDeferredCalls(tag *callTag, audit uint64) {
	for _, c := range tag.pending {
		if audit > 0 {
			c.Cause.Audit = audit
		}
		st.addCall(c)
	}
	tag.pending = nil
}

// keptCallsFrom is the index of the oldest call kept: the newest
// CallHistory calls, as far as they fit in CallHistoryBytes, and at least
// the newest.
func (st *state) keptCallsFrom() int {
	keep, budget := st.s.cfg.CallHistory, st.s.cfg.CallHistoryBytes
	i := len(st.sent)
	for i > 0 && len(st.sent)-i < keep && (i == len(st.sent) || budget >= st.sent[i-1].size) {
		budget -= st.sent[i-1].size
		i--
	}
	return i
}

// keptCalls are the calls kept for the calls page, oldest first.
func (st *state) keptCalls() []Call {
	return st.sent[st.keptCallsFrom():]
}
