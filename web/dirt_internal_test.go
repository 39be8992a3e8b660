package web

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/offerdeck/offerdeck/mesos/cluster"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// TestDirtResetKeepsItsSets: a publish leaves the dirt clean, its sets
// emptied and kept for the next, unless one grew past maxKeptDirt.
func TestDirtResetKeepsItsSets(t *testing.T) {
	d := newDirt()
	for i := range 10 {
		id := strconv.Itoa(i)
		d.agents[id], d.lanes[id], d.queue[id] = true, true, true
		d.tasks[id] = nil
		d.cluster.agents[id], d.cluster.frameworks[id] = true, true
		d.cluster.tasks[cluster.TaskKey{TaskID: id}] = true
	}
	d.parts, d.added, d.order, d.cluster.reset = partTasks, []string{"0"}, true, true
	d.events = []*scheduler.Event{{}}
	before := reflect.ValueOf(d.tasks).Pointer()
	for i := range maxKeptDirt + 1 {
		d.agents["big-"+strconv.Itoa(i)] = true
	}
	bigAgents := reflect.ValueOf(d.agents).Pointer()

	d.reset()
	if !reflect.DeepEqual(d, dirt{agents: map[string]bool{}, lanes: map[string]bool{}, tasks: map[string]*scheduler.Task{}, queue: map[string]bool{},
		cluster: clusterDirt{agents: map[string]bool{}, tasks: map[cluster.TaskKey]bool{}, frameworks: map[string]bool{}}}) {
		t.Fatalf("after reset: %+v, want a clean dirt", d)
	}
	if reflect.ValueOf(d.tasks).Pointer() != before {
		t.Error("the tasks' set was made anew, not kept")
	}
	if reflect.ValueOf(d.agents).Pointer() == bigAgents {
		t.Errorf("the agents' set, grown past %d, was kept", maxKeptDirt)
	}
}
