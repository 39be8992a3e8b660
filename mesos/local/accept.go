package local

import (
	"errors"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/executor"
)

// acceptLocked handles ACCEPT as the master does (§6.5): offers first, then
// each operation against a running total of what remains, then the unused
// rest back with the call's filter. Every problem becomes a TASK_* update
// from the master; the HTTP answer is 202 regardless.
func (m *Master) acceptLocked(f *framework, a *mesos.Call_Accept) {
	offers, invalid := m.validOffersLocked(f, a.GetOfferIds())
	if invalid != "" {
		for _, id := range a.GetOfferIds() {
			if o := f.offers[id.GetValue()]; o != nil {
				m.discardOfferLocked(o)
			}
		}
		state := mesos.TaskState_TASK_LOST
		if f.partitionAware() {
			state = mesos.TaskState_TASK_DROPPED
		}
		for _, ti := range launchedTasks(a.GetOperations()) {
			m.masterUpdate(f, &mesos.TaskStatus{
				TaskId:  ti.GetTaskId(),
				State:   state.Enum(),
				Reason:  mesos.TaskStatus_REASON_INVALID_OFFERS.Enum(),
				Message: proto.String("Task launched with invalid offers: " + invalid),
			})
		}
		return
	}

	ag, role := offers[0].agent, offers[0].role
	var remaining pool
	for _, o := range offers {
		remaining = remaining.add(o.res)
		m.removeOfferLocked(o)
	}
	if ag.gone {
		for _, ti := range launchedTasks(a.GetOperations()) {
			m.masterUpdate(f, &mesos.TaskStatus{
				TaskId: ti.GetTaskId(), State: lostState(f, mesos.TaskState_TASK_DROPPED).Enum(),
				Reason: mesos.TaskStatus_REASON_AGENT_REMOVED.Enum(), Message: proto.String("Agent removed"),
			})
		}
		return
	}

	for _, op := range a.GetOperations() {
		switch op.GetType() {
		case mesos.Offer_Operation_LAUNCH:
			for _, ti := range op.GetLaunch().GetTaskInfos() {
				if op.Id != nil {
					m.taskError(f, ti, mesos.TaskStatus_REASON_TASK_INVALID, "The `id` field cannot be set on LAUNCH operations")
					continue
				}
				res, msg := m.validateTaskLocked(f, ag, ti, remaining)
				if msg != "" {
					m.taskError(f, ti, mesos.TaskStatus_REASON_TASK_INVALID, msg)
					continue
				}
				remaining = remaining.sub(res)
				m.launchLocked(f, ag, ti, res, ti.GetTaskId().GetValue(), nil)
			}
		case mesos.Offer_Operation_LAUNCH_GROUP:
			remaining = m.launchGroupLocked(f, ag, op, remaining)
		default:
			m.log.Info("operation not supported by the stand-in ignored", "type", op.GetType().String(), "framework_id", f.id)
		}
	}
	if !remaining.empty() {
		// The unused rest is already back with the agent (removeOfferLocked
		// returned the offers whole); it only gets the call's filter.
		m.refuseLocked(f, &offer{agent: ag, role: role}, remaining, a.GetFilters())
	}
}

// launchedTasks lists the tasks of every LAUNCH and LAUNCH_GROUP.
func launchedTasks(ops []*mesos.Offer_Operation) []*mesos.TaskInfo {
	var out []*mesos.TaskInfo
	for _, op := range ops {
		out = append(out, op.GetLaunch().GetTaskInfos()...)
		out = append(out, op.GetLaunchGroup().GetTaskGroup().GetTasks()...)
	}
	return out
}

