package executor

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
)

// DefaultKillGrace is the time between SIGTERM and SIGKILL when neither the
// task nor the kill names one, as in Mesos's command executor.
const DefaultKillGrace = 3 * time.Second

// NoGrace is a grace period of none: SIGKILL follows SIGTERM at once. Pass
// it where a KillPolicy says 0, because 0 means "the default" here.
const NoGrace time.Duration = -1

// Task is what Launch needs of a Mesos TaskInfo, already validated by the
// master. The ids become directory names, so they must follow Mesos's id
// rules (mesos-api.md §5.7).
type Task struct {
	AgentID     string
	FrameworkID string
	// TaskID is unique among the framework's non-terminal tasks.
	TaskID string
	// ExecutorID names the sandbox; empty means TaskID, as for command tasks.
	// Tasks of one executor that overlap in time share its sandbox run.
	ExecutorID string
	// Name is the task's name, for logs.
	Name string
	// Command is what to run. Required unless Container names an image.
	Command *mesos.CommandInfo
	// Container, when it is DOCKER or MESOS with an image, makes the task a
	// simulated container task. A MESOS container without an image runs its
	// command on the host, as Mesos does.
	Container *mesos.ContainerInfo
	// KillGrace is the task's kill_policy grace period: 0 means
	// DefaultKillGrace, NoGrace means none.
	KillGrace time.Duration
	// MaxCompletionTime ends the task with TASK_FAILED and
	// REASON_MAX_COMPLETION_TIME_REACHED when it runs longer; 0 means no limit.
	MaxCompletionTime time.Duration
	// Env holds variables the agent adds to the task's environment. The
	// MESOS_* variables and the command's own environment take precedence.
	Env map[string]string
}

func (t Task) executorID() string {
	if t.ExecutorID == "" {
		return t.TaskID
	}
	return t.ExecutorID
}

type phase int

const (
	phaseStarting phase = iota // admitted, process not started yet
	phaseRunning
	phaseKilling
	phaseDone
)

// task is the Executor's record of one launched task.
type task struct {
	key         taskKey
	agentID     string
	executorID  string
	containerID string
	dir         string // real path of the sandbox run folder
	lazy        bool   // the run folder is not on disk yet: see sandbox
	report      func(Update)
	plan        plan
	killGrace   time.Duration

	// Guarded by Executor.mu.
	phase       phase
	pid         int // process group id too; 0 while no process runs
	killed      bool
	byMaxTime   bool
	pendingKill bool // a Kill arrived before the task started
	pendingWait time.Duration
	killStart   time.Time
	killEnd     time.Time // when SIGKILL is due
	escalation  *time.Timer
	deadline    *time.Timer // MaxCompletionTime
	end         *time.Timer // end of a simulated command's run
	queue       []Update
	delivering  bool
}

func (t *task) sandboxKey() sandboxKey {
	return sandboxKey{t.agentID, t.key.frameworkID, t.executorID}
}

func (t *task) stopTimers() {
	for _, tm := range []*time.Timer{t.escalation, t.deadline, t.end} {
		if tm != nil {
			tm.Stop()
		}
	}
}

// Launch creates the task's sandbox and starts the task. It returns once the
// process has been started (or the simulation set up); the task's updates
// follow asynchronously through report: TASK_STARTING, TASK_RUNNING,
// TASK_KILLING after a Kill, then exactly one terminal update.
//
// report is called from goroutines the Executor owns, for one task strictly
// in order and never concurrently, but concurrently for different tasks. No
// lock of the Executor is held while it runs, so it may call Kill or Launch;
// it should return promptly, since Close waits for calls in progress.
//
// A command that cannot run is not an error here: like Mesos, the task gets
// TASK_FAILED ("Command exited with status 127" from sh for an unknown shell
// command; "Command exited with status 1" and a line on the sandbox's stderr
// when an argv-mode executable cannot be executed, as the Mesos launcher
// exits 1 when its exec fails). Launch returns an error wrapping
// ErrInvalidTask for a task Mesos would reject, ErrDuplicateTask, ErrClosed,
// or an error creating the sandbox, and then reports nothing for the task.
func (x *Executor) Launch(t Task, report func(Update)) error {
	if report == nil {
		return fmt.Errorf("launch task %s: %w: report is nil", t.TaskID, ErrInvalidTask)
	}
	err := t.validate()
	var p plan
	if err == nil {
		p, err = x.planFor(t)
	}
	if err != nil {
		return fmt.Errorf("launch task %s: %w", t.TaskID, err)
	}
	tk, err := x.admit(t, report, p)
	if err != nil {
		return fmt.Errorf("launch task %s of framework %s: %w", t.TaskID, t.FrameworkID, err)
	}
	defer x.wg.Done()

	x.log.Debug("task launching", "task_id", t.TaskID, "framework_id", t.FrameworkID,
		"agent_id", t.AgentID, "name", t.Name, "simulated", p.simulated)
	if tk.lazy {
		err = x.startSimulated(tk, t, nil)
	} else {
		err = x.startWithOutputs(tk, t)
	}
	if err != nil {
		return fmt.Errorf("launch task %s: %w", t.TaskID, err)
	}
	return nil
}

