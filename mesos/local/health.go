package local

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// healthStep is how often the health checker sends its share of updates.
const healthStep = 10 * time.Millisecond

// SetHealthChecks changes the simulated health check results a second
// (Config.HealthChecks) while the master runs; 0 stops them.
func (m *Master) SetHealthChecks(perSecond float64) error {
	if !(perSecond >= 0) {
		return errors.New("stand-in master: health checks per second must not be negative")
	}
	m.mu.Lock()
	m.healthRate = perSecond
	m.mu.Unlock()
	select {
	case m.healthChanged <- struct{}{}:
	default:
	}
	return nil
}

// healthChecker simulates health checks on running tasks, at the rate
// SetHealthChecks last set, until ctx is done. Each result flips the
// task's health and is sent as an executor sends a changed health check
// result: TASK_RUNNING with healthy set and reason
// REASON_TASK_HEALTH_CHECK_STATUS_UPDATED, through the task's reliable
// update stream. A task whose stream still has an update in flight is
// skipped, so a framework that does not acknowledge cannot make the
// streams grow; the rate is then lower than asked.
func (m *Master) healthChecker(ctx context.Context) {
	var queue healthQueue
	for {
		m.mu.Lock()
		rate := m.healthRate
		m.mu.Unlock()
		if rate == 0 {
			select {
			case <-ctx.Done():
				return
			case <-m.healthChanged:
				continue
			}
		}
		queue = m.checkHealthAt(ctx, rate, queue)
		if ctx.Err() != nil {
			return
		}
	}
}

// checkHealthAt sends rate results a second until ctx is done or the
// rate changes, and returns the tasks still queued for a result.
func (m *Master) checkHealthAt(ctx context.Context, rate float64, queue healthQueue) healthQueue {
	tick := time.NewTicker(healthStep)
	defer tick.Stop()
	start := time.Now()
	var sent float64 // results due so far, sent or skipped
	for {
		select {
		case <-ctx.Done():
			return queue
		case <-m.healthChanged:
			return queue
		case now := <-tick.C:
			due := rate * now.Sub(start).Seconds()
			// After a stall, carry at most a tenth of a second's worth.
			sent = max(sent, due-rate/10)
			n := int(due - sent)
			sent += float64(n)
			queue = m.checkHealth(queue, n)
		}
	}
}

// healthQueue is the running tasks still to get a health result in this
// pass over them.
type healthQueue struct {
	tasks    []*task
	refilled time.Time
}

// refillEvery bounds how often the queue is refilled: when every task
// still waits for an acknowledgement, a refill yields nothing, and
// refilling at every step would list every task a hundred times a second.
const refillEvery = 100 * time.Millisecond

// checkHealth sends n health results to the tasks at the head of the
// queue, refilling it with every running task when it runs out, and
// returns what is left of it.
func (m *Master) checkHealth(q healthQueue, n int) healthQueue {
	if n <= 0 {
		return q
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return healthQueue{}
	}
	for n > 0 {
		if len(q.tasks) == 0 {
			if time.Since(q.refilled) < refillEvery {
				return q
			}
			q = healthQueue{tasks: m.runningTasksLocked(), refilled: time.Now()}
			if len(q.tasks) == 0 {
				return q
			}
		}
		t := q.tasks[0]
		q.tasks[0] = nil
		q.tasks = q.tasks[1:]
		if t.state != mesos.TaskState_TASK_RUNNING || len(t.pending) > 0 || t.unreachable ||
			t.framework.tasks[t.id] != t || m.frameworks[t.framework.id] != t.framework {
			continue
		}
		n--
		t.healthy = !t.healthy
		status := agentStatus(t, mesos.TaskState_TASK_RUNNING, mesos.TaskStatus_SOURCE_EXECUTOR)
		status.Healthy = proto.Bool(t.healthy)
		status.Reason = mesos.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED.Enum()
		m.queueStatusLocked(t, status)
	}
	return q
}

// runningTasksLocked lists every running task of every framework.
func (m *Master) runningTasksLocked() []*task {
	var out []*task
	for _, f := range m.frameworks {
		for _, t := range f.tasks {
			if t.state == mesos.TaskState_TASK_RUNNING {
				out = append(out, t)
			}
		}
	}
	return out
}
