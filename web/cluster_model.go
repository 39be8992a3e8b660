package web

import (
	"cmp"
	"slices"
	"strings"

	"github.com/offerdeck/offerdeck/mesos/cluster"
)

// clusterModel is the model's part that the operator stream keeps: every
// agent, framework and task of the cluster, whoever launched it. It holds
// the cluster package's immutable values.
type clusterModel struct {
	// on says a cluster view was configured; loaded that a full read of
	// the cluster has arrived.
	on, loaded bool
	// offered is what is offered to this framework now, all resources,
	// kept by the model's offers (not the cluster's view).
	offered cluster.Resources
	status  cluster.Status
	summary *cluster.Summary

	agents     map[string]*cluster.Agent
	agentOrder []string // by hostname, then id
	// hostnames names every agent seen since the last full read, removed
	// ones too: their tasks' rows still name them.
	hostnames  map[string]string
	frameworks map[string]*cluster.Framework
	fwOrder    []string // by name, then id
	tasks      map[cluster.TaskKey]*cluster.Task
	// fwTasks are each framework's tasks in the order they became known
	// (Seen), oldest first: the framework's tasks table shows its tail
	// first.
	fwTasks map[string][]*cluster.Task
}

func newClusterModel() clusterModel {
	return clusterModel{
		summary: &cluster.Summary{}, agents: map[string]*cluster.Agent{}, hostnames: map[string]string{}, frameworks: map[string]*cluster.Framework{},
		tasks: map[cluster.TaskKey]*cluster.Task{}, fwTasks: map[string][]*cluster.Task{},
	}
}

// clusterDirt is what changed in the cluster part since the last publish.
type clusterDirt struct {
	agents map[string]bool          // agents whose row may show something else
	tasks  map[cluster.TaskKey]bool // tasks whose row may show something else
	// frameworks came or went: their tasks' pages re-render.
	frameworks map[string]bool
	// reset: the whole cluster was read again; the pages' lists of it
	// re-render.
	reset bool
}

// applyCluster changes the model by one change of the cluster view and
// notes what changed.
func (l *live) applyCluster(c cluster.Change) {
	m, d := &l.m.cluster, &l.dirty
	if c.Summary != nil {
		m.summary = c.Summary
	}
	switch c.Kind {
	case cluster.Reset:
		m.load(c.Snapshot)
		d.parts |= partCluster | partClusterStatus | partFrameworks
		// The lists re-render as wholes (see renderer.clusterReset): at
		// 10,000 agents, a row each took seconds.
		d.cluster.reset = true
		clear(d.cluster.agents)
		clear(d.cluster.tasks)
	case cluster.StatusChanged:
		m.status = *c.Status
		d.parts |= partClusterStatus
	case cluster.AgentChanged:
		named := m.hostnames[c.Agent.ID] == c.Agent.Hostname
		m.putAgent(c.Agent)
		d.parts |= partCluster
		d.cluster.agents[c.Agent.ID] = true
		if !named { // rows of its tasks named it by id until now (rare: an agent re-registering)
			for k, t := range m.tasks {
				if t.AgentID == c.Agent.ID {
					d.cluster.tasks[k] = true
				}
			}
		}
	case cluster.AgentRemoved:
		m.removeAgent(c.ID)
		d.parts |= partCluster
		d.cluster.agents[c.ID] = true
	case cluster.FrameworkChanged:
		if m.frameworks[c.Framework.ID] == nil || m.frameworks[c.Framework.ID].Name != c.Framework.Name {
			d.cluster.frameworks[c.Framework.ID] = true
		}
		m.putFramework(c.Framework)
		d.parts |= partCluster | partFrameworks
	case cluster.FrameworkRemoved:
		d.cluster.frameworks[c.ID] = true
		m.removeFramework(c.ID)
		d.parts |= partCluster | partFrameworks
	case cluster.TaskChanged:
		m.putTask(c.Task)
		d.parts |= partCluster
		d.cluster.tasks[c.Task.Key()] = true
	case cluster.TaskRemoved:
		m.removeTask(c.Key)
		d.parts |= partCluster
		d.cluster.tasks[c.Key] = true
	}
}

func (m *clusterModel) load(s *cluster.Snapshot) {
	on, offered := m.on, m.offered
	*m = newClusterModel()
	m.on, m.offered, m.loaded, m.summary = on, offered, true, s.Summary
	for _, a := range s.Agents {
		m.agents[a.ID] = a
		m.hostnames[a.ID] = a.Hostname
		m.agentOrder = append(m.agentOrder, a.ID)
	}
	slices.SortFunc(m.agentOrder, func(x, y string) int { return m.compareAgents(m.agents[x], m.agents[y]) })
	for _, f := range s.Frameworks {
		m.frameworks[f.ID] = f
		m.fwOrder = append(m.fwOrder, f.ID)
	}
	slices.SortFunc(m.fwOrder, func(x, y string) int { return m.compareFrameworks(m.frameworks[x], m.frameworks[y]) })
	for _, t := range s.Tasks { // in Seen order
		m.tasks[t.Key()] = t
		m.fwTasks[t.FrameworkID] = append(m.fwTasks[t.FrameworkID], t)
	}
}

