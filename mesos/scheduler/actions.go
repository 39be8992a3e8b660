package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

// Errors actions answer with; callers branch on them with errors.Is. The
// error's text says the details.
var (
	ErrUnknownOffer = errors.New("offer is not held: it was accepted, declined, rescinded or never existed")
	ErrUnknownTask  = errors.New("unknown task")
	ErrTaskFinished = errors.New("task has already finished")
	// ErrTaskUnknown: the master's last word on the task was TASK_UNKNOWN;
	// a KILL would only make it say so again.
	ErrTaskUnknown   = errors.New("the master does not know this task (TASK_UNKNOWN), so there is nothing to kill; Reconcile asks it again")
	ErrNotConnected  = errors.New("not connected to a master")
	ErrDoesNotFit    = errors.New("the tasks do not fit the offer")
	ErrStopped       = errors.New("scheduler stopped")
	ErrUnknownQueued = errors.New("no such queued spec")
	// ErrStorage: the dashboard's state could not be written, so the
	// action was not carried out (nothing was sent to the master).
	ErrStorage = errors.New("the dashboard's state could not be saved")
)

// Result is what an action achieved.
type Result struct {
	// Message says it in words for the user.
	Message string
	// TaskIDs are the tasks an accept or launch started.
	TaskIDs []string
}

// plan is what an action decided on the state goroutine: the call to send,
// and what to do with the master's answer (also on the state goroutine).
type plan struct {
	call   *mesos.Call
	finish func(st *state, err error) (Result, error)
	result Result // the answer when there is no call to send
	// undo, if set, takes back what prepare changed when the commit of
	// what it wrote fails, so an action answered with that failure leaves
	// nothing behind.
	undo func(st *state)
	// durable holds the call back until what prepare wrote is committed,
	// and so until every call of earlier bursts went out: an ACCEPT must
	// not launch a task whose intent could be lost, and a KILL of a task
	// still launching must not overtake its ACCEPT. Other calls go out at
	// once, while what prepare wrote commits.
	durable bool
}

// act runs an action: prepare on the state goroutine, the call to the
// master from the caller's goroutine (once what prepare wrote is persisted,
// when the plan says durable), finish back on the state goroutine, with an
// audit entry for the outcome, persisted before the answer.
func (s *Scheduler) act(ctx context.Context, who Actor, action, target, request string, prepare func(st *state) (plan, error)) (Result, error) {
	type prepared struct {
		p      plan
		err    error
		cached *actionResult
		// unsaved: what prepare wrote could not be committed, so the
		// call was not sent.
		unsaved bool
	}
	key := requestKey(who, action, target)
	ch := make(chan prepared, 1)
	if !s.post(ctx, func(st *state) {
		if r, ok := st.done.get(key, time.Now()); ok {
			st.auditReplay(who, action, target, r)
			st.replies = append(st.replies, func(error) { ch <- prepared{cached: r} })
			return
		}
		if first := st.inflight[key]; first != nil && time.Since(first.since) < inflightWait {
			// The first request is still with the master: this repeat
			// gets its answer when it comes.
			first.repeats = append(first.repeats, repeat{who, func(r *actionResult) { ch <- prepared{cached: r} }})
			return
		}
		p, err := prepare(st)
		if err != nil || p.call == nil {
			res := p.result
			// This action is nothing but what it wrote: if that is not
			// saved, the action did not happen, and its entry says so.
			st.audit(who, action, target, request, res, err).undoable = err == nil
			st.remember(key, who, res, err)
			if p.undo != nil {
				st.undos = append(st.undos, p.undo)
			}
			st.replies = append(st.replies, func(perr error) {
				if err == nil && perr != nil {
					err = fmt.Errorf("%s: %w", action, perr)
				}
				ch <- prepared{p: p, err: err}
			})
			return
		}
		if key != "" {
			st.inflight[key] = &inflight{since: time.Now()}
		}
		if !p.durable {
			ch <- prepared{p: p}
			return
		}
		// The call goes out once what prepare wrote (a launch intent) is
		// committed; if that fails, it does not go out.
		st.replies = append(st.replies, func(perr error) {
			ch <- prepared{p: p, err: perr, unsaved: perr != nil}
		})
	}) {
		return Result{}, s.stopErr(ctx)
	}
	var pr prepared
	select {
	case pr = <-ch:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-s.stopped:
		return Result{}, ErrStopped
	}
	if pr.cached != nil {
		return pr.cached.answer()
	}
	var callErr error
	// The calls the action sends wait in tag for the number of the audit
	// entry they belong to, given when the answer is applied.
	tag := &callTag{cause: Cause{Kind: CauseUser, User: who.User, Action: action}, deferred: true}
	switch {
	case pr.unsaved:
		// Nothing was sent: finish settles the action as refused, with
		// the reason.
		callErr = fmt.Errorf("nothing sent: %w", pr.err)
	case pr.err != nil || pr.p.call == nil:
		return pr.p.result, pr.err
	default:
		callErr = s.client.Call(withCause(ctx, tag), pr.p.call)
		s.metrics.call(pr.p.call.GetType().String(), callErr)
		if errors.Is(callErr, mesos.ErrNotSubscribed) {
			callErr = fmt.Errorf("%w: %v", ErrNotConnected, callErr)
		}
	}

	type finished struct {
		res Result
		err error
	}
	done := make(chan finished, 1)
	// The answer must be applied even if the caller gave up waiting, so
	// the state never keeps a half-done action.
	s.post(context.WithoutCancel(ctx), func(st *state) {
		res, err := pr.p.finish(st, callErr)
		st.addDeferredCalls(tag, st.audit(who, action, target, request, res, err).Seq)
		st.remember(key, who, res, err)
		if key != "" {
			r := newActionResult(time.Now(), who.RequestID, res, err)
			var repeats []repeat
			if first := st.inflight[key]; first != nil {
				repeats = first.repeats
			}
			delete(st.inflight, key)
			for _, rp := range repeats {
				st.auditReplay(rp.who, action, target, r)
				st.replies = append(st.replies, func(error) { rp.answer(r) })
			}
		}
		sent := !pr.unsaved
		st.replies = append(st.replies, func(perr error) {
			if err == nil && perr != nil {
				// The master has the call; only the record of it is
				// not saved yet (it is kept and saved once the disk
				// takes writes again).
				err = fmt.Errorf("%s was sent to the master, but the dashboard could not save it: %w", action, perr)
				if !sent {
					err = fmt.Errorf("%s: %w", action, perr)
				}
			}
			done <- finished{res, err}
		})
	})
	select {
	case f := <-done:
		return f.res, f.err
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-s.stopped:
		return Result{}, ErrStopped
	}
}

