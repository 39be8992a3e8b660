package scheduler_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/local/localtest"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func startMaster(t *testing.T, cfg local.Config) (*local.Master, string) {
	t.Helper()
	return localtest.Start(t, cfg)
}

// running is a scheduler whose Run the test owns, with its changes kept.
type running struct {
	*scheduler.Scheduler
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	changes []scheduler.Change
}

func startScheduler(t *testing.T, master, stateDir string, mutate func(*scheduler.Config)) *running {
	t.Helper()
	cfg := scheduler.Config{
		Client:   mesos.Config{Masters: []string{master}, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		StateDir: stateDir,
		HoldTime: time.Hour,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := scheduler.New(cfg)
	if err != nil {
		t.Fatalf("scheduler.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Scheduler: s, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		s.Run(ctx)
	}()
	go func() {
		for c := range s.Changes() {
			r.mu.Lock()
			r.changes = append(r.changes, c)
			r.mu.Unlock()
		}
	}()
	t.Cleanup(r.stop)
	return r
}

// stop ends Run and waits for it.
func (r *running) stop() {
	r.once.Do(func() {
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			panic("scheduler did not stop within 15s")
		}
	})
}

// waitFor polls snapshots until ok holds.
func (r *running) waitFor(t *testing.T, what string, ok func(*scheduler.Snapshot) bool) *scheduler.Snapshot {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		snap, err := r.Snapshot(t.Context())
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		if ok(snap) {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("never %s; last snapshot: conn %+v, %d offers, %d tasks", what, snap.Conn, len(snap.Offers), len(snap.Tasks))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func offerOn(snap *scheduler.Snapshot, host string) *scheduler.Offer {
	for i := range snap.Offers {
		if snap.Offers[i].Hostname == host {
			return &snap.Offers[i]
		}
	}
	return nil
}

func task(snap *scheduler.Snapshot, id string) *scheduler.Task {
	for _, t := range snap.Tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

var operator = scheduler.Actor{User: "test", Origin: "test"}

// TestAcceptRunsTaskAndReadsOutput is the tutorial's flow through the
// framework: an offer from agent-1, accepted to run echo, the task's
// updates persisted and acknowledged, its output read back.
func TestAcceptRunsTaskAndReadsOutput(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "an offer from agent-1", func(s *scheduler.Snapshot) bool { return offerOn(s, "agent-1.demo") != nil })
	if snap.Conn.State != mesos.Subscribed || snap.Conn.FrameworkID == "" {
		t.Fatalf("connection = %+v", snap.Conn)
	}
	o := offerOn(snap, "agent-1.demo")
	res, err := s.Accept(t.Context(), operator, o.ID, []scheduler.TaskSpec{{Name: "hello", Command: "echo hello world", CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if len(res.TaskIDs) != 1 || !strings.HasPrefix(res.TaskIDs[0], "hello-") {
		t.Fatalf("Accept = %+v", res)
	}
	id := res.TaskIDs[0]
	snap = s.waitFor(t, "the task finished with every update acknowledged", func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		if tk == nil || tk.State != mesos.TaskState_TASK_FINISHED || len(tk.History) < 3 {
			return false
		}
		for i, h := range tk.History {
			if h.UUID.IsSet() && !tk.Acked(i) {
				return false
			}
		}
		return true
	})
	tk := task(snap, id)
	if tk.Hostname != "agent-1.demo" || tk.OfferID != o.ID || mesos.ScalarSum(tk.Resources, "cpus") != 0.1 {
		t.Errorf("task = %+v", tk)
	}
	if offerOn(snap, "agent-1.demo") != nil && offerOn(snap, "agent-1.demo").ID == o.ID {
		t.Errorf("accepted offer %s still held", o.ID)
	}
	out, err := s.TaskOutput(t.Context(), id, "stdout", 0, 0)
	if err != nil {
		t.Fatalf("TaskOutput: %v", err)
	}
	if string(out.Data) != "hello world\n" || out.Next != int64(len("hello world\n")) {
		t.Errorf("stdout = %q (next %d)", out.Data, out.Next)
	}
	tail, err := s.TaskOutput(t.Context(), id, "stdout", -6, 0)
	if err != nil || string(tail.Data) != "world\n" {
		t.Errorf("tail = %q, %v", tail.Data, err)
	}
	entries, err := s.AuditLog(0, 10)
	if err != nil || len(entries) != 1 || entries[0].Action != "accept" || entries[0].User != "test" || entries[0].Err != "" {
		t.Errorf("audit = %+v, %v", entries, err)
	}
}

func TestActionsRejectBadInput(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	o := snap.Offers[0]
	ok := scheduler.TaskSpec{Name: "x", Command: "true", CPUs: 0.1, Mem: 32}
	tests := []struct {
		name string
		do   func() error
		want error
		text string
	}{
		{"unknown offer", func() error {
			_, err := s.Accept(t.Context(), operator, "no-such-offer", []scheduler.TaskSpec{ok})
			return err
		}, scheduler.ErrUnknownOffer, ""},
		{"exceeds offer", func() error {
			_, err := s.Accept(t.Context(), operator, o.ID, []scheduler.TaskSpec{{Command: "true", CPUs: 0.1, Mem: 100000}})
			return err
		}, scheduler.ErrDoesNotFit, "needs mem"},
		{"empty command", func() error {
			_, err := s.Accept(t.Context(), operator, o.ID, []scheduler.TaskSpec{{CPUs: 0.1, Mem: 32}})
			return err
		}, scheduler.ErrBadSpec, "command"},
		{"oversized command", func() error {
			_, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Command: strings.Repeat("x", 70000), CPUs: 0.1})
			return err
		}, scheduler.ErrBadSpec, "limit"},
		{"bad constraint", func() error {
			_, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Command: "true", CPUs: 0.1, Constraints: "rack=r2d2"})
			return err
		}, scheduler.ErrBadSpec, "rack=r2d2"},
		{"NaN cpus", func() error {
			_, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Command: "true", CPUs: nan()})
			return err
		}, scheduler.ErrBadSpec, "cpus"},
		{"kill unknown", func() error {
			_, err := s.Kill(t.Context(), operator, "nope", 0)
			return err
		}, scheduler.ErrUnknownTask, ""},
		{"decline unknown", func() error {
			_, err := s.Decline(t.Context(), operator, "nope", time.Second)
			return err
		}, scheduler.ErrUnknownOffer, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("%s = %v, want %v containing %q", tc.name, err, tc.want, tc.text)
			}
		})
	}
	// The offer was not touched by the rejected actions.
	snap = s.waitFor(t, "the offer still held", func(snap *scheduler.Snapshot) bool { return offerOn(snap, o.Hostname) != nil })
	if got := offerOn(snap, o.Hostname); got.ID != o.ID {
		t.Errorf("offer %s replaced by %s after rejected actions", o.ID, got.ID)
	}
}

