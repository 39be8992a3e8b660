package master

import (
	"fmt"

	"github.com/offerdeck/offerdeck/mesos"
)

// State is the cluster as the operator stream describes it: agents,
// frameworks and tasks by id, rebuilt from SUBSCRIBED and kept current by
// the events after it. It holds the wire messages themselves; a caller
// that hands them on must not modify them. The zero State is empty and
// ready; it is not safe for concurrent use.
type State struct {
	// Agents are the registered agents by agent id.
	Agents map[string]*Response_GetAgents_Agent
	// Frameworks are the registered frameworks by framework id. A removed
	// framework leaves; its tasks stay, as the master keeps them among
	// completed tasks, until the next SUBSCRIBED.
	Frameworks map[string]*Response_GetFrameworks_Framework
	// Tasks are the known tasks (live, unreachable and completed) by
	// framework and task id.
	Tasks map[TaskKey]*mesos.Task
}

// TaskKey identifies a task: task ids are unique within a framework only.
type TaskKey struct{ FrameworkID, TaskID string }

// Apply changes s by one event. SUBSCRIBED replaces everything; HEARTBEAT
// changes nothing. An event about something s does not know is applied as
// far as it can be (a TASK_UPDATED of an unknown task is an error, since
// the task cannot be made up from it).
func (s *State) Apply(e *Event) error {
	switch e.GetType() {
	case Event_SUBSCRIBED:
		s.reset(e.GetSubscribed().GetGetState())
	case Event_TASK_ADDED:
		t := e.GetTaskAdded().GetTask()
		s.tasks()[keyOf(t)] = t
	case Event_TASK_UPDATED:
		u := e.GetTaskUpdated()
		k := TaskKey{u.GetFrameworkId().GetValue(), u.GetStatus().GetTaskId().GetValue()}
		t := s.Tasks[k]
		if t == nil {
			return fmt.Errorf("TASK_UPDATED of unknown task %s of framework %s", k.TaskID, k.FrameworkID)
		}
		t.State = u.State
		// Like the master, keep one status per run of the same state.
		if n := len(t.Statuses); n > 0 && t.Statuses[n-1].GetState() == u.GetStatus().GetState() {
			t.Statuses[n-1] = u.GetStatus()
		} else {
			t.Statuses = append(t.Statuses, u.GetStatus())
		}
	case Event_FRAMEWORK_ADDED:
		f := e.GetFrameworkAdded().GetFramework()
		s.frameworks()[f.GetFrameworkInfo().GetId().GetValue()] = f
	case Event_FRAMEWORK_UPDATED:
		f := e.GetFrameworkUpdated().GetFramework()
		s.frameworks()[f.GetFrameworkInfo().GetId().GetValue()] = f
	case Event_FRAMEWORK_REMOVED:
		delete(s.Frameworks, e.GetFrameworkRemoved().GetFrameworkInfo().GetId().GetValue())
	case Event_AGENT_ADDED:
		a := e.GetAgentAdded().GetAgent()
		s.agents()[a.GetAgentInfo().GetId().GetValue()] = a
	case Event_AGENT_REMOVED:
		delete(s.Agents, e.GetAgentRemoved().GetAgentId().GetValue())
	case Event_HEARTBEAT:
	default:
		return fmt.Errorf("unknown operator event %v", e.GetType())
	}
	return nil
}

func (s *State) reset(st *Response_GetState) {
	agents := st.GetGetAgents().GetAgents()
	s.Agents = make(map[string]*Response_GetAgents_Agent, len(agents))
	for _, a := range agents {
		s.Agents[a.GetAgentInfo().GetId().GetValue()] = a
	}
	fws := st.GetGetFrameworks().GetFrameworks()
	s.Frameworks = make(map[string]*Response_GetFrameworks_Framework, len(fws))
	for _, f := range fws {
		s.Frameworks[f.GetFrameworkInfo().GetId().GetValue()] = f
	}
	ts := st.GetGetTasks()
	s.Tasks = make(map[TaskKey]*mesos.Task, len(ts.GetTasks())+len(ts.GetUnreachableTasks())+len(ts.GetCompletedTasks()))
	for _, list := range [][]*mesos.Task{ts.GetCompletedTasks(), ts.GetUnreachableTasks(), ts.GetTasks()} {
		for _, t := range list {
			s.Tasks[keyOf(t)] = t
		}
	}
}

func keyOf(t *mesos.Task) TaskKey {
	return TaskKey{t.GetFrameworkId().GetValue(), t.GetTaskId().GetValue()}
}

func (s *State) tasks() map[TaskKey]*mesos.Task {
	if s.Tasks == nil {
		s.Tasks = map[TaskKey]*mesos.Task{}
	}
	return s.Tasks
}

func (s *State) frameworks() map[string]*Response_GetFrameworks_Framework {
	if s.Frameworks == nil {
		s.Frameworks = map[string]*Response_GetFrameworks_Framework{}
	}
	return s.Frameworks
}

func (s *State) agents() map[string]*Response_GetAgents_Agent {
	if s.Agents == nil {
		s.Agents = map[string]*Response_GetAgents_Agent{}
	}
	return s.Agents
}
