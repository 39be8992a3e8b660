package scheduler

import (
	"log/slog"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// benchState is a state with no database or master behind it, for
// measuring what applying an event costs the state goroutine.
func benchState() *state {
	s := &Scheduler{cfg: Config{EventHistory: DefaultEventHistory, HoldTime: DefaultHoldTime}, log: slog.New(slog.DiscardHandler)}
	return &state{s: s, offers: map[string]*Offer{}, agents: map[string]*Agent{}, tasks: map[string]*Task{}, acker: newAcker(), done: newResults()}
}

// BenchmarkApplyUpdate measures applying one agent status update: history,
// persistence queued, change emitted, event recorded for the events page.
func BenchmarkApplyUpdate(b *testing.B) {
	st := benchState()
	const tasks = 10000
	events := make([]*mesos.Event, tasks)
	for i := range tasks {
		id := "task-" + strconv.Itoa(i)
		st.tasks[id] = &Task{ID: id, State: mesos.TaskState_TASK_STARTING}
		events[i] = &mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: &mesos.TaskStatus{
			TaskId: &mesos.TaskID{Value: proto.String(id)}, State: mesos.TaskState_TASK_RUNNING.Enum(),
			Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum(), AgentId: &mesos.AgentID{Value: proto.String("agent-1")},
			Timestamp: proto.Float64(1.7e9), Uuid: []byte("0123456789abcdef"),
		}}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := events[i%tasks]
		e.Update.Status.Uuid = []byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24), 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
		st.onEvent(e)
		if i%256 == 255 { // the loop flushes after each burst
			st.pending, st.out, st.acksReady = write{}, st.out[:0], nil
			for _, t := range st.tasks {
				if len(t.History) > 8 {
					t.History = t.History[:0]
				}
			}
		}
	}
}

// BenchmarkApplyOffers measures taking in an OFFERS event of 100 offers.
func BenchmarkApplyOffers(b *testing.B) {
	st := benchState()
	var offers []*mesos.Offer
	for i := range 100 {
		offers = append(offers, &mesos.Offer{
			Id: &mesos.OfferID{Value: proto.String("o" + strconv.Itoa(i))}, FrameworkId: &mesos.FrameworkID{Value: proto.String("f")},
			AgentId: &mesos.AgentID{Value: proto.String("a" + strconv.Itoa(i))}, Hostname: proto.String("agent-" + strconv.Itoa(i)),
			Resources:  []*mesos.Resource{mesos.Scalar("cpus", 2), mesos.Scalar("mem", 496), mesos.PortRange(9000, 10000)},
			Attributes: []*mesos.Attribute{mesos.TextAttribute("rack", "r2d2")},
		})
	}
	e := &mesos.Event{Type: mesos.Event_OFFERS.Enum(), Offers: &mesos.Event_Offers{Offers: offers}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st.onEvent(e)
		st.pending, st.out = write{}, st.out[:0]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(offers)), "ns/offer")
}
