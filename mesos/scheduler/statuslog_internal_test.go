package scheduler

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"

	bolt "go.etcd.io/bbolt"

	"github.com/offerdeck/offerdeck/mesos"
)

// walkUpdate is an update of task id, the k-th of the walk: with a UUID
// unless it answers a reconciliation.
func walkUpdate(id string, k int, state mesos.TaskState, message string, reconciliation bool) *mesos.Event {
	ts := &mesos.TaskStatus{
		TaskId: &mesos.TaskID{Value: proto.String(id)}, State: state.Enum(),
		Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum(), AgentId: &mesos.AgentID{Value: proto.String("agent-1")},
		Healthy: proto.Bool(k%3 != 0), Message: proto.String(message),
		Timestamp: proto.Float64(1_700_000_000 + float64(k)),
	}
	if reconciliation {
		ts.Source, ts.Reason = mesos.TaskStatus_SOURCE_MASTER.Enum(), mesos.TaskStatus_REASON_RECONCILIATION.Enum()
	} else {
		ts.Uuid = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(len(id))), uint64(k)) // 16 bytes, as Mesos's
	}
	return &mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: ts}}
}

// TestStatusLogReloadsAsLive walks a few tasks through thousands of random
// steps (health checks, state changes, reconciliation answers, long
// messages that trim the history by size, acknowledgements, marks saved,
// commits, bursts longer than a trim), once with a status log small enough
// to be compacted every few commits and once with one that never is (where
// compaction's rewrites cannot hide a wrong log record). After every few
// commits the database is opened afresh and the state restored from it
// must hold every task exactly as the live state does; the walk then goes
// on from the restored state, as after a restart. Most updates must have
// gone to the log, and the log must stay within its bound.
func TestStatusLogReloadsAsLive(t *testing.T) {
	for _, bound := range []int{48, 1 << 20} {
		for seed := range uint64(4) {
			t.Run(fmt.Sprintf("bound=%d/seed=%d", bound, seed), func(t *testing.T) { walkStatusLog(t, seed, bound) })
		}
	}
}

func walkStatusLog(t *testing.T, seed uint64, logBound int) {
	const tasks = 5
	dir := t.TempDir()
	db, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.close() }()
	rng := rand.New(rand.NewPCG(seed, 19))
	st := benchState()
	st.s.store = db
	st.registration = "fw"
	fw := "fw"
	st.pending.frameworkID = &fw
	st.log = statusLog{min: logBound, max: logBound}
	// The committer gives a committed write's buffers back for the next
	// encode, as Run's does: every restore below checks that what was
	// written into them reads back as the live state.
	st.s.spareEncode = make(chan *encodeBuffers, 2)
	given := map[*byte]bool{}
	var logged, rewritten, updates, bursts, compactions, reused, writes int
	commit := func() {
		b := st.take()
		st.out = st.out[:0] // the loop hands them to the emitter
		if b == nil || b.writes == nil {
			return
		}
		if b.encodeErr != nil {
			t.Fatal(b.encodeErr)
		}
		for _, r := range b.writes.log {
			if rec, err := decodeLogRecord(r.value); err == nil && rec.hasStatus {
				logged++
			}
		}
		rewritten += len(b.writes.tasks)
		if b.writes.logCut > 0 {
			compactions++
		}
		writes++
		for _, bufs := range b.writes.buffers {
			if given[unsafe.SliceData(bufs.buf)] {
				reused++
			}
		}
		if err := db.commit(b.writes); err != nil {
			t.Fatal(err)
		}
		for _, bufs := range b.writes.buffers {
			given[unsafe.SliceData(bufs.buf)] = true
		}
		st.s.giveBackBuffers(b.writes)
		var records int
		db.db.View(func(tx *bolt.Tx) error { records = tx.Bucket(bucketStatuses).Stats().KeyN; return nil })
		// Within its bound, or holding no more than this window's
		// records: compaction's budget is ample for five tasks.
		if limit := int(st.log.limit(len(st.tasks))); records > max(limit, len(b.writes.log)) {
			t.Fatalf("the status log holds %d records, bound %d, %d of this window", records, limit, len(b.writes.log))
		}
	}
	k := 0
	for step := range 4000 {
		id := "web." + strconv.Itoa(rng.IntN(tasks))
		k++
		switch r := rng.IntN(20); {
		case r < 10: // a health check: one more status
			st.onEvent(walkUpdate(id, k, mesos.TaskState_TASK_RUNNING, "healthy", false))
			updates++
		case r == 10: // a long message: trims by size
			st.onEvent(walkUpdate(id, k, mesos.TaskState_TASK_RUNNING, strings.Repeat("x", 4000+rng.IntN(4000)), false))
			updates++
		case r == 11: // a state change
			state := []mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_KILLING}[rng.IntN(3)]
			st.onEvent(walkUpdate(id, k, state, "changed", false))
			updates++
		case r == 12: // reconciliation answers, often the same twice
			st.onEvent(walkUpdate(id, k, mesos.TaskState_TASK_RUNNING, "reconciled", true))
		case r < 16: // acknowledged: the task's oldest unacknowledged status
			if tk := st.tasks[id]; tk != nil && len(tk.Unacked) > 0 {
				i, _ := tk.StatusIndex(tk.Unacked[0])
				st.onAcked(ack{taskID: id, uuid: tk.History[i].UUID, task: tk})
			}
		case r == 16:
			st.saveAckMarks(time.Now().Add(ackMarkEvery), rng.IntN(2) == 0)
		case r == 17 && rng.IntN(4) == 0: // a burst: statuses leave the history before a commit
			for range 50 + rng.IntN(150) {
				k++
				st.onEvent(walkUpdate(id, k, mesos.TaskState_TASK_RUNNING, "burst", false))
				bursts++
			}
		default:
			commit()
		}
		if step%400 != 399 {
			continue
		}
		// A restart: the database opened afresh, the state restored.
		commit()
		st.saveAckMarks(time.Time{}, true)
		commit()
		if err := db.close(); err != nil {
			t.Fatal(err)
		}
		if db, err = openStore(dir); err != nil {
			t.Fatal(err)
		}
		st.s.store = db
		restored, err := st.s.restore()
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if len(restored.tasks) != len(st.tasks) {
			t.Fatalf("step %d: %d tasks restored, want %d", step, len(restored.tasks), len(st.tasks))
		}
		for id, live := range st.tasks {
			got := restored.tasks[id]
			if got == nil {
				t.Fatalf("step %d: task %s not restored", step, id)
			}
			if diff := taskDiff(got, live); diff != "" {
				t.Fatalf("step %d: task %s restored unlike the live one: %s", step, id, diff)
			}
		}
		restored.log.min, restored.log.max = logBound, logBound
		st = restored
	}
	// A burst's statuses mostly leave the history before they are
	// stored, and its task is rewritten whole: the others are the test.
	if reused < writes/2 {
		t.Errorf("%d of %d writes encoded into buffers given back, want most", reused, writes)
	}
	if logged < updates/2 || (compactions == 0) != (logBound > 9000) {
		t.Errorf("%d statuses logged of %d updates outside bursts, %d records rewritten, %d compactions; want most logged, and compactions only under the small bound",
			logged, updates, rewritten, compactions)
	}
	t.Logf("%d updates and %d in bursts: %d statuses logged, %d task records rewritten, %d compactions; %d of %d writes into buffers given back",
		updates, bursts, logged, rewritten, compactions, reused, writes)
}