func (m *clusterModel) compareAgents(a, b *cluster.Agent) int {
	return cmp.Or(strings.Compare(a.Hostname, b.Hostname), strings.Compare(a.ID, b.ID))
}

func (m *clusterModel) compareFrameworks(a, b *cluster.Framework) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
}

// agentRank is an agent's index in agentOrder, or -1.
func (m *clusterModel) agentRank(id string) int {
	a := m.agents[id]
	if a == nil {
		return -1
	}
	i, ok := slices.BinarySearchFunc(m.agentOrder, a, func(x string, a *cluster.Agent) int { return m.compareAgents(m.agents[x], a) })
	if !ok {
		return -1
	}
	return i
}

// agentAfter is the agent listed after id, or "".
func (m *clusterModel) agentAfter(id string) string {
	if i := m.agentRank(id); i >= 0 && i+1 < len(m.agentOrder) {
		return m.agentOrder[i+1]
	}
	return ""
}

func (m *clusterModel) putAgent(a *cluster.Agent) {
	m.hostnames[a.ID] = a.Hostname
	if old := m.agents[a.ID]; old != nil && old.Hostname == a.Hostname {
		m.agents[a.ID] = a
		return
	}
	m.removeAgent(a.ID)
	m.agents[a.ID] = a
	i, _ := slices.BinarySearchFunc(m.agentOrder, a, func(x string, a *cluster.Agent) int { return m.compareAgents(m.agents[x], a) })
	m.agentOrder = slices.Insert(m.agentOrder, i, a.ID)
}

func (m *clusterModel) removeAgent(id string) {
	if i := m.agentRank(id); i >= 0 {
		m.agentOrder = slices.Delete(m.agentOrder, i, i+1)
	}
	delete(m.agents, id)
}

func (m *clusterModel) putFramework(f *cluster.Framework) {
	old := m.frameworks[f.ID]
	m.frameworks[f.ID] = f
	if old != nil && old.Name == f.Name {
		return
	}
	if old != nil {
		m.fwOrder = slices.DeleteFunc(m.fwOrder, func(id string) bool { return id == f.ID })
	}
	i, _ := slices.BinarySearchFunc(m.fwOrder, f, func(x string, f *cluster.Framework) int {
		if x == f.ID {
			return 0
		}
		return m.compareFrameworks(m.frameworks[x], f)
	})
	m.fwOrder = slices.Insert(m.fwOrder, i, f.ID)
}

func (m *clusterModel) removeFramework(id string) {
	m.fwOrder = slices.DeleteFunc(m.fwOrder, func(x string) bool { return x == id })
	delete(m.frameworks, id)
	delete(m.fwTasks, id)
}

func (m *clusterModel) putTask(t *cluster.Task) {
	k := t.Key()
	list := m.fwTasks[t.FrameworkID]
	if m.tasks[k] != nil {
		if i, ok := m.taskIndex(list, t); ok {
			list[i] = t
		}
	} else {
		i, _ := m.taskIndex(list, t)
		m.fwTasks[t.FrameworkID] = slices.Insert(list, i, t)
	}
	m.tasks[k] = t
}

func (m *clusterModel) removeTask(k cluster.TaskKey) {
	t := m.tasks[k]
	if t == nil {
		return
	}
	list := m.fwTasks[k.FrameworkID]
	if i, ok := m.taskIndex(list, t); ok {
		m.fwTasks[k.FrameworkID] = slices.Delete(list, i, i+1)
	}
	delete(m.tasks, k)
}

// taskIndex finds t's place in its framework's list by Seen.
func (m *clusterModel) taskIndex(list []*cluster.Task, t *cluster.Task) (int, bool) {
	return slices.BinarySearchFunc(list, t, func(x, t *cluster.Task) int { return cmp.Compare(x.Seen, t.Seen) })
}

// taskRank is a task's row in its framework's table (0: newest), or -1.
func (m *clusterModel) taskRank(k cluster.TaskKey) int {
	t := m.tasks[k]
	if t == nil {
		return -1
	}
	list := m.fwTasks[k.FrameworkID]
	i, ok := m.taskIndex(list, t)
	if !ok {
		return -1
	}
	return len(list) - 1 - i
}
