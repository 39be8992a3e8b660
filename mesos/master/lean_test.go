package master

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// healthUpdate is a TASK_UPDATED as a busy cluster's masters send most:
// a health check's result, every field of the status a master fills set.
func healthUpdate() *Event {
	return &Event{
		Type: Event_TASK_UPDATED.Enum(),
		TaskUpdated: &Event_TaskUpdated{
			FrameworkId: &mesos.FrameworkID{Value: proto.String("5b1c2a3e-0000-4f7e-9a10-2c3d4e5f6a7b-0001")},
			State:       mesos.TaskState_TASK_RUNNING.Enum(),
			Status: &mesos.TaskStatus{
				TaskId:     &mesos.TaskID{Value: proto.String("web.7f3e2a1c-9b8d-11ef-8a2b-0242ac120002")},
				State:      mesos.TaskState_TASK_RUNNING.Enum(),
				Message:    proto.String("health check passed"),
				Source:     mesos.TaskStatus_SOURCE_EXECUTOR.Enum(),
				Reason:     mesos.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED.Enum(),
				AgentId:    &mesos.AgentID{Value: proto.String("5b1c2a3e-0000-4f7e-9a10-2c3d4e5f6a7b-S12")},
				ExecutorId: &mesos.ExecutorID{Value: proto.String("web.7f3e2a1c-9b8d-11ef-8a2b-0242ac120002")},
				Timestamp:  proto.Float64(1796641660.123456),
				Uuid:       []byte("0123456789abcdef"),
				Healthy:    proto.Bool(true),
				Labels:     &mesos.Labels{Labels: []*mesos.Label{{Key: proto.String("team"), Value: proto.String("web")}}},
			},
		},
	}
}

// leanOf is what a lean decode keeps of e.
func leanOf(e *Event) *Event {
	u := e.GetTaskUpdated()
	st := &mesos.TaskStatus{TaskId: &mesos.TaskID{Value: proto.String(u.GetStatus().GetTaskId().GetValue())}, State: u.GetStatus().State}
	if u.GetStatus().Timestamp != nil {
		st.Timestamp = proto.Float64(u.GetStatus().GetTimestamp())
	}
	return &Event{Type: e.Type, TaskUpdated: &Event_TaskUpdated{
		FrameworkId: &mesos.FrameworkID{Value: proto.String(u.GetFrameworkId().GetValue())},
		State:       u.State,
		Status:      st,
	}}
}

// agrees checks the lean decode of rec against the full one: when both
// read rec, they must agree on every field the lean one keeps. (The lean
// one does not look into the fields it skips: garbage there, which the
// full one refuses, it lets pass.)
func agrees(t testing.TB, rec []byte) (lean bool) {
	t.Helper()
	got, ok := leanTaskUpdated(rec)
	if !ok {
		return false
	}
	full := new(Event)
	if err := proto.Unmarshal(rec, full); err != nil {
		return true
	}
	if want := leanOf(full); !proto.Equal(got, want) {
		t.Fatalf("lean decode of %x:\n got %v\nwant %v", rec, got, want)
	}
	return true
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLeanTaskUpdatedAgreesWithTheFullDecoder: the lean decode of a
// TASK_UPDATED keeps what the full one reads of it, in whatever order
// the fields come and with fields it does not know; it leaves every other
// event, and anything it cannot read so, to the full decoder.
func TestLeanTaskUpdatedAgreesWithTheFullDecoder(t *testing.T) {
	full := marshal(t, healthUpdate())
	if !agrees(t, full) {
		t.Fatal("a health check's TASK_UPDATED was left to the full decoder")
	}
	noTime := healthUpdate()
	noTime.TaskUpdated.Status.Timestamp = nil
	if !agrees(t, marshal(t, noTime)) {
		t.Error("a TASK_UPDATED without a timestamp was left to the full decoder")
	}
	// The type after the update, and fields of a newer master's.
	u := marshal(t, healthUpdate().TaskUpdated)
	var b []byte
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendBytes(b, protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), u...), 40, protowire.VarintType), 7))
	b = protowire.AppendTag(b, 50, protowire.BytesType)
	b = protowire.AppendString(b, "from a newer master")
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(Event_TASK_UPDATED))
	if !agrees(t, b) {
		t.Error("a TASK_UPDATED with its type last and unknown fields was left to the full decoder")
	}

	left := map[string]*Event{
		"a heartbeat":              {Type: Event_HEARTBEAT.Enum()},
		"a task added":             {Type: Event_TASK_ADDED.Enum(), TaskAdded: &Event_TaskAdded{Task: &mesos.Task{Name: proto.String("web")}}},
		"no type":                  {TaskUpdated: healthUpdate().TaskUpdated},
		"a type without update":    {Type: Event_TASK_UPDATED.Enum()},
		"no framework":             func() *Event { e := healthUpdate(); e.TaskUpdated.FrameworkId = nil; return e }(),
		"no status":                func() *Event { e := healthUpdate(); e.TaskUpdated.Status = nil; return e }(),
		"no task id":               func() *Event { e := healthUpdate(); e.TaskUpdated.Status.TaskId = nil; return e }(),
		"no state":                 func() *Event { e := healthUpdate(); e.TaskUpdated.State = nil; return e }(),
		"no status state":          func() *Event { e := healthUpdate(); e.TaskUpdated.Status.State = nil; return e }(),
		"a state it does not know": func() *Event { e := healthUpdate(); e.TaskUpdated.State = mesos.TaskState(999).Enum(); return e }(),
	}
	for what, e := range left {
		rec, err := proto.MarshalOptions{AllowPartial: true}.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if agrees(t, rec) {
			t.Errorf("%s: the lean decoder read it, want it left to the full decoder", what)
		}
	}
	// Every cut of a record: never a panic, and whatever is read agrees.
	for i := range len(full) {
		agrees(t, full[:i])
	}
}

// FuzzLeanTaskUpdated: on any bytes, the lean decoder never panics, and
// where both decoders read them they agree.
func FuzzLeanTaskUpdated(f *testing.F) {
	f.Add(marshal(f, healthUpdate()))
	f.Add(marshal(f, &Event{Type: Event_HEARTBEAT.Enum()}))
	f.Fuzz(func(t *testing.T, rec []byte) { agrees(t, rec) })
}

// BenchmarkDecodeTaskUpdated: a health check's TASK_UPDATED decoded whole
// and lean, into a struct reused as the client reuses it.
func BenchmarkDecodeTaskUpdated(b *testing.B) {
	rec := marshal(b, healthUpdate())
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := proto.Unmarshal(rec, new(Event)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lean", func(b *testing.B) {
		b.ReportAllocs()
		l := new(leanTaskUpdate) // as the client reuses it
		for b.Loop() {
			if _, ok := l.decode(rec); !ok {
				b.Fatal("not read")
			}
		}
	})
}
