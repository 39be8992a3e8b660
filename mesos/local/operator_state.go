package local

import (
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/master"
)

// The cluster as the operator API describes it. Every function here reads
// the master's state and needs m.mu held.

// taskProto is t as the master's Task message has it (createTask in
// src/common/protobuf_utils.cpp, then the master's own bookkeeping).
func (m *Master) taskProto(t *task) *mesos.Task {
	ti := t.info
	state := t.state
	if t.unreachable {
		state = lostState(t.framework, mesos.TaskState_TASK_UNREACHABLE)
	}
	p := &mesos.Task{
		Name:        proto.String(ti.GetName()),
		TaskId:      t.taskID(),
		FrameworkId: &mesos.FrameworkID{Value: proto.String(t.framework.id)},
		AgentId:     &mesos.AgentID{Value: proto.String(t.agent.id)},
		State:       state.Enum(),
		Resources:   ti.GetResources(),
		// A copy: the master replaces the last status in place.
		Statuses:    slices.Clone(t.statuses),
		Labels:      ti.GetLabels(),
		Discovery:   ti.GetDiscovery(),
		Container:   ti.GetContainer(),
		HealthCheck: ti.GetHealthCheck(),
		KillPolicy:  ti.GetKillPolicy(),
		Limits:      ti.GetLimits(),
	}
	if ti.Executor != nil {
		p.ExecutorId = ti.GetExecutor().GetExecutorId()
	}
	if cmd := ti.GetCommand(); cmd != nil && cmd.User != nil {
		p.User = cmd.User
	} else if cmd := ti.GetExecutor().GetCommand(); cmd != nil && cmd.User != nil {
		p.User = cmd.User
	}
	if t.sent != nil {
		p.StatusUpdateState = t.sent.Enum()
		if len(t.pending) > 0 {
			p.StatusUpdateUuid = t.pending[0].GetUuid()
		}
	}
	return p
}

// offeredByAgent sums outstanding offers per agent.
func (m *Master) offeredByAgent() map[*agent]pool {
	out := map[*agent]pool{}
	for _, o := range m.offers {
		out[o.agent] = out[o.agent].add(o.res)
	}
	return out
}

// agentProto is a registered agent as GET_AGENTS and AGENT_ADDED carry it
// (createAgentResponse in src/common/protobuf_utils.cpp): allocated is what
// tasks use, offered what outstanding offers hold. offered may be nil.
func (m *Master) agentProto(a *agent, offered map[*agent]pool) *master.Response_GetAgents_Agent {
	var used pool
	for _, t := range a.tasks {
		if !t.released {
			used = used.add(t.res)
		}
	}
	var off pool
	if offered != nil {
		off = offered[a]
	} else {
		for _, o := range m.offers {
			if o.agent == a {
				off = off.add(o.res)
			}
		}
	}
	return &master.Response_GetAgents_Agent{
		AgentInfo:          a.info(),
		Active:             proto.Bool(true),
		Deactivated:        proto.Bool(false),
		Version:            proto.String(Version),
		Pid:                proto.String("slave(1)@" + m.addr),
		RegisteredTime:     timeInfo(a.registered),
		TotalResources:     a.total.resources(""),
		AllocatedResources: used.resources(""),
		OfferedResources:   off.resources(""),
		Capabilities:       agentCapabilities(),
	}
}

// agentCapabilities are the capabilities a Mesos 1.11 agent announces by
// default (src/slave/constants.cpp AGENT_CAPABILITIES).
func agentCapabilities() []*mesos.AgentInfo_Capability {
	var out []*mesos.AgentInfo_Capability
	for _, c := range []mesos.AgentInfo_Capability_Type{
		mesos.AgentInfo_Capability_HIERARCHICAL_ROLE,
		mesos.AgentInfo_Capability_MULTI_ROLE,
		mesos.AgentInfo_Capability_RESERVATION_REFINEMENT,
		mesos.AgentInfo_Capability_RESOURCE_PROVIDER,
		mesos.AgentInfo_Capability_RESIZE_VOLUME,
		mesos.AgentInfo_Capability_AGENT_OPERATION_FEEDBACK,
		mesos.AgentInfo_Capability_AGENT_DRAINING,
		mesos.AgentInfo_Capability_TASK_RESOURCE_LIMITS,
	} {
		out = append(out, &mesos.AgentInfo_Capability{Type: c.Enum()})
	}
	return out
}

