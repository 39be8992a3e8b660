package executor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
)

// Errors that callers branch on.
var (
	// ErrUnknownTask: Kill named a task that is not running here, never was,
	// or has already reached a terminal state.
	ErrUnknownTask = errors.New("unknown task")
	// ErrDuplicateTask: Launch named a task whose framework already has a
	// non-terminal task with that id here.
	ErrDuplicateTask = errors.New("task already running")
	// ErrInvalidTask: Launch was given a Task that Mesos would reject (an id
	// that cannot be a directory name, no command, an empty command). The
	// stand-in master answers it with TASK_ERROR and REASON_TASK_INVALID.
	ErrInvalidTask = errors.New("invalid task")
	// ErrClosed: the Executor has been closed.
	ErrClosed = errors.New("executor closed")
)

// Config configures an Executor. The zero value of every field but Root is a
// documented default.
type Config struct {
	// Root is the folder that holds every sandbox, the agents' work_dir.
	// Required; New creates it. The Executor never deletes anything in it.
	Root string
	// SimulateCommands simulates command tasks too: no process starts, the
	// sandbox's stdout says what would have run.
	SimulateCommands bool
	// SimulatedRunTime is how long a simulated command task stays
	// TASK_RUNNING before it reports TASK_FINISHED. Zero means until killed.
	// Simulated container tasks always run until killed.
	SimulatedRunTime time.Duration
	// Logger receives debug events about tasks; nil discards them.
	Logger *slog.Logger
}

// Update is one change in a task's state, what the stand-in master needs to
// build a TaskStatus (it adds the uuid, and the agent's view such as
// latest_state).
type Update struct {
	AgentID     string
	FrameworkID string
	TaskID      string
	ExecutorID  string
	// ContainerID names the sandbox run folder (container_status.container_id).
	ContainerID string
	State       mesos.TaskState
	// Reason is nil when the update has none, else it can be assigned to
	// TaskStatus.Reason as it is.
	Reason *mesos.TaskStatus_Reason
	// Message is the human-readable message, such as
	// "Command exited with status 3"; empty when Mesos sends none.
	Message string
	// Source is always SOURCE_EXECUTOR: launch failures that Mesos reports
	// from the agent are returned by Launch instead.
	Source mesos.TaskStatus_Source
	// PID is the process id of the task's process, which leads its process
	// group, from TASK_RUNNING on; 0 for simulated tasks and for commands that
	// could not be executed. The stand-in may show it as
	// container_status.executor_pid.
	PID int
	// Time is when the executor observed the change (TaskStatus.timestamp).
	Time time.Time
}

// Executor runs tasks and keeps their sandboxes. Create it with New and
// release it with Close. It is safe for concurrent use.
type Executor struct {
	cfg  Config
	root string
	log  *slog.Logger

	// wg counts the goroutines the Executor owns (process waiters, update
	// deliveries) and Launch calls in progress; Close waits for all of them.
	wg sync.WaitGroup

	mu     sync.Mutex
	closed bool
	tasks  map[taskKey]*task
	// sandboxes maps each executor's sandbox to its newest run folder.
	sandboxes map[sandboxKey]*sandbox

	ownersMu sync.Mutex
	owners   map[ownerKey]string
}

type taskKey struct{ frameworkID, taskID string }

// New validates cfg and creates cfg.Root. It starts nothing.
func New(cfg Config) (*Executor, error) {
	if cfg.Root == "" {
		return nil, errors.New("executor config: Root is required")
	}
	if cfg.SimulatedRunTime < 0 {
		return nil, fmt.Errorf("executor config: SimulatedRunTime %v is negative", cfg.SimulatedRunTime)
	}
	if err := os.MkdirAll(cfg.Root, 0o755); err != nil {
		return nil, fmt.Errorf("executor config: create Root: %w", err)
	}
	root, err := filepath.Abs(cfg.Root)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return nil, fmt.Errorf("executor config: resolve Root %s: %w", cfg.Root, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Executor{
		cfg:       cfg,
		root:      root,
		log:       log.With("component", "executor"),
		tasks:     make(map[taskKey]*task),
		sandboxes: make(map[sandboxKey]*sandbox),
		owners:    make(map[ownerKey]string),
	}, nil
}

// Close kills every task still running with SIGKILL to its process group,
// stops every timer, waits for every goroutine the Executor started and for
// report calls in progress, and returns. It reports nothing for the tasks it
// kills, and no report call starts after it returns: the agent is going away
// and the stand-in master decides what frameworks hear. Processes that left
// their task's process group survive. Close is idempotent and safe to call
// concurrently; later calls wait like the first.
func (x *Executor) Close() error {
	x.mu.Lock()
	if !x.closed {
		x.closed = true
		for _, t := range x.tasks {
			t.stopTimers()
			if t.pid > 0 {
				// Errors mean the group is already gone.
				_ = syscall.Kill(-t.pid, syscall.SIGKILL)
			}
			t.queue = nil
		}
		x.log.Info("executor closing", "tasks", len(x.tasks))
	}
	x.mu.Unlock()
	x.wg.Wait()
	// Simulated tasks have no waiter to forget them.
	x.mu.Lock()
	clear(x.tasks)
	x.mu.Unlock()
	return nil
}

// Running returns how many tasks have not reached a terminal state, including
// those being killed. It is meant for tests and metrics.
func (x *Executor) Running() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.tasks)
}

