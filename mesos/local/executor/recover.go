package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Recovery of an earlier Executor's tasks on the same Root.
//
// A task's processes run in a process group of their own, so they outlive
// the program that started them when it is killed with SIGKILL. Each running
// task therefore has a record under <Root>/meta/tasks naming its process
// group leader and that process's start time (so a reused pid is never
// mistaken for it); the waiter removes it once the task is reaped. A record
// still there when an Executor starts belongs to a task whose agent died.
// The Executor has no way to reconnect to such a task (its executor ran in
// the dead program), so Recover does what a Mesos agent restarting without
// the task's executor does: it kills what is left of the task.

// recoverKillWait bounds how long Recover waits for a killed task's
// processes to go.
const recoverKillWait = 5 * time.Second

// Recovered is a task of an earlier Executor on the same Root, found and
// dealt with by Recover.
type Recovered struct {
	AgentID, FrameworkID, ExecutorID, TaskID, ContainerID string
	// PID is the task's process group leader as the earlier Executor
	// started it.
	PID int
	// Killed reports whether processes of the task still ran and were
	// killed with SIGKILL; if not, they had ended while nobody watched,
	// and how they ended is unknown.
	Killed bool
}

// taskRecord is what <Root>/meta/tasks holds of a running task.
type taskRecord struct {
	AgentID     string `json:"agent_id"`
	FrameworkID string `json:"framework_id"`
	ExecutorID  string `json:"executor_id"`
	TaskID      string `json:"task_id"`
	ContainerID string `json:"container_id"`
	PID         int    `json:"pid"`
	// Start is the leader's start time in clock ticks after boot
	// (/proc/<pid>/stat field 22).
	Start uint64 `json:"start"`
}

func (x *Executor) recordsDir() string { return filepath.Join(x.root, "meta", "tasks") }

func (x *Executor) recordPath(t *task) string {
	sum := sha256.Sum256([]byte(t.key.frameworkID + "\x00" + t.key.taskID))
	return filepath.Join(x.recordsDir(), hex.EncodeToString(sum[:16])+".json")
}

// writeRecord notes a started task's process group; a failure costs only
// its recovery after a crash, so it is logged, not returned.
func (x *Executor) writeRecord(t *task, pid int) {
	start, ok := processStart(pid)
	if !ok {
		return // it has already ended; the waiter reports it
	}
	b, err := json.Marshal(taskRecord{
		AgentID: t.agentID, FrameworkID: t.key.frameworkID, ExecutorID: t.executorID,
		TaskID: t.key.taskID, ContainerID: t.containerID, PID: pid, Start: start,
	})
	if err == nil {
		err = os.MkdirAll(x.recordsDir(), 0o700)
	}
	if err == nil {
		err = os.WriteFile(x.recordPath(t), b, 0o600)
	}
	if err != nil {
		x.log.Warn("record task process; it cannot be recovered after a crash", "task_id", t.key.taskID, "err", err)
	}
}

func (x *Executor) removeRecord(t *task) {
	if err := os.Remove(x.recordPath(t)); err != nil && !errors.Is(err, os.ErrNotExist) {
		x.log.Warn("remove task process record", "task_id", t.key.taskID, "err", err)
	}
}

// Recover finds the tasks an earlier Executor on the same Root left running
// when its program died, kills every process left of them (SIGKILL to their
// process groups, waiting up to 5 s for them to go), and returns them, so
// that the stand-in can report how they ended. Their sandboxes stay
// readable. Call it before the first Launch, while no other Executor uses
// Root; a later call finds nothing more. It blocks until done or ctx ends.
func (x *Executor) Recover(ctx context.Context) ([]Recovered, error) {
	entries, err := os.ReadDir(x.recordsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recover tasks: %w", err)
	}
	var out []Recovered
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(x.recordsDir(), e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return out, fmt.Errorf("recover tasks: %w", err)
		}
		var rec taskRecord
		if err := json.Unmarshal(b, &rec); err != nil || rec.PID <= 1 || checkID(rec.TaskID) != nil {
			x.log.Warn("unreadable task process record skipped", "file", path, "err", err)
			_ = os.Remove(path)
			continue
		}
		killed, err := killLeftovers(ctx, rec)
		if err != nil {
			return out, fmt.Errorf("recover task %s of framework %s: %w", rec.TaskID, rec.FrameworkID, err)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return out, fmt.Errorf("recover tasks: %w", err)
		}
		x.log.Info("task of an earlier run recovered", "task_id", rec.TaskID, "framework_id", rec.FrameworkID,
			"pid", rec.PID, "killed", killed)
		out = append(out, Recovered{
			AgentID: rec.AgentID, FrameworkID: rec.FrameworkID, ExecutorID: rec.ExecutorID,
			TaskID: rec.TaskID, ContainerID: rec.ContainerID, PID: rec.PID, Killed: killed,
		})
	}
	return out, nil
}

// killLeftovers kills the process group of rec if anything of it still
// runs, and waits for it to go. A leader pid now held by another process
// (another start time) means the task's group is gone: Linux does not hand
// out a pid still in use as a process group id.
func killLeftovers(ctx context.Context, rec taskRecord) (killed bool, err error) {
	if start, alive := processStart(rec.PID); alive && start != rec.Start {
		return false, nil
	}
	if len(groupMembers(rec.PID)) == 0 {
		return false, nil
	}
	if err := syscall.Kill(-rec.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return false, fmt.Errorf("kill process group %d: %w", rec.PID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, recoverKillWait)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for len(groupMembers(rec.PID)) > 0 {
		select {
		case <-ctx.Done():
			return true, fmt.Errorf("process group %d still runs after SIGKILL: %w", rec.PID, ctx.Err())
		case <-tick.C:
		}
	}
	return true, nil
}

// procStat is what /proc/<pid>/stat tells about a process.
type procStat struct {
	state byte
	pgrp  int
	start uint64
}

func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(s[i+1:]) // from field 3, the state
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, false
	}
	pgrp, err1 := strconv.Atoi(f[2])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return procStat{}, false
	}
	return procStat{state: f[0][0], pgrp: pgrp, start: start}, true
}

// processStart returns a live (not zombie) process's start time.
func processStart(pid int) (uint64, bool) {
	st, ok := readStat(pid)
	if !ok || st.state == 'Z' || st.state == 'X' {
		return 0, false
	}
	return st.start, true
}

// groupMembers lists the live processes of process group pgid.
func groupMembers(pgid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && st.pgrp == pgid && st.state != 'Z' && st.state != 'X' {
			pids = append(pids, pid)
		}
	}
	return pids
}

// onDiskRunLocked finds an executor's newest run left on disk by an earlier
// Executor on the same Root, through its runs/latest link, and remembers it.
// Called with x.mu held.
func (x *Executor) onDiskRunLocked(k sandboxKey) *sandbox {
	for _, id := range []string{k.agentID, k.frameworkID, k.executorID} {
		if checkID(id) != nil {
			return nil
		}
	}
	runs := filepath.Join(x.root, "slaves", k.agentID, "frameworks", k.frameworkID, "executors", k.executorID, "runs")
	target, err := os.Readlink(filepath.Join(runs, "latest"))
	if err != nil || checkID(target) != nil {
		return nil
	}
	dir := filepath.Join(runs, target)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil
	}
	sb := &sandbox{dir: dir, onDisk: true}
	x.sandboxes[k] = sb
	return sb
}