func nan() float64 { var z float64; return z / z }

func TestDeclineAndHoldPolicy(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), func(c *scheduler.Config) { c.HoldTime = 300 * time.Millisecond; c.RefuseSeconds = 60 })
	snap := s.waitFor(t, "offers from all agents", func(s *scheduler.Snapshot) bool { return len(s.Offers) == 3 })
	first := snap.Offers[0]
	// Held offers nobody acts on are declined after the hold time, with
	// the configured refuse seconds: they do not come back for a minute.
	s.waitFor(t, "offers declined by the hold policy", func(s *scheduler.Snapshot) bool { return len(s.Offers) == 0 })
	time.Sleep(300 * time.Millisecond)
	if snap, _ := s.Snapshot(t.Context()); len(snap.Offers) != 0 {
		t.Errorf("offers came back within the refuse time: %v", snap.Offers)
	}
	expired := 0
	s.mu.Lock()
	for _, c := range s.changes {
		if c.Kind == scheduler.OfferRemoved && c.Why == "expired" {
			expired++
		}
	}
	s.mu.Unlock()
	if expired < 3 {
		t.Errorf("%d offers removed as expired, want 3 (first was %s)", expired, first.ID)
	}
}

func TestLaunchQueueWithConstraints(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	s.waitFor(t, "offers", func(s *scheduler.Snapshot) bool { return len(s.Offers) == 3 })
	if _, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Name: "r2", Command: "sleep 30", CPUs: 0.1, Mem: 32, Instances: 2, Constraints: "rack==r2d2"}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Name: "huge", Command: "true", CPUs: 0.1, Mem: 100000, Wait: true})
	if err != nil || !strings.Contains(res.Message, "queued") {
		t.Fatalf("Launch(huge) = %+v, %v", res, err)
	}
	snap := s.waitFor(t, "two r2 tasks running on agent-1", func(s *scheduler.Snapshot) bool {
		n := 0
		for _, tk := range s.Tasks {
			if tk.Name == "r2" && tk.State == mesos.TaskState_TASK_RUNNING && tk.Hostname == "agent-1.demo" {
				n++
			}
		}
		return n == 2
	})
	if len(snap.Queue) != 1 || snap.Queue[0].Spec.Name != "huge" {
		t.Fatalf("queue = %+v, want only huge waiting", snap.Queue)
	}
	// Every value of a task handed out names the queued spec it was
	// placed from, its first too: the pages and the API show it live as a
	// reload does.
	queueOf := map[string]string{}
	for _, tk := range snap.Tasks {
		if tk.Name == "r2" {
			if tk.QueueID == "" {
				t.Errorf("task %s placed from the queue names no queued spec", tk.ID)
			}
			queueOf[tk.ID] = tk.QueueID
		}
	}
	s.mu.Lock()
	for _, c := range s.changes {
		if c.Kind == scheduler.TaskChanged && c.Task.Name == "r2" && c.Task.QueueID != queueOf[c.Task.ID] {
			t.Errorf("a change of task %s (%s) names queued spec %q, the task %q", c.Task.ID, c.Task.State, c.Task.QueueID, queueOf[c.Task.ID])
		}
	}
	s.mu.Unlock()
	s.waitFor(t, "reasons why huge waits", func(s *scheduler.Snapshot) bool {
		if len(s.Queue) != 1 || len(s.Queue[0].Why) == 0 {
			return false
		}
		for _, w := range s.Queue[0].Why {
			if len(w.Reasons) == 0 || !strings.Contains(w.Reasons[0], "needs mem 100000") {
				return false
			}
		}
		return true
	})
}