// validOffersLocked returns the listed offers, or the reason they cannot be
// used together. Like src/master/validation.cpp (offer::validate), it runs
// each check over the whole list before the next, in the master's order,
// with the master's words: duplicates, then unknown offers, another
// framework's, mixed allocation roles, and last mixed agents.
func (m *Master) validOffersLocked(f *framework, ids []*mesos.OfferID) ([]*offer, string) {
	if len(ids) == 0 {
		return nil, "No offers specified"
	}
	seen := map[string]bool{}
	for _, id := range ids {
		v := id.GetValue()
		if seen[v] {
			return nil, "Duplicate offer " + v + " in offer list"
		}
		seen[v] = true
	}
	offers := make([]*offer, 0, len(ids))
	for _, id := range ids {
		o := m.offers[id.GetValue()]
		if o == nil {
			return nil, "Offer " + id.GetValue() + " is no longer valid"
		}
		offers = append(offers, o)
	}
	for _, o := range offers {
		if o.framework != f {
			return nil, "Offer " + o.id + " has invalid framework " + o.framework.id + " while framework " + f.id + " is expected"
		}
	}
	for _, o := range offers[1:] {
		if o.role != offers[0].role {
			// The master's message, unbalanced quotes included.
			return nil, "Aggregated offers must be allocated to the same role. Offer " + o.id + " uses role '" + o.role +
				" but another is using role '" + offers[0].role
		}
	}
	for _, o := range offers[1:] {
		if o.agent != offers[0].agent {
			return nil, "Aggregated offers must belong to one single agent. Offer " + o.id + " uses agent " + o.agent.id +
				" and agent " + offers[0].agent.id
		}
	}
	return offers, ""
}

// validateTaskLocked checks one task as src/master/validation.cpp does and
// returns its resources, or the TASK_ERROR message.
func (m *Master) validateTaskLocked(f *framework, ag *agent, ti *mesos.TaskInfo, remaining pool) (pool, string) {
	id := ti.GetTaskId().GetValue()
	if msg := validateID(id); msg != "" {
		return pool{}, msg
	}
	if _, dup := f.tasks[id]; dup {
		return pool{}, "Task has duplicate ID: " + id
	}
	if got := ti.GetAgentId().GetValue(); got != ag.id {
		return pool{}, "Task uses invalid agent " + got + " while agent " + ag.id + " is expected"
	}
	if len(ti.GetResources()) == 0 {
		return pool{}, "Task uses no resources"
	}
	res, err := poolOf(ti.GetResources())
	if err != nil {
		return pool{}, "Task uses invalid resources: " + err.Error()
	}
	if (ti.Command == nil) == (ti.Executor == nil) {
		return pool{}, "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
	}
	if gp := ti.GetKillPolicy().GetGracePeriod(); gp != nil && gp.GetNanoseconds() < 0 {
		return pool{}, "Task's 'kill_policy.grace_period' must be non-negative"
	}
	if c := ti.GetContainer(); c != nil && c.GetType() == mesos.ContainerInfo_DOCKER && c.Docker == nil {
		return pool{}, "DockerInfo 'docker' is not set for DOCKER typed ContainerInfo"
	}
	if hc := ti.GetHealthCheck(); hc != nil && hc.Type == nil {
		return pool{}, "Task uses invalid health check: HealthCheck must specify 'type'"
	}
	if !remaining.contains(res) {
		return pool{}, "Total resources " + res.String() + " required by task and its executor is more than available " + remaining.String()
	}
	return res, ""
}

// launchGroupLocked validates and launches a LAUNCH_GROUP: the group
// stands or falls together. It returns what remains of the offers.
func (m *Master) launchGroupLocked(f *framework, ag *agent, op *mesos.Offer_Operation, remaining pool) pool {
	lg := op.GetLaunchGroup()
	tasks := lg.GetTaskGroup().GetTasks()
	fail := func(msg string) pool {
		for _, ti := range tasks {
			m.taskError(f, ti, mesos.TaskStatus_REASON_TASK_GROUP_INVALID, msg)
		}
		return remaining
	}
	if op.Id != nil {
		return fail("The `id` field cannot be set on LAUNCH_GROUP operations")
	}
	ex := lg.GetExecutor()
	if ex.Type == nil || ex.GetType() == mesos.ExecutorInfo_UNKNOWN {
		return fail("'ExecutorInfo.type' must be set")
	}
	exRes, err := poolOf(ex.GetResources())
	if err != nil {
		return fail("Executor uses invalid resources: " + err.Error())
	}
	if exRes.scalar("cpus") < 0.01 || exRes.scalar("mem") < 32 || exRes.scalar("disk") <= 0 {
		return fail("Executor must have at least cpus:0.01; mem:32; disk>0")
	}
	if len(tasks) == 0 {
		return fail("Task group must contain at least one task")
	}
	need := exRes
	group := make([]string, 0, len(tasks))
	resources := make([]pool, 0, len(tasks))
	for _, ti := range tasks {
		if ti.Container != nil && ti.GetContainer().GetType() == mesos.ContainerInfo_DOCKER {
			return fail("Docker ContainerInfo is not supported on the task")
		}
		res, msg := m.validateTaskLocked(f, ag, ti, remaining.sub(need))
		if msg != "" {
			return fail(msg)
		}
		need = need.add(res)
		resources = append(resources, res)
		group = append(group, ti.GetTaskId().GetValue())
	}
	if !remaining.contains(need) {
		return fail("Total resources " + need.String() + " required by task group and its executor is more than available " + remaining.String())
	}
	for i, ti := range tasks {
		res := resources[i]
		if i == 0 {
			res = res.add(exRes) // the executor's share is charged once
		}
		m.launchLocked(f, ag, ti, res, ex.GetExecutorId().GetValue(), group)
	}
	return remaining.sub(need)
}