// inflightWait bounds how long a repeat waits for the first request's
// answer: a first request whose caller gave up before sending its call
// never answers, and its repeats must not wait for it forever.
const inflightWait = time.Minute

// inflight is a request with the master, and its repeats meanwhile.
type inflight struct {
	since   time.Time
	repeats []repeat
}

// forgetAbandoned drops requests that have been with the master longer
// than a repeat would wait for them: their callers gave up before the
// call went out, so no answer will come.
func (st *state) forgetAbandoned(now time.Time) {
	for key, first := range st.inflight {
		if now.Sub(first.since) >= inflightWait {
			delete(st.inflight, key)
		}
	}
}

// repeat is a request repeated while the first one is with the master.
type repeat struct {
	who    Actor
	answer func(*actionResult)
}

// remember keeps an action's answer for repeats of its request, stored
// with the action. An answer that says nothing about the action (the
// caller gave up, the state could not be saved) is not kept: a repeat
// should try again.
func (st *state) remember(key string, who Actor, res Result, err error) {
	if key == "" || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrStorage) {
		return
	}
	now := time.Now()
	st.done.put(key, newActionResult(now, who.RequestID, res, err), now, &st.pending)
}

// auditReplay records that a repeated request was answered from memory.
func (st *state) auditReplay(who Actor, action, target string, r *actionResult) {
	st.auditSeq++
	a := &AuditEntry{Seq: st.auditSeq, Time: time.Now(), User: who.User, Origin: who.Origin, Action: action, Target: target,
		Request: "replayed request " + who.RequestID + " of " + r.Time.UTC().Format(time.RFC3339), Result: "ok", Err: r.Err}
	if r.Message != "" {
		a.Result = r.Message
	}
	if r.Err != "" {
		a.Result = "failed"
	}
	a.bound()
	st.pending.audit = append(st.pending.audit, a)
	c := *a
	st.change(Change{Kind: AuditAdded, Audit: &c})
}

// Bounds of an audit entry's fields: a request refused for its size is
// recorded, but not at its size.
const (
	maxAuditName    = 256 // user, origin, action, target
	maxAuditRequest = 2 << 10
	maxAuditResult  = 2 << 10 // result and error
)