func TestKillShowsKillingThenKilled(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	res, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, []scheduler.TaskSpec{{Name: "sleeper", Command: "sleep 600", CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.TaskIDs[0]
	s.waitFor(t, "running", func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		return tk != nil && tk.State == mesos.TaskState_TASK_RUNNING
	})
	if _, err := s.Kill(t.Context(), operator, id, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	snap = s.waitFor(t, "killed", func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		return tk != nil && tk.State == mesos.TaskState_TASK_KILLED
	})
	var states []string
	for _, h := range task(snap, id).History {
		states = append(states, h.State.String())
	}
	if !strings.Contains(strings.Join(states, ","), "TASK_KILLING,TASK_KILLED") {
		t.Errorf("history = %v, want KILLING then KILLED", states)
	}
	if _, err := s.Kill(t.Context(), operator, id, 0); !errors.Is(err, scheduler.ErrTaskFinished) {
		t.Errorf("second kill = %v, want ErrTaskFinished", err)
	}
}

// TestIdempotentAccept: the same request id twice sends one ACCEPT.
func TestIdempotentAccept(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	who := operator
	who.RequestID = "req-1"
	spec := []scheduler.TaskSpec{{Name: "once", Command: "sleep 30", CPUs: 0.1, Mem: 32}}
	r1, err1 := s.Accept(t.Context(), who, snap.Offers[0].ID, spec)
	r2, err2 := s.Accept(t.Context(), who, snap.Offers[0].ID, spec)
	if err1 != nil || err2 != nil || len(r1.TaskIDs) != 1 || r2.TaskIDs[0] != r1.TaskIDs[0] {
		t.Fatalf("accepts = %+v %v / %+v %v, want the same answer twice", r1, err1, r2, err2)
	}
	time.Sleep(200 * time.Millisecond)
	snap, _ = s.Snapshot(t.Context())
	n := 0
	for _, tk := range snap.Tasks {
		if tk.Name == "once" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d tasks launched, want 1", n)
	}
}

// TestRestartKeepsTasks: the dashboard stops while a task runs and starts
// again on the same state folder: it fails over the same framework, finds
// the task running through reconciliation and launches nothing twice.
func TestRestartKeepsTasks(t *testing.T) {
	m, base := startMaster(t, local.Config{})
	dir := t.TempDir()
	s := startScheduler(t, base, dir, nil)
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	res, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, []scheduler.TaskSpec{{Name: "keeper", Command: "sleep 600", CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.TaskIDs[0]
	snap = s.waitFor(t, "running", func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		return tk != nil && tk.State == mesos.TaskState_TASK_RUNNING
	})
	fw := snap.Conn.FrameworkID
	s.stop()

	s2 := startScheduler(t, base, dir, nil)
	snap = s2.waitFor(t, "resubscribed with the saved id and the task reconciled", func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		return s.Conn.State == mesos.Subscribed && tk != nil && tk.State == mesos.TaskState_TASK_RUNNING && len(tk.History) > 2
	})
	if snap.Conn.FrameworkID != fw {
		t.Errorf("framework after restart = %s, want %s", snap.Conn.FrameworkID, fw)
	}
	n := 0
	for _, tk := range snap.Tasks {
		if tk.Name == "keeper" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d keeper tasks after restart, want 1", n)
	}

	// A master restart: same framework, task still running.
	m.Restart()
	s2.waitFor(t, "resubscribed after the master restart", func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		return s.Conn.State == mesos.Subscribed && s.Conn.MasterInfo.GetId() == m.ID() && tk != nil && tk.State == mesos.TaskState_TASK_RUNNING
	})
	entries, _ := s2.AuditLog(0, 10)
	if len(entries) != 1 {
		t.Errorf("audit after restart = %+v, want the one accept", entries)
	}
}

