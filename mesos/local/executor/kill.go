package executor

import (
	"fmt"
	"syscall"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
)

// Kill kills a task as Mesos's command executor does. It queues
// TASK_KILLING at once (the stand-in master drops it for frameworks without
// the TASK_KILLING_STATE capability), sends SIGTERM to the task's process group,
// SIGKILL when grace has passed, and reports TASK_KILLED once the process has
// been reaped, with a message that says how it ended, such as
// "Command terminated with signal Terminated" or "... signal Killed".
// A simulated task reports TASK_KILLING and TASK_KILLED at once.
//
// grace 0 means the task's KillGrace; NoGrace means SIGKILL right after
// SIGTERM. Killing a task that is already being killed only ever shortens
// its grace period, and reports nothing more; a task still being launched is
// killed as soon as it runs. Kill does not block on the
// task; it returns an error wrapping ErrUnknownTask when the framework has no
// such non-terminal task here, or ErrClosed.
func (x *Executor) Kill(frameworkID, taskID string, grace time.Duration) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return fmt.Errorf("kill task %s of framework %s: %w", taskID, frameworkID, ErrClosed)
	}
	t, ok := x.tasks[taskKey{frameworkID, taskID}]
	if !ok {
		return fmt.Errorf("kill task %s of framework %s: %w", taskID, frameworkID, ErrUnknownTask)
	}
	switch {
	case grace == 0:
		grace = t.killGrace
	case grace < 0:
		grace = 0
	}
	x.kill(t, grace)
	return nil
}

// kill starts or hastens the end of t. Called with x.mu held.
func (x *Executor) kill(t *task, grace time.Duration) {
	switch {
	case t.phase == phaseDone:
		return
	case t.phase == phaseStarting:
		// Launch applies it as soon as the task runs.
		if !t.pendingKill || grace < t.pendingWait {
			t.pendingWait = grace
		}
		t.pendingKill = true
		return
	case t.plan.simulated:
		t.phase = phaseKilling
		x.emit(t, mesos.TaskState_TASK_KILLING, nil, "")
		x.finish(t, mesos.TaskState_TASK_KILLED, nil, t.plan.noun+" terminated with signal Terminated")
		return
	case t.pid <= 0:
		// Nothing runs, and kill(-0) would signal our own process group.
		return
	case t.killed:
		// Mesos only ever shortens a kill in progress, so that a retried
		// KILL is a no-op.
		end := t.killStart.Add(grace)
		if !end.Before(t.killEnd) {
			return
		}
		t.killEnd = end
		t.escalation.Stop()
		t.escalation = time.AfterFunc(time.Until(end), func() { x.escalate(t) })
		return
	}
	now := time.Now()
	t.killed = true
	t.killStart = now
	t.killEnd = now.Add(grace)
	if t.deadline != nil {
		t.deadline.Stop()
	}
	if !t.byMaxTime {
		t.phase = phaseKilling
		x.emit(t, mesos.TaskState_TASK_KILLING, nil, "")
	}
	// An error means the group has gone already; the waiter reports it.
	_ = syscall.Kill(-t.pid, syscall.SIGTERM)
	t.escalation = time.AfterFunc(grace, func() { x.escalate(t) })
	x.log.Debug("task killing", "task_id", t.key.taskID, "framework_id", t.key.frameworkID,
		"grace", grace, "max_completion_time", t.byMaxTime)
}

// escalate sends SIGKILL to a task's process group that outlived its grace
// period.
func (x *Executor) escalate(t *task) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed || t.phase == phaseDone || t.pid <= 0 {
		return
	}
	_ = syscall.Kill(-t.pid, syscall.SIGKILL)
}

// maxTimeReached ends a task that ran past its MaxCompletionTime: like Mesos,
// without TASK_KILLING and with no grace, and with TASK_FAILED and
// REASON_MAX_COMPLETION_TIME_REACHED whatever the exit status.
func (x *Executor) maxTimeReached(t *task) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed || t.phase != phaseRunning || t.killed {
		return
	}
	t.byMaxTime = true
	if t.plan.simulated {
		x.finish(t, mesos.TaskState_TASK_FAILED, mesos.TaskStatus_REASON_MAX_COMPLETION_TIME_REACHED.Enum(),
			t.plan.noun+" terminated with signal Terminated")
		return
	}
	x.kill(t, 0)
}

// simulatedEnd finishes a simulated command task whose run time is over.
func (x *Executor) simulatedEnd(t *task) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed || t.phase != phaseRunning {
		return
	}
	x.finish(t, mesos.TaskState_TASK_FINISHED, nil, t.plan.noun+" exited with status 0")
}
