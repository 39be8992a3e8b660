package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// TestCommitReleasesOnlyWhatIsDurable: a batch's acknowledgements, calls
// and replies go out after its commit, and not at all when it fails.
func TestCommitReleasesOnlyWhatIsDurable(t *testing.T) {
	for _, fail := range []bool{false, true} {
		st, err := openStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if fail {
			st.close() // every commit fails
		} else {
			defer st.close()
		}
		s := &Scheduler{store: st, log: slog.New(slog.DiscardHandler), changes: make(chan Change, 1), health: newStorageHealth()}
		state := benchState()
		state.pending.tasks = orphanBurst("fw", 0, 3)
		state.acksReady = []ack{{agentID: "a", taskID: "t", uuid: testUUID(1)}}
		var replied []error
		state.replies = []func(error){func(err error) { replied = append(replied, err) }}
		if fail {
			// Sent, it would panic: the Scheduler has no client.
			state.call(Cause{Kind: CauseUser}, &mesos.Call{Type: mesos.Call_ACCEPT.Enum()}, nil)
		}
		state.change(Change{Kind: TaskChanged})
		b := state.take()
		if state.take() != nil {
			t.Fatal("a second take found work")
		}
		a := newAcker()
		s.commit(b, a)

		acks := a.take()
		switch {
		case len(replied) != 1:
			t.Fatalf("fail=%v: %d replies, want 1", fail, len(replied))
		case fail && replied[0] == nil:
			t.Errorf("failed commit replied %v, want its error", replied[0])
		case fail && len(acks) != 0:
			t.Errorf("failed commit released %d acknowledgements", len(acks))
		case !fail && (replied[0] != nil || len(acks) != 1):
			t.Errorf("commit replied %v with %d acknowledgements, want nil and 1", replied[0], len(acks))
		}
	}
}

// loopState is a state with a database, its channels made as New makes
// them (room for changeRoom changes), for startLoop.
func loopState(t *testing.T, changeRoom int) (*state, *store) {
	db, err := openStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.close() })
	st := benchState()
	s := st.s
	s.store, st.registration = db, "8c2f1d3e-5b7a-4c9d-a1e2-f3b4c5d6e7f8-0000"
	s.inbox, s.changes, s.spare = make(chan func(*state), inboxSize), make(chan Change, changeRoom), make(chan []Change, spareBursts)
	return st, db
}

// TestChangesDoNotWaitForTheDisk: while a commit is stuck, the changes of
// the updates behind it still reach the consumer, and their
// acknowledgements wait until the disk has them.
func TestChangesDoNotWaitForTheDisk(t *testing.T) {
	st, db := loopState(t, changeBuffer)
	s := st.s

	// bbolt has one writer at a time: holding a write transaction holds
	// every commit back.
	tx, err := db.db.Begin(true)
	if err != nil {
		t.Fatal(err)
	}
	released := false
	defer func() {
		if !released {
			tx.Rollback()
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	startLoop(ctx, &wg, s, st)

	// Two bursts: the committer takes the first and waits for bbolt; the
	// second's changes must still arrive.
	for i, id := range []string{"first", "second"} {
		e := &mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: &mesos.TaskStatus{
			TaskId: &mesos.TaskID{Value: proto.String(id)}, State: mesos.TaskState_TASK_RUNNING.Enum(),
			Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum(), AgentId: &mesos.AgentID{Value: proto.String("agent-1")},
			Uuid: []byte{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		}}}
		s.post(ctx, func(st *state) { st.onEvent(e) })
		deadline := time.After(10 * time.Second)
		for seen := false; !seen; {
			select {
			case c := <-s.changes:
				seen = c.Kind == TaskChanged && c.Task.ID == id
			case <-deadline:
				t.Fatalf("the change of %q did not arrive while a commit was held", id)
			}
		}
	}
	if acks := st.acker.take(); len(acks) != 0 {
		t.Fatalf("%d acknowledgements released before their commit", len(acks))
	}

	released = true
	tx.Rollback()
	var acked int
	for deadline := time.Now().Add(10 * time.Second); acked < 2 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		acked += len(st.acker.take())
	}
	if acked != 2 {
		t.Fatalf("%d of 2 acknowledgements released after the commits", acked)
	}
}

