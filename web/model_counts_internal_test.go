package web

import (
	"maps"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// TestModelCountsFollowEachTaskChange checks the model's counts (tasks by
// state, live tasks, resources used in all and per agent) after every
// change of a random run against the counts of a model built afresh from
// the tasks as they are then, and each agent's tasks against the tasks. Most changes are a status that keeps the
// task's state, agent and resources, which putTask does not count again;
// the others change one of those.
func TestModelCountsFollowEachTaskChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	states := []mesos.TaskState{mesos.TaskState_TASK_STAGING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FINISHED, mesos.TaskState_TASK_LOST}
	res := func() []*mesos.Resource {
		return []*mesos.Resource{mesos.Scalar("cpus", float64(rng.IntN(4)+1)/10), mesos.Scalar("mem", float64(rng.IntN(8)+1)*32), mesos.PortRange(31000, 31000+uint64(rng.IntN(3)))}
	}
	m := newModel()
	tasks := map[string]*scheduler.Task{}
	base := time.Now().Add(-time.Hour)
	for i := range 40 {
		tk := &scheduler.Task{ID: "t" + strconv.Itoa(i), Launch: &scheduler.Launch{Resources: res(), Launched: base.Add(time.Duration(i) * time.Second)},
			AgentID: "a" + strconv.Itoa(i%5), State: mesos.TaskState_TASK_RUNNING, Launching: i%7 == 0}
		tasks[tk.ID] = tk
		m.putTask(tk)
	}
	for step := range 2000 {
		old := tasks["t"+strconv.Itoa(rng.IntN(len(tasks)))]
		tk := *old // as the scheduler clones a task: resources shared
		var what string
		switch n := rng.IntN(10); {
		case n < 6:
			what = "a status in the same state"
		case n < 7:
			what, tk.State = "a new state", states[rng.IntN(len(states))]
		case n < 8:
			what, tk.Launching = "launching settled", !tk.Launching
		case n < 9:
			// A task's launch is shared by its copies: another is a
			// Launch of its own.
			launch := *tk.Launch
			what, launch.Resources, tk.Launch = "other resources", res(), &launch
		default:
			what, tk.AgentID = "another agent", "a"+strconv.Itoa(rng.IntN(5))
		}
		tasks[tk.ID] = &tk
		m.putTask(&tk)

		fresh := newModel()
		for _, ft := range tasks {
			fresh.putTask(ft)
		}
		if !maps.Equal(m.byState, fresh.byState) || m.live != fresh.live || m.used != fresh.used || !maps.Equal(m.agentUsed, fresh.agentUsed) {
			t.Fatalf("step %d (%s of %s): counts %v, %d live, %+v used, per agent %v; afresh %v, %d live, %+v used, per agent %v",
				step, what, tk.ID, m.byState, m.live, m.used, m.agentUsed, fresh.byState, fresh.live, fresh.used, fresh.agentUsed)
		}
		// Each agent's tasks are the tasks as they are now, every one of
		// them, as a model built afresh has them.
		for a := range 5 {
			agent := "a" + strconv.Itoa(a)
			got, afresh, want := map[string]*scheduler.Task{}, map[string]*scheduler.Task{}, map[string]*scheduler.Task{}
			for x := range m.agentTasks(agent) {
				got[x.ID] = x
			}
			for x := range fresh.agentTasks(agent) {
				afresh[x.ID] = x
			}
			for id, x := range tasks {
				if x.AgentID == agent {
					want[id] = x
				}
			}
			if !maps.Equal(got, want) || !maps.Equal(afresh, want) {
				t.Fatalf("step %d (%s of %s): agent %s has tasks %v, afresh %v, want %v", step, what, tk.ID, agent, got, afresh, want)
			}
		}
	}
}

// TestOrderIndexFollowsTheOrder puts, relaunches and archives tasks at
// random, many launched at the same instant, and checks after each step
// now and then that the order is sorted (launch time, then id descending)
// and that slotIndex finds every task where it is, as a scan of the
// order does.
func TestOrderIndexFollowsTheOrder(t *testing.T) {
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 7))
		m := newModel()
		base := time.Now().Add(-time.Hour)
		at := func() time.Time { return base.Add(time.Duration(rng.IntN(20)) * time.Second) }
		for step := range 2000 {
			id := "t" + strconv.Itoa(rng.IntN(150))
			old := m.current(id)
			switch r := rng.IntN(10); {
			case r < 6 && old != nil: // a status: the same launch time
				tk := *old
				m.putTask(&tk)
			case r < 8: // new, or launched again
				m.putTask(&scheduler.Task{ID: id, Launch: &scheduler.Launch{Launched: at()}, State: mesos.TaskState_TASK_RUNNING})
			case old != nil:
				m.archive(old)
			}
			if rng.IntN(3) != 0 {
				continue // several changes between lookups
			}
			for i := 1; i < len(m.order); i++ {
				if !taskBefore(m.order[i-1].t, m.order[i].t) {
					t.Fatalf("seed %d step %d: order[%d] %s is not before order[%d] %s", seed, step, i-1, m.order[i-1].t.ID, i, m.order[i].t.ID)
				}
			}
			if len(m.order) != len(m.tasks) {
				t.Fatalf("seed %d step %d: %d ordered, %d tasks", seed, step, len(m.order), len(m.tasks))
			}
			for i, s := range m.order {
				if m.tasks[s.t.ID] != s {
					t.Fatalf("seed %d step %d: order[%d] %s is not the task's slot", seed, step, i, s.t.ID)
				}
				if got := m.slotIndex(s); got != i {
					t.Fatalf("seed %d step %d: slotIndex(%s) = %d, want %d", seed, step, s.t.ID, got, i)
				}
			}
			if i := m.rankOf("missing"); i != -1 {
				t.Fatalf("seed %d step %d: a task not there found at %d", seed, step, i)
			}
		}
	}
}
