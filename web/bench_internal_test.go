package web

import (
	"context"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// BenchmarkRenderTaskChange measures rendering one task change once for
// every viewer: the table row, the timeline, the state badge and the
// counts, encoded as live changes and published.
func BenchmarkRenderTaskChange(b *testing.B) {
	l, _ := bareLive(b)
	task := &scheduler.Task{ID: "web-1", AgentID: "a1", State: mesos.TaskState_TASK_RUNNING, Launch: &scheduler.Launch{Name: "web", Hostname: "agent-1.demo",
		Resources: []*mesos.Resource{mesos.Scalar("cpus", 0.5), mesos.Scalar("mem", 128)}, Ports: []uint64{31000}, Launched: time.Now()}}
	for i := range 3 {
		task.History = append(task.History, scheduler.Status{State: mesos.TaskState_TASK_RUNNING, Message: "update " + strconv.Itoa(i), Time: time.Now(), UUID: scheduler.UUIDOf([]byte("0123456789abcdef"))})
	}
	l.m.agents["a1"] = &agentState{Agent: scheduler.Agent{ID: "a1", Hostname: "agent-1.demo"}}
	l.m.agentOrder = []string{"a1"}
	base := time.Now().Add(-time.Hour)
	for i := range 100000 { // the scale mode's task count, over 10,000 agents
		l.m.putTask(&scheduler.Task{ID: "t" + strconv.Itoa(i), AgentID: "a" + strconv.Itoa(i%10000), State: mesos.TaskState_TASK_RUNNING,
			Launch: &scheduler.Launch{Launched: base}})
	}
	c := scheduler.Change{Kind: scheduler.TaskChanged, Task: task}
	b.ReportAllocs()
	b.ResetTimer()
	bytes := 0
	for i := 0; i < b.N; i++ {
		l.apply(c)
		l.renderPending(context.Background())
		for _, es := range l.pending {
			for _, e := range es {
				bytes += len(e.Data)
			}
		}
		l.publish(context.Background())
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/change")
}

// BenchmarkRenderOfferChange measures an offer arriving: its agent's card
// re-rendered, the agents row and the counts.
func BenchmarkRenderOfferChange(b *testing.B) {
	l, _ := bareLive(b)
	o := &mesos.Offer{Id: &mesos.OfferID{Value: proto.String("o1")}, AgentId: &mesos.AgentID{Value: proto.String("a1")}, Hostname: proto.String("agent-1.demo"),
		Resources:  []*mesos.Resource{mesos.Scalar("cpus", 2), mesos.Scalar("mem", 496), mesos.Scalar("disk", 4930), mesos.PortRange(9000, 10000)},
		Attributes: []*mesos.Attribute{mesos.TextAttribute("rack", "r2d2"), mesos.TextAttribute("pod", "demo,dev")}}
	c := scheduler.Change{Kind: scheduler.OfferAdded, Offer: &scheduler.Offer{ID: "o1", AgentID: "a1", Hostname: "agent-1.demo", Offer: o, Arrived: time.Now(), HoldUntil: time.Now().Add(30 * time.Second)}}
	b.ReportAllocs()
	bytes := 0
	for i := 0; i < b.N; i++ {
		l.apply(c)
		l.renderPending(context.Background())
		for _, es := range l.pending {
			for _, e := range es {
				bytes += len(e.Data)
			}
		}
		l.publish(context.Background())
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/change")
}

// BenchmarkRenderTaskBurst measures task changes applied and rendered
// together, as the steady absorption takes them: 1,000 of 100,000 tasks
// change, then one publish.
func BenchmarkRenderTaskBurst(b *testing.B) {
	b.Run("every-page", func(b *testing.B) { benchmarkRenderTaskBurst(b, nil) })
	// The steady absorption's viewers: the first page of the tasks table
	// only, which shows 50 of the 100,000.
	b.Run("first-page", func(b *testing.B) { benchmarkRenderTaskBurst(b, []string{topicHeader, tasksPageTopic(1)}) })
	// A later page: its own 50 rows.
	b.Run("second-page", func(b *testing.B) { benchmarkRenderTaskBurst(b, []string{topicHeader, tasksPageTopic(2)}) })
	// No page open, as in the bench's moderate row: the model is kept for
	// whoever opens one. These tasks hold resources, as real ones do.
	b.Run("no-page", func(b *testing.B) {
		benchmarkRenderTaskBurst(b, []string{}, mesos.Scalar("cpus", 0.1), mesos.Scalar("mem", 32), mesos.PortRange(31000, 31000))
	})
}

// benchmarkRenderTaskBurst runs the burst with pages open for topics, or
// for every topic when nil, the tasks holding res.
func benchmarkRenderTaskBurst(b *testing.B, topics []string, res ...*mesos.Resource) {
	l, _ := bareLive(b)
	if topics != nil {
		l.s.interest = interest{}
		l.s.interest.want(topics...)
	}
	base := time.Now().Add(-time.Hour)
	tasks := make([]*scheduler.Task, 100000)
	for i := range tasks {
		tasks[i] = &scheduler.Task{ID: "t" + strconv.Itoa(i), AgentID: "a" + strconv.Itoa(i%10000), State: mesos.TaskState_TASK_RUNNING,
			Launch: &scheduler.Launch{Name: "web", Launched: base.Add(time.Duration(i) * time.Millisecond), Resources: res}}
		l.m.putTask(tasks[i])
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range 1000 {
			t := *tasks[(i*1000+j*97)%len(tasks)]
			t.History = []scheduler.Status{{State: mesos.TaskState_TASK_RUNNING, Message: "health " + strconv.Itoa(i), Time: base}}
			l.apply(scheduler.Change{Kind: scheduler.TaskChanged, Task: &t})
		}
		l.renderPending(ctx)
		l.publish(ctx)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/change")
}
