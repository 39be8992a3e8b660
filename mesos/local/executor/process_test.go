package executor_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/executor"
	"google.golang.org/protobuf/proto"
)

func TestCommandTasks(t *testing.T) {
	x := newExecutor(t, executor.Config{})
	f := newFiles(t, x)
	tests := []struct {
		name        string
		cmd         *mesos.CommandInfo
		wantState   mesos.TaskState
		wantMessage string
		wantStdout  string
		wantStderr  string // a substring
		wantPID     bool
	}{
		{"echo", shell("echo hello world"), mesos.TaskState_TASK_FINISHED,
			"Command exited with status 0", "hello world\n", "", true},
		{"exit status", shell("echo before; exit 3"), mesos.TaskState_TASK_FAILED,
			"Command exited with status 3", "before\n", "", true},
		{"unknown shell command", shell("no-such-command-offerdeck"), mesos.TaskState_TASK_FAILED,
			"Command exited with status 127", "", "not found", true},
		{"signalled", shell("kill -USR1 $$"), mesos.TaskState_TASK_FAILED,
			"Command terminated with signal User defined signal 1", "", "", true},
		{"argv absolute", argv("/bin/echo", "echo", "a  b", "c"), mesos.TaskState_TASK_FINISHED,
			"Command exited with status 0", "a  b c\n", "", true},
		{"argv from PATH", argv("echo", "echo", "found"), mesos.TaskState_TASK_FINISHED,
			"Command exited with status 0", "found\n", "", true},
		{"argv without arguments", argv("/bin/pwd"), mesos.TaskState_TASK_FINISHED,
			"Command exited with status 0", "", "", true},
		{"argv missing executable", argv("/no/such/exe", "exe"), mesos.TaskState_TASK_FAILED,
			"Command exited with status 1", "", "Failed to execute '/no/such/exe': No such file or directory", false},
		{"argv missing from PATH", argv("no-such-exe-offerdeck"), mesos.TaskState_TASK_FAILED,
			"Command exited with status 1", "", "Failed to execute 'no-such-exe-offerdeck': No such file or directory", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRecorder(t)
			id := strings.ReplaceAll(tc.name, " ", "-")
			launch(t, x, r, commandTask(id, tc.cmd))
			us := r.waitTerminal(id)
			wantStates(t, us, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, tc.wantState)
			last := us[len(us)-1]
			if last.Message != tc.wantMessage {
				t.Errorf("terminal message = %q, want %q", last.Message, tc.wantMessage)
			}
			for _, u := range us {
				if u.Source != mesos.TaskStatus_SOURCE_EXECUTOR || u.Reason != nil || u.TaskID != id ||
					u.ExecutorID != id || u.FrameworkID != frameworkID || u.AgentID != agentID || u.ContainerID == "" {
					t.Errorf("update %+v: want source EXECUTOR, no reason, ids of the task and a container id", u)
				}
			}
			if got := us[1].PID > 0; got != tc.wantPID {
				t.Errorf("RUNNING PID = %d, want a pid: %v", us[1].PID, tc.wantPID)
			}
			if tc.wantStdout != "" {
				if got := f.stdout(x, id); got != tc.wantStdout {
					t.Errorf("stdout = %q, want %q", got, tc.wantStdout)
				}
			}
			dir, _ := x.Sandbox(agentID, frameworkID, id)
			stderr := f.read(url.Values{"path": {dir + "/stderr"}, "offset": {"0"}}).Data
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.wantStderr)
			}
		})
	}
}

func TestWorkingDirectoryIsSandbox(t *testing.T) {
	root := t.TempDir()
	x := newExecutor(t, executor.Config{Root: root})
	f := newFiles(t, x)
	r := newRecorder(t)
	launch(t, x, r, commandTask("pwd", shell(`pwd; echo "$HOME"; echo "$MESOS_SANDBOX"`)))
	wantStates(t, r.waitTerminal("pwd"),
		mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FINISHED)

	latest := filepath.Join(root, "slaves", agentID, "frameworks", frameworkID, "executors", "pwd", "runs", "latest")
	real, err := filepath.EvalSymlinks(latest)
	if err != nil {
		t.Fatalf("runs/latest: %v", err)
	}
	want := strings.Repeat(real+"\n", 3)
	if got := f.stdout(x, "pwd"); got != want {
		t.Errorf("pwd, HOME, MESOS_SANDBOX = %q, want %q", got, want)
	}
}