// registeredAgents are the agents in registration order, without those
// removed or unreachable: a real master keeps those in separate lists.
func (m *Master) registeredAgents() []*agent {
	out := make([]*agent, 0, len(m.agentOrder))
	for _, a := range m.agentOrder {
		if !a.gone && !a.partitioned {
			out = append(out, a)
		}
	}
	return out
}

func (m *Master) getAgentsLocked() *master.Response_GetAgents {
	offered := m.offeredByAgent()
	agents := m.registeredAgents()
	out := &master.Response_GetAgents{Agents: make([]*master.Response_GetAgents_Agent, 0, len(agents))}
	for _, a := range agents {
		out.Agents = append(out.Agents, m.agentProto(a, offered))
	}
	return out
}

// sortedFrameworks are the registered frameworks in id order, which is
// registration order.
func (m *Master) sortedFrameworks() []*framework {
	out := make([]*framework, 0, len(m.frameworks))
	for _, f := range m.frameworks {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *framework) int { return strings.Compare(a.id, b.id) })
	return out
}

// frameworkProto is a framework as GET_FRAMEWORKS has it (model() in
// src/master/http.cpp): times only when they happened, offers and the
// resources its tasks use and its offers hold.
func (m *Master) frameworkProto(f *framework) *master.Response_GetFrameworks_Framework {
	p := &master.Response_GetFrameworks_Framework{
		FrameworkInfo:    f.info,
		Active:           proto.Bool(f.connected()),
		Connected:        proto.Bool(f.connected()),
		Recovered:        proto.Bool(false),
		OfferConstraints: &mesos.OfferConstraints{},
	}
	for _, x := range []struct {
		t   time.Time
		dst **mesos.TimeInfo
	}{{f.registered, &p.RegisteredTime}, {f.unregistered, &p.UnregisteredTime}, {f.reregistered, &p.ReregisteredTime}} {
		if !x.t.IsZero() {
			*x.dst = timeInfo(x.t)
		}
	}
	var used, offered pool
	for _, t := range f.tasks {
		if !t.released {
			used = used.add(t.res)
		}
	}
	ids := make([]string, 0, len(f.offers))
	for id := range f.offers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		o := f.offers[id]
		offered = offered.add(o.res)
		p.Offers = append(p.Offers, m.offerProto(o))
	}
	p.AllocatedResources = used.resources("")
	p.OfferedResources = offered.resources("")
	return p
}

func (m *Master) getFrameworksLocked() *master.Response_GetFrameworks {
	out := &master.Response_GetFrameworks{}
	for _, f := range m.sortedFrameworks() {
		out.Frameworks = append(out.Frameworks, m.frameworkProto(f))
	}
	return out
}

// sortedTasks are a framework's tasks in id order.
func sortedTasks(f *framework) []*task {
	out := make([]*task, 0, len(f.tasks))
	for _, t := range f.tasks {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *task) int { return strings.Compare(a.id, b.id) })
	return out
}

// getTasksLocked lists launched tasks (terminal ones until acknowledged),
// those on unreachable agents, and completed ones.
func (m *Master) getTasksLocked() *master.Response_GetTasks {
	out := &master.Response_GetTasks{}
	for _, f := range m.sortedFrameworks() {
		for _, t := range sortedTasks(f) {
			if t.unreachable {
				out.UnreachableTasks = append(out.UnreachableTasks, m.taskProto(t))
			} else {
				out.Tasks = append(out.Tasks, m.taskProto(t))
			}
		}
		for _, t := range f.completed {
			out.CompletedTasks = append(out.CompletedTasks, m.taskProto(t))
		}
	}
	return out
}

