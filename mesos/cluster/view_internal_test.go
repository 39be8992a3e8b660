package cluster

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/master"
)

func taskAdded(fw, id, agent string) *master.Event {
	return &master.Event{Type: master.Event_TASK_ADDED.Enum(), TaskAdded: &master.Event_TaskAdded{Task: &mesos.Task{
		Name: proto.String(id), TaskId: &mesos.TaskID{Value: proto.String(id)}, FrameworkId: &mesos.FrameworkID{Value: proto.String(fw)},
		AgentId: &mesos.AgentID{Value: proto.String(agent)}, State: mesos.TaskState_TASK_STAGING.Enum(),
		Resources: []*mesos.Resource{mesos.Scalar("cpus", 1), mesos.Scalar("mem", 100)},
	}}}
}

func taskUpdated(fw, id string, st mesos.TaskState) *master.Event {
	return &master.Event{Type: master.Event_TASK_UPDATED.Enum(), TaskUpdated: &master.Event_TaskUpdated{
		FrameworkId: &mesos.FrameworkID{Value: proto.String(fw)}, State: st.Enum(),
		Status: &mesos.TaskStatus{TaskId: &mesos.TaskID{Value: proto.String(id)}, State: st.Enum(), Timestamp: proto.Float64(1.7e9)},
	}}
}

func subscribed(agents ...string) *master.Event {
	var as []*master.Response_GetAgents_Agent
	for _, id := range agents {
		as = append(as, &master.Response_GetAgents_Agent{
			AgentInfo: &mesos.AgentInfo{Id: &mesos.AgentID{Value: proto.String(id)}, Hostname: proto.String(id + ".example")},
			Active:    proto.Bool(true), TotalResources: []*mesos.Resource{mesos.Scalar("cpus", 4), mesos.Scalar("mem", 1000)},
		})
	}
	return &master.Event{Type: master.Event_SUBSCRIBED.Enum(), Subscribed: &master.Event_Subscribed{GetState: &master.Response_GetState{
		GetAgents: &master.Response_GetAgents{Agents: as},
		GetFrameworks: &master.Response_GetFrameworks{Frameworks: []*master.Response_GetFrameworks_Framework{{
			FrameworkInfo: &mesos.FrameworkInfo{Id: &mesos.FrameworkID{Value: proto.String("fw")}, Name: proto.String("batch"), User: proto.String("u")},
			Active:        proto.Bool(true), Connected: proto.Bool(true), Recovered: proto.Bool(false),
		}}},
	}}}
}

func mustApply(t *testing.T, v *view, e *master.Event) []Change {
	t.Helper()
	out, err := v.apply(e, time.Unix(1.7e9, 0), nil)
	if err != nil {
		t.Fatalf("apply %v: %v", e.GetType(), err)
	}
	return out
}

// TestViewKeepsEndedTasksBounded: a framework keeps its newest ended
// tasks only, as the master does; live tasks are never dropped, and what
// ended tasks held is released.
func TestViewKeepsEndedTasksBounded(t *testing.T) {
	v := newView(2)
	mustApply(t, v, subscribed("a1"))
	for _, id := range []string{"t1", "t2", "t3", "t4"} {
		mustApply(t, v, taskAdded("fw", id, "a1"))
		mustApply(t, v, taskUpdated("fw", id, mesos.TaskState_TASK_RUNNING))
	}
	if got := v.agents["a1"]; got.Tasks != 4 || got.Used.CPUs != 4 || v.frameworks["fw"].Tasks != 4 {
		t.Fatalf("agent %+v, framework %+v: want 4 live tasks holding 4 cpus", got, v.frameworks["fw"])
	}
	var removed []TaskKey
	for _, id := range []string{"t1", "t2", "t3"} {
		for _, c := range mustApply(t, v, taskUpdated("fw", id, mesos.TaskState_TASK_FINISHED)) {
			if c.Kind == TaskRemoved {
				removed = append(removed, c.Key)
			}
		}
	}
	if len(removed) != 1 || removed[0].TaskID != "t1" {
		t.Errorf("removed %v, want the oldest ended task t1 only", removed)
	}
	if len(v.tasks) != 3 || v.tasks[TaskKey{"fw", "t4"}] == nil {
		t.Errorf("kept %d tasks, want t2, t3 (ended) and t4 (running)", len(v.tasks))
	}
	s := v.summary()
	if a := v.agents["a1"]; a.Tasks != 1 || a.Used.CPUs != 1 || s.Used.CPUs != 1 || s.TasksByState["TASK_FINISHED"] != 2 || s.TasksByState["TASK_RUNNING"] != 1 {
		t.Errorf("agent %+v, summary %+v: want 1 live task holding 1 cpu, 2 finished", a, s)
	}
}