// Sandbox returns the agent-virtual path of an executor's newest sandbox run,
// /frameworks/<frameworkID>/executors/<executorID>/runs/latest, the path that
// the handler from FilesHandler(agentID) serves. ok is false when no task of
// that executor was ever launched on that agent, by this Executor or by an
// earlier one on the same Root (whose runs are found on disk). For a
// command task the executor id is the task id. Sandboxes are remembered for
// the Executor's life; nothing is garbage-collected.
func (x *Executor) Sandbox(agentID, frameworkID, executorID string) (virtualPath string, ok bool) {
	k := sandboxKey{agentID, frameworkID, executorID}
	x.mu.Lock()
	_, ok = x.sandboxes[k]
	if !ok {
		ok = x.onDiskRunLocked(k) != nil
	}
	x.mu.Unlock()
	if !ok {
		return "", false
	}
	return virtualLatest(frameworkID, executorID), true
}

// SandboxOwner returns which of agentIDs holds the executor's sandbox, as
// Sandbox would find it: the sandboxes in memory of all of them are looked
// at before any on disk, so a cluster of many agents costs no file system
// lookups for the runs of this Executor.
func (x *Executor) SandboxOwner(agentIDs []string, frameworkID, executorID string) (agentID string, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, id := range agentIDs {
		if _, ok := x.sandboxes[sandboxKey{id, frameworkID, executorID}]; ok {
			return id, true
		}
	}
	for _, id := range agentIDs {
		if x.onDiskRunLocked(sandboxKey{id, frameworkID, executorID}) != nil {
			return id, true
		}
	}
	return "", false
}

func virtualLatest(frameworkID, executorID string) string {
	return "/frameworks/" + frameworkID + "/executors/" + executorID + "/runs/latest"
}

// emit queues u for t's report function. Updates of one task are delivered
// in order by at most one goroutine at a time, which exists only while the
// task has updates waiting, so a quiet task costs no goroutine. Called with
// x.mu held; after Close it drops u.
func (x *Executor) emit(t *task, state mesos.TaskState, reason *mesos.TaskStatus_Reason, message string) {
	if x.closed {
		return
	}
	t.queue = append(t.queue, Update{
		AgentID:     t.agentID,
		FrameworkID: t.key.frameworkID,
		TaskID:      t.key.taskID,
		ExecutorID:  t.executorID,
		ContainerID: t.containerID,
		State:       state,
		Reason:      reason,
		Message:     message,
		Source:      mesos.TaskStatus_SOURCE_EXECUTOR,
		PID:         t.pid,
		Time:        time.Now(),
	})
	if !t.delivering {
		t.delivering = true
		x.wg.Go(func() { x.deliver(t) })
	}
}

// deliver calls t.report for each queued update until the queue is empty or
// the Executor is closed. No lock is held during report, so report may call
// back into the Executor.
func (x *Executor) deliver(t *task) {
	for {
		x.mu.Lock()
		if x.closed || len(t.queue) == 0 {
			t.delivering = false
			t.queue = nil
			x.mu.Unlock()
			return
		}
		u := t.queue[0]
		t.queue[0] = Update{}
		t.queue = t.queue[1:]
		x.mu.Unlock()
		t.report(u)
	}
}

// finish reports t's terminal update and forgets t. Called with x.mu held.
func (x *Executor) finish(t *task, state mesos.TaskState, reason *mesos.TaskStatus_Reason, message string) {
	if t.phase == phaseDone {
		return
	}
	t.phase = phaseDone
	t.stopTimers()
	x.emit(t, state, reason, message)
	if x.tasks[t.key] == t {
		delete(x.tasks, t.key)
	}
	if sb := x.sandboxes[t.sandboxKey()]; sb != nil && sb.dir == t.dir {
		sb.live--
	}
	x.log.Debug("task ended", "task_id", t.key.taskID, "framework_id", t.key.frameworkID,
		"state", state.String(), "message", message)
}