func TestStateFileProblems(t *testing.T) {
	t.Run("corrupt", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "offerdeck.db"), []byte(strings.Repeat("garbage!", 1024)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := scheduler.New(scheduler.Config{Client: mesos.Config{Masters: []string{"http://127.0.0.1:1"}}, StateDir: dir})
		if !errors.Is(err, scheduler.ErrStateCorrupt) {
			t.Fatalf("New on a corrupt file = %v, want ErrStateCorrupt", err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "offerdeck.db")); !strings.HasPrefix(string(b), "garbage!") {
			t.Error("the corrupt file was changed")
		}
	})
	t.Run("newer version", func(t *testing.T) {
		dir := t.TempDir()
		db, err := bolt.Open(filepath.Join(dir, "offerdeck.db"), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		db.Update(func(tx *bolt.Tx) error {
			b, _ := tx.CreateBucketIfNotExists([]byte("meta"))
			return b.Put([]byte("schema"), []byte("99"))
		})
		db.Close()
		_, err = scheduler.New(scheduler.Config{Client: mesos.Config{Masters: []string{"http://127.0.0.1:1"}}, StateDir: dir})
		if !errors.Is(err, scheduler.ErrStateNewer) {
			t.Fatalf("New on a newer database = %v, want ErrStateNewer", err)
		}
	})
	t.Run("in use", func(t *testing.T) {
		dir := t.TempDir()
		s, err := scheduler.New(scheduler.Config{Client: mesos.Config{Masters: []string{"http://127.0.0.1:1"}}, StateDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = scheduler.New(scheduler.Config{Client: mesos.Config{Masters: []string{"http://127.0.0.1:1"}}, StateDir: dir})
		if !errors.Is(err, scheduler.ErrStateLocked) {
			t.Fatalf("second New on the same folder = %v, want ErrStateLocked", err)
		}
	})
}

// takeOver subscribes with the framework's id from outside (failing the
// scheduler over) and tears the framework down, as an operator might.
func takeOver(t *testing.T, base, frameworkID string, teardown bool) {
	t.Helper()
	c, err := mesos.NewClient(mesos.Config{Masters: []string{base}, Framework: &mesos.FrameworkInfo{
		User: proto.String("root"), Name: proto.String("intruder"), Id: &mesos.FrameworkID{Value: proto.String(frameworkID)},
		FailoverTimeout: proto.Float64(3600),
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	subscribed := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, func(_ context.Context, e *mesos.Event) {
			if e.GetType() == mesos.Event_SUBSCRIBED {
				close(subscribed)
			}
		})
	}()
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("takeover did not subscribe")
	}
	if teardown {
		if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_TEARDOWN.Enum()}); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	<-done
}

// TestFailedOverStopsAndSaysSo: another instance subscribing with our
// framework id fails us over; the scheduler stops subscribing, never
// fights back, and shows why.
func TestFailedOverStopsAndSaysSo(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "subscribed", func(s *scheduler.Snapshot) bool { return s.Conn.State == mesos.Subscribed })
	takeOver(t, base, snap.Conn.FrameworkID, false)
	snap = s.waitFor(t, "the failover shown", func(s *scheduler.Snapshot) bool {
		return s.Conn.State != mesos.Subscribed && strings.Contains(s.Conn.Err, "Framework failed over")
	})
	time.Sleep(300 * time.Millisecond)
	if again, _ := s.Snapshot(t.Context()); again.Conn.State == mesos.Subscribed {
		t.Error("the scheduler subscribed again after being failed over")
	}
}