// getExecutorsLocked lists the executors frameworks named in their tasks;
// command tasks' executors are the agent's own and not listed.
func (m *Master) getExecutorsLocked() *master.Response_GetExecutors {
	out := &master.Response_GetExecutors{}
	type key struct{ framework, executor, agent string }
	seen := map[key]bool{}
	for _, f := range m.sortedFrameworks() {
		for _, t := range sortedTasks(f) {
			ex := t.info.GetExecutor()
			if ex == nil || t.agent.gone || mesos.IsTerminal(t.state) {
				continue
			}
			k := key{f.id, ex.GetExecutorId().GetValue(), t.agent.id}
			if seen[k] {
				continue
			}
			seen[k] = true
			out.Executors = append(out.Executors, &master.Response_GetExecutors_Executor{
				ExecutorInfo: ex,
				AgentId:      &mesos.AgentID{Value: proto.String(t.agent.id)},
			})
		}
	}
	return out
}

func (m *Master) getStateLocked() *master.Response_GetState {
	return &master.Response_GetState{
		GetTasks:      m.getTasksLocked(),
		GetExecutors:  m.getExecutorsLocked(),
		GetFrameworks: m.getFrameworksLocked(),
		GetAgents:     m.getAgentsLocked(),
	}
}

// getRolesLocked lists "*" and every role a framework subscribes to, with
// the default weight and, per role, the scalar resources its frameworks
// are allocated and offered (cpus, mem, disk and gpus only, as
// ReadOnlyHandler::getRoles in src/master/readonly_handler.cpp).
func (m *Master) getRolesLocked() *master.Response_GetRoles {
	type role struct {
		frameworks []string
		res        map[string]float64
	}
	roles := map[string]*role{"*": {res: map[string]float64{}}}
	get := func(name string) *role {
		r := roles[name]
		if r == nil {
			r = &role{res: map[string]float64{}}
			roles[name] = r
		}
		return r
	}
	for _, f := range m.sortedFrameworks() {
		for _, name := range f.roles {
			get(name).frameworks = append(get(name).frameworks, f.id)
		}
		for _, t := range f.tasks {
			if t.released {
				continue
			}
			r := get(taskRole(t))
			for _, name := range []string{"cpus", "mem", "disk", "gpus"} {
				r.res[name] += t.res.scalar(name)
			}
		}
		for _, o := range f.offers {
			r := get(o.role)
			for _, name := range []string{"cpus", "mem", "disk", "gpus"} {
				r.res[name] += o.res.scalar(name)
			}
		}
	}
	names := make([]string, 0, len(roles))
	for name := range roles {
		names = append(names, name)
	}
	slices.Sort(names)
	out := &master.Response_GetRoles{}
	for _, name := range names {
		r := roles[name]
		p := &mesos.Role{Name: proto.String(name), Weight: proto.Float64(1)}
		for _, id := range r.frameworks {
			p.Frameworks = append(p.Frameworks, &mesos.FrameworkID{Value: proto.String(id)})
		}
		for _, res := range []string{"cpus", "mem", "disk", "gpus"} {
			if v := r.res[res]; v > 0 {
				p.Resources = append(p.Resources, mesos.Scalar(res, v))
			}
		}
		out.Roles = append(out.Roles, p)
	}
	return out
}

// taskRole is the role a task's resources were allocated to.
func taskRole(t *task) string {
	for _, r := range t.info.GetResources() {
		if role := r.GetAllocationInfo().GetRole(); role != "" {
			return role
		}
	}
	if len(t.framework.roles) == 0 {
		return "*"
	}
	return t.framework.roles[0]
}
