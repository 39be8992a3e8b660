package scheduler

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// TestCommitDue: what only the master waits for waits out the commit
// window; an action's answer, a call or a burst's worth is due at once;
// nothing unsaved needs no wake-up.
func TestCommitDue(t *testing.T) {
	now := time.Now()
	st := benchState()
	if _, unsaved := st.commitDue(now, now); unsaved {
		t.Fatal("an empty state has something unsaved")
	}
	st.pending.tasks = orphanBurst("fw", 0, 1)
	st.acksReady = []ack{{taskID: "t", uuid: testUUID(1)}}
	if wait, unsaved := st.commitDue(now, now.Add(-10*time.Millisecond)); !unsaved || wait != commitEvery-10*time.Millisecond {
		t.Errorf("an update 10 ms after a commit: wait %v (unsaved %v), want %v", wait, unsaved, commitEvery-10*time.Millisecond)
	}
	if wait, _ := st.commitDue(now, now.Add(-time.Second)); wait != 0 {
		t.Errorf("an update a second after a commit waits %v", wait)
	}
	st.replies = []func(error){func(error) {}}
	if wait, _ := st.commitDue(now, now); wait != 0 {
		t.Errorf("an action's answer waits %v", wait)
	}
	st.replies = nil
	st.call(Cause{Kind: CauseUser}, &mesos.Call{Type: mesos.Call_ACCEPT.Enum()}, nil)
	if wait, _ := st.commitDue(now, now); wait != 0 {
		t.Errorf("a call waits %v", wait)
	}
	st.calls = nil

	// A health check repeats the task's state and waits; the update that
	// ends the task is awaited by whoever killed it, and does not.
	st.take()
	st.registration = "fw"
	st.onEvent(updateEvent("web", 1))
	st.take()
	st.onEvent(updateEvent("web", 2))
	if wait, unsaved := st.commitDue(now, now); !unsaved || wait == 0 {
		t.Errorf("a health check is due at once (wait %v, unsaved %v)", wait, unsaved)
	}
	killed := updateEvent("web", 3)
	killed.Update.Status.State = mesos.TaskState_TASK_KILLED.Enum()
	st.onEvent(killed)
	if wait, _ := st.commitDue(now, now); wait != 0 {
		t.Errorf("a task's end waits %v", wait)
	}
	st.take()
	if _, unsaved := st.commitDue(now, now); unsaved {
		t.Error("unsaved after a take")
	}
	st.pending.tasks = orphanBurst("fw", 0, burstMax)
	if wait, _ := st.commitDue(now, now); wait != 0 {
		t.Errorf("a burst's worth waits %v", wait)
	}
}

// updateEvent is a health check update of task id with a uuid made of n.
func updateEvent(id string, n int) *mesos.Event {
	return &mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: &mesos.TaskStatus{
		TaskId: &mesos.TaskID{Value: proto.String(id)}, State: mesos.TaskState_TASK_RUNNING.Enum(),
		Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum(), AgentId: &mesos.AgentID{Value: proto.String("agent-1")},
		Healthy: proto.Bool(n%2 == 0), Uuid: []byte{byte(n), byte(n >> 8), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	}}}
}

// TestUpdatesShareCommits: updates that come one at a time, as at a
// moderate rate, are committed together, no more often than once a
// commitEvery, and each is acknowledged only after its commit.
func TestUpdatesShareCommits(t *testing.T) {
	db, err := openStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.close()
	var commits atomic.Int64
	count := func() error { commits.Add(1); return nil }
	db.fault.Store(&count)
	st := benchState()
	s := st.s
	s.store, st.registration = db, "8c2f1d3e-5b7a-4c9d-a1e2-f3b4c5d6e7f8-0000"
	s.inbox, s.changes = make(chan func(*state), inboxSize), make(chan Change, changeBuffer)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	startLoop(ctx, &wg, s, st)
	wg.Go(func() { // the consumer
		for {
			select {
			case <-s.changes:
			case <-ctx.Done():
				return
			}
		}
	})

	const n = 60
	t0 := time.Now()
	for i := range n {
		e := updateEvent("task-"+string(rune('a'+i%6)), i)
		s.post(ctx, func(st *state) { st.onEvent(e) })
		time.Sleep(time.Millisecond)
	}
	var acked int
	for deadline := time.Now().Add(10 * time.Second); acked < n && time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		acked += len(st.acker.take())
	}
	elapsed := time.Since(t0)
	if acked != n {
		t.Fatalf("%d of %d updates acknowledged", acked, n)
	}
	// One at the start, then at most one a window, and one for the last.
	if most := int64(elapsed/commitEvery) + 2; commits.Load() > most {
		t.Errorf("%d updates over %v took %d commits, want at most %d", n, elapsed, commits.Load(), most)
	}
}

