package local

import (
	"bytes"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/executor"
)

// task is a launched task as master and agent together track it.
type task struct {
	id          string
	framework   *framework
	agent       *agent
	info        *mesos.TaskInfo
	executorID  string
	containerID string // from the executor's updates; "" before the first
	res         pool
	released    bool     // resources returned to the agent
	unreachable bool     // its agent is partitioned
	group       []string // the ids of its task group, killed together
	healthy     bool     // the last simulated health-check result

	// state is the latest state the agent knows; sent is the latest state
	// sent to the scheduler (status_update_state), which reconciliation
	// reports.
	state mesos.TaskState
	sent  *mesos.TaskState
	// statuses keeps the updates the task went through, for /master/state.
	statuses []*mesos.TaskStatus

	// pending is the agent's status update stream: the head is in flight
	// and is resent with backoff until acknowledged; the rest wait.
	pending    []*mesos.TaskStatus
	retry      *time.Timer
	retryDelay time.Duration

	// receivedState and receivedUUID are the last update the master
	// received, for the operator stream's TASK_UPDATED.
	receivedState *mesos.TaskState
	receivedUUID  []byte
}

func (t *task) stopRetry() {
	if t.retry != nil {
		t.retry.Stop()
		t.retry = nil
	}
}

func (t *task) taskID() *mesos.TaskID { return &mesos.TaskID{Value: proto.String(t.id)} }

// masterUpdate sends an update the master itself generates: no uuid, not
// retried, lost if the framework is disconnected.
func (m *Master) masterUpdate(f *framework, status *mesos.TaskStatus) {
	status.Source = mesos.TaskStatus_SOURCE_MASTER.Enum()
	if status.Timestamp == nil {
		status.Timestamp = proto.Float64(timestamp(time.Now()))
	}
	f.send(&mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: status}})
}

func timestamp(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// lostState is TASK_LOST for frameworks that are not partition aware, and
// the precise state for those that are.
func lostState(f *framework, precise mesos.TaskState) mesos.TaskState {
	if f.partitionAware() {
		return precise
	}
	return mesos.TaskState_TASK_LOST
}

// report receives an executor update for a task. It runs on executor
// goroutines, so it only queues the update for the master's own updater.
func (m *Master) report(frameworkID, taskID string) func(executor.Update) {
	return func(u executor.Update) {
		m.updates.push(pendingUpdate{framework: frameworkID, task: taskID, u: u})
	}
}

// applyUpdate turns an executor update into the agent's reliable status
// update stream for the task (§6.6).
func (m *Master) applyUpdate(p pendingUpdate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.frameworks[p.framework]
	if f == nil || m.closed {
		return
	}
	t := f.tasks[p.task]
	if t == nil {
		return
	}
	u := p.u
	if u.State == mesos.TaskState_TASK_KILLING && !f.killingState() {
		return // only frameworks with TASK_KILLING_STATE see KILLING
	}
	status := agentStatus(t, u.State, u.Source)
	if u.Message != "" {
		status.Message = proto.String(u.Message)
	}
	if u.Reason != nil {
		status.Reason = u.Reason.Enum()
	}
	if u.ContainerID != "" {
		// The command executor's updates name the container it runs in.
		t.containerID = u.ContainerID
		status.ContainerStatus = &mesos.ContainerStatus{ContainerId: &mesos.ContainerID{Value: proto.String(u.ContainerID)}}
	}
	m.queueStatusLocked(t, status)
}

// agentStatus is a new status update of t from its agent, with a uuid, so
// that it is resent until acknowledged.
func agentStatus(t *task, state mesos.TaskState, source mesos.TaskStatus_Source) *mesos.TaskStatus {
	return &mesos.TaskStatus{
		TaskId:     t.taskID(),
		State:      state.Enum(),
		Source:     source.Enum(),
		AgentId:    &mesos.AgentID{Value: proto.String(t.agent.id)},
		ExecutorId: &mesos.ExecutorID{Value: proto.String(t.executorID)},
		Timestamp:  proto.Float64(timestamp(time.Now())),
		Uuid:       uuidBytes(),
	}
}

// queueStatusLocked records status as t's latest and appends it to t's
// update stream, sending it at once if nothing else is in flight.
func (m *Master) queueStatusLocked(t *task, status *mesos.TaskStatus) {
	t.state = status.GetState()
	// Like the master, keep one status per run of the same state, so that
	// a task's repeated updates (health checks) do not grow it without
	// bound.
	if n := len(t.statuses); n > 0 && t.statuses[n-1].GetState() == t.state {
		t.statuses[n-1] = status
	} else {
		t.statuses = append(t.statuses, status)
	}
	if mesos.IsTerminal(t.state) {
		// The master frees resources as soon as it learns of a terminal
		// state, before any acknowledgement.
		m.releaseTaskLocked(t)
	}
	t.pending = append(t.pending, status)
	if len(t.pending) == 1 {
		t.retryDelay = m.cfg.StatusRetry
		m.forwardLocked(t)
	}
}

// forwardLocked sends the head of the task's update stream and arms its
// resend timer.
func (m *Master) forwardLocked(t *task) {
	head := t.pending[0]
	if !t.agent.partitioned { // a partitioned agent's updates wait for the heal
		m.masterReceivedLocked(t, head)
		t.sent = head.State
		t.framework.send(&mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: head}})
	}
	t.stopRetry()
	uuid := head.GetUuid()
	delay := t.retryDelay
	t.retry = time.AfterFunc(delay, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.closed || len(t.pending) == 0 || !bytes.Equal(t.pending[0].GetUuid(), uuid) {
			return
		}
		t.retryDelay = min(t.retryDelay*2, maxStatusRetry)
		m.forwardLocked(t)
	})
}

