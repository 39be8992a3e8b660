package scheduler

import (
	"context"
	"slices"
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

// nextBatch pops the oldest queued acknowledgements, at most max of them,
// waiting for one until ctx is done.
func (a *acker) nextBatch(ctx context.Context, max int) ([]ack, bool) {
	for {
		a.mu.Lock()
		if len(a.queue) > 0 {
			n := min(len(a.queue), max)
			batch := slices.Clone(a.queue[:n])
			clear(a.queue[:n])
			a.queue = a.queue[n:]
			more := len(a.queue) > 0
			a.mu.Unlock()
			if more { // wake another sender
				select {
				case a.signal <- struct{}{}:
				default:
				}
			}
			return batch, true
		}
		a.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, false
		case <-a.signal:
		}
	}
}

// ackBatch bounds the acknowledgements one sender pipelines at once: a
// commit releases a burst of them, and the senders share it.
const ackBatch = 64

// run sends queued acknowledgements until ctx is done, from
// mesos.AckConnections goroutines at once, each pipelining up to ackBatch
// of them on a connection of its own (mesos.Client.AcknowledgeAll). A
// failed one is not retried: the agent resends the update, and that copy
// is acknowledged.
func (a *acker) run(ctx context.Context, s *Scheduler) {
	var wg sync.WaitGroup
	for range mesos.AckConnections {
		wg.Go(func() { a.send(ctx, s) })
	}
	wg.Wait()
}

func (a *acker) send(ctx context.Context, s *Scheduler) {
	for {
		batch, ok := a.nextBatch(ctx, ackBatch)
		if !ok {
			return
		}
		// The calls are kept for the calls page with the answers' post,
		// as one call of the batch's requests: one post a batch, not two
		// an acknowledgement.
		tag := &callTag{cause: Cause{Kind: CauseAck}, deferred: true, group: true, pending: make([]Call, 0, 1)}
		calls := make([]*mesos.Call_Acknowledge, len(batch))
		for i, k := range batch {
			calls[i] = &mesos.Call_Acknowledge{
				AgentId: &mesos.AgentID{Value: proto.String(k.agentID)},
				TaskId:  &mesos.TaskID{Value: proto.String(k.taskID)},
				Uuid:    k.uuid,
			}
		}
		errs := s.client.AcknowledgeAll(withCause(ctx, tag), calls)
		for i, err := range errs {
			s.metrics.call("ACKNOWLEDGE", err)
			if err != nil && ctx.Err() == nil {
				s.log.Debug("acknowledge failed; the agent will resend", "task_id", batch[i].taskID, "err", err)
			}
		}
		if ctx.Err() != nil {
			return
		}
		s.post(ctx, func(st *state) {
			st.addDeferredCalls(tag, 0)
			for i, k := range batch {
				if errs[i] == nil {
					st.onAcked(k)
				}
			}
		})
	}
}
