package scheduler_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// wire counts, in front of a master, every request that reached it, by
// call type: what the calls the scheduler keeps must match one for one.
type wire struct {
	mu     sync.Mutex
	counts map[string]int
}

func (w *wire) get() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for k, v := range w.counts {
		out[k] = v
	}
	return out
}

// startWire serves a proxy to master that counts the calls through it.
func startWire(t *testing.T, master string) (*wire, string) {
	t.Helper()
	target, err := url.Parse(master)
	if err != nil {
		t.Fatal(err)
	}
	w := &wire{counts: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // the event stream goes through as it comes
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == mesos.SchedulerPath {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			call := new(mesos.Call)
			if err := mesos.Unmarshal(r.Header.Get("Content-Type"), body, call); err == nil {
				w.mu.Lock()
				w.counts[call.GetType().String()]++
				w.mu.Unlock()
			}
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return w, srv.URL
}

// TestEveryCallIsKeptOncePerSend runs the demo flow (decline, accept
// echo hello world, kill) and the other buttons against the stand-in with
// credentials, and holds the calls the scheduler keeps to what reached the
// master: every type once per send, with its body, answer and cause, and
// the secret in none of them.
func TestEveryCallIsKeptOncePerSend(t *testing.T) {
	const secret = "known-s3cret-for-calls"
	_, master := startMaster(t, local.Config{SimulateCommands: true, Credentials: map[string]string{"offerdeck": secret}})
	w, via := startWire(t, master)
	s := startScheduler(t, via, t.TempDir(), func(c *scheduler.Config) {
		c.Client.Principal, c.Client.Secret = "offerdeck", secret
	})
	snap := s.waitFor(t, "offers from two agents", func(s *scheduler.Snapshot) bool {
		return offerOn(s, "agent-1.demo") != nil && offerOn(s, "agent-2.demo") != nil
	})
	ann := scheduler.Actor{User: "ann", Origin: "test"}
	declined := offerOn(snap, "agent-1.demo").ID
	if _, err := s.Decline(t.Context(), ann, declined, time.Minute); err != nil {
		t.Fatal(err)
	}
	accepted := offerOn(snap, "agent-2.demo").ID
	res, err := s.Accept(t.Context(), ann, accepted, []scheduler.TaskSpec{{Name: "hello", Command: "echo hello world", CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatal(err)
	}
	hello := res.TaskIDs[0]
	s.waitFor(t, "hello running", func(s *scheduler.Snapshot) bool {
		tk := task(s, hello)
		return tk != nil && tk.State == mesos.TaskState_TASK_RUNNING
	})
	if _, err := s.Kill(t.Context(), ann, hello, 0); err != nil {
		t.Fatal(err)
	}
	for _, act := range []func() (scheduler.Result, error){
		func() (scheduler.Result, error) { return s.Reconcile(t.Context(), ann) },
		func() (scheduler.Result, error) { return s.Suppress(t.Context(), ann) },
		func() (scheduler.Result, error) { return s.Revive(t.Context(), ann) },
	} {
		if _, err := act(); err != nil {
			t.Fatal(err)
		}
	}
	s.waitFor(t, "hello killed, every update acknowledged", func(s *scheduler.Snapshot) bool {
		tk := task(s, hello)
		return tk != nil && tk.State == mesos.TaskState_TASK_KILLED && len(tk.Unacked) == 0
	})

	// Every send is kept, once: wait until the two counts agree.
	kept := func(snap *scheduler.Snapshot) map[string]int {
		out := map[string]int{}
		for _, c := range snap.Calls {
			out[c.Type]++
		}
		return out
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		snap = s.waitFor(t, "a snapshot", func(*scheduler.Snapshot) bool { return true })
		got, want := kept(snap), w.get()
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls kept %v, the master received %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, typ := range []string{"SUBSCRIBE", "DECLINE", "ACCEPT", "ACKNOWLEDGE", "KILL", "RECONCILE", "SUPPRESS", "REVIVE"} {
		if kept(snap)[typ] == 0 {
			t.Errorf("no %s call kept; kept %v", typ, kept(snap))
		}
	}

	audit, err := s.AuditLog(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	auditOf := func(action string) uint64 {
		for _, a := range audit {
			if a.Action == action {
				return a.Seq
			}
		}
		t.Fatalf("no audit entry for %s", action)
		return 0
	}
	var seq uint64
	for _, c := range snap.Calls {
		if c.Seq <= seq {
			t.Errorf("call %d (%s) after call %d: not in order", c.Seq, c.Type, seq)
		}
		seq = c.Seq
		if !json.Valid(c.JSON) || !c.Whole() || !strings.Contains(string(c.JSON), `"type":"`+c.Type+`"`) {
			t.Errorf("%s kept with body %s, want its whole JSON", c.Type, c.JSON)
		}
		want := http.StatusAccepted
		if c.Type == "SUBSCRIBE" {
			want = http.StatusOK
		}
		if c.Status != want {
			t.Errorf("%s kept with status %d %q", c.Type, c.Status, c.Answer)
		}
		if c.Master != via || c.Principal != "offerdeck" || c.Time.IsZero() || c.Took <= 0 || (c.Type != "SUBSCRIBE" && c.StreamID == "") {
			t.Errorf("%s kept as %+v: want master, principal, stream id, time and duration", c.Type, c)
		}
		for _, v := range []string{string(c.JSON), c.Answer, c.Master, c.StreamID, c.Principal} {
			if strings.Contains(v, secret) {
				t.Errorf("%s keeps the secret in %q", c.Type, v)
			}
		}
		switch c.Type {
		case "SUBSCRIBE":
			if c.Cause.Kind != scheduler.CauseSubscribe {
				t.Errorf("SUBSCRIBE cause %+v", c.Cause)
			}
		case "DECLINE":
			if c.Cause != (scheduler.Cause{Kind: scheduler.CauseUser, User: "ann", Action: "decline", Audit: auditOf("decline")}) || !slices.Equal(c.OfferIDs, []string{declined}) {
				t.Errorf("DECLINE kept with cause %+v about offers %v, want ann's decline of %s", c.Cause, c.OfferIDs, declined)
			}
		case "ACCEPT":
			if c.Cause.Kind != scheduler.CauseUser || c.Cause.Audit != auditOf("accept") || !slices.Equal(c.OfferIDs, []string{accepted}) || !slices.Equal(c.TaskIDs, []string{hello}) ||
				!strings.Contains(string(c.JSON), `"value":"echo hello world"`) {
				t.Errorf("ACCEPT kept as %+v, want ann's accept of %s launching %s", c, accepted, hello)
			}
		case "ACKNOWLEDGE":
			if c.Cause.Kind != scheduler.CauseAck || !slices.Equal(c.TaskIDs, []string{hello}) || !strings.Contains(string(c.JSON), `"uuid":"`) {
				t.Errorf("ACKNOWLEDGE kept as %+v, want an acknowledgement of %s with its uuid", c, hello)
			}
		case "KILL":
			if c.Cause.Action != "kill" || c.Cause.Audit != auditOf("kill") || !slices.Equal(c.TaskIDs, []string{hello}) {
				t.Errorf("KILL kept as %+v", c)
			}
		case "RECONCILE":
			if c.Cause.Kind != scheduler.CauseReconcile && c.Cause.Audit != auditOf("reconcile") {
				t.Errorf("RECONCILE kept with cause %+v", c.Cause)
			}
		case "SUPPRESS", "REVIVE":
			if c.Cause.Audit != auditOf(strings.ToLower(c.Type)) {
				t.Errorf("%s kept with cause %+v", c.Type, c.Cause)
			}
		}
	}
}

// TestHeldOffersDeclinedByPolicySayWhy: the hold policy's declines are
// kept with their cause.
func TestHeldOffersDeclinedByPolicySayWhy(t *testing.T) {
	_, master := startMaster(t, local.Config{SimulateCommands: true})
	s := startScheduler(t, master, t.TempDir(), func(c *scheduler.Config) { c.HoldTime = 50 * time.Millisecond })
	s.waitFor(t, "a DECLINE of the hold policy", func(snap *scheduler.Snapshot) bool {
		return slices.ContainsFunc(snap.Calls, func(c scheduler.Call) bool {
			return c.Type == "DECLINE" && c.Cause.Kind == scheduler.CauseHold && len(c.OfferIDs) > 0 && c.Status == 202
		})
	})
}

// TestCallHistoryIsBounded: calls beyond the count are dropped oldest
// first, and a body over MaxCallJSON is kept cut, saying how big it was.
func TestCallHistoryIsBounded(t *testing.T) {
	_, master := startMaster(t, local.Config{SimulateCommands: true})
	s := startScheduler(t, master, t.TempDir(), func(c *scheduler.Config) { c.CallHistory = 3 })
	s.waitFor(t, "subscribed", func(s *scheduler.Snapshot) bool { return s.Conn.State == mesos.Subscribed })
	for range 8 {
		if _, err := s.Revive(t.Context(), scheduler.Actor{User: "ann"}); err != nil {
			t.Fatal(err)
		}
	}
	snap := s.waitFor(t, "the newest calls only", func(s *scheduler.Snapshot) bool {
		return len(s.Calls) == 3 && s.Calls[2].Type == "REVIVE"
	})
	if snap.Calls[0].Seq+2 != snap.Calls[2].Seq {
		t.Errorf("kept calls %d..%d, want the newest three in a row", snap.Calls[0].Seq, snap.Calls[2].Seq)
	}

	var specs []scheduler.TaskSpec
	for i := range 400 {
		specs = append(specs, scheduler.TaskSpec{Name: fmt.Sprintf("tiny-%03d-%s", i, strings.Repeat("x", 40)), Command: "true", CPUs: 0.001, Mem: 1})
	}
	snap = s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return offerOn(s, "agent-1.demo") != nil })
	if _, err := s.Accept(t.Context(), scheduler.Actor{User: "ann"}, offerOn(snap, "agent-1.demo").ID, specs); err != nil {
		t.Fatal(err)
	}
	// Its acknowledgements soon push it out of three calls kept: look
	// for it among the changes.
	var accept *scheduler.Call
	deadline := time.Now().Add(15 * time.Second)
	for accept == nil {
		s.mu.Lock()
		for _, c := range s.changes {
			if c.Kind == scheduler.CallAdded && c.Call.Type == "ACCEPT" {
				accept = c.Call
			}
		}
		s.mu.Unlock()
		if accept == nil && time.Now().After(deadline) {
			t.Fatal("the big ACCEPT was never kept")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c := accept; c.Whole() || len(c.JSON) != scheduler.MaxCallJSON || c.JSONSize <= scheduler.MaxCallJSON || len(c.TaskIDs) != 20 || c.Status != http.StatusAccepted {
		t.Errorf("ACCEPT of 400 tasks kept %d of %d bytes with %d task ids (status %d), want it cut at %d with the first 20 ids", len(c.JSON), c.JSONSize, len(c.TaskIDs), c.Status, scheduler.MaxCallJSON)
	}
}
