package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/executor"
)

// A stand-in restarted on the same sandbox folder is a master and agents
// restarted together. Its agents keep their ids, as a Mesos agent keeps
// the id it checkpointed in its work_dir, so tasks and sandboxes of the
// earlier run still name agents that exist. What is left of the earlier
// run's tasks is killed (their executors died with the earlier program),
// and each task's framework learns it with an agent update when it
// subscribes again: TASK_LOST with REASON_AGENT_RESTARTED, the state and
// reason a Mesos agent gives a task it cannot recover across a restart.

// agentIDsFile holds the agents' ids in the sandbox folder, one
// "<id>\t<hostname>" line each (a plain format: scale mode writes 10,000
// of them before it serves).
func agentIDsFile(root string) string { return filepath.Join(root, "meta", "agents") }

// readAgentIDs returns, by hostname, the agent ids an earlier master on
// root gave; none when there was none or the file is unreadable (the agents
// then get new ids, as agents whose checkpoint is lost do).
func readAgentIDs(root string) map[string]string {
	b, err := os.ReadFile(agentIDsFile(root))
	if err != nil {
		return nil
	}
	ids := map[string]string{}
	for line := range strings.Lines(string(b)) {
		id, host, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if ok && id != "" && host != "" {
			ids[host] = id
		}
	}
	return ids
}

// lockSandboxes takes the sandbox folder for this master: recovery kills
// what it finds of earlier runs, which must never be another live master's
// tasks. The lock goes with the returned file, or with the process.
func lockSandboxes(root string) (*os.File, error) {
	dir := filepath.Join(root, "meta")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sandbox folder %s is in use by another stand-in master", root)
		}
		return nil, err
	}
	return f, nil
}

// recoverRun persists the agents' ids and deals with the earlier run's
// tasks before the master serves anyone. The caller holds the lock.
func (m *Master) recoverRun(ctx context.Context) error {
	var b strings.Builder
	m.mu.Lock()
	for _, a := range m.agentOrder {
		if !strings.ContainsAny(a.id+a.hostname, "\t\n") {
			b.WriteString(a.id + "\t" + a.hostname + "\n")
		}
	}
	m.mu.Unlock()
	tmp := agentIDsFile(m.cfg.SandboxRoot) + ".tmp"
	err := os.WriteFile(tmp, []byte(b.String()), 0o600)
	if err == nil {
		err = os.Rename(tmp, agentIDsFile(m.cfg.SandboxRoot))
	}
	if err != nil {
		return fmt.Errorf("save agent ids: %w", err)
	}
	found, err := m.exec.Recover(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range found {
		m.recovered[r.FrameworkID] = append(m.recovered[r.FrameworkID], r)
	}
	return err
}

// adoptRecoveredLocked gives a framework that subscribes the tasks the
// earlier run left it, each with its agent's TASK_LOST update, queued after
// SUBSCRIBED and resent until acknowledged like any agent update. A task
// whose agent is no longer configured is left to reconciliation, which
// calls it unknown. m.mu must be held.
func (m *Master) adoptRecoveredLocked(f *framework) {
	for _, r := range m.recovered[f.id] {
		a := m.agents[r.AgentID]
		if a == nil || f.tasks[r.TaskID] != nil {
			m.log.Info("recovered task left to reconciliation", "task_id", r.TaskID, "agent_id", r.AgentID)
			continue
		}
		t := &task{
			id: r.TaskID, framework: f, agent: a, executorID: r.ExecutorID, released: true,
			info:  &mesos.TaskInfo{TaskId: &mesos.TaskID{Value: proto.String(r.TaskID)}},
			state: mesos.TaskState_TASK_RUNNING,
		}
		f.tasks[r.TaskID] = t
		a.tasks[taskKey{f.id, r.TaskID}] = t
		status := agentStatus(t, mesos.TaskState_TASK_LOST, mesos.TaskStatus_SOURCE_AGENT)
		status.Reason = mesos.TaskStatus_REASON_AGENT_RESTARTED.Enum()
		status.Message = proto.String(recoveredMessage(r))
		m.queueStatusLocked(t, status)
	}
	delete(m.recovered, f.id)
}

func recoveredMessage(r executor.Recovered) string {
	if r.Killed {
		return fmt.Sprintf("Agent restarted without the task's executor: the task's processes (process group %d) were still running and were killed", r.PID)
	}
	return "Agent restarted without the task's executor: the task's process had ended meanwhile, how is unknown"
}
