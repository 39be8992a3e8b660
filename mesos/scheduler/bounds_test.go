package scheduler_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/recordio"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// hostileMaster is a master over real HTTP that answers SUBSCRIBE with the
// events a test scripts, and every other call with 202.
// Every call it received goes to calls.
func hostileMaster(t *testing.T, events []*mesos.Event, calls chan<- *mesos.Call) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		call := new(mesos.Call)
		if err := mesos.Unmarshal(r.Header.Get("Content-Type"), body, call); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if call.GetType() != mesos.Call_SUBSCRIBE {
			select {
			case calls <- call:
			default: // the test reads what it needs
			}
			w.WriteHeader(http.StatusAccepted)
			return
		}
		media := r.Header.Get("Accept")
		w.Header().Set("Content-Type", media)
		w.Header().Set("Mesos-Stream-Id", "hostile-stream")
		w.WriteHeader(http.StatusOK)
		subscribed := &mesos.Event{Type: mesos.Event_SUBSCRIBED.Enum(), Subscribed: &mesos.Event_Subscribed{
			FrameworkId: &mesos.FrameworkID{Value: proto.String("hostile-fw")}, HeartbeatIntervalSeconds: proto.Float64(15)}}
		for _, e := range append([]*mesos.Event{subscribed}, events...) {
			b, err := mesos.Marshal(media, e)
			if err != nil {
				t.Errorf("encode event: %v", err)
				return
			}
			if _, err := w.Write(recordio.AppendRecord(nil, b)); err != nil {
				return
			}
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func update(id, msg string, n int) *mesos.Event {
	uuid := make([]byte, 16)
	copy(uuid, fmt.Sprintf("%016d", n))
	return &mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: &mesos.TaskStatus{
		TaskId: &mesos.TaskID{Value: proto.String(id)}, State: mesos.TaskState_TASK_RUNNING.Enum(),
		Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum(), AgentId: &mesos.AgentID{Value: proto.String("agent-1")},
		Message: proto.String(msg), Uuid: uuid,
	}}}
}