// TestAckMarksSaved: an acknowledgement mark is shown at once, saved with
// the task's next change, after ackMarkEvery, or at shutdown, and never
// makes a write of its own before that; saved, it is a record of the
// status log, not a rewrite of the task's record.
func TestAckMarksSaved(t *testing.T) {
	st := benchState()
	st.registration = "fw"
	st.onEvent(updateEvent("web", 1))
	tk := st.tasks["web"]
	if b := st.take(); b.encodeErr != nil || len(b.writes.tasks) != 1 {
		t.Fatalf("the new task was not written whole: %v", b.encodeErr)
	}
	st.out = st.out[:0] // the loop hands them to the emitter
	writes := func() int { return len(st.pending.tasks) + len(st.pending.logged) }

	st.onAcked(ack{agentID: "agent-1", taskID: "web", uuid: UUIDOf(updateEvent("web", 1).Update.Status.Uuid), task: st.tasks["web"]})
	if len(st.out) != 1 || !st.out[0].Task.Acked(len(st.out[0].Task.History)-1) {
		t.Fatalf("the mark was not announced: %d changes", len(st.out))
	}
	if writes() != 0 {
		t.Fatal("the mark made a write of its own")
	}
	now := time.Now()
	st.saveAckMarks(now, false)
	if writes() != 0 {
		t.Fatal("a fresh mark was saved before ackMarkEvery")
	}
	st.saveAckMarks(now.Add(ackMarkEvery), false)
	if len(st.pending.logged) != 1 || st.pending.logged[0] != tk || len(st.pending.tasks) != 0 || len(st.acked) != 0 {
		t.Fatalf("after ackMarkEvery: %d logged, %d rewritten, %d marks held", len(st.pending.logged), len(st.pending.tasks), len(st.acked))
	}

	// The task's next update carries it.
	st.pending = write{}
	st.onAcked(ack{taskID: "web", uuid: UUIDOf(updateEvent("web", 1).Update.Status.Uuid), task: st.tasks["web"]}) // already marked: nothing
	if len(st.acked) != 0 {
		t.Fatal("a mark made twice was held again")
	}
	st.onEvent(updateEvent("web", 2))
	st.onAcked(ack{taskID: "web", uuid: UUIDOf(updateEvent("web", 2).Update.Status.Uuid), task: st.tasks["web"]})
	st.onEvent(updateEvent("web", 3))
	if len(st.acked) != 0 || len(st.pending.logged) != 2 || len(st.pending.tasks) != 0 {
		t.Fatalf("the next update did not take the mark along: %d marks held, %d logged, %d rewritten", len(st.acked), len(st.pending.logged), len(st.pending.tasks))
	}
	st.onAcked(ack{taskID: "web", uuid: UUIDOf(updateEvent("web", 3).Update.Status.Uuid), task: st.tasks["web"]})
	st.saveAckMarks(time.Time{}, true) // as at shutdown
	if len(st.acked) != 0 || writes() != 3 {
		t.Fatalf("at shutdown: %d marks held, %d writes", len(st.acked), writes())
	}
}

// TestAckAnswerFindsItsTask: the acknowledgement an update owes carries its
// task, and the master's answer marks that task; once the master removed
// the framework, an answer still in flight marks nothing, not even a task
// of the same id in the new registration.
func TestAckAnswerFindsItsTask(t *testing.T) {
	st := benchState()
	st.registration = "fw"
	owed := func(e *mesos.Event) ack {
		t.Helper()
		st.onEvent(e)
		b := st.take()
		st.out = st.out[:0]
		if b == nil || len(b.acks) != 1 {
			t.Fatalf("an update owed %v acknowledgements, want 1", b)
		}
		return b.acks[0]
	}
	a := owed(updateEvent("web", 1))
	st.onAcked(a)
	if len(st.out) != 1 || !st.out[0].Task.Acked(0) || !st.tasks["web"].Acked(0) {
		t.Fatalf("the answer did not mark its task: %d changes", len(st.out))
	}

	late := owed(updateEvent("web", 2))
	old := st.tasks["web"]
	st.onMasterError(&mesos.MasterError{Message: "Framework has been removed"})
	st.registration = "fw2"
	owed(updateEvent("web", 3)) // the same id, a task of the new registration
	st.out = st.out[:0]
	st.onAcked(late)
	if len(st.out) != 0 || len(st.acked) != 0 || old.Acked(1) {
		t.Errorf("an answer for a task of the removed framework marked it: %d changes, %d marks held, acked %v", len(st.out), len(st.acked), old.Acked(1))
	}
	if now := st.tasks["web"]; now == old || len(now.Unacked) != 1 {
		t.Errorf("the new registration's task: %p (old %p), unacknowledged %v; want its own, one awaiting", now, old, now.Unacked)
	}
}
