package scheduler

import (
	"context"
	"slices"
	"sync"

	"github.com/offerdeck/offerdeck/mesos"
)

// ack is an acknowledgement owed to the master for a persisted update.
type ack struct {
	agentID, taskID string
	uuid            UUID
	// task is the task acknowledged, so that the answer finds it without
	// a lookup among every task. Only the state goroutine reads it.
	task *Task
}

// acker sends acknowledgements on its own goroutine, so the state
// goroutine never waits on the network. Its queue holds only updates
// already persisted; if the process dies first, the agent resends them.
type acker struct {
	mu sync.Mutex
	// queue[head:] are the acknowledgements waiting, oldest first. The
	// array is kept: it is filled again from the start once emptied, and
	// what waits moves to the front once half of it is sent, so a backlog
	// is copied at most once for each of its acknowledgements sent.
	queue  []ack
	head   int
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
	q := a.queue[a.head:]
	a.queue, a.head = nil, 0
	return q
}

// nextBatch pops the oldest queued acknowledgements, at most max of them,
// waiting for one until ctx is done.
func (a *acker) nextBatch(ctx context.Context, max int) ([]ack, bool) {
	for {
		a.mu.Lock()
		if waiting := len(a.queue) - a.head; waiting > 0 {
			n := min(waiting, max)
			sent := a.queue[a.head : a.head+n]
			batch := slices.Clone(sent)
			clear(sent)
			a.head += n
			switch {
			case a.head == len(a.queue) && cap(a.queue) > ackQueueRoom:
				a.queue, a.head = nil, 0 // a burst's room is not held through a quiet time
			case a.head == len(a.queue):
				a.queue, a.head = a.queue[:0], 0
			case a.head >= len(a.queue)/2:
				rest := copy(a.queue, a.queue[a.head:])
				clear(a.queue[rest:])
				a.queue, a.head = a.queue[:rest], 0
			}
			more := n < waiting
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

// ackQueueRoom bounds the room the emptied queue keeps: 4,096 acks.
const ackQueueRoom = 1 << 12

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
	var calls ackCalls
	for {
		batch, ok := a.nextBatch(ctx, ackBatch)
		if !ok {
			return
		}
		// The calls are kept for the calls page with the answers' post,
		// as one call of the batch's requests: one post a batch, not two
		// an acknowledgement.
		tag := &callTag{cause: Cause{Kind: CauseAck}, deferred: true, group: true, pending: make([]Call, 0, 1)}
		errs := s.client.AcknowledgeAll(withCause(ctx, tag), calls.of(batch))
		accepted := 0
		for i, err := range errs {
			if err == nil {
				accepted++
				continue
			}
			s.metrics.call("ACKNOWLEDGE", err)
			if ctx.Err() == nil {
				s.log.Debug("acknowledge failed; the agent will resend", "task_id", batch[i].taskID, "err", err)
			}
		}
		s.metrics.accepted("ACKNOWLEDGE", accepted) // once a batch: a label lookup allocates
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

// ackCalls holds one sender's acknowledgement calls: their messages in one
// array each, and their ids pointing into the batch, rather than five
// allocations an acknowledgement. Each batch's are made in the arrays of
// the last: AcknowledgeAll and what it tells OnCall keep none of them.
type ackCalls struct {
	calls  []*mesos.Call_Acknowledge
	msgs   []mesos.Call_Acknowledge
	agents []mesos.AgentID
	tasks  []mesos.TaskID
}

// of makes the calls for batch, valid until the next batch's.
func (a *ackCalls) of(batch []ack) []*mesos.Call_Acknowledge {
	n := len(batch)
	if cap(a.calls) < n {
		a.calls, a.msgs = make([]*mesos.Call_Acknowledge, n), make([]mesos.Call_Acknowledge, n)
		a.agents, a.tasks = make([]mesos.AgentID, n), make([]mesos.TaskID, n)
	}
	a.calls, a.msgs, a.agents, a.tasks = a.calls[:n], a.msgs[:n], a.agents[:n], a.tasks[:n]
	for i := range batch {
		k := &batch[i]
		a.agents[i] = mesos.AgentID{Value: &k.agentID}
		a.tasks[i] = mesos.TaskID{Value: &k.taskID}
		a.msgs[i] = mesos.Call_Acknowledge{AgentId: &a.agents[i], TaskId: &a.tasks[i], Uuid: k.uuid.slice()}
		a.calls[i] = &a.msgs[i]
	}
	return a.calls
}