// bound cuts the entry's fields to their bounds.
func (a *AuditEntry) bound() {
	a.User, a.Origin, a.Action, a.Target = clip(a.User, maxAuditName), clip(a.Origin, maxAuditName), clip(a.Action, maxAuditName), clip(a.Target, maxAuditName)
	a.Request, a.Result, a.Err = clip(a.Request, maxAuditRequest), clip(a.Result, maxAuditResult), clip(a.Err, maxAuditResult)
}

// audit appends an audit entry and returns it.
func (st *state) audit(who Actor, action, target, request string, res Result, err error) *AuditEntry {
	st.auditSeq++
	a := &AuditEntry{Seq: st.auditSeq, Time: time.Now(), User: who.User, Origin: who.Origin, Action: action, Target: target, Request: request, Result: "ok"}
	if res.Message != "" {
		a.Result = res.Message
	}
	if err != nil {
		a.Result, a.Err = "failed", err.Error()
	}
	a.bound()
	st.pending.audit = append(st.pending.audit, a)
	c := *a
	st.change(Change{Kind: AuditAdded, Audit: &c})
	return a
}

// Accept launches specs on a held offer: resources are carved from that
// offer, the launch intents are persisted, and then ACCEPT is sent, so a
// crash in between never launches twice. The unused rest of the offer is
// declined with the configured refuse seconds.
func (s *Scheduler) Accept(ctx context.Context, who Actor, offerID string, specs []TaskSpec) (Result, error) {
	var tasks []*Task
	return s.act(ctx, who, "accept", offerID, describeSpecs(specs), func(st *state) (plan, error) {
		if st.conn.State != mesos.Subscribed {
			return plan{}, ErrNotConnected
		}
		o := st.offers[offerID]
		if o == nil {
			return plan{}, fmt.Errorf("accept %s: %w", offerID, ErrUnknownOffer)
		}
		if len(specs) == 0 {
			return plan{}, fmt.Errorf("accept %s: %w: no task to launch", offerID, ErrBadSpec)
		}
		var cs []compiled
		var needs []placement.Need
		for _, sp := range specs {
			c, err := compile(sp)
			if err != nil {
				return plan{}, err
			}
			for range c.spec.Instances {
				cs = append(cs, c)
				needs = append(needs, c.need)
			}
		}
		// With every other offer held of the agent: the form shows the
		// agent's whole share, and one ACCEPT may take it all.
		h := st.heldWith(o)
		taken, err := placement.Pack(h.whole.Offer, needs)
		if err != nil {
			return plan{}, fmt.Errorf("accept %s on %s: %w: %v", offerID, o.Hostname, ErrDoesNotFit, err)
		}
		var infos []*mesos.TaskInfo
		tasks = nil
		for i, c := range cs {
			t, ti := st.newTask(c, h.whole, taken[i], "")
			tasks = append(tasks, t)
			infos = append(infos, ti)
		}
		for _, o := range h.offers {
			st.removeOffer(o.ID, "accepted", st.s.cfg.RefuseSeconds)
		}
		return plan{
			durable: true,
			call:    acceptCall(h, infos, st.s.cfg.RefuseSeconds),
			finish: func(st *state, err error) (Result, error) {
				return st.launched(h, tasks, err)
			},
		}, nil
	})
}

// newTask records the launch intent of one instance, placed from the
// queued spec queueID if any.
func (st *state) newTask(c compiled, o *Offer, taken placement.Taken, queueID string) (*Task, *mesos.TaskInfo) {
	id := newTaskID(c.spec.Name)
	for st.tasks[id] != nil {
		id = newTaskID(c.spec.Name)
	}
	st.shared.shareResources(taken.Resources)
	ti := c.taskInfo(id, o.Offer, taken)
	cmd := c.spec.Command
	if len(c.spec.Argv) > 0 {
		cmd = strings.Join(c.spec.Argv, " ")
	}
	attributes := make(map[string]string, len(o.Offer.GetAttributes()))
	for _, a := range o.Offer.GetAttributes() {
		attributes[a.GetName()] = mesos.AttributeText(a)
	}
	launch := &Launch{
		Name: c.spec.Name, Hostname: o.Hostname, OfferID: o.ID, Resources: taken.Resources, Ports: taken.Ports,
		Command: cmd, Image: c.spec.Image, Launched: time.Now(), QueueID: queueID,
	}
	t := &Task{
		ID: id, Launch: launch, AgentID: o.AgentID, ExecutorID: id, State: mesos.TaskState_TASK_STAGING,
		Launching: true, Registration: st.registration, keyNumber: st.newKeyNumber(),
	}
	launch.Attributes, t.AgentURL = st.shared.agent(o.AgentID, attributes, agentURL(o.Offer))
	st.tasks[id] = t
	st.taskChanged(t)
	return t, ti
}

