package scheduler

import (
	"context"

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
	// changes go to the emitter before the batch goes to the committer:
	// they describe the state in memory, so a page need not wait for the
	// disk. What promised durability (acknowledgements, ACCEPTs, the
	// answers to actions) still waits for the commit.
	changes []Change
}

// masterCall is a call to the master the state decided on; after, if set,
// is applied on the state goroutine with the master's answer.
type masterCall struct {
	call  *mesos.Call
	after func(st *state, err error)
}

// call sends c to the master once what the state has written so far is
// committed.
func (st *state) call(c *mesos.Call, after func(st *state, err error)) {
	st.calls = append(st.calls, masterCall{c, after})
}

// take moves what the state made since the last take into a batch; nil
// when there is nothing.
func (st *state) take() *batch {
	if st.pending.empty() && len(st.acksReady) == 0 && len(st.calls) == 0 && len(st.replies) == 0 && len(st.out) == 0 {
		return nil
	}
	b := &batch{acks: st.acksReady, calls: st.calls, replies: st.replies, changes: st.out}
	if !st.pending.empty() {
		b.writes, b.encodeErr = st.pending.encode()
	}
	st.pending, st.acksReady, st.calls, st.replies, st.out = write{}, nil, nil, nil, nil
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

// commit persists b, then releases its acknowledgements, calls and
// replies. When the commit fails, nothing that promised durability goes out: the replies
// carry the error, the agent resends unacknowledged updates, and a
// launch whose ACCEPT was held back is settled by the launch check.
func (s *Scheduler) commit(b *batch, a *acker) {
	err := b.encodeErr
	if err == nil && b.writes != nil {
		err = s.store.commit(b.writes)
	}
	if err != nil {
		s.log.Error("persist state", "err", err, "calls_held_back", len(b.calls))
		for _, r := range b.replies {
			r(err)
		}
	} else {
		a.push(b.acks...)
		for _, c := range b.calls {
			s.callMaster(c.call, c.after)
		}
		for _, r := range b.replies {
			r(nil)
		}
	}
}

// emitLoop is the emitter: it hands each burst's changes to the consumer,
// in order, until bursts is closed; once ctx is done it drops them. Its
// owner is Run.
func (s *Scheduler) emitLoop(ctx context.Context, bursts <-chan []Change) {
	for changes := range bursts {
		for _, c := range changes {
			select {
			case s.changes <- c:
			case <-ctx.Done():
			}
		}
	}
}