// taskError sends TASK_ERROR for an invalid task.
func (m *Master) taskError(f *framework, ti *mesos.TaskInfo, reason mesos.TaskStatus_Reason, msg string) {
	m.masterUpdate(f, &mesos.TaskStatus{
		TaskId:  ti.GetTaskId(),
		State:   mesos.TaskState_TASK_ERROR.Enum(),
		Reason:  reason.Enum(),
		Message: proto.String(msg),
		AgentId: ti.GetAgentId(),
	})
}

// launchLocked records a valid task in STAGING, charges its resources and
// starts it; the executor's updates follow through the updater.
func (m *Master) launchLocked(f *framework, ag *agent, ti *mesos.TaskInfo, res pool, executorID string, group []string) {
	id := ti.GetTaskId().GetValue()
	t := &task{id: id, framework: f, agent: ag, info: ti, executorID: executorID, res: res, state: mesos.TaskState_TASK_STAGING, group: group}
	f.tasks[id] = t
	ag.tasks[taskKey{f.id, id}] = t
	ag.free = ag.free.sub(res)
	f.hold(res)

	cmd := ti.GetCommand()
	if ti.Executor != nil {
		cmd = ti.GetExecutor().GetCommand() // the stand-in runs a custom executor's command as the task
	}
	var grace time.Duration
	if gp := ti.GetKillPolicy().GetGracePeriod(); gp != nil {
		grace = time.Duration(gp.GetNanoseconds())
	}
	var maxCompletion time.Duration
	if mc := ti.GetMaxCompletionTime(); mc != nil {
		maxCompletion = time.Duration(mc.GetNanoseconds())
	}
	err := m.exec.Launch(executor.Task{
		AgentID:           ag.id,
		FrameworkID:       f.id,
		TaskID:            id,
		ExecutorID:        id, // one sandbox per task, also for task groups
		Name:              ti.GetName(),
		Command:           cmd,
		Container:         ti.GetContainer(),
		KillGrace:         grace,
		MaxCompletionTime: maxCompletion,
	}, m.report(f.id, id))
	if errors.Is(err, executor.ErrInvalidTask) {
		// What the agent cannot run the master rejects as invalid.
		m.releaseTaskLocked(t)
		delete(f.tasks, id)
		delete(ag.tasks, taskKey{f.id, id})
		m.taskError(f, ti, mesos.TaskStatus_REASON_TASK_INVALID, err.Error())
		return
	}
	m.publishTaskAddedLocked(t)
	if err != nil {
		m.log.Warn("task launch failed", "task_id", id, "err", err)
		m.updates.push(pendingUpdate{framework: f.id, task: id, u: executor.Update{
			TaskID:  id,
			State:   mesos.TaskState_TASK_FAILED,
			Source:  mesos.TaskStatus_SOURCE_AGENT,
			Reason:  mesos.TaskStatus_REASON_CONTAINER_LAUNCH_FAILED.Enum(),
			Message: "Failed to launch container: " + err.Error(),
		}})
	}
}
