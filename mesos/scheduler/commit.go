package scheduler

import (
	"context"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
)

// batch is what one pass of the state goroutine made: the writes in their
// stored form, everything that waits for them to be durable, and the
// changes that describe it. Nothing in it is shared with the state.
type batch struct {
	writes    *encoded
	encodeErr error
	// Released only once the writes are committed: acknowledgements to
	// the master, calls to it (an ACCEPT goes out after its launch intent
	// is stored), and the answers to actions.
	acks    []ack
	calls   []masterCall
	replies []func(error)
	// undos are applied on the state goroutine if the commit fails: they
	// take back what actions answered with the failure had changed.
	undos []func(st *state)
	// A batch holds no changes: they go to the emitter before the batch
	// goes to the committer, as they describe the state in memory and a
	// page need not wait for the disk. What promised durability
	// (acknowledgements, ACCEPTs, the answers to actions) still waits for
	// the commit.
}

// masterCall is a call to the master the state decided on; after, if set,
// is applied on the state goroutine with the master's answer.
type masterCall struct {
	call  *mesos.Call
	after func(st *state, err error)
	cause Cause
}

// call sends c to the master once what the state has written so far is
// committed; cause says why, on the calls page.
func (st *state) call(cause Cause, c *mesos.Call, after func(st *state, err error)) {
	st.calls = append(st.calls, masterCall{c, after, cause})
}

// take moves what the state made since the last take into a batch; nil
// when there is nothing.
func (st *state) take() *batch {
	if st.pending.empty() && len(st.acksReady) == 0 && len(st.calls) == 0 && len(st.replies) == 0 {
		return nil
	}
	b := &batch{acks: st.acksReady, calls: st.calls, replies: st.replies, undos: st.undos}
	if !st.pending.empty() {
		b.writes, b.encodeErr = st.pending.encode(&st.log, st.log.limit(len(st.tasks)+len(st.older)), st.s.spareBuffers())
	}
	st.acksLast = len(st.acksReady)
	st.pending, st.acksReady, st.calls, st.replies, st.undos = write{}, nil, nil, nil, nil
	st.commitNow = false
	return b
}

// commitLoop is the committer: it commits each batch and then releases
// what waited for it, one batch at a time and in order, until batches is
// closed. Its owner is Run.
func (s *Scheduler) commitLoop(batches <-chan *batch, a *acker) {
	for b := range batches {
		s.commit(b, a)
	}
}

// commit persists b, together with whatever earlier failed commits left
// unwritten, then releases its acknowledgements, calls and replies. When
// the commit fails, nothing that promised durability goes out: the
// replies carry ErrStorage, the agent resends unacknowledged updates, an
// ACCEPT held back is settled as not launched, and what b wrote is kept
// for the next commit (see storage.go). Only the committer calls it.
func (s *Scheduler) commit(b *batch, a *acker) {
	err := b.encodeErr
	w := s.unwritten.then(b.writes)
	if err == nil && w != nil {
		start := time.Now()
		err = s.store.commit(w)
		s.metrics.committed(time.Since(start))
	}
	if err != nil {
		err = storageError(err)
		var forget []string
		if b.encodeErr == nil {
			var left *encoded
			left, forget = b.writes.unsaved(err)
			s.unwritten = s.unwritten.then(left)
		}
		s.logStorage(err, len(b.calls))
		// Calls that promise nothing durable still go out: a DECLINE
		// or a RECONCILE must not wait for the disk. An ACCEPT must.
		var held []masterCall
		for _, c := range b.calls {
			if c.call.GetType() == mesos.Call_ACCEPT {
				held = append(held, c)
			} else {
				s.callMaster(c)
			}
		}
		s.health.failed(commitFailure{err: err, calls: held, undos: b.undos, forget: forget})
		for _, r := range b.replies {
			r(err)
		}
		return
	}
	s.unwritten = nil
	s.giveBackBuffers(w)
	if s.health.succeeded() {
		s.log.Info("state saved again", "failing_for", time.Since(s.health.since).Round(time.Millisecond))
		s.health.since, s.health.lastLog, s.health.unlogged = time.Time{}, time.Time{}, 0
	}
	a.push(b.acks...)
	for _, c := range b.calls {
		s.callMaster(c)
	}
	for _, r := range b.replies {
		r(nil)
	}
}

// logStorage logs a failed commit: the first one, then at most every
// storageLogEvery, with how many failed since, so a full disk under a
// stream of updates is not a log line per update.
func (s *Scheduler) logStorage(err error, held int) {
	h := s.health
	now := time.Now()
	if h.since.IsZero() {
		h.since = now
	}
	h.unlogged++
	if !h.lastLog.IsZero() && now.Sub(h.lastLog) < storageLogEvery {
		return
	}
	s.log.Error("cannot save state; actions fail and the dashboard is not ready until it can",
		"err", err, "failed_commits", h.unlogged, "failing_for", now.Sub(h.since).Round(time.Millisecond), "calls_held_back", held)
	h.lastLog, h.unlogged = now, 0
}

// emitLoop is the emitter: it hands each burst's changes to the consumer,
// in order, until bursts is closed; once ctx is done it drops them. Its
// owner is Run. An emptied burst goes back to the state goroutine (see
// spareChanges).
func (s *Scheduler) emitLoop(ctx context.Context, bursts <-chan []Change) {
	for changes := range bursts {
		for _, c := range changes {
			select {
			case s.changes <- c:
			case <-ctx.Done():
			}
		}
		if cap(changes) > maxSpareChanges {
			continue // one burst's room is not held through a quiet time
		}
		clear(changes) // what the changes point to is the consumer's now
		select {
		case s.spare <- changes[:0]:
		default:
		}
	}
}

// maxSpareChanges bounds the room of a burst kept for the next: 16,384
// changes are 2.9 MB.
const maxSpareChanges = 1 << 14

// spareChanges returns an empty burst for the state goroutine to fill: one
// the emitter handed back, or a new one with room for n changes (the last
// burst's count: the next likely holds as many). Each message the state
// goroutine applies makes a burst; grown anew from nothing by doubling,
// they were a sixth of what the dashboard allocated at 28,000 updates a
// second, four changes each. With two spares kept, while up to
// burstsWaiting bursts waited for the emitter, they were still an eighth
// at 25,000 updates a second.
func (s *Scheduler) spareChanges(n int) []Change {
	select {
	case c := <-s.spare:
		return c
	default:
		s.burstsMade++
		return make([]Change, 0, min(n, maxSpareChanges))
	}
}

// spareBuffers returns buffers a committed write left, or nil; state
// goroutine only.
func (s *Scheduler) spareBuffers() *encodeBuffers {
	select {
	case b := <-s.spareEncode:
		return b
	default:
		return nil
	}
}

// giveBackBuffers hands the buffers of w, committed, to the next encodes
// (as many as there is room for and are worth keeping); committer only.
func (s *Scheduler) giveBackBuffers(w *encoded) {
	if w == nil {
		return
	}
	for _, b := range w.buffers {
		if !b.reusable() {
			continue
		}
		select {
		case s.spareEncode <- b:
		default:
			return
		}
	}
}

// dropSpares lets go of the emptied bursts kept, so a quiet dashboard does
// not hold the room a past load needed (up to spareBursts of
// maxSpareChanges changes each).
func (s *Scheduler) dropSpares() {
	for {
		select {
		case <-s.spare:
			s.burstsDropped++
		case <-s.spareEncode:
		default:
			return
		}
	}
}
