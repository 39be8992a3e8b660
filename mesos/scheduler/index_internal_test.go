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
				st.launched(&held{offers: []*Offer{{ID: "o"}}, whole: &Offer{ID: "o"}}, []*Task{task}, &mesos.APIError{Op: "ACCEPT", Status: 400})
				check(fmt.Sprintf("step %d: launch of %s refused", step, id))
				continue
			}
		}
		st.onUpdate(&mesos.TaskStatus{TaskId: &mesos.TaskID{Value: proto.String(id)}, State: states[rng.IntN(len(states))].Enum(),
			AgentId: &mesos.AgentID{Value: proto.String("a")}}, st.observed)
		check(fmt.Sprintf("step %d: update of %s", step, id))
	}
	launching := &Task{ID: "t-last", State: mesos.TaskState_TASK_STAGING, Launching: true, Registration: "fw"}
	st.tasks[launching.ID] = launching
	st.taskChanged(launching)
	check("one more launched")
	st.onMasterError(&mesos.MasterError{Message: "Framework has been removed"})
	check("framework removed")
	if len(st.tasks) != 0 {
		t.Fatalf("%d tasks left after the framework was removed", len(st.tasks))
	}
	// The answer to an ACCEPT in flight arrives for a task now of the old
	// registration: it changes that task, not the current counts.
	st.launched(&held{offers: []*Offer{{ID: "o"}}, whole: &Offer{ID: "o"}}, []*Task{launching}, &mesos.APIError{Op: "ACCEPT", Status: 400})
	check("an old registration's launch refused")
}

// TestKillOfALaunchingTaskWaits: a KILL goes out at once, unless its task
// is still launching: then it waits for the commit, after which its
// ACCEPT has gone out, so it cannot overtake it.
func TestKillOfALaunchingTaskWaits(t *testing.T) {
	st := benchState()
	for _, launching := range []bool{false, true} {
		id := fmt.Sprint("t-", launching)
		task := &Task{ID: id, State: mesos.TaskState_TASK_RUNNING, Launching: launching}
		if launching {
			task.State = mesos.TaskState_TASK_STAGING
		}
		st.tasks[id] = task
		p, err := st.killPlan(id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p.durable != launching || p.call.GetType() != mesos.Call_KILL {
			t.Errorf("kill of a task launching=%v: durable=%v, call %v; want durable=%v and a KILL", launching, p.durable, p.call.GetType(), launching)
		}
	}
}

// TestStatusNumbersStayPut: a status keeps its number while later ones
// arrive and older ones leave the history, and StatusIndex finds it by
// that number as long as the history has it.
func TestStatusNumbersStayPut(t *testing.T) {
	task := &Task{ID: "t"}
	for n := 1; n <= 3*maxHistory; n++ {
		task.addStatus(Status{Message: fmt.Sprint(n)})
		if task.Statuses != n {
			t.Fatalf("after %d statuses, Statuses = %d", n, task.Statuses)
		}
		for i, h := range task.History {
			num := task.StatusNumber(i)
			if h.Message != fmt.Sprint(num) {
				t.Fatalf("after %d statuses, History[%d] is status %s, numbered %d", n, i, h.Message, num)
			}
			if j, ok := task.StatusIndex(num); !ok || j != i {
				t.Fatalf("after %d statuses, StatusIndex(%d) = %d, %v; want %d", n, num, j, ok, i)
			}
		}
		if n > maxHistory && task.HasStatus(n-maxHistory+1) {
			t.Fatalf("after %d statuses, status %d should have left the history", n, n-maxHistory+1)
		}
		if task.HasStatus(n+1) || task.HasStatus(0) {
			t.Fatalf("after %d statuses, a status that does not exist is found", n)
		}
		if l := len(task.History); l > maxHistory || l < min(n, keptHistory) || !task.HasStatus(1) || !task.HasStatus(n) {
			t.Fatalf("after %d statuses, a history of %d from %d: want the first, the latest and %d to %d statuses",
				n, l, task.StatusNumber(1), min(n, keptHistory), maxHistory)
		}
	}
}

// TestAckMarksFollowTheHistory: a status awaiting its acknowledgement says
// so until it is marked, whatever trims of the history come between; a
// copy handed out earlier keeps what it saw; a status the history dropped
// leaves no mark behind.
func TestAckMarksFollowTheHistory(t *testing.T) {
	task := &Task{ID: "t"}
	var copies []*Task
	var seen []bool // what copies[k] said of its newest status
	for n := 1; n <= 3*maxHistory; n++ {
		task.addStatus(Status{UUID: testUUID(n), Message: fmt.Sprint(n)})
		if task.Acked(len(task.History) - 1) {
			t.Fatalf("status %d is acknowledged before its mark", n)
		}
		copies, seen = append(copies, task.clone()), append(seen, false)
		if n%3 != 0 { // every third stays unacknowledged
			if !task.markAcked(n) || task.markAcked(n) {
				t.Fatalf("status %d: marked twice or not at all", n)
			}
		}
		for i := range task.History {
			if num := task.StatusNumber(i); task.Acked(i) != (num%3 != 0) {
				t.Fatalf("after %d statuses, status %d acknowledged = %v", n, num, task.Acked(i))
			}
		}
		for _, num := range task.Unacked {
			if !task.HasStatus(num) {
				t.Fatalf("after %d statuses, status %d is marked though the history dropped it", n, num)
			}
		}
	}
	for k, c := range copies {
		if got := c.Acked(len(c.History) - 1); got != seen[k] {
			t.Fatalf("copy %d changed: its newest status acknowledged = %v", k, got)
		}
	}
}