// TestRemovedFrameworkRegistersAnew: the master removed our framework
// while we were away; on restart the scheduler registers a new one, once,
// says so, and keeps the old registration's tasks readable.
func TestRemovedFrameworkRegistersAnew(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	dir := t.TempDir()
	s := startScheduler(t, base, dir, nil)
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	res, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, []scheduler.TaskSpec{{Name: "old", Command: "sleep 600", CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "running", func(s *scheduler.Snapshot) bool {
		tk := task(s, res.TaskIDs[0])
		return tk != nil && tk.State == mesos.TaskState_TASK_RUNNING
	})
	old := snap.Conn.FrameworkID
	s.stop()
	takeOver(t, base, old, true)

	s2 := startScheduler(t, base, dir, nil)
	snap = s2.waitFor(t, "a new registration", func(s *scheduler.Snapshot) bool {
		return s.Conn.State == mesos.Subscribed && s.Conn.FrameworkID != "" && s.Conn.FrameworkID != old
	})
	if snap.Conn.Removed != old {
		t.Errorf("Conn.Removed = %q, want %q", snap.Conn.Removed, old)
	}
	if len(snap.Older) != 1 || snap.Older[0].ID != res.TaskIDs[0] {
		t.Errorf("older tasks = %v, want the old registration's task", snap.Older)
	}
	if len(snap.Tasks) != 0 {
		t.Errorf("the new registration has tasks %v", snap.Tasks)
	}
}

// TestOrphanUpdateIsShownNeverKilled: a task the state does not know
// (launched by an earlier instance whose state is gone) arrives through
// reconciliation; it is shown as an orphan and left running.
func TestOrphanUpdateIsShownNeverKilled(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	res, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, []scheduler.TaskSpec{{Name: "stray", Command: "sleep 600", CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "running", func(s *scheduler.Snapshot) bool {
		tk := task(s, res.TaskIDs[0])
		return tk != nil && tk.State == mesos.TaskState_TASK_RUNNING
	})
	fw := snap.Conn.FrameworkID
	s.stop()

	fresh := startScheduler(t, base, t.TempDir(), func(c *scheduler.Config) {
		c.Client.Framework = &mesos.FrameworkInfo{Id: &mesos.FrameworkID{Value: proto.String(fw)}}
	})
	snap = fresh.waitFor(t, "the orphan", func(s *scheduler.Snapshot) bool { tk := task(s, res.TaskIDs[0]); return tk != nil && tk.Orphan })
	if tk := task(snap, res.TaskIDs[0]); tk.State != mesos.TaskState_TASK_RUNNING || tk.Killing {
		t.Errorf("orphan = %+v, want it left running", tk)
	}
}

func TestSuppressReviveAndMetrics(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	reg := prometheus.NewRegistry()
	s := startScheduler(t, base, t.TempDir(), func(c *scheduler.Config) { c.Metrics = reg })
	s.waitFor(t, "offers", func(s *scheduler.Snapshot) bool { return len(s.Offers) == 3 })
	if _, err := s.Suppress(t.Context(), operator); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "suppressed", func(s *scheduler.Snapshot) bool { return s.Conn.Suppressed })
	if _, err := s.Revive(t.Context(), operator); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "revived", func(s *scheduler.Snapshot) bool { return !s.Conn.Suppressed })
	time.Sleep(1100 * time.Millisecond) // metrics are refreshed once a second
	s.Reconcile(t.Context(), operator)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				got[f.GetName()+",count"] = float64(h.GetSampleCount())
			}
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	if got["offerdeck_offers_held"] != 3 || got["offerdeck_subscribed"] != 1 || got["offerdeck_calls_total,result=accepted,type=SUPPRESS"] != 1 {
		t.Errorf("metrics = %v", got)
	}
	// The suppress and the revive were audited, each in a commit.
	if got["offerdeck_state_commit_seconds,count"] < 2 {
		t.Errorf("%v commits timed, want at least 2", got["offerdeck_state_commit_seconds,count"])
	}
}

