package scheduler

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// The calls made in arrays say what a message of its own for each said,
// batch after batch in the same arrays, a longer batch after a shorter.
func TestAcknowledgementsSayWhatEachAckSays(t *testing.T) {
	var calls ackCalls
	for _, batch := range [][]ack{
		{
			{agentID: "a-S1", taskID: "web-1", uuid: testUUID(1)},
			{agentID: "a-S2", taskID: "web-2", uuid: testUUID(4)},
			{agentID: "a-S1", taskID: "web-3", uuid: testUUID(5)},
		},
		{{agentID: "a-S3", taskID: "db-1", uuid: testUUID(6)}},
		{
			{agentID: "a-S4", taskID: "db-2", uuid: testUUID(7)},
			{agentID: "a-S5", taskID: "db-3", uuid: testUUID(8)},
			{agentID: "a-S6", taskID: "db-4", uuid: testUUID(9)},
			{agentID: "a-S7", taskID: "db-5", uuid: testUUID(10)},
		},
	} {
		got := calls.of(batch)
		if len(got) != len(batch) {
			t.Fatalf("%d calls for %d acks", len(got), len(batch))
		}
		for i, k := range batch {
			want := &mesos.Call_Acknowledge{
				AgentId: &mesos.AgentID{Value: proto.String(k.agentID)},
				TaskId:  &mesos.TaskID{Value: proto.String(k.taskID)},
				Uuid:    k.uuid.Bytes(),
			}
			if !proto.Equal(got[i], want) {
				t.Errorf("call %d = %v, want %v", i, got[i], want)
			}
		}
	}
}

// The queue hands out acknowledgements in the order pushed, across
// batches and pushes between them, and keeps its array for the next.
func TestAckerQueueKeepsOrderAndRoom(t *testing.T) {
	a := newAcker()
	push := func(from, to int) {
		for i := from; i < to; i++ {
			a.push(ack{taskID: fmt.Sprint(i)})
		}
	}
	next := 0
	take := func(max int) int {
		batch, ok := a.nextBatch(context.Background(), max)
		if !ok {
			t.Fatal("no batch")
		}
		for _, k := range batch {
			if k.taskID != fmt.Sprint(next) {
				t.Fatalf("got ack %s, want %d", k.taskID, next)
			}
			next++
		}
		return len(batch)
	}
	push(0, 100)
	if n := take(64); n != 64 {
		t.Fatalf("first batch %d, want 64", n)
	}
	push(100, 130)
	room := cap(a.queue)
	if n := take(64); n != 64 {
		t.Fatalf("second batch %d, want 64", n)
	}
	if n := take(64); n != 2 {
		t.Fatalf("third batch %d, want 2", n)
	}
	if cap(a.queue) != room {
		t.Errorf("the queue's room went from %d to %d: its array was left behind", room, cap(a.queue))
	}
	push(130, 200)
	for next < 200 {
		take(64)
	}
}

// BenchmarkAckerBacklog sends a backlog of 10,000 acknowledgements through
// the queue in batches, as the senders take them after a long commit: a
// queue that moved what waits to the front on every batch paid for the
// whole backlog each time.
func BenchmarkAckerBacklog(b *testing.B) {
	a := newAcker()
	backlog := make([]ack, 10_000)
	for i := range backlog {
		backlog[i] = ack{taskID: fmt.Sprint(i)}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		a.push(backlog...)
		for sent := 0; sent < len(backlog); {
			batch, _ := a.nextBatch(ctx, ackBatch)
			sent += len(batch)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(backlog)), "ns/ack")
}

// testUUID is a uuid for tests, its first bytes n's, the rest its own.
func testUUID(n int) UUID {
	b := []byte("-uuid-for-tests-")
	binary.BigEndian.PutUint32(b, uint32(n))
	return UUIDOf(b)
}

// A status keeps its uuid in itself: not the decoder's slice, which the
// next event may reuse, and nothing Mesos could not acknowledge.
func TestUUIDKeptInTheStatus(t *testing.T) {
	b := []byte("0123456789abcdef")
	u := UUIDOf(b)
	b[0] = 'X'
	if got := string(u.Bytes()); got != "0123456789abcdef" || !u.IsSet() {
		t.Errorf("UUIDOf kept %q (set %v) after its input changed, want the input as it was", got, u.IsSet())
	}
	for _, in := range [][]byte{nil, {}, []byte("0123456789abcdef0")} {
		if u := UUIDOf(in); u.IsSet() || u.Bytes() != nil {
			t.Errorf("UUIDOf(%d bytes) is set to %x, want unset", len(in), u.Bytes())
		}
	}
	if short := UUIDOf([]byte{1, 2, 3}); !slices.Equal(short.Bytes(), []byte{1, 2, 3}) {
		t.Errorf("a stored uuid of 3 bytes reads as %x", short.Bytes())
	}
	for _, u := range []UUID{{}, testUUID(7), UUIDOf([]byte{9})} {
		text, err := u.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back UUID
		if err := back.UnmarshalText(text); err != nil || back != u {
			t.Errorf("%x as text %q reads back as %x, %v", u.Bytes(), text, back.Bytes(), err)
		}
	}
	var bad UUID
	if err := bad.UnmarshalText([]byte("not base64!")); err == nil {
		t.Error("a uuid that is not base64 read without an error")
	}
}

// An update names its task, agent and executor in strings of its own.
// The task and the acknowledgement waiting for its commit keep the
// task's strings instead, so no update's copies stay alive; a different
// executor id still replaces the one kept.
func TestUpdatesKeepTheTaskOwnIDs(t *testing.T) {
	st := benchState()
	id, agent := "web-1", "agent-1"
	st.tasks[id] = &Task{ID: id, AgentID: agent, ExecutorID: id, State: mesos.TaskState_TASK_STAGING, Launching: true}
	update := func(executor string, n int) {
		e := updateEvent(strings.Clone(id), n)
		e.Update.Status.AgentId.Value = proto.String(strings.Clone(agent))
		e.Update.Status.ExecutorId = &mesos.ExecutorID{Value: proto.String(executor)}
		st.onEvent(e)
	}
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	update(strings.Clone(id), 1)
	tk := st.tasks[id]
	if !same(tk.ExecutorID, id) {
		t.Error("the task took the update's copy of its executor id")
	}
	if len(st.acksReady) != 1 {
		t.Fatalf("%d acknowledgements ready, want 1", len(st.acksReady))
	}
	if a := st.acksReady[0]; !same(a.taskID, id) || !same(a.agentID, agent) || a.taskID != id || a.agentID != agent {
		t.Errorf("the acknowledgement holds the update's copies of %q and %q, not the task's", a.taskID, a.agentID)
	}
	update("web-1-executor", 2)
	if got := st.tasks[id].ExecutorID; got != "web-1-executor" {
		t.Errorf("executor id %q after an update naming another, want web-1-executor", got)
	}
}