// TestUnsavedWritesMerge: what failed commits left is merged with what
// follows, newest value first, a delete winning over an earlier put, so
// it stays as large as the distinct records, and a failed action's audit
// entry says it failed.
func TestUnsavedWritesMerge(t *testing.T) {
	rec := func(k, v string) record { return record{key: []byte(k), value: []byte(v)} }
	older := &encoded{
		tasks:    []record{rec("t1", "a"), rec("t2", "a")},
		queuePut: []record{rec("q1", "a"), rec("q2", "a")},
		auditOf:  []*AuditEntry{{Seq: 1, Action: "launch", Result: "queued", undoable: true}, {Seq: 2, Action: "decline", Result: "declined"}},
		audit:    []record{{key: []byte{1}, seq: 1}, {key: []byte{2}, seq: 2}},
		results:  []record{rec("r1", "a")},
	}
	left, forget := older.unsaved(errors.New("disk full"))
	if len(left.results) != 0 || len(forget) != 1 || forget[0] != "r1" {
		t.Errorf("unsaved kept answers %v, forgets %v; want none kept, r1 forgotten", left.results, forget)
	}
	if a := left.auditOf[0]; a.Result != "failed" || !strings.Contains(a.Err, "disk full") {
		t.Errorf("the queued launch's entry = %+v, want failed with the reason", a)
	}
	if a := left.auditOf[1]; a.Result != "declined" || a.Err != "" {
		t.Errorf("the decline's entry (its call went out) = %+v, want it as it happened", a)
	}
	newer := &encoded{tasks: []record{rec("t1", "b")}, queuePut: []record{rec("q3", "b")}, queueDelete: []string{"q1"}}
	m := left.then(newer).then(&encoded{})
	got := map[string]string{}
	for _, r := range m.tasks {
		got[string(r.key)] = string(r.value)
	}
	if len(m.tasks) != 2 || got["t1"] != "b" || got["t2"] != "a" {
		t.Errorf("merged tasks = %v, want t1=b t2=a", got)
	}
	puts := map[string]bool{}
	for _, r := range m.queuePut {
		puts[string(r.key)] = true
	}
	if !puts["q2"] || !puts["q3"] || puts["q1"] || len(m.queueDelete) != 1 || m.queueDelete[0] != "q1" {
		t.Errorf("merged queue: puts %v, deletes %v; want q2 and q3 put, q1 deleted", puts, m.queueDelete)
	}
	if len(m.audit) != 2 {
		t.Errorf("merged audit has %d entries, want 2", len(m.audit))
	}
}

// TestBurstsAreFilledAgainOnlyOnceEmitted makes bursts of changes as the
// state goroutine does, from the bursts the emitter hands back, while the
// consumer takes the changes slowly: every change must reach it once, in
// order and whole, so a burst is never filled again while the emitter
// still reads it.
func TestBurstsAreFilledAgainOnlyOnceEmitted(t *testing.T) {
	s := &Scheduler{changes: make(chan Change, 8), spare: make(chan []Change, spareBursts)}
	bursts := make(chan []Change, burstsWaiting)
	var emitter sync.WaitGroup
	emitter.Go(func() { s.emitLoop(t.Context(), bursts) })
	const total = 20_000
	go func() {
		defer close(bursts)
		task := &Task{ID: "t"}
		var seq uint64
		n := 1
		for seq < total {
			out := s.spareChanges(n)
			n = min(1+int(seq%50), total-int(seq)) // bursts of every size, up to 50
			for range n {
				seq++
				out = append(out, Change{Seq: seq, Kind: TaskChanged, Task: task})
			}
			bursts <- out
		}
	}()
	var last uint64
	for c := range s.changes {
		if c.Seq != last+1 || c.Kind != TaskChanged || c.Task == nil {
			t.Fatalf("after change %d came %d (kind %d, task %v)", last, c.Seq, c.Kind, c.Task)
		}
		last = c.Seq
		if last%7 == 0 {
			runtime.Gosched() // a slow consumer: the emitter waits on it
		}
		if last >= total {
			break
		}
	}
	emitter.Wait()
}