// TestAcknowledgementsCounted: each acknowledgement the master accepted is
// counted once in offerdeck_calls_total, as an operator's graph of
// absorbed updates (and the bench) reads it.
func TestAcknowledgementsCounted(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	reg := prometheus.NewRegistry()
	s := startScheduler(t, base, t.TempDir(), func(c *scheduler.Config) { c.Metrics = reg })
	snap := s.waitFor(t, "offers", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	var specs []scheduler.TaskSpec
	for i := range 5 {
		specs = append(specs, scheduler.TaskSpec{Name: "ack-" + strconv.Itoa(i), Command: "sleep 60", CPUs: 0.1, Mem: 16})
	}
	res, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, specs)
	if err != nil {
		t.Fatal(err)
	}
	acked := func(snap *scheduler.Snapshot) (n int, all bool) {
		all = true
		for _, id := range res.TaskIDs {
			tk := task(snap, id)
			if tk == nil || tk.State != mesos.TaskState_TASK_RUNNING {
				return 0, false
			}
			for i, h := range tk.History {
				switch {
				case tk.Acked(i):
					n++
				case h.UUID.IsSet():
					all = false
				}
			}
		}
		return n, all
	}
	snap = s.waitFor(t, "every update acknowledged", func(s *scheduler.Snapshot) bool { _, all := acked(s); return all })
	want, _ := acked(snap)
	counted := func() float64 {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if f.GetName() == "offerdeck_calls_total" && labels["type"] == "ACKNOWLEDGE" && labels["result"] == "accepted" {
					return m.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	// The marks are applied after the count: once they show, it is done.
	if got := counted(); got != float64(want) {
		t.Errorf("offerdeck_calls_total{type=ACKNOWLEDGE,result=accepted} = %v, want %d: the updates acknowledged", got, want)
	}
}

// TestDuplicatedUpdatesAndSlowAcks: acknowledgements answered slowly make
// the agent resend updates; every copy is acknowledged, each update is kept
// once, and the task ends where it should.
func TestDuplicatedUpdatesAndSlowAcks(t *testing.T) {
	m, base := startMaster(t, local.Config{StatusRetry: 20 * time.Millisecond})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	m.SetResponseDelay(150 * time.Millisecond)
	res, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, []scheduler.TaskSpec{{Name: "dup", Command: "echo once", CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatal(err)
	}
	snap = s.waitFor(t, "finished with every update acknowledged", func(s *scheduler.Snapshot) bool {
		tk := task(s, res.TaskIDs[0])
		if tk == nil || tk.State != mesos.TaskState_TASK_FINISHED {
			return false
		}
		for i, h := range tk.History {
			if h.UUID.IsSet() && !tk.Acked(i) {
				return false
			}
		}
		return true
	})
	m.SetResponseDelay(0)
	seen := map[scheduler.UUID]bool{}
	for _, h := range task(snap, res.TaskIDs[0]).History {
		if seen[h.UUID] && h.UUID.IsSet() {
			t.Errorf("update %v kept twice", h.State)
		}
		seen[h.UUID] = true
	}
	events := 0
	for _, e := range snap.Events {
		if e.Type == "UPDATE" {
			events++
		}
	}
	if events <= 3 {
		t.Errorf("only %d UPDATE events: no update was resent, so this test saw no duplicate", events)
	}
}

// TestReconcileNowKeepsOneLine: Reconcile asks explicitly for the live
// tasks and then implicitly for all, and the master answers both alike;
// the task's history keeps one line for the two answers, not two.
func TestReconcileNowKeepsOneLine(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	res, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, []scheduler.TaskSpec{{Name: "sleeper", Command: "sleep 600", CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.TaskIDs[0]
	s.waitFor(t, "running and acknowledged", func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		return tk != nil && tk.State == mesos.TaskState_TASK_RUNNING && tk.Acked(len(tk.History)-1)
	})
	updates := func(snap *scheduler.Snapshot) int {
		n := 0
		for _, e := range snap.Events {
			if e.Type == "UPDATE" && strings.Contains(e.Summary, id) {
				n++
			}
		}
		return n
	}
	before := updates(s.waitFor(t, "a snapshot", func(*scheduler.Snapshot) bool { return true }))
	if _, err := s.Reconcile(t.Context(), operator); err != nil {
		t.Fatal(err)
	}
	snap = s.waitFor(t, "both answers", func(s *scheduler.Snapshot) bool { return updates(s) >= before+2 })
	lines := 0
	for _, h := range task(snap, id).History {
		if h.Reconciliation {
			lines++
		}
	}
	if lines != 1 {
		t.Errorf("%d reconciliation lines for two identical answers, want 1: %+v", lines, task(snap, id).History)
	}
	if got := task(snap, id).State; got != mesos.TaskState_TASK_RUNNING {
		t.Errorf("state after reconciling = %v, want running", got)
	}
}

// TestAuditEntriesAreBounded: a launch refused for a 5,000-character name
// is recorded, cut to the audit log's bounds, not at its size.
func TestAuditEntriesAreBounded(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	s.waitFor(t, "subscribed", func(s *scheduler.Snapshot) bool { return s.Conn.State == mesos.Subscribed })
	name := strings.Repeat("n", 5000)
	if _, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Name: name, Command: "true", CPUs: 0.1, Mem: 16}); err == nil {
		t.Fatal("a 5,000-character name was accepted")
	}
	entries, err := s.AuditLog(0, 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit log = %v, %v; want the refused launch", entries, err)
	}
	a := entries[0]
	if a.Result != "failed" || !strings.Contains(a.Request, "cut from") {
		t.Errorf("audit entry = %+v, want a failed launch whose request says it was cut", a)
	}
	for field, v := range map[string]string{"target": a.Target, "request": a.Request, "error": a.Err} {
		if len(v) > 2200 {
			t.Errorf("audit %s is %d bytes, want at most about 2 KiB", field, len(v))
		}
	}
}

// TestKillOfTaskTheMasterDoesNotKnow: a dashboard restarted against another
// master (the first one gone with its agents) finds its running task
// unknown there. Kill says there is nothing to kill instead of "killing",
// and marks nothing.
func TestKillOfTaskTheMasterDoesNotKnow(t *testing.T) {
	_, first := startMaster(t, local.Config{})
	dir := t.TempDir()
	s := startScheduler(t, first, dir, nil)
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	res, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, []scheduler.TaskSpec{{Name: "stranded", Command: "sleep 600", CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.TaskIDs[0]
	s.waitFor(t, "running", func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		return tk != nil && tk.State == mesos.TaskState_TASK_RUNNING
	})
	s.stop()

	_, second := startMaster(t, local.Config{})
	s2 := startScheduler(t, second, dir, func(c *scheduler.Config) { c.Client.Masters = []string{second} })
	s2.waitFor(t, "the task reconciled as unknown", func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		return tk != nil && tk.State == mesos.TaskState_TASK_UNKNOWN
	})
	if _, err := s2.Kill(t.Context(), operator, id, 0); !errors.Is(err, scheduler.ErrTaskUnknown) {
		t.Errorf("kill of an unknown task = %v, want ErrTaskUnknown", err)
	}
	snap, _ = s2.Snapshot(t.Context())
	if tk := task(snap, id); tk.Killing {
		t.Errorf("the unknown task is marked killing after a refused kill")
	}
}

// TestAckMarksSurviveAStop: acknowledgement marks are saved after their
// updates (see ackMarkEvery), and a stop saves those still held: a
// scheduler started again on the same state shows every update of a task
// acknowledged.
func TestAckMarksSurviveAStop(t *testing.T) {
	_, base := startMaster(t, local.Config{SimulateCommands: true})
	state := t.TempDir()
	s := startScheduler(t, base, state, nil)
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	res, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, []scheduler.TaskSpec{{Name: "nap", Command: "sleep 600", CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatal(err)
	}
	acked := func(tk *scheduler.Task) bool {
		if tk == nil || tk.State != mesos.TaskState_TASK_RUNNING {
			return false
		}
		for i, h := range tk.History {
			if h.UUID.IsSet() && !tk.Acked(i) {
				return false
			}
		}
		return true
	}
	s.waitFor(t, "running with every update acknowledged", func(s *scheduler.Snapshot) bool { return acked(task(s, res.TaskIDs[0])) })
	s.stop()

	s = startScheduler(t, base, state, nil)
	snap, err = s.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tk := task(snap, res.TaskIDs[0]); !acked(tk) {
		t.Fatalf("after a restart: %+v", tk)
	}
}

// TestTasksShareWhatTheyHoldAlike launches three instances of one spec on
// one agent and one on another: the three must hold one copy of their
// agent's attributes and of their resources (a copy a task made
// most of the heap at scale), the fourth its own, and each task must still
// hold exactly what it was launched with, before and after a restart.
func TestTasksShareWhatTheyHoldAlike(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	dir := t.TempDir()
	s := startScheduler(t, base, dir, nil)
	s.waitFor(t, "offers", func(s *scheduler.Snapshot) bool { return len(s.Offers) == 3 })
	for _, spec := range []scheduler.TaskSpec{
		{Name: "alike", Command: "sleep 600", CPUs: 0.1, Mem: 8, Instances: 3, Constraints: "rack==bb8"},
		{Name: "apart", Command: "sleep 600", CPUs: 0.2, Mem: 16, Constraints: "rack==r2d2"},
	} {
		if _, err := s.Launch(t.Context(), operator, spec); err != nil {
			t.Fatal(err)
		}
	}
	running := func(s *scheduler.Snapshot) bool {
		n := 0
		for _, tk := range s.Tasks {
			if tk.State == mesos.TaskState_TASK_RUNNING {
				n++
			}
		}
		return n == 4
	}
	check := func(snap *scheduler.Snapshot, when string) {
		t.Helper()
		var alike []*scheduler.Task
		var apart *scheduler.Task
		for _, tk := range snap.Tasks {
			if tk.Name == "alike" {
				alike = append(alike, tk)
			} else {
				apart = tk
			}
		}
		if len(alike) != 3 || apart == nil {
			t.Fatalf("%s: %d alike tasks and %v apart, want 3 and 1", when, len(alike), apart)
		}
		same := func(a, b map[string]string) bool {
			return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
		}
		for _, tk := range append(alike, apart) {
			wantAttrs := map[string]string{"rack": "bb8", "pod": "dev", "gen": "3"}
			want := map[string]float64{"cpus": 0.1, "mem": 8}
			if tk == apart {
				wantAttrs = map[string]string{"rack": "r2d2", "pod": "demo,dev"}
				want = map[string]float64{"cpus": 0.2, "mem": 16}
			}
			if !maps.Equal(tk.Attributes, wantAttrs) || !strings.HasPrefix(tk.AgentURL, "http://") {
				t.Errorf("%s: %s holds attributes %v and URL %q, want %v and the agent's", when, tk.ID, tk.Attributes, tk.AgentURL, wantAttrs)
			}
			got := map[string]float64{}
			for _, r := range tk.Resources {
				got[r.GetName()] = r.GetScalar().GetValue()
			}
			if !maps.Equal(got, want) {
				t.Errorf("%s: %s holds resources %v, want %v", when, tk.ID, got, want)
			}
		}
		for _, tk := range alike[1:] {
			if !same(tk.Attributes, alike[0].Attributes) {
				t.Errorf("%s: %s and %s, on one agent, hold two copies of its attributes", when, tk.ID, alike[0].ID)
			}
			for i := range tk.Resources {
				if tk.Resources[i] != alike[0].Resources[i] {
					t.Errorf("%s: %s and %s hold two copies of resource %s", when, tk.ID, alike[0].ID, tk.Resources[i].GetName())
				}
			}
		}
		if same(apart.Attributes, alike[0].Attributes) {
			t.Errorf("%s: %s shares the attributes of another agent", when, apart.ID)
		}
	}
	check(s.waitFor(t, "four tasks running", running), "launched")
	s.stop()

	s2 := startScheduler(t, base, dir, nil)
	check(s2.waitFor(t, "four tasks running after a restart", running), "restored")
}

// TestChangesArriveWholeAndInOrder runs a stream of health checks through
// the scheduler, whose bursts of changes are recycled once handed on, and
// checks that the consumer sees every change once, in order, whole: the
// sequence numbers run without a gap or a repeat, and each task change
// carries its task.
func TestChangesArriveWholeAndInOrder(t *testing.T) {
	m, base := startMaster(t, local.Config{SimulateCommands: true})
	s := startScheduler(t, base, t.TempDir(), nil)
	s.waitFor(t, "offers", func(s *scheduler.Snapshot) bool { return len(s.Offers) == 3 })
	if _, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Name: "checked", Command: "sleep 600", CPUs: 0.1, Mem: 8, Instances: 60}); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "sixty tasks running", func(s *scheduler.Snapshot) bool {
		n := 0
		for _, tk := range s.Tasks {
			if tk.State == mesos.TaskState_TASK_RUNNING {
				n++
			}
		}
		return n == 60
	})
	// Each task has a result every 0.1 s at most (the stand-in's round).
	if err := m.SetHealthChecks(2000); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "thousands of health checks", func(s *scheduler.Snapshot) bool {
		n := 0
		for _, tk := range s.Tasks {
			n += tk.Statuses
		}
		return n > 3000
	})
	if err := m.SetHealthChecks(0); err != nil {
		t.Fatal(err)
	}
	// What arrived before Run ends: once it is told to stop, the
	// scheduler drops what the consumer has not taken.
	s.mu.Lock()
	changes := slices.Clone(s.changes)
	s.mu.Unlock()
	if len(changes) < 3000 {
		t.Fatalf("%d changes, want thousands", len(changes))
	}
	for i, c := range changes {
		if i > 0 && c.Seq != changes[i-1].Seq+1 {
			t.Fatalf("change %d has sequence number %d after %d", i, c.Seq, changes[i-1].Seq)
		}
		if c.Kind == 0 || (c.Kind == scheduler.TaskChanged) != (c.Task != nil) {
			t.Fatalf("change %d (sequence number %d) is not whole: kind %d, task %v", i, c.Seq, c.Kind, c.Task)
		}
	}
}
