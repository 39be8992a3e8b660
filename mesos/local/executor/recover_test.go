package executor_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/executor"
)

// TestRecoverKillsWhatAnEarlierExecutorLeft: a second Executor on the same
// Root, as after the first one's program was killed with SIGKILL, kills the
// whole process group of a task the first left running (a child included),
// says so, serves the task's sandbox, and finds nothing more on a second
// call.
func TestRecoverKillsWhatAnEarlierExecutorLeft(t *testing.T) {
	root := t.TempDir()
	first := newExecutor(t, executor.Config{Root: root})
	r := newRecorder(t)
	launch(t, first, r, commandTask("sleeper", shell("echo started; sleep 600 & sleep 600")))
	pid := r.waitFor("sleeper", mesos.TaskState_TASK_RUNNING)[1].PID
	earlier := newFiles(t, first)
	for deadline := time.Now().Add(waitLimit); earlier.stdout(first, "sleeper") != "started\n"; {
		if time.Now().After(deadline) {
			t.Fatal("the task never printed started")
		}
		time.Sleep(5 * time.Millisecond)
	}

	second := newExecutor(t, executor.Config{Root: root})
	got, err := second.Recover(t.Context())
	if err != nil {
		t.Fatalf("Recover = %v", err)
	}
	want := executor.Recovered{AgentID: agentID, FrameworkID: frameworkID, ExecutorID: "sleeper", TaskID: "sleeper", PID: pid, Killed: true}
	if len(got) != 1 || got[0].ContainerID == "" {
		t.Fatalf("Recover = %+v, want %+v", got, want)
	}
	want.ContainerID = got[0].ContainerID
	if got[0] != want {
		t.Errorf("Recover = %+v, want %+v", got[0], want)
	}
	if !groupGone(t, pid) {
		t.Errorf("process group %d still runs after Recover returned", pid)
	}
	if owner, ok := second.SandboxOwner([]string{"agent-0", agentID}, frameworkID, "sleeper"); !ok || owner != agentID {
		t.Errorf("SandboxOwner of the earlier run = %q, %v; want %s", owner, ok, agentID)
	}
	if out := newFiles(t, second).stdout(second, "sleeper"); out != "started\n" {
		t.Errorf("the recovered task's stdout through the new Executor = %q", out)
	}
	if again, err := second.Recover(t.Context()); err != nil || len(again) != 0 {
		t.Errorf("second Recover = %+v, %v; want nothing", again, err)
	}
	// The first Executor saw its process die of a signal it did not send.
	wantStates(t, r.waitTerminal("sleeper"), mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FAILED)
}

// TestRecoverReportsTasksThatEndedUnseen: a task whose processes ended
// while no Executor watched is reported, not killed; a record whose pid now
// belongs to another process (another start time) never gets it killed.
func TestRecoverReportsTasksThatEndedUnseen(t *testing.T) {
	root := t.TempDir()
	first := newExecutor(t, executor.Config{Root: root})
	r := newRecorder(t)
	launch(t, first, r, commandTask("brief", shell("sleep 600")))
	pid := r.waitFor("brief", mesos.TaskState_TASK_RUNNING)[1].PID
	records, _ := filepath.Glob(filepath.Join(root, "meta", "tasks", "*.json"))
	if len(records) != 1 {
		t.Fatalf("records of running tasks = %v, want 1", records)
	}
	saved, err := os.ReadFile(records[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Kill(frameworkID, "brief", executor.NoGrace); err != nil {
		t.Fatal(err)
	}
	r.waitTerminal("brief")
	waitGroupGone(t, pid) // the shell's child too
	if _, err := os.Stat(records[0]); !os.IsNotExist(err) {
		t.Fatalf("the record outlived its task: %v", err)
	}
	// As if the program died between the process's end and its reaping.
	if err := os.WriteFile(records[0], saved, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := newExecutor(t, executor.Config{Root: root}).Recover(t.Context())
	if err != nil || len(got) != 1 || got[0].Killed || got[0].TaskID != "brief" {
		t.Fatalf("Recover = %+v, %v; want brief, not killed", got, err)
	}

	// A record naming this very test process, whose start time differs.
	self := []byte(`{"agent_id":"a","framework_id":"f","executor_id":"e","task_id":"t","container_id":"c","pid":` +
		strconv.Itoa(os.Getpid()) + `,"start":1}`)
	if err := os.WriteFile(filepath.Join(root, "meta", "tasks", "self.json"), self, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = newExecutor(t, executor.Config{Root: root}).Recover(t.Context())
	if err != nil || len(got) != 1 || got[0].Killed {
		t.Fatalf("Recover of a reused pid = %+v, %v; want it reported ended, not killed", got, err)
	}
}