// TestBurstsAreReusedAndLetGo runs the state goroutine, the committer and
// the emitter over a stream of updates with a consumer behind: the bursts
// of changes come back to be filled again, so only the first few are
// made, and once the stream stops they are let go.
func TestBurstsAreReusedAndLetGo(t *testing.T) {
	st, _ := loopState(t, 64)
	s := st.s

	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	startLoop(ctx, &wg, s, st)
	const updates = 5000
	consumed := make(chan struct{})
	go func() { // a slow consumer, until the loop stops: bursts wait for the emitter
		n := 0
		for k := 1; ; k++ {
			if k%50 == 0 {
				time.Sleep(time.Millisecond)
			}
			select {
			case c := <-s.changes:
				if c.Kind == TaskChanged {
					if n++; n == updates {
						close(consumed)
					}
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	for i := range updates {
		// Each update changes its task's state, so each burst is committed
		// at once, as a kill or a launch is.
		taskState := mesos.TaskState_TASK_RUNNING
		if i/50%2 == 1 {
			taskState = mesos.TaskState_TASK_STARTING
		}
		e := &mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: &mesos.TaskStatus{
			TaskId: &mesos.TaskID{Value: proto.String("task-" + strconv.Itoa(i%50))}, State: taskState.Enum(),
			Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum(), AgentId: &mesos.AgentID{Value: proto.String("agent-1")},
		}}}
		s.post(ctx, func(st *state) { st.onEvent(e) })
		if i%100 == 99 {
			runtime.Gosched() // bursts of every size, not one
		}
	}
	select {
	case <-consumed:
	case <-time.After(20 * time.Second):
		t.Fatal("the task changes did not all arrive")
	}
	// Every burst went back to be filled again.
	for deadline := time.Now().Add(10 * time.Second); len(s.spare) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if len(s.spare) == 0 {
		t.Fatal("no emptied burst came back from the emitter")
	}
	// Quiet now: the kept bursts go at the next tick with nothing emitted.
	deadline := time.Now().Add(10 * time.Second)
	for len(s.spare) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	kept := len(s.spare)
	cancel()
	wg.Wait()
	if live := s.burstsMade - s.burstsDropped; live > spareBursts {
		t.Errorf("%d bursts made and %d let go for %d updates, want at most %d kept: emptied bursts are not filled again",
			s.burstsMade, s.burstsDropped, updates, spareBursts)
	}
	if kept > 0 {
		t.Errorf("%d emptied bursts still kept after the stream stopped", kept)
	}
}

// TestTakeLeavesTheBurstAlone: a commit takes what waits for the disk, not
// the burst of changes being filled, which is the emitter's to hand on.
func TestTakeLeavesTheBurstAlone(t *testing.T) {
	st := benchState()
	st.s.spare = make(chan []Change, spareBursts)
	st.s.spare <- make([]Change, 0, 1)
	st.out = make([]Change, 0, 64)
	st.out = append(st.out, Change{Seq: 1, Kind: ConnectionChanged, Conn: &Connection{}})
	st.call(Cause{Kind: CauseReconcile}, &mesos.Call{Type: mesos.Call_RECONCILE.Enum()}, nil)
	if b := st.take(); b == nil || len(b.calls) != 1 {
		t.Fatalf("take() = %+v, want the call", b)
	}
	if len(st.out) != 1 || cap(st.out) != 64 || len(st.s.spare) != 1 {
		t.Errorf("after take: %d changes in a burst of room %d, %d spare; want the burst as it was (1 of 64) and the spare kept",
			len(st.out), cap(st.out), len(st.s.spare))
	}
}
