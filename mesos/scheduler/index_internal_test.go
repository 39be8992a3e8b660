package scheduler

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// TestTaskIndexFollowsTheTasks: after any sequence of updates, launches
// refused, and the framework's removal, the index says what a scan of
// every task says.
func TestTaskIndexFollowsTheTasks(t *testing.T) {
	st := benchState()
	st.registration = "fw"
	scan := func() (map[mesos.TaskState]int, map[*Task]struct{}) {
		counts, launching := map[mesos.TaskState]int{}, map[*Task]struct{}{}
		for _, t := range st.tasks {
			counts[t.State]++
			if t.Launching {
				launching[t] = struct{}{}
			}
		}
		return counts, launching
	}
	check := func(step string) {
		t.Helper()
		counts, launching := scan()
		got := map[mesos.TaskState]int{}
		for s, n := range st.index.byState {
			if n != 0 {
				got[s] = n
			}
		}
		if !maps.Equal(got, counts) {
			t.Fatalf("%s: index counts %v, a scan counts %v", step, got, counts)
		}
		if !maps.Equal(st.index.launching, launching) {
			t.Fatalf("%s: index has %d launching, a scan %d", step, len(st.index.launching), len(launching))
		}
	}

	rng := rand.New(rand.NewPCG(1, 2))
	states := []mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_KILLING,
		mesos.TaskState_TASK_FINISHED, mesos.TaskState_TASK_FAILED, mesos.TaskState_TASK_LOST}
	for i := range 50 {
		id := fmt.Sprintf("t%d", i)
		task := &Task{ID: id, State: mesos.TaskState_TASK_STAGING, Launching: true, Registration: "fw"}
		st.tasks[id] = task
		st.taskChanged(task)
	}
	check("launched")
	for step := range 500 {
		id := fmt.Sprintf("t%d", rng.IntN(60)) // some updates are for orphans
		if rng.IntN(10) == 0 {
			if task := st.tasks[id]; task != nil && task.Launching {
				st.launched(&Offer{ID: "o"}, []*Task{task}, &mesos.APIError{Op: "ACCEPT", Status: 400})
				check(fmt.Sprintf("step %d: launch of %s refused", step, id))
				continue
			}
		}
		st.onUpdate(&mesos.TaskStatus{TaskId: &mesos.TaskID{Value: proto.String(id)}, State: states[rng.IntN(len(states))].Enum(),
			AgentId: &mesos.AgentID{Value: proto.String("a")}}, st.observed)
		check(fmt.Sprintf("step %d: update of %s", step, id))
	}
	st.onMasterError(&mesos.MasterError{Message: "Framework has been removed"})
	check("framework removed")
	if len(st.tasks) != 0 {
		t.Fatalf("%d tasks left after the framework was removed", len(st.tasks))
	}
}