// logBuffer is a bytes.Buffer a logger may write to while a test reads.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestHostileMasterCannotGrowMemory: a master sends task ids of 1 MiB,
// messages and data of 1 MiB, a flood of updates for tasks the framework
// never launched and a chatty task. What the scheduler keeps stays bounded
// by count and bytes, the ids are refused, and the refusals are logged a
// few times, not once each.
func TestHostileMasterCannotGrowMemory(t *testing.T) {
	const huge = 1 << 20
	var events []*mesos.Event
	n := 0
	next := func(id, msg string) *mesos.Event { n++; return update(id, msg, n) }
	for i := range 5 {
		e := next(fmt.Sprintf("big-message-%d", i), strings.Repeat("m", huge))
		e.Update.Status.Data = bytes.Repeat([]byte{'d'}, huge)
		events = append(events, e)
	}
	for i := range 100 {
		events = append(events, next("chatty", fmt.Sprintf("%d %s", i, strings.Repeat("c", 3000))))
	}
	for i := range 1100 {
		events = append(events, next(fmt.Sprintf("orphan-%d", i), ""))
	}
	for i := range 10 {
		events = append(events, next(fmt.Sprintf("%d-%s", i, strings.Repeat("x", huge)), "hi"))
	}
	events = append(events, &mesos.Event{Type: mesos.Event_OFFERS.Enum(), Offers: &mesos.Event_Offers{Offers: []*mesos.Offer{{
		Id: &mesos.OfferID{Value: proto.String("final")}, FrameworkId: &mesos.FrameworkID{Value: proto.String("hostile-fw")},
		AgentId: &mesos.AgentID{Value: proto.String("agent-1")}, Hostname: proto.String("agent-1.example"),
	}, {
		Id: &mesos.OfferID{Value: proto.String("long-hostname")}, FrameworkId: &mesos.FrameworkID{Value: proto.String("hostile-fw")},
		AgentId: &mesos.AgentID{Value: proto.String("agent-2")}, Hostname: proto.String(strings.Repeat("h", huge)),
	}}}})
	calls := make(chan *mesos.Call, 4096)
	base := hostileMaster(t, events, calls)

	var logs logBuffer
	s := startScheduler(t, base, t.TempDir(), func(c *scheduler.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.EventHistory = 5000 // the byte bound comes first
		c.EventHistoryBytes = 256 << 10
	})
	// Over a thousand updates, each saved and acknowledged: allow for a
	// slow disk under the race detector.
	start := time.Now()
	snap := lastOfferKept(t, s, time.Minute)

	if snap.Offers[0].ID != "final" {
		t.Errorf("offer kept = %s, want final", snap.Offers[0].ID)
	}
	// The offer with a 1 MiB hostname is not kept, but given back.
	for declined := false; !declined; {
		select {
		case c := <-calls:
			declined = c.GetType() == mesos.Call_DECLINE && c.GetDecline().GetOfferIds()[0].GetValue() == "long-hostname"
		case <-time.After(30 * time.Second):
			t.Fatal("the offer with a 1 MiB hostname was never declined")
		}
	}

	orphans, historyBytes := 0, map[string]int{}
	for _, tk := range snap.Tasks {
		if len(tk.ID) > 255 {
			t.Fatalf("a task id of %d bytes is kept", len(tk.ID))
		}
		if tk.Orphan {
			orphans++
		}
		for _, h := range tk.History {
			if len(h.Message) > 4200 {
				t.Errorf("task %s keeps a message of %d bytes", tk.ID, len(h.Message))
			}
			historyBytes[tk.ID] += len(h.Message)
		}
	}
	if orphans > 1000 || orphans < 990 {
		t.Errorf("%d orphan tasks kept, want at most 1000 (and no fewer than the cap lets in)", orphans)
	}
	if b := historyBytes["chatty"]; b > 64<<10+4200 {
		t.Errorf("the chatty task keeps %d bytes of messages, want at most 64 KiB", b)
	}
	eventBytes := 0
	for _, e := range snap.Events {
		b, err := e.JSON()
		if err != nil {
			t.Fatal(err)
		}
		eventBytes += len(b) + len(e.Summary)
	}
	// Kept events are bounded by their protobuf size; as JSON they are
	// somewhat larger.
	if eventBytes > 512<<10 || len(snap.Events) >= 1217 {
		t.Errorf("the events page keeps %d events in %d bytes, want the oldest dropped past 256 KiB", len(snap.Events), eventBytes)
	}
	refused := 0
	for _, e := range snap.Events {
		if strings.HasPrefix(e.Summary, "refused: task id of") {
			refused++
		}
	}
	if refused != 10 {
		t.Errorf("%d events say a task id was refused, want 10", refused)
	}
	// One line at the first refusal, then at most one every 10 s.
	maxLines := 2 + int(time.Since(start)/(10*time.Second))
	if lines := strings.Count(logs.String(), "refused input from the master"); lines < 1 || lines > maxLines {
		t.Errorf("%d log lines for %d refusals, want 1 to %d:\n%s", lines, 10+100, maxLines, logs.String())
	}
	t.Logf("kept: %d tasks (%d orphans), %d events in %d bytes; chatty keeps %d bytes in its history",
		len(snap.Tasks), orphans, len(snap.Events), eventBytes, historyBytes["chatty"])
}

// TestOrphanBoundIsConfigured: Config.MaxOrphans sets how many tasks this
// framework never launched are kept; the updates past it are refused.
func TestOrphanBoundIsConfigured(t *testing.T) {
	var events []*mesos.Event
	for i := range 30 {
		events = append(events, update(fmt.Sprintf("orphan-%d", i), "", i+1))
	}
	events = append(events, &mesos.Event{Type: mesos.Event_OFFERS.Enum(), Offers: &mesos.Event_Offers{Offers: []*mesos.Offer{{
		Id: &mesos.OfferID{Value: proto.String("final")}, FrameworkId: &mesos.FrameworkID{Value: proto.String("hostile-fw")},
		AgentId: &mesos.AgentID{Value: proto.String("agent-1")}, Hostname: proto.String("agent-1.example"),
	}}}})
	base := hostileMaster(t, events, make(chan *mesos.Call, 4096))
	s := startScheduler(t, base, t.TempDir(), func(c *scheduler.Config) { c.MaxOrphans = 10 })
	orphans := 0
	for _, tk := range lastOfferKept(t, s, 30*time.Second).Tasks {
		if tk.Orphan {
			orphans++
		}
	}
	if orphans != 10 {
		t.Errorf("%d orphan tasks kept, want the 10 configured", orphans)
	}
}

// lastOfferKept waits until the scheduler holds one offer, which the
// hostile masters of these tests send last, and returns that snapshot.
func lastOfferKept(t *testing.T, s *running, within time.Duration) *scheduler.Snapshot {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		snap, err := s.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Offers) == 1 {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("the last event was not applied within %v; %d tasks", within, len(snap.Tasks))
		}
	}
}
