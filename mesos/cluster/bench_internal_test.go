package cluster

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/master"
)

// scaleSubscribed is the operator stream's first event for the scale
// mode's cluster: 10,000 agents and 100,000 running tasks of five
// frameworks, as decoded wire messages.
func scaleSubscribed() *master.Event {
	st := &master.Response_GetState{GetAgents: &master.Response_GetAgents{}, GetFrameworks: &master.Response_GetFrameworks{}, GetTasks: &master.Response_GetTasks{}}
	for i := range 10000 {
		st.GetAgents.Agents = append(st.GetAgents.Agents, &master.Response_GetAgents_Agent{
			AgentInfo: &mesos.AgentInfo{Id: &mesos.AgentID{Value: proto.String(fmt.Sprintf("agent-%05d", i))}, Hostname: proto.String(fmt.Sprintf("scale-%05d.demo", i)),
				Attributes: []*mesos.Attribute{mesos.TextAttribute("rack", fmt.Sprintf("r%03d", i/40))}},
			Active: proto.Bool(true), Version: proto.String("1.11.0"),
			TotalResources: []*mesos.Resource{mesos.Scalar("cpus", 8), mesos.Scalar("mem", 32768), mesos.Scalar("disk", 100000), mesos.PortRange(31000, 32000)},
		})
	}
	for i := range 5 {
		st.GetFrameworks.Frameworks = append(st.GetFrameworks.Frameworks, &master.Response_GetFrameworks_Framework{
			FrameworkInfo: &mesos.FrameworkInfo{Id: &mesos.FrameworkID{Value: proto.String(fmt.Sprintf("fw-%d", i))}, Name: proto.String("framework"), User: proto.String("root")},
			Active:        proto.Bool(true), Connected: proto.Bool(true), Recovered: proto.Bool(false),
		})
	}
	for i := range 100000 {
		st.GetTasks.Tasks = append(st.GetTasks.Tasks, &mesos.Task{
			Name: proto.String("sleeper"), TaskId: &mesos.TaskID{Value: proto.String(fmt.Sprintf("task-%06d", i))},
			FrameworkId: &mesos.FrameworkID{Value: proto.String(fmt.Sprintf("fw-%d", i%5))}, AgentId: &mesos.AgentID{Value: proto.String(fmt.Sprintf("agent-%05d", i%10000))},
			State:     mesos.TaskState_TASK_RUNNING.Enum(),
			Resources: []*mesos.Resource{mesos.Scalar("cpus", 0.1), mesos.Scalar("mem", 128)},
			Statuses:  []*mesos.TaskStatus{{TaskId: &mesos.TaskID{Value: proto.String("x")}, State: mesos.TaskState_TASK_RUNNING.Enum(), Timestamp: proto.Float64(1.7e9)}},
		})
	}
	return &master.Event{Type: master.Event_SUBSCRIBED.Enum(), Subscribed: &master.Event_Subscribed{GetState: st}}
}

// BenchmarkViewSubscribed measures turning the scale cluster's SUBSCRIBED,
// once decoded (mesos/master's BenchmarkSubscribedSnapshot measures that),
// into the view's values and the Reset handed to the dashboard.
//
//	go test -run '^$' -bench ViewSubscribed -benchtime 5x ./mesos/cluster
func BenchmarkViewSubscribed(b *testing.B) {
	e := scaleSubscribed()
	v := newView(DefaultKeepEnded)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		out, err := v.apply(e, time.Now(), nil)
		if err != nil || len(out) != 1 || len(out[0].Snapshot.Tasks) != 100000 {
			b.Fatalf("apply: %v, %d changes", err, len(out))
		}
	}
	// The machine is shared: CPU time says what the work costs (garbage
	// collection on every core included), wall time what it took today.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Milliseconds())/float64(b.N), "cpu-ms/snapshot")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/snapshot")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkViewTaskUpdated measures the stream's commonest event, a task's
// new state, in the scale cluster: the task, its agent and framework when
// what it holds moves, and the summary.
func BenchmarkViewTaskUpdated(b *testing.B) {
	v := newView(DefaultKeepEnded)
	if _, err := v.apply(scaleSubscribed(), time.Now(), nil); err != nil {
		b.Fatal(err)
	}
	states := []mesos.TaskState{mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_RUNNING}
	events := make([]*master.Event, len(states))
	for i, s := range states {
		events[i] = &master.Event{Type: master.Event_TASK_UPDATED.Enum(), TaskUpdated: &master.Event_TaskUpdated{
			FrameworkId: &mesos.FrameworkID{Value: proto.String("fw-1")}, State: s.Enum(),
			Status: &mesos.TaskStatus{TaskId: &mesos.TaskID{Value: proto.String("task-000001")}, State: s.Enum(), Timestamp: proto.Float64(1.7e9)},
		}}
	}
	var out []Change
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var err error
		if out, err = v.apply(events[i%2], time.Now(), out[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkViewHeld reports what the view of the scale cluster keeps
// alive once its SUBSCRIBED is gone: objects and bytes a task, agents and
// frameworks included. Every object is one more the collector marks in
// each cycle while the dashboard runs.
//
//	go test -run '^$' -bench ViewHeld -benchtime 3x ./mesos/cluster
func BenchmarkViewHeld(b *testing.B) {
	wire, err := proto.Marshal(scaleSubscribed())
	if err != nil {
		b.Fatal(err)
	}
	var objects, bytes float64
	for b.Loop() {
		before := liveHeap()
		// Decoded as the watcher decodes it: every string its own.
		e := new(master.Event)
		if err := proto.Unmarshal(wire, e); err != nil {
			b.Fatal(err)
		}
		v := newView(DefaultKeepEnded)
		if _, err := v.apply(e, time.Now(), nil); err != nil {
			b.Fatal(err)
		}
		e = nil
		after := liveHeap()
		objects += float64(after.HeapObjects) - float64(before.HeapObjects)
		bytes += float64(after.HeapAlloc) - float64(before.HeapAlloc)
		runtime.KeepAlive(v)
	}
	tasks := float64(b.N) * 100000
	b.ReportMetric(objects/tasks, "objects/task")
	b.ReportMetric(bytes/tasks, "B/task")
}

// liveHeap is the heap's figures after a full collection.
func liveHeap() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}