// TestStatusLogRefusesDamage: a damaged log record, or a key that is no
// sequence number, is reported as a corrupt database, not skipped.
func TestStatusLogRefusesDamage(t *testing.T) {
	for name, put := range map[string][2][]byte{
		"record":      {appendLogKey(nil, 1), {3, 'f', 0, 't', 7}},
		"status flag": {appendLogKey(nil, 1), append(appendString(nil, "fw\x00t"), 9)},
		"trailing":    {appendLogKey(nil, 1), append(appendString(nil, "fw\x00t"), 0, 0, 1)},
		"key":         {[]byte("nope"), append(appendString(nil, "fw\x00t"), 0, 0)},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := openStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketStatuses).Put(put[0], put[1]) })
			if _, err := s.load(); !errors.Is(err, ErrStateCorrupt) {
				t.Errorf("load = %v, want ErrStateCorrupt", err)
			}
		})
	}
}

// taskDiff says where two tasks differ, in the fields a record stores,
// briefly; "" when they do not.
func taskDiff(got, want *Task) string {
	if got.State != want.State || got.Launching != want.Launching || got.Killing != want.Killing || got.AgentID != want.AgentID {
		return fmt.Sprintf("state %v launching %v killing %v agent %q, want %v %v %v %q",
			got.State, got.Launching, got.Killing, got.AgentID, want.State, want.Launching, want.Killing, want.AgentID)
	}
	if got.Statuses != want.Statuses || len(got.History) != len(want.History) {
		return fmt.Sprintf("%d statuses, %d kept; want %d, %d", got.Statuses, len(got.History), want.Statuses, len(want.History))
	}
	if !slices.Equal(got.Unacked, want.Unacked) {
		return fmt.Sprintf("unacknowledged %v, want %v", got.Unacked, want.Unacked)
	}
	for i := range got.History {
		g, w := got.History[i], want.History[i]
		if g.State != w.State || g.Message != w.Message || g.UUID != w.UUID || !g.Time.Equal(w.Time) ||
			g.Reconciliation != w.Reconciliation || g.Health != w.Health || g.ReasonName() != w.ReasonName() {
			return fmt.Sprintf("status %d: %v %q %x at %v, want %v %q %x at %v", got.StatusNumber(i),
				g.State, clip(g.Message, 20), g.UUID.Bytes(), g.Time, w.State, clip(w.Message, 20), w.UUID.Bytes(), w.Time)
		}
	}
	return ""
}
