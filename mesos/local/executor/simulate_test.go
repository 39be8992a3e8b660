package executor_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/executor"
	"google.golang.org/protobuf/proto"
)

func dockerContainer(image string) *mesos.ContainerInfo {
	return &mesos.ContainerInfo{
		Type:   mesos.ContainerInfo_DOCKER.Enum(),
		Docker: &mesos.ContainerInfo_DockerInfo{Image: proto.String(image)},
	}
}

func mesosContainer(image string) *mesos.ContainerInfo {
	c := &mesos.ContainerInfo{Type: mesos.ContainerInfo_MESOS.Enum(), Mesos: &mesos.ContainerInfo_MesosInfo{}}
	if image != "" {
		c.Mesos.Image = &mesos.Image{
			Type:   mesos.Image_DOCKER.Enum(),
			Docker: &mesos.Image_Docker{Name: proto.String(image)},
		}
	}
	return c
}

func TestSimulatedContainers(t *testing.T) {
	tests := []struct {
		name      string
		container *mesos.ContainerInfo
		cmd       *mesos.CommandInfo
		image     string
	}{
		{"docker", dockerContainer("nginx:1.27"), nil, "nginx:1.27"},
		{"docker with command", dockerContainer("busybox"), shell("httpd -f"), "busybox"},
		{"mesos with image", mesosContainer("redis"), shell("redis-server"), "redis"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := newExecutor(t, executor.Config{})
			f := newFiles(t, x)
			r := newRecorder(t)
			task := commandTask("box", tc.cmd)
			task.Container = tc.container
			launch(t, x, r, task)
			us := r.waitFor("box", mesos.TaskState_TASK_RUNNING)
			running := us[1]
			if !strings.Contains(running.Message, "Simulated") || !strings.Contains(running.Message, tc.image) {
				t.Errorf("RUNNING message = %q, want it to say simulated and name %s", running.Message, tc.image)
			}
			if running.PID != 0 {
				t.Errorf("RUNNING PID = %d, want 0 for a simulated task", running.PID)
			}
			stdout := f.stdout(x, "box")
			if !strings.Contains(stdout, "[simulated]") || !strings.Contains(stdout, tc.image) {
				t.Errorf("stdout = %q, want a [simulated] line naming %s", stdout, tc.image)
			}
			if c := describe(tc.cmd); c != "" && !strings.Contains(stdout, "would run: "+c) {
				t.Errorf("stdout = %q, want it to name the command %q", stdout, c)
			}
			if got := x.Running(); got != 1 {
				t.Errorf("Running() = %d, want 1: a container runs until killed", got)
			}

			if err := x.Kill(frameworkID, "box", 0); err != nil {
				t.Fatalf("Kill = %v", err)
			}
			wantStates(t, r.waitTerminal("box"), mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING,
				mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_KILLED)
			if got := x.Running(); got != 0 {
				t.Errorf("Running() after kill = %d, want 0", got)
			}
		})
	}
}

func describe(c *mesos.CommandInfo) string {
	if c == nil {
		return ""
	}
	return c.GetValue()
}

func TestSimulatedCommands(t *testing.T) {
	x := newExecutor(t, executor.Config{SimulateCommands: true, SimulatedRunTime: 50 * time.Millisecond})
	f := newFiles(t, x)
	r := newRecorder(t)
	launch(t, x, r, commandTask("sim", shell("echo hi")))
	us := r.waitTerminal("sim")
	wantStates(t, us, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FINISHED)
	if got, want := us[2].Message, "Command exited with status 0"; got != want {
		t.Errorf("FINISHED message = %q, want %q", got, want)
	}
	if got, want := f.stdout(x, "sim"), "[simulated] would run: echo hi\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}

	launch(t, x, r, commandTask("sim-argv", argv("/bin/echo", "echo", "two words")))
	r.waitTerminal("sim-argv")
	if got, want := f.stdout(x, "sim-argv"), "[simulated] would run: echo 'two words'\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestSimulatedCommandRunsUntilKilled(t *testing.T) {
	x := newExecutor(t, executor.Config{SimulateCommands: true})
	r := newRecorder(t)
	launch(t, x, r, commandTask("forever", shell("sleep 600")))
	r.waitFor("forever", mesos.TaskState_TASK_RUNNING)
	if err := x.Kill(frameworkID, "forever", 0); err != nil {
		t.Fatalf("Kill = %v", err)
	}
	us := r.waitTerminal("forever")
	wantStates(t, us, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING,
		mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_KILLED)
}

func TestSimulatedMaxCompletionTime(t *testing.T) {
	x := newExecutor(t, executor.Config{})
	r := newRecorder(t)
	task := commandTask("box", nil)
	task.Container = dockerContainer("nginx")
	task.MaxCompletionTime = 50 * time.Millisecond
	launch(t, x, r, task)
	us := r.waitTerminal("box")
	wantStates(t, us, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FAILED)
	if r := us[2].Reason; r == nil || *r != mesos.TaskStatus_REASON_MAX_COMPLETION_TIME_REACHED {
		t.Errorf("FAILED reason = %v, want REASON_MAX_COMPLETION_TIME_REACHED", r)
	}
}

