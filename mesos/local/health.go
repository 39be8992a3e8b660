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
	var queue []*task
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
func (m *Master) checkHealthAt(ctx context.Context, rate float64, queue []*task) []*task {
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

// checkHealth sends n health results to the tasks at the head of queue,
// refilling it with every running task (once) when it runs out, and
// returns what is left of it.
func (m *Master) checkHealth(queue []*task, n int) []*task {
	if n <= 0 {
		return queue
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	refilled := false
	for n > 0 {
		if len(queue) == 0 {
			if refilled {
				return nil
			}
			queue, refilled = m.runningTasksLocked(), true
			if len(queue) == 0 {
				return nil
			}
		}
		t := queue[0]
		queue[0] = nil
		queue = queue[1:]
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
	return queue
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
