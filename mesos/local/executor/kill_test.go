package executor_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/executor"
)

func TestKill(t *testing.T) {
	tests := []struct {
		name string
		// script runs with $SIGNAL naming a pipe; it writes a line to it
		// once it is ready to be killed, and may write a child's pid there.
		script      string
		taskGrace   time.Duration
		killGrace   time.Duration
		wantMessage string
		minElapsed  time.Duration
	}{
		{"sleep dies of SIGTERM", `echo ready > "$SIGNAL"; exec sleep 600`, 0, 100 * time.Millisecond,
			"Command terminated with signal Terminated", 0},
		{"TERM trapped gets SIGKILL after grace", `trap '' TERM; echo ready > "$SIGNAL"; sleep 600`, 0, 200 * time.Millisecond,
			"Command terminated with signal Killed", 200 * time.Millisecond},
		{"task kill grace used by default", `trap '' TERM; echo ready > "$SIGNAL"; sleep 600`, 150 * time.Millisecond, 0,
			"Command terminated with signal Killed", 150 * time.Millisecond},
		{"no grace", `trap '' TERM; echo ready > "$SIGNAL"; sleep 600`, 0, executor.NoGrace,
			"Command terminated with signal Killed", 0},
		{"children die with the group", `sleep 600 & echo $! > "$SIGNAL"; wait`, 0, 100 * time.Millisecond,
			"Command terminated with signal Terminated", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := newExecutor(t, executor.Config{})
			r := newRecorder(t)
			sig := newSignal(t)
			task := commandTask("victim", shell(tc.script))
			task.Env = map[string]string{"SIGNAL": sig.path}
			task.KillGrace = tc.taskGrace
			launch(t, x, r, task)
			pid := r.waitFor("victim", mesos.TaskState_TASK_RUNNING)[1].PID
			ready := sig.line()

			start := time.Now()
			if err := x.Kill(frameworkID, "victim", tc.killGrace); err != nil {
				t.Fatalf("Kill = %v", err)
			}
			us := r.waitTerminal("victim")
			elapsed := time.Since(start)
			wantStates(t, us, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING,
				mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_KILLED)
			if got := us[len(us)-1].Message; got != tc.wantMessage {
				t.Errorf("KILLED message = %q, want %q", got, tc.wantMessage)
			}
			if elapsed < tc.minElapsed {
				t.Errorf("killed after %v, want no SIGKILL before the grace period %v", elapsed, tc.minElapsed)
			}
			if !processGone(pid) {
				t.Errorf("task process %d still exists after TASK_KILLED", pid)
			}
			waitGroupGone(t, pid)
			if child, err := strconv.Atoi(ready); err == nil {
				if !processGone(child) {
					t.Errorf("child process %d still alive after its group was killed", child)
				}
			}
			if err := x.Kill(frameworkID, "victim", 0); !errors.Is(err, executor.ErrUnknownTask) {
				t.Errorf("Kill after KILLED = %v, want ErrUnknownTask", err)
			}
		})
	}
}

// TestKillOnlyShortensGrace checks Mesos's rule for a repeated kill: it may
// shorten the grace period, and reports nothing more.
func TestKillOnlyShortensGrace(t *testing.T) {
	x := newExecutor(t, executor.Config{})
	r := newRecorder(t)
	sig := newSignal(t)
	task := commandTask("stubborn", shell(`trap '' TERM; echo ready > "$SIGNAL"; sleep 600`))
	task.Env = map[string]string{"SIGNAL": sig.path}
	launch(t, x, r, task)
	r.waitFor("stubborn", mesos.TaskState_TASK_RUNNING)
	sig.line()

	for _, grace := range []time.Duration{time.Hour, 2 * time.Hour, 50 * time.Millisecond} {
		if err := x.Kill(frameworkID, "stubborn", grace); err != nil {
			t.Fatalf("Kill(grace %v) = %v", grace, err)
		}
	}
	us := r.waitTerminal("stubborn")
	wantStates(t, us, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING,
		mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_KILLED)
	if got, want := us[len(us)-1].Message, "Command terminated with signal Killed"; got != want {
		t.Errorf("KILLED message = %q, want %q", got, want)
	}
}