// TestViewFrameworkRemoved: a removed framework takes its tasks with it,
// and what they held is released.
func TestViewFrameworkRemoved(t *testing.T) {
	v := newView(DefaultKeepEnded)
	mustApply(t, v, subscribed("a1", "a2"))
	mustApply(t, v, taskAdded("fw", "t1", "a1"))
	mustApply(t, v, taskAdded("fw", "t2", "a2"))
	out := mustApply(t, v, &master.Event{Type: master.Event_FRAMEWORK_REMOVED.Enum(), FrameworkRemoved: &master.Event_FrameworkRemoved{
		FrameworkInfo: &mesos.FrameworkInfo{Id: &mesos.FrameworkID{Value: proto.String("fw")}, Name: proto.String("batch"), User: proto.String("u")},
	}})
	kinds := map[Kind]int{}
	for _, c := range out {
		kinds[c.Kind]++
	}
	if kinds[TaskRemoved] != 2 || kinds[FrameworkRemoved] != 1 || kinds[AgentChanged] != 2 {
		t.Errorf("changes %v: want 2 tasks removed, 2 agents changed, the framework removed", kinds)
	}
	last := out[len(out)-1].Summary
	if len(v.tasks) != 0 || last.Used != (Resources{}) || last.FrameworksActive != 0 || v.agents["a1"].Tasks != 0 {
		t.Errorf("after removal: %d tasks, summary %+v; want nothing held", len(v.tasks), last)
	}
	if _, err := v.apply(taskUpdated("fw", "t1", mesos.TaskState_TASK_KILLED), time.Now(), nil); err == nil {
		t.Error("an update of a task the view does not know applied without an error")
	}
}

// TestViewTaskSharesItsStrings: a task the view keeps, from a full read
// or added later, holds its agent's and framework's ids as the view's
// agent and framework hold them, and its id and name in one string, so
// that 100,000 tasks are not 500,000 objects for the collector to mark.
// Decoded strings are each their own; the test's are cloned to be so.
func TestViewTaskSharesItsStrings(t *testing.T) {
	own := strings.Clone
	v := newView(DefaultKeepEnded)
	first := subscribed("agent-1")
	first.Subscribed.GetState.GetTasks = &master.Response_GetTasks{Tasks: []*mesos.Task{{
		Name: proto.String(own("loaded")), TaskId: &mesos.TaskID{Value: proto.String(own("t-loaded"))},
		FrameworkId: &mesos.FrameworkID{Value: proto.String(own("fw"))}, AgentId: &mesos.AgentID{Value: proto.String(own("agent-1"))},
		State: mesos.TaskState_TASK_RUNNING.Enum(), Resources: []*mesos.Resource{mesos.Scalar("cpus", 1)},
	}}}
	first.Subscribed.GetState.GetFrameworks.Frameworks[0].FrameworkInfo.Roles = []string{"batch", own("analytics")}
	added := taskAdded(own("fw"), own("t-added"), own("agent-1"))
	added.TaskAdded.Task.Name = proto.String(own("added"))
	for _, e := range []*mesos.Task{first.Subscribed.GetState.GetTasks.Tasks[0], added.TaskAdded.Task} {
		for _, r := range e.Resources {
			r.AllocationInfo = &mesos.Resource_AllocationInfo{Role: proto.String(own("analytics"))}
		}
	}
	mustApply(t, v, first)
	mustApply(t, v, added)

	agent, fw := v.agents["agent-1"], v.frameworks["fw"]
	for _, id := range []string{"t-loaded", "t-added"} {
		task := v.tasks[TaskKey{"fw", id}]
		if task == nil {
			t.Fatalf("task %s not kept", id)
		}
		if unsafe.StringData(task.AgentID) != unsafe.StringData(agent.ID) {
			t.Errorf("task %s keeps its own agent id", id)
		}
		if unsafe.StringData(task.FrameworkID) != unsafe.StringData(fw.ID) {
			t.Errorf("task %s keeps its own framework id", id)
		}
		if unsafe.StringData(task.Role) != unsafe.StringData(fw.Roles[1]) {
			t.Errorf("task %s keeps its own role %q", id, task.Role)
		}
		if unsafe.Add(unsafe.Pointer(unsafe.StringData(task.ID)), len(task.ID)) != unsafe.Pointer(unsafe.StringData(task.Name)) {
			t.Errorf("task %s keeps its id and name apart", id)
		}
		if task.ID != id || task.Name != strings.TrimPrefix(id, "t-") || task.AgentID != "agent-1" || task.FrameworkID != "fw" || task.Role != "analytics" {
			t.Errorf("task %s kept as %+v", id, task)
		}
	}
}
