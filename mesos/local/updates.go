package local

import (
	"context"
	"sync"

	"github.com/offerdeck/offerdeck/mesos/local/executor"
)

// pendingUpdate is an executor update waiting to be applied.
type pendingUpdate struct {
	framework, task string
	u               executor.Update
}

// updateQueue hands executor updates to the master's updater goroutine in
// the order they were reported. It never blocks the reporter: executor
// callbacks may run while the master holds its lock (a kill reported at
// once), so they must not wait for it.
type updateQueue struct {
	mu     sync.Mutex
	items  []pendingUpdate
	signal chan struct{}
}

func newUpdateQueue() *updateQueue { return &updateQueue{signal: make(chan struct{}, 1)} }

func (q *updateQueue) push(p pendingUpdate) {
	q.mu.Lock()
	q.items = append(q.items, p)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *updateQueue) take() []pendingUpdate {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// updater applies queued executor updates until ctx is done.
func (m *Master) updater(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.updates.signal:
		}
		for _, p := range m.updates.take() {
			m.applyUpdate(p)
		}
	}
}