func TestMaxCompletionTime(t *testing.T) {
	x := newExecutor(t, executor.Config{})
	r := newRecorder(t)
	task := commandTask("slow", shell("sleep 600"))
	task.MaxCompletionTime = 100 * time.Millisecond
	launch(t, x, r, task)
	us := r.waitTerminal("slow")
	// No TASK_KILLING: Mesos sends none for a task it ends itself.
	wantStates(t, us, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FAILED)
	last := us[len(us)-1]
	if last.Reason == nil || *last.Reason != mesos.TaskStatus_REASON_MAX_COMPLETION_TIME_REACHED {
		t.Errorf("FAILED reason = %v, want REASON_MAX_COMPLETION_TIME_REACHED", last.Reason)
	}
	if !processGone(us[1].PID) {
		t.Errorf("task process %d still exists after TASK_FAILED", us[1].PID)
	}
}

func TestKillUnknownTask(t *testing.T) {
	x := newExecutor(t, executor.Config{})
	r := newRecorder(t)
	launch(t, x, r, commandTask("done", shell("true")))
	r.waitTerminal("done")
	tests := []struct{ name, frameworkID, taskID string }{
		{"never launched", frameworkID, "nope"},
		{"finished", frameworkID, "done"},
		{"other framework", "fw-2", "done"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := x.Kill(tc.frameworkID, tc.taskID, 0); !errors.Is(err, executor.ErrUnknownTask) {
				t.Errorf("Kill(%s, %s) = %v, want ErrUnknownTask", tc.frameworkID, tc.taskID, err)
			}
		})
	}
}

func TestCloseKillsEverything(t *testing.T) {
	x := newExecutor(t, executor.Config{})
	r := newRecorder(t)
	sig := newSignal(t)
	stubborn := commandTask("stubborn", shell(`trap '' TERM; sleep 600 & echo $! > "$SIGNAL"; wait`))
	stubborn.Env = map[string]string{"SIGNAL": sig.path}
	launch(t, x, r, stubborn)
	launch(t, x, r, commandTask("sleeper", shell("sleep 600")))
	container := commandTask("web", nil)
	container.Container = dockerContainer("nginx")
	launch(t, x, r, container)
	var pids []int
	for _, id := range []string{"stubborn", "sleeper", "web"} {
		pids = append(pids, r.waitFor(id, mesos.TaskState_TASK_RUNNING)[1].PID)
	}
	child, err := strconv.Atoi(sig.line())
	if err != nil {
		t.Fatalf("child pid: %v", err)
	}
	if got := x.Running(); got != 3 {
		t.Errorf("Running() = %d, want 3", got)
	}

	if err := x.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	for _, pid := range pids[:2] {
		if !processGone(pid) {
			t.Errorf("task process %d still exists after Close", pid)
		}
		waitGroupGone(t, pid)
	}
	if !processGone(child) {
		t.Errorf("child process %d still alive after Close", child)
	}
	for _, id := range []string{"stubborn", "sleeper", "web"} {
		us := r.of(id)
		wantStates(t, us, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING)
	}
	if err := x.Close(); err != nil {
		t.Errorf("second Close() = %v", err)
	}
	if err := x.Launch(commandTask("late", shell("true")), r.report); !errors.Is(err, executor.ErrClosed) {
		t.Errorf("Launch after Close = %v, want ErrClosed", err)
	}
	if err := x.Kill(frameworkID, "sleeper", 0); !errors.Is(err, executor.ErrClosed) {
		t.Errorf("Kill after Close = %v, want ErrClosed", err)
	}
}

// TestKillFromReport checks that report may call back into the Executor.
func TestKillFromReport(t *testing.T) {
	x := newExecutor(t, executor.Config{})
	r := newRecorder(t)
	errs := make(chan error, 1)
	report := func(u executor.Update) {
		r.report(u)
		if u.State == mesos.TaskState_TASK_RUNNING {
			errs <- x.Kill(u.FrameworkID, u.TaskID, 0)
		}
	}
	if err := x.Launch(commandTask("reentrant", shell("sleep 600")), report); err != nil {
		t.Fatalf("Launch = %v", err)
	}
	wantStates(t, r.waitTerminal("reentrant"), mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING,
		mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_KILLED)
	if err := <-errs; err != nil {
		t.Errorf("Kill from report = %v", err)
	}
}