// acknowledgeLocked handles ACKNOWLEDGE: the head of the task's stream is
// done, the next update goes out, and an acknowledged terminal update
// retires the task.
func (m *Master) acknowledgeLocked(f *framework, a *mesos.Call_Acknowledge) {
	t := f.tasks[a.GetTaskId().GetValue()]
	if t == nil || t.agent.id != a.GetAgentId().GetValue() || t.agent.gone {
		m.log.Debug("acknowledgement for an unknown task or agent ignored", "task_id", a.GetTaskId().GetValue())
		return
	}
	if len(t.pending) == 0 || !bytes.Equal(t.pending[0].GetUuid(), a.GetUuid()) {
		m.log.Debug("acknowledgement of a stale update ignored", "task_id", t.id)
		return
	}
	acked := t.pending[0]
	t.pending = t.pending[1:]
	t.stopRetry()
	if len(t.pending) > 0 {
		t.retryDelay = m.cfg.StatusRetry
		m.forwardLocked(t)
		return
	}
	if mesos.IsTerminal(acked.GetState()) {
		m.retireTaskLocked(t)
	}
}

// retireTaskLocked moves an acknowledged terminal task to the completed
// list, which reconciliation no longer reports.
func (m *Master) retireTaskLocked(t *task) {
	f := t.framework
	t.stopRetry()
	m.releaseTaskLocked(t)
	delete(f.tasks, t.id)
	delete(t.agent.tasks, taskKey{f.id, t.id})
	f.completed = append(f.completed, t)
	if len(f.completed) > completedTasksKept {
		f.completed = f.completed[len(f.completed)-completedTasksKept:]
	}
}

// releaseTaskLocked returns a task's resources to its agent, once.
func (m *Master) releaseTaskLocked(t *task) {
	if t.released {
		return
	}
	t.released = true
	t.framework.release(t.res)
	if !t.agent.gone {
		t.agent.free = t.agent.free.add(t.res)
	}
}