func TestEnvironment(t *testing.T) {
	x := newExecutor(t, executor.Config{})
	f := newFiles(t, x)
	r := newRecorder(t)
	cmd := shell(`echo "$MESOS_TASK_ID|$MESOS_FRAMEWORK_ID|$MESOS_AGENT_ID|$MESOS_EXECUTOR_ID|$GREETING|$FROM_AGENT|$OVERRIDDEN|${TOKEN-unset}|$PATH"`)
	cmd.Environment = &mesos.Environment{Variables: []*mesos.Environment_Variable{
		{Name: proto.String("GREETING"), Value: proto.String("hello there")},
		{Name: proto.String("OVERRIDDEN"), Type: mesos.Environment_Variable_VALUE.Enum(), Value: proto.String("by command")},
		{Name: proto.String("TOKEN"), Type: mesos.Environment_Variable_SECRET.Enum(),
			Secret: &mesos.Secret{}},
	}}
	task := commandTask("env-task", cmd)
	task.Env = map[string]string{"FROM_AGENT": "agent value", "OVERRIDDEN": "by agent"}
	launch(t, x, r, task)
	r.waitFor("env-task", mesos.TaskState_TASK_FINISHED)

	want := "env-task|fw-1|agent-1|env-task|hello there|agent value|by command|unset|" +
		"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
	if got := f.stdout(x, "env-task"); got != want {
		t.Errorf("environment = %q, want %q", got, want)
	}
	dir, _ := x.Sandbox(agentID, frameworkID, "env-task")
	stderr := f.read(url.Values{"path": {dir + "/stderr"}, "offset": {"0"}}).Data
	if !strings.Contains(stderr, "secret environment variable TOKEN") {
		t.Errorf("stderr = %q, want a note on the secret TOKEN", stderr)
	}
}

func TestSandboxLayout(t *testing.T) {
	root := t.TempDir()
	x := newExecutor(t, executor.Config{Root: root})
	f := newFiles(t, x)
	r := newRecorder(t)
	launch(t, x, r, commandTask("layout", shell("echo hello world")))
	us := r.waitTerminal("layout")

	runs := filepath.Join(root, "slaves", agentID, "frameworks", frameworkID, "executors", "layout", "runs")
	target, err := os.Readlink(filepath.Join(runs, "latest"))
	if err != nil {
		t.Fatalf("runs/latest: %v", err)
	}
	if target != us[0].ContainerID {
		t.Errorf("runs/latest -> %q, want the container id %q", target, us[0].ContainerID)
	}
	for _, name := range []string{"stdout", "stderr"} {
		if _, err := os.Stat(filepath.Join(runs, target, name)); err != nil {
			t.Errorf("sandbox file %s: %v", name, err)
		}
	}
	got, ok := x.Sandbox(agentID, frameworkID, "layout")
	if want := "/frameworks/fw-1/executors/layout/runs/latest"; !ok || got != want {
		t.Errorf("Sandbox(layout) = %q, %v, want %q, true", got, ok, want)
	}
	if _, ok := x.Sandbox("agent-2", frameworkID, "layout"); ok {
		t.Errorf("Sandbox on another agent found, want none")
	}

	// The stdout through /files/read, and the size when offset is missing.
	if rr := f.read(url.Values{"path": {got + "/stdout"}, "offset": {"0"}}); rr.Data != "hello world\n" || rr.Offset != 0 {
		t.Errorf("read offset=0 = %+v, want hello world at 0", rr)
	}
	if rr := f.read(url.Values{"path": {got + "/stdout"}}); rr.Data != "" || rr.Offset != 12 {
		t.Errorf("read without offset = %+v, want no data and offset 12 (the size)", rr)
	}
}

func TestLatestIsNewestRun(t *testing.T) {
	x := newExecutor(t, executor.Config{})
	f := newFiles(t, x)
	var ids []string
	for _, word := range []string{"first", "second"} {
		r := newRecorder(t)
		launch(t, x, r, commandTask("again", shell("echo "+word)))
		us := r.waitTerminal("again")
		ids = append(ids, us[0].ContainerID)
		if got := f.stdout(x, "again"); got != word+"\n" {
			t.Errorf("stdout after run %s = %q, want %q", word, got, word+"\n")
		}
	}
	if ids[0] == ids[1] {
		t.Errorf("both runs have container id %s, want a fresh one per run", ids[0])
	}
}
