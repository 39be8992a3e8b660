package scheduler

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// The calls made in arrays say what a message of its own for each said.
func TestAcknowledgementsSayWhatEachAckSays(t *testing.T) {
	batch := []ack{
		{agentID: "a-S1", taskID: "web-1", uuid: []byte{1, 2, 3}},
		{agentID: "a-S2", taskID: "web-2", uuid: []byte{4}},
		{agentID: "a-S1", taskID: "web-3", uuid: []byte{5, 6}},
	}
	calls := acknowledgements(batch)
	if len(calls) != len(batch) {
		t.Fatalf("%d calls for %d acks", len(calls), len(batch))
	}
	for i, k := range batch {
		want := &mesos.Call_Acknowledge{
			AgentId: &mesos.AgentID{Value: proto.String(k.agentID)},
			TaskId:  &mesos.TaskID{Value: proto.String(k.taskID)},
			Uuid:    k.uuid,
		}
		if !proto.Equal(calls[i], want) {
			t.Errorf("call %d = %v, want %v", i, calls[i], want)
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