// killLocked handles KILL (§3.7): a known task is killed with its grace
// period; an unknown one gets an explicit reconciliation answer.
func (m *Master) killLocked(f *framework, k *mesos.Call_Kill) {
	id := k.GetTaskId().GetValue()
	t := f.tasks[id]
	if t == nil {
		m.reconcileTaskLocked(f, id, k.GetAgentId().GetValue())
		return
	}
	if k.AgentId != nil && k.GetAgentId().GetValue() != t.agent.id {
		m.log.Info("kill with a mismatched agent ignored", "task_id", id)
		return
	}
	if mesos.IsTerminal(t.state) {
		return
	}
	grace := time.Duration(0)
	if gp := k.GetKillPolicy().GetGracePeriod(); gp != nil {
		grace = time.Duration(gp.GetNanoseconds())
	} else if gp := t.info.GetKillPolicy().GetGracePeriod(); gp != nil {
		grace = time.Duration(gp.GetNanoseconds())
	}
	targets := []string{id}
	if len(t.group) > 0 {
		targets = t.group // killing one task of a group kills the group
	}
	for _, tid := range targets {
		if err := m.exec.Kill(f.id, tid, grace); err != nil {
			m.log.Debug("kill", "task_id", tid, "err", err)
		}
	}
}

// reconcileLocked answers RECONCILE (§6.8): implicit for an empty list.
func (m *Master) reconcileLocked(f *framework, r *mesos.Call_Reconcile) {
	if len(r.GetTasks()) == 0 {
		for _, t := range f.tasks {
			if !t.unreachable { // implicit reconciliation skips unreachable tasks
				m.masterUpdate(f, m.reconciliationStatus(t))
			}
		}
		return
	}
	for _, rt := range r.GetTasks() {
		m.reconcileTaskLocked(f, rt.GetTaskId().GetValue(), rt.GetAgentId().GetValue())
	}
}

func (m *Master) reconciliationStatus(t *task) *mesos.TaskStatus {
	state := t.state
	if t.sent != nil {
		state = *t.sent
	}
	return &mesos.TaskStatus{
		TaskId:     t.taskID(),
		State:      state.Enum(),
		Message:    proto.String("Reconciliation: Latest task state"),
		Reason:     mesos.TaskStatus_REASON_RECONCILIATION.Enum(),
		AgentId:    &mesos.AgentID{Value: proto.String(t.agent.id)},
		ExecutorId: &mesos.ExecutorID{Value: proto.String(t.executorID)},
	}
}

// reconcileTaskLocked answers for one task, known or not.
func (m *Master) reconcileTaskLocked(f *framework, taskID, agentID string) {
	if t := f.tasks[taskID]; t != nil && t.unreachable {
		agentID = t.agent.id
	} else if t != nil {
		m.masterUpdate(f, m.reconciliationStatus(t))
		return
	}
	status := &mesos.TaskStatus{
		TaskId: &mesos.TaskID{Value: proto.String(taskID)},
		Reason: mesos.TaskStatus_REASON_RECONCILIATION.Enum(),
	}
	if agentID != "" {
		status.AgentId = &mesos.AgentID{Value: proto.String(agentID)}
	}
	a := m.agents[agentID]
	switch {
	case a != nil && a.partitioned:
		status.State = lostState(f, mesos.TaskState_TASK_UNREACHABLE).Enum()
		status.Message = proto.String("Reconciliation: Task is unreachable")
	case a != nil && !a.gone:
		status.State = lostState(f, mesos.TaskState_TASK_GONE).Enum()
		status.Message = proto.String("Reconciliation: Task is unknown to the agent")
	case a != nil && a.gone:
		status.State = lostState(f, mesos.TaskState_TASK_UNREACHABLE).Enum()
		status.Message = proto.String("Reconciliation: Task is unreachable")
	default:
		status.State = lostState(f, mesos.TaskState_TASK_UNKNOWN).Enum()
		status.Message = proto.String("Reconciliation: Task is unknown")
	}
	m.masterUpdate(f, status)
}