// acceptCall launches infos on every offer of h, in one ACCEPT.
func acceptCall(h *held, infos []*mesos.TaskInfo, refuse float64) *mesos.Call {
	return &mesos.Call{Type: mesos.Call_ACCEPT.Enum(), Accept: &mesos.Call_Accept{
		OfferIds: h.offerIDs(),
		Operations: []*mesos.Offer_Operation{{
			Type:   mesos.Offer_Operation_LAUNCH.Enum(),
			Launch: &mesos.Offer_Operation_Launch{TaskInfos: infos},
		}},
		Filters: &mesos.Filters{RefuseSeconds: proto.Float64(refuse)},
	}}
}

// launched applies the master's answer to an ACCEPT of h.
func (st *state) launched(h *held, tasks []*Task, err error) (Result, error) {
	o := h.whole
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = t.ID
	}
	if err == nil {
		return Result{Message: fmt.Sprintf("launching %s on %s", strings.Join(ids, ", "), o.Hostname), TaskIDs: ids}, nil
	}
	var apiErr *mesos.APIError
	if errors.As(err, &apiErr) || errors.Is(err, ErrNotConnected) || errors.Is(err, ErrStorage) {
		// The master refused the call outright: nothing launched, and
		// the offer is still ours unless it is gone for other reasons.
		for _, t := range tasks {
			t.Launching = false
			t.State = mesos.TaskState_TASK_ERROR
			t.addStatus(Status{State: mesos.TaskState_TASK_ERROR, Source: mesos.TaskStatus_SOURCE_MASTER,
				Message: "not launched: " + err.Error(), Time: time.Now()})
			st.taskChanged(t)
		}
		if st.conn.State == mesos.Subscribed {
			for _, o := range h.offers {
				st.holdOffer(o)
			}
		}
		return Result{}, fmt.Errorf("accept %s: %w", o.ID, err)
	}
	// The call may or may not have reached the master: reconciliation
	// settles each task, which stays launching until then.
	st.reconcile(tasks, "the answer to an ACCEPT was lost")
	return Result{Message: "the master's answer was lost; reconciling " + strings.Join(ids, ", "), TaskIDs: ids}, nil
}

func describeSpecs(specs []TaskSpec) string {
	var parts []string
	for _, s := range specs {
		cmd := s.Command
		if cmd == "" {
			cmd = strings.Join(s.Argv, " ")
		}
		if s.Image != "" {
			cmd = "image " + s.Image + " " + cmd
		}
		if len(cmd) > 200 {
			cmd = cmd[:200] + "…"
		}
		n := s.Instances
		if n == 0 {
			n = 1
		}
		parts = append(parts, fmt.Sprintf("%s x%d: %s (cpus %g, mem %g)", s.Name, n, strings.TrimSpace(cmd), s.CPUs, s.Mem))
	}
	return strings.Join(parts, "; ")
}

// Decline gives a held offer back, with refuse seconds (negative: the
// configured default).
func (s *Scheduler) Decline(ctx context.Context, who Actor, offerID string, refuse time.Duration) (Result, error) {
	return s.act(ctx, who, "decline", offerID, "refuse "+refuse.String(), func(st *state) (plan, error) {
		o := st.offers[offerID]
		if o == nil {
			return plan{}, fmt.Errorf("decline %s: %w", offerID, ErrUnknownOffer)
		}
		secs := refuse.Seconds()
		if refuse < 0 {
			secs = st.s.cfg.RefuseSeconds
		}
		st.removeOffer(offerID, "declined", secs)
		return plan{
			call: &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{
				OfferIds: []*mesos.OfferID{o.Offer.GetId()},
				Filters:  &mesos.Filters{RefuseSeconds: proto.Float64(secs)},
			}},
			finish: func(st *state, err error) (Result, error) {
				if err != nil {
					return Result{}, fmt.Errorf("decline %s: %w", offerID, err)
				}
				return Result{Message: fmt.Sprintf("declined %s for %gs", o.Hostname, secs)}, nil
			},
		}, nil
	})
}