// startWithOutputs starts a task whose sandbox run is on disk.
func (x *Executor) startWithOutputs(t *task, spec Task) error {
	stdout, stderr, err := openOutputs(t.dir)
	if err != nil {
		x.abandon(t)
		return fmt.Errorf("sandbox: %w", err)
	}
	defer stdout.Close()
	defer stderr.Close()
	if t.plan.simulated {
		return x.startSimulated(t, spec, stdout)
	}
	return x.startProcess(t, spec, stdout, stderr)
}

// admit registers the task and prepares its sandbox run. On success the
// caller owns one count of x.wg.
func (x *Executor) admit(t Task, report func(Update), p plan) (*task, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil, ErrClosed
	}
	key := taskKey{t.FrameworkID, t.TaskID}
	if _, ok := x.tasks[key]; ok {
		return nil, ErrDuplicateTask
	}
	sk := sandboxKey{t.AgentID, t.FrameworkID, t.executorID()}
	sb := x.sandboxes[sk]
	if sb == nil || sb.live == 0 {
		sb = x.newRun(sk)
		if !p.simulated {
			if err := sb.materialize(); err != nil {
				return nil, err
			}
		}
		x.sandboxes[sk] = sb
	} else if !p.simulated {
		if err := sb.materialize(); err != nil {
			return nil, err
		}
	}
	lazy := !sb.onDisk
	if lazy {
		sb.stdout = append(sb.stdout, p.output...)
	}
	sb.live++
	grace := t.KillGrace
	switch {
	case grace == 0:
		grace = DefaultKillGrace
	case grace < 0:
		grace = 0
	}
	tk := &task{
		key:         key,
		agentID:     t.AgentID,
		executorID:  sk.executorID,
		containerID: lastElem(sb.dir),
		dir:         sb.dir,
		lazy:        lazy,
		report:      report,
		plan:        p,
		killGrace:   grace,
	}
	x.tasks[key] = tk
	x.wg.Add(1)
	return tk, nil
}

// abandon forgets a task whose launch failed before any update.
func (x *Executor) abandon(t *task) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.forget(t)
}

// forget drops a task without reporting anything. Called with x.mu held.
func (x *Executor) forget(t *task) {
	t.phase = phaseDone
	t.stopTimers()
	t.queue = nil
	if x.tasks[t.key] == t {
		delete(x.tasks, t.key)
	}
	if sb := x.sandboxes[t.sandboxKey()]; sb != nil && sb.dir == t.dir {
		sb.live--
	}
}

// running moves a started task to TASK_RUNNING and arms its timers. Called
// with x.mu held.
func (x *Executor) running(t *task, message string, maxTime time.Duration) {
	t.phase = phaseRunning
	x.emit(t, mesos.TaskState_TASK_RUNNING, nil, message)
	if maxTime > 0 {
		t.deadline = time.AfterFunc(maxTime, func() { x.maxTimeReached(t) })
	}
	if t.plan.runTime > 0 {
		t.end = time.AfterFunc(t.plan.runTime, func() { x.simulatedEnd(t) })
	}
	if t.pendingKill {
		t.pendingKill = false
		x.kill(t, t.pendingWait)
	}
}

func lastElem(path string) string {
	return path[strings.LastIndexByte(path, os.PathSeparator)+1:]
}

func (t Task) validate() error {
	ids := []struct{ name, value string }{
		{"agent id", t.AgentID},
		{"framework id", t.FrameworkID},
		{"task id", t.TaskID},
		{"executor id", t.executorID()},
	}
	for _, id := range ids {
		if err := checkID(id.value); err != nil {
			return fmt.Errorf("%w: %s %q %v", ErrInvalidTask, id.name, id.value, err)
		}
	}
	if t.MaxCompletionTime < 0 {
		return fmt.Errorf("%w: max completion time %v is negative", ErrInvalidTask, t.MaxCompletionTime)
	}
	for name, value := range t.Env {
		if name == "" || strings.ContainsAny(name, "=\x00") || strings.ContainsRune(value, 0) {
			return fmt.Errorf("%w: environment variable %q cannot be set", ErrInvalidTask, name)
		}
	}
	return nil
}

// checkID applies Mesos's id rules (src/common/validation.cpp validateID):
// ids become directory names.
func checkID(id string) error {
	switch {
	case id == "":
		return errors.New("is empty")
	case len(id) > 255:
		return errors.New("is longer than 255 bytes")
	case id == "." || id == "..":
		return errors.New("cannot be a directory name")
	case strings.ContainsAny(id, `/\`):
		return errors.New("contains a slash or backslash")
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return errors.New("contains a control character")
		}
	}
	return nil
}
