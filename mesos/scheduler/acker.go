package scheduler

import (
	"context"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// ack is an acknowledgement owed to the master for a persisted update.
type ack struct {
	agentID, taskID string
	uuid            []byte
}

// acker sends acknowledgements on its own goroutine, so the state
// goroutine never waits on the network. Its queue holds only updates
// already persisted; if the process dies first, the agent resends them.
type acker struct {
	mu     sync.Mutex
	queue  []ack
	signal chan struct{}
}

func newAcker() *acker { return &acker{signal: make(chan struct{}, 1)} }

func (a *acker) push(acks ...ack) {
	if len(acks) == 0 {
		return
	}
	a.mu.Lock()
	a.queue = append(a.queue, acks...)
	a.mu.Unlock()
	select {
	case a.signal <- struct{}{}:
	default:
	}
}

// take empties the queue and returns what it held.
func (a *acker) take() []ack {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := a.queue
	a.queue = nil
	return q
}

// next pops the oldest queued acknowledgement, waiting for one until ctx
// is done.
func (a *acker) next(ctx context.Context) (ack, bool) {
	for {
		a.mu.Lock()
		if len(a.queue) > 0 {
			k := a.queue[0]
			a.queue[0] = ack{}
			a.queue = a.queue[1:]
			more := len(a.queue) > 0
			a.mu.Unlock()
			if more { // wake another sender
				select {
				case a.signal <- struct{}{}:
				default:
				}
			}
			return k, true
		}
		a.mu.Unlock()
		select {
		case <-ctx.Done():
			return ack{}, false
		case <-a.signal:
		}
	}
}

// run sends queued acknowledgements until ctx is done, from
// mesos.AckConnections goroutines at once: one at a time, a round trip
// each, bounded the rate of updates the framework could take to about
// 1/RTT. A failed one is not retried: the agent resends the update, and
// that copy is acknowledged.
func (a *acker) run(ctx context.Context, s *Scheduler) {
	var wg sync.WaitGroup
	for range mesos.AckConnections {
		wg.Go(func() { a.send(ctx, s) })
	}
	wg.Wait()
}

func (a *acker) send(ctx context.Context, s *Scheduler) {
	for {
		k, ok := a.next(ctx)
		if !ok {
			return
		}
		// The call is kept for the calls page with the answer's post:
		// one post an acknowledgement, not two.
		tag := &callTag{cause: Cause{Kind: CauseAck}, deferred: true}
		err := s.client.Acknowledge(withCause(ctx, tag), &mesos.Call_Acknowledge{
			AgentId: &mesos.AgentID{Value: proto.String(k.agentID)},
			TaskId:  &mesos.TaskID{Value: proto.String(k.taskID)},
			Uuid:    k.uuid,
		})
		s.metrics.call("ACKNOWLEDGE", err)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Debug("acknowledge failed; the agent will resend", "task_id", k.taskID, "err", err)
		}
		s.post(ctx, func(st *state) {
			st.addDeferredCalls(tag, 0)
			if err == nil {
				st.onAcked(k)
			}
		})
	}
}
