package scheduler

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// TestEventHistoryKeepsNewest checks the events page's history after every
// event: the newest EventHistory events, in order, with the memory behind
// them bounded.
func TestEventHistoryKeepsNewest(t *testing.T) {
	st := benchState()
	st.s.cfg.EventHistory = 100
	hb := &mesos.Event{Type: mesos.Event_HEARTBEAT.Enum()}
	for i := 1; i <= 1000; i++ {
		st.recordEvent(hb, time.Now())
		kept := st.keptEvents()
		if want := min(i, 100); len(kept) != want {
			t.Fatalf("after %d events: %d kept, want %d", i, len(kept), want)
		}
		for j, e := range kept {
			if want := uint64(i - len(kept) + 1 + j); e.Seq != want {
				t.Fatalf("after %d events: kept[%d].Seq = %d, want %d", i, j, e.Seq, want)
			}
		}
		if len(st.events) >= 200 {
			t.Fatalf("after %d events: %d held, want fewer than twice the history", i, len(st.events))
		}
	}
}

// TestClipKeepsRunesWhole: a cut message stays valid UTF-8 and says how
// long it was.
func TestClipKeepsRunesWhole(t *testing.T) {
	s := strings.Repeat("é", 10) // 20 bytes
	got := clip(s, 5)
	if !utf8.ValidString(got) || !strings.HasPrefix(got, "éé…") || !strings.Contains(got, "cut from 20 bytes") {
		t.Errorf("clip(%q, 5) = %q", s, got)
	}
	if got := clip("short", 5); got != "short" {
		t.Errorf("clip(short, 5) = %q", got)
	}
}

// TestEventHistoryBoundedByBytes: the events kept fit the byte budget,
// newest first, and the newest is kept even when it alone is over it.
func TestEventHistoryBoundedByBytes(t *testing.T) {
	st := benchState()
	st.s.cfg.EventHistory, st.s.cfg.EventHistoryBytes = 1000, 64<<10
	for i := range 500 {
		st.onEvent(&mesos.Event{Type: mesos.Event_ERROR.Enum(), Error: &mesos.Event_Error{Message: proto.String(fmt.Sprintf("%d %s", i, strings.Repeat("e", 1000)))}})
		kept, bytes := st.keptEvents(), 0
		for _, e := range kept {
			bytes += e.size
		}
		if bytes > st.s.cfg.EventHistoryBytes || kept[len(kept)-1].Seq != uint64(i+1) || st.eventBytes > 2*st.s.cfg.EventHistoryBytes {
			t.Fatalf("after %d events: %d kept in %d bytes (held %d), newest %d; want the newest within 64 KiB", i+1, len(kept), bytes, st.eventBytes, kept[len(kept)-1].Seq)
		}
	}
	st.s.cfg.EventHistoryBytes = 100 // smaller than any event
	st.onEvent(&mesos.Event{Type: mesos.Event_HEARTBEAT.Enum()})
	if kept := st.keptEvents(); len(kept) != 1 || kept[0].Type != "HEARTBEAT" {
		t.Errorf("with a budget below one event, kept %d events, want the newest", len(kept))
	}
}

// TestAcknowledgementBurstIsOneCall: the acknowledgements one sender
// pipelines are kept as one call of all of them: its first request's body,
// every task (up to maxGroupIDs), the burst's time to its last answer,
// and the requests not accepted counted, the first of them shown.
func TestAcknowledgementBurstIsOneCall(t *testing.T) {
	st := benchState()
	st.s.cfg.CallHistory, st.s.cfg.CallHistoryBytes = DefaultCallHistory, DefaultCallHistoryBytes
	tag := &callTag{cause: Cause{Kind: CauseAck}, deferred: true, group: true}
	ctx := withCause(t.Context(), tag)
	t0 := time.Now()
	const n = maxGroupIDs + 6
	// The bodies share one array, as the pipeline makes them.
	joined := make([]byte, 0, 64*n)
	for i := range n {
		task := fmt.Sprintf("task-%d", i)
		start := len(joined)
		joined = append(joined, `{"task":"`+task+`"}`...)
		call := &mesos.Call{Type: mesos.Call_ACKNOWLEDGE.Enum(), Acknowledge: &mesos.Call_Acknowledge{
			AgentId: &mesos.AgentID{Value: proto.String("agent-1")}, TaskId: &mesos.TaskID{Value: proto.String(task)}, Uuid: []byte{byte(i)}}}
		status, answer := 202, ""
		if i == 7 || i == 9 {
			status, answer = 503, fmt.Sprintf("busy %d", i)
		}
		st.s.onCall(ctx, &mesos.SentCall{Type: "ACKNOWLEDGE", Call: call, JSON: joined[start:len(joined):len(joined)],
			Sent: t0.Add(time.Duration(i) * time.Microsecond), Took: time.Millisecond, Status: status, Answer: answer})
	}
	st.addDeferredCalls(tag, 0)
	clear(joined) // the next batch's, say: what is kept is a copy
	kept := st.keptCalls()
	if len(kept) != 1 {
		t.Fatalf("a burst of %d acknowledgements kept as %d calls, want 1", n, len(kept))
	}
	c := kept[0]
	if c.Requests() != n || c.Failed != 2 || c.Status != 503 || c.Answer != "busy 7" || c.Cause.Kind != CauseAck {
		t.Errorf("kept %d requests, %d not accepted, status %d %q, cause %q; want %d, 2, 503 \"busy 7\", %q",
			c.Requests(), c.Failed, c.Status, c.Answer, c.Cause.Kind, n, CauseAck)
	}
	if string(c.JSON) != `{"task":"task-0"}` || len(c.TaskIDs) != maxGroupIDs || c.TaskIDs[0] != "task-0" || c.TaskIDs[maxGroupIDs-1] != fmt.Sprintf("task-%d", maxGroupIDs-1) {
		t.Errorf("kept the body %s and tasks %q, want the first's body and the first %d tasks", c.JSON, c.TaskIDs, maxGroupIDs)
	}
	if want := time.Duration(n-1)*time.Microsecond + time.Millisecond; c.Took != want {
		t.Errorf("the burst took %v, want %v (to its last answer)", c.Took, want)
	}
	// A call on its own stays one request.
	single := &callTag{cause: Cause{Kind: CauseAck}, deferred: true}
	st.s.onCall(withCause(t.Context(), single), &mesos.SentCall{Type: "ACKNOWLEDGE", Call: &mesos.Call{Type: mesos.Call_ACKNOWLEDGE.Enum()}, Sent: t0, Status: 202})
	st.addDeferredCalls(single, 0)
	if c := st.keptCalls()[1]; c.Requests() != 1 || c.Failed != 0 {
		t.Errorf("a call alone kept as %d requests, %d not accepted; want 1 and 0", c.Requests(), c.Failed)
	}
}