// Kill asks the master to kill a task, with a grace period (zero: the
// task's own kill policy).
func (s *Scheduler) Kill(ctx context.Context, who Actor, taskID string, grace time.Duration) (Result, error) {
	return s.act(ctx, who, "kill", taskID, "grace "+grace.String(), func(st *state) (plan, error) {
		return st.killPlan(taskID, grace)
	})
}

// killPlan decides a KILL of taskID on the state goroutine.
func (st *state) killPlan(taskID string, grace time.Duration) (plan, error) {
	t := st.tasks[taskID]
	if t == nil {
		return plan{}, fmt.Errorf("kill %s: %w", taskID, ErrUnknownTask)
	}
	if t.Terminal() {
		return plan{}, fmt.Errorf("kill %s: %w (%s)", taskID, ErrTaskFinished, t.State)
	}
	if t.State == mesos.TaskState_TASK_UNKNOWN {
		// The master answers a KILL of a task it does not know with
		// reconciliation: TASK_UNKNOWN again, and nothing is killed.
		return plan{}, fmt.Errorf("kill %s: %w", taskID, ErrTaskUnknown)
	}
	k := &mesos.Call_Kill{TaskId: &mesos.TaskID{Value: proto.String(taskID)}}
	if t.AgentID != "" {
		k.AgentId = &mesos.AgentID{Value: proto.String(t.AgentID)}
	}
	if grace > 0 {
		k.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(grace))}}
	}
	t.Killing = true
	st.taskChanged(t)
	return plan{
		// A task still launching may have its ACCEPT waiting for a
		// commit: the KILL must not overtake it, or the master
		// would not know the task yet and the kill would be lost.
		durable: t.Launching,
		call:    &mesos.Call{Type: mesos.Call_KILL.Enum(), Kill: k},
		finish: func(st *state, err error) (Result, error) {
			if err != nil {
				t.Killing = false
				st.taskChanged(t)
				return Result{}, fmt.Errorf("kill %s: %w", taskID, err)
			}
			if t.State == mesos.TaskState_TASK_UNREACHABLE {
				return Result{Message: "killing " + taskID + " once its agent is reachable again"}, nil
			}
			return Result{Message: "killing " + taskID}, nil
		},
	}, nil
}

// Reconcile asks the master for the state of every task now: explicit for
// the live ones, then implicit.
func (s *Scheduler) Reconcile(ctx context.Context, who Actor) (Result, error) {
	return s.act(ctx, who, "reconcile", "", "", func(st *state) (plan, error) {
		if st.conn.State != mesos.Subscribed {
			return plan{}, ErrNotConnected
		}
		live := st.liveTasks()
		if len(live) > 0 {
			st.reconcile(live, "asked for by "+who.User)
		}
		return plan{
			call: &mesos.Call{Type: mesos.Call_RECONCILE.Enum(), Reconcile: &mesos.Call_Reconcile{}},
			finish: func(st *state, err error) (Result, error) {
				if err != nil {
					return Result{}, fmt.Errorf("reconcile: %w", err)
				}
				return Result{Message: "reconciling " + plural(len(live), "live task", "live tasks")}, nil
			},
		}, nil
	})
}

// Revive asks for offers again, clearing every decline filter.
func (s *Scheduler) Revive(ctx context.Context, who Actor) (Result, error) {
	return s.setSuppressed(ctx, who, false)
}

// Suppress stops offers until Revive; offers held stay held.
func (s *Scheduler) Suppress(ctx context.Context, who Actor) (Result, error) {
	return s.setSuppressed(ctx, who, true)
}

func (s *Scheduler) setSuppressed(ctx context.Context, who Actor, suppress bool) (Result, error) {
	typ, action := mesos.Call_REVIVE, "revive"
	if suppress {
		typ, action = mesos.Call_SUPPRESS, "suppress"
	}
	return s.act(ctx, who, action, "", "", func(st *state) (plan, error) {
		if st.conn.State != mesos.Subscribed {
			return plan{}, ErrNotConnected
		}
		return plan{
			call: &mesos.Call{Type: typ.Enum()},
			finish: func(st *state, err error) (Result, error) {
				if err != nil {
					return Result{}, fmt.Errorf("%s: %w", action, err)
				}
				st.conn.Suppressed = suppress
				st.connChanged()
				return Result{Message: action + "d"}, nil
			},
		}, nil
	})
}