// TestMesosContainerWithoutImage checks that a MESOS container with no image
// runs its command on the host, as the Mesos containerizer does.
func TestMesosContainerWithoutImage(t *testing.T) {
	x := newExecutor(t, executor.Config{})
	f := newFiles(t, x)
	r := newRecorder(t)
	task := commandTask("plain", shell("echo real"))
	task.Container = mesosContainer("")
	launch(t, x, r, task)
	wantStates(t, r.waitTerminal("plain"),
		mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FINISHED)
	if got := f.stdout(x, "plain"); got != "real\n" {
		t.Errorf("stdout = %q, want %q", got, "real\n")
	}
}

func TestLaunchRejects(t *testing.T) {
	x := newExecutor(t, executor.Config{})
	r := newRecorder(t)
	noImage := commandTask("t", nil)
	noImage.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum()}
	tests := []struct {
		name   string
		task   executor.Task
		report func(executor.Update)
		want   error
	}{
		{"nil report", commandTask("t", shell("true")), nil, executor.ErrInvalidTask},
		{"empty task id", commandTask("", shell("true")), r.report, executor.ErrInvalidTask},
		{"dot-dot task id", commandTask("..", shell("true")), r.report, executor.ErrInvalidTask},
		{"slash in task id", commandTask("a/b", shell("true")), r.report, executor.ErrInvalidTask},
		{"control character", commandTask("a\nb", shell("true")), r.report, executor.ErrInvalidTask},
		{"no agent id", executor.Task{FrameworkID: frameworkID, TaskID: "t", Command: shell("true")}, r.report, executor.ErrInvalidTask},
		{"no command", commandTask("t", nil), r.report, executor.ErrInvalidTask},
		{"empty shell command", commandTask("t", shell("")), r.report, executor.ErrInvalidTask},
		{"docker without image", noImage, r.report, executor.ErrInvalidTask},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := x.Launch(tc.task, tc.report); !errors.Is(err, tc.want) {
				t.Errorf("Launch(%q) = %v, want %v", tc.task.TaskID, err, tc.want)
			}
		})
	}

	sim := commandTask("twice", nil)
	sim.Container = dockerContainer("nginx")
	launch(t, x, r, sim)
	if err := x.Launch(sim, r.report); !errors.Is(err, executor.ErrDuplicateTask) {
		t.Errorf("second Launch(twice) = %v, want ErrDuplicateTask", err)
	}
	if got := x.Running(); got != 1 {
		t.Errorf("Running() = %d, want 1: rejected launches leave nothing", got)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  executor.Config
	}{
		{"no root", executor.Config{}},
		{"negative run time", executor.Config{Root: t.TempDir(), SimulatedRunTime: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if x, err := executor.New(tc.cfg); err == nil {
				x.Close()
				t.Errorf("New(%+v) = nil error, want one", tc.cfg)
			}
		})
	}
}

// launchKillMany launches n simulated container tasks, waits until all run,
// kills them and waits until all are killed. It returns the goroutines alive
// while the n tasks were running, and the time taken.
func launchKillMany(tb testing.TB, x *executor.Executor, n int) (goroutines int, elapsed time.Duration) {
	var running, killed sync.WaitGroup
	running.Add(n)
	killed.Add(n)
	var bad atomic.Int64
	report := func(u executor.Update) {
		switch u.State {
		case mesos.TaskState_TASK_RUNNING:
			running.Done()
		case mesos.TaskState_TASK_KILLED:
			killed.Done()
		case mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_KILLING:
		default:
			bad.Add(1)
		}
	}
	start := time.Now()
	for i := range n {
		task := executor.Task{AgentID: agentID, FrameworkID: frameworkID, TaskID: fmt.Sprintf("sim-%d", i)}
		task.Container = dockerContainer("nginx")
		if err := x.Launch(task, report); err != nil {
			tb.Fatalf("Launch(%s) = %v", task.TaskID, err)
		}
	}
	waitGroup(tb, &running)
	goroutines = settledGoroutines()
	for i := range n {
		if err := x.Kill(frameworkID, fmt.Sprintf("sim-%d", i), 0); err != nil {
			tb.Fatalf("Kill(sim-%d) = %v", i, err)
		}
	}
	waitGroup(tb, &killed)
	if bad.Load() > 0 {
		tb.Errorf("%d unexpected updates", bad.Load())
	}
	return goroutines, time.Since(start)
}

// settledGoroutines counts goroutines once the ones that just delivered
// their last update have had the chance to return.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 100 {
		runtime.Gosched()
		n = min(n, runtime.NumGoroutine())
	}
	return n
}

func waitGroup(tb testing.TB, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		tb.Fatalf("updates missing after 2 minutes")
	}
}

// TestManySimulatedTasks checks that waiting simulated tasks cost no
// goroutine each: the stand-in's scale mode runs 100,000 of them.
func TestManySimulatedTasks(t *testing.T) {
	const n = 10_000
	x := newExecutor(t, executor.Config{})
	before := runtime.NumGoroutine()
	during, elapsed := launchKillMany(t, x, n)
	t.Logf("%d simulated tasks launched and killed in %v; goroutines %d before, %d while all ran",
		n, elapsed, before, during)
	if during > before+50 {
		t.Errorf("%d goroutines while %d simulated tasks wait, %d before: want no goroutine per task",
			during, n, before)
	}
}

func BenchmarkSimulatedLaunchKill(b *testing.B) {
	x, err := executor.New(executor.Config{Root: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	before := runtime.NumGoroutine()
	b.ResetTimer()
	during, _ := launchKillMany(b, x, b.N)
	b.StopTimer()
	b.ReportMetric(float64(during-before)/float64(b.N), "goroutines/task")
}
