package scheduler

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// v1Record is a task as schema 1 stored it, written by that build.
const v1Record = `{"ID":"web-1","Name":"web","AgentID":"a1","Hostname":"h1","Attributes":{"rack":"r1"},"AgentURL":"http://h1:5051","ExecutorID":"web-1","State":1,"Launching":false,"Orphan":false,"Killing":true,"OfferID":"o1","Ports":[31000],"Command":"sleep 600","Image":"","Launched":"2024-05-06T07:08:09.123456789Z","History":[{"State":1,"Source":2,"Reason":"REASON_COMMAND_EXECUTOR_FAILED","Message":"ok","Healthy":true,"Time":"2024-05-06T07:08:10+01:00","UUID":"AQID","Acked":true,"Reconciliation":false}],"Registration":"fw-1","QueueID":"q-1","Resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}},{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31000}]}}]}`

// v1Task is the task v1Record holds.
func v1Task() *Task {
	launch := &Launch{Name: "web", Hostname: "h1", Attributes: map[string]string{"rack": "r1"}, OfferID: "o1",
		Resources: []*mesos.Resource{mesos.Scalar("cpus", 0.5), mesos.PortRange(31000, 31000)}, Ports: []uint64{31000},
		Command: "sleep 600", Launched: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC), QueueID: "q-1"}
	return &Task{ID: "web-1", Launch: launch, AgentID: "a1", AgentURL: "http://h1:5051", ExecutorID: "web-1",
		State: mesos.TaskState_TASK_RUNNING, Killing: true, Registration: "fw-1",
		History: []Status{{State: mesos.TaskState_TASK_RUNNING, Source: mesos.TaskStatus_SOURCE_EXECUTOR, Reason: mesos.TaskStatus_REASON_COMMAND_EXECUTOR_FAILED,
			HasReason: true, Message: "ok", Health: HealthOK, Time: time.Date(2024, 5, 6, 7, 8, 10, 0, time.FixedZone("", 3600)), UUID: UUIDOf([]byte{1, 2, 3})}}}
}

// sameTask compares tasks by their schema 1 form, which spells out every
// stored field, times with their offsets and resources in Mesos's JSON.
func sameTask(t *testing.T, got, want *Task) {
	t.Helper()
	enc := func(tk *Task) string {
		rec := taskJSON{Task: *tk}
		rec.Task.Resources = nil
		for i, h := range tk.History {
			rec.History = append(rec.History, statusJSON{Status: h, Acked: tk.Acked(i), Reason: h.ReasonName(), Healthy: h.Healthy()})
		}
		for _, r := range tk.Resources {
			b, err := mesos.MarshalJSON(r)
			if err != nil {
				t.Fatal(err)
			}
			rec.Resources = append(rec.Resources, b)
		}
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if g, w := enc(got), enc(want); g != w {
		t.Errorf("task\n got %s\nwant %s", g, w)
	}
}

func TestTaskRecordRoundTrip(t *testing.T) {
	full := v1Task()
	full.Launching, full.Orphan, full.Image = true, true, "busybox"
	full.Launched = time.Unix(1_700_000_000, 5)                                  // local
	full.History = append(full.History, Status{Health: HealthFailing}, Status{}) // zero time, no uuid
	full.History = append(full.History, Status{UUID: testUUID(4)}, Status{UUID: testUUID(5)})
	full.Unacked = []int{4} // awaiting its acknowledgement; the fifth has one
	for name, tk := range map[string]*Task{"full": full, "zero": {Launch: new(Launch)}, "orphan": orphanBurst("fw", 7, 1)[0], "v1": v1Task()} {
		t.Run(name, func(t *testing.T) {
			b, err := encodeTask([]byte("prefix"), tk, 1<<40+3)
			if err != nil {
				t.Fatal(err)
			}
			got, headSeq, err := decodeTask(b[len("prefix"):], nil)
			if err != nil {
				t.Fatal(err)
			}
			sameTask(t, got, tk)
			if headSeq != 1<<40+3 {
				t.Errorf("the record is current to log record %d, want %d", headSeq, 1<<40+3)
			}
		})
	}
}

func TestTaskRecordReadsSchema1(t *testing.T) {
	got, _, err := decodeTask([]byte(v1Record), nil)
	if err != nil {
		t.Fatal(err)
	}
	sameTask(t, got, v1Task())
	// A status schema 1 stored as awaiting its acknowledgement still does.
	got, _, err = decodeTask([]byte(strings.Replace(v1Record, `"Acked":true`, `"Acked":false`, 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Acked(0) || !slices.Equal(got.Unacked, []int{1}) {
		t.Errorf("an unacknowledged status of schema 1 reads as acknowledged = %v, Unacked %v", got.Acked(0), got.Unacked)
	}
}

// v2Record is v1Task with a second status, awaiting its acknowledgement,
// as schema 2 stored it (recordBinary), written by that build.
const v2Record = "02057765622d31037765620261310268310e687474703a2f2f68313a35303531057765622d31026f3109736c65657020363030000466772d3103712d31020401047261636b02723102130a046370757310001a0909000000000000e03f150a05706f7274731001220a0a080898f2011098f2010198f2010f010000000eddca78d9075bcd15ffff0202041e524541534f4e5f434f4d4d414e445f4558454355544f525f4641494c4544026f6b02010f010000000eddca6aca00000000003c030102030000000000000f01000000000000000000000000ffff0109"

// TestTaskRecordReadsSchema2: a record of schema 2 reads as current to an
// empty status log, its statuses counted from its history, and its marks
// kept.
func TestTaskRecordReadsSchema2(t *testing.T) {
	b, err := hex.DecodeString(v2Record)
	if err != nil {
		t.Fatal(err)
	}
	got, headSeq, err := decodeTask(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := v1Task()
	want.History = append(want.History, Status{UUID: UUIDOf([]byte{9})})
	want.Unacked = []int{2}
	sameTask(t, got, want)
	if headSeq != 0 || got.Statuses != 0 || got.StatusNumber(1) != 2 || got.Acked(1) || !got.Acked(0) {
		t.Errorf("read as current to log record %d, %d statuses, the second numbered %d, acknowledged %v and %v; want 0, 0, 2, false and true",
			headSeq, got.Statuses, got.StatusNumber(1), got.Acked(1), got.Acked(0))
	}
}

// TestTaskRecordCorrupt: a damaged record is an error, never a panic or a
// huge allocation.
func TestTaskRecordCorrupt(t *testing.T) {
	b, err := encodeTask(nil, v1Task(), 7)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if _, _, err := decodeTask(b[:n], nil); err == nil {
			t.Errorf("record cut to %d of %d bytes decoded without error", n, len(b))
		}
	}
	if _, _, err := decodeTask(append(b, 0), nil); err == nil {
		t.Error("record with a trailing byte decoded without error")
	}
	if _, _, err := decodeTask([]byte{0x7f, 1, 2}, nil); err == nil {
		t.Error("record of an unknown form decoded without error")
	}
	huge := append([]byte{recordBinary}, 0xff, 0xff, 0xff, 0xff, 0x0f)
	if _, _, err := decodeTask(huge, nil); err == nil {
		t.Error("record with a huge length decoded without error")
	}
}

// TestStoreOpensSchema1: a database written by schema 1 opens, its tasks
// load, it is marked with the schema this build writes, and a task rewritten is stored in the new
// form beside the old records.
func TestStoreOpensSchema1(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "offerdeck.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := v1Task()
	old.ID = "old-1"
	oldJSON := `{"ID":"old-1"` + v1Record[len(`{"ID":"web-1"`):]
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucketIfNotExists(bucketMeta)
		tasks, _ := tx.CreateBucketIfNotExists(bucketTasks)
		if err := meta.Put(keySchema, []byte("1")); err != nil {
			return err
		}
		if err := meta.Put(keyFrameworkID, []byte("fw-1")); err != nil {
			return err
		}
		if err := tasks.Put(appendTaskKey(nil, "fw-1", "web-1"), []byte(v1Record)); err != nil {
			return err
		}
		return tasks.Put(appendTaskKey(nil, "fw-1", "old-1"), []byte(oldJSON))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	web := v1Task()
	web.History = append(web.History, Status{State: mesos.TaskState_TASK_FINISHED, Time: time.Unix(1_700_000_000, 0).UTC()})
	web.State = mesos.TaskState_TASK_FINISHED
	if err := commitWrite(s, &write{tasks: []*Task{web}}); err != nil {
		t.Fatal(err)
	}
	saved, err := s.load()
	if err != nil {
		t.Fatal(err)
	}
	if fid, tasks := saved.frameworkID, saved.tasks; fid != "fw-1" || len(tasks) != 2 {
		t.Fatalf("load = %q, %d tasks; want fw-1, 2", fid, len(tasks))
	}
	sameTask(t, saved.tasks[0], old) // keys sort "old-1" before "web-1"
	sameTask(t, saved.tasks[1], web)
	s.db.View(func(tx *bolt.Tx) error {
		if v, want := string(tx.Bucket(bucketMeta).Get(keySchema)), strconv.Itoa(schemaVersion); v != want {
			t.Errorf("schema after opening = %q, want %s", v, want)
		}
		if v := tx.Bucket(bucketTasks).Get(appendTaskKey(nil, "fw-1", "web-1")); v[0] != recordLogged {
			t.Errorf("rewritten record starts %q, want the binary form", v[:1])
		}
		return nil
	})
}

// TestStoreRefusesCorruptRecord: a damaged task record is reported as a
// corrupt database, not skipped.
func TestStoreRefusesCorruptRecord(t *testing.T) {
	s, err := openStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).Put(appendTaskKey(nil, "fw", "t"), []byte{recordBinary, 5, 'a'})
	})
	if _, err := s.load(); !errors.Is(err, ErrStateCorrupt) {
		t.Errorf("load with a damaged record = %v, want ErrStateCorrupt", err)
	}
}

// TestStoreRefusesTheNextSchema: the next schema is refused with
// ErrStateNewer and the file is left as it was, not upgraded or
// downgraded.
func TestStoreRefusesTheNextSchema(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "offerdeck.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucketIfNotExists(bucketMeta)
		return meta.Put(keySchema, []byte(strconv.Itoa(schemaVersion+1)))
	})
	db.Close()
	before, _ := os.ReadFile(path)
	if _, err := openStore(dir); !errors.Is(err, ErrStateNewer) {
		t.Fatalf("openStore on schema %d = %v, want ErrStateNewer", schemaVersion+1, err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the newer database was changed")
	}
}

// TestNewTasksAppendTheirRecords: the record of each task made is put
// under the next numbered key, so a bucket read in key order holds the
// tasks in the order they were made, whatever their ids. After a restart
// the numbers go on past the highest stored, and a task stored before
// numbered keys is rewritten under its own key, not beside it, even one
// whose key does not name the registration its record says.
func TestNewTasksAppendTheirRecords(t *testing.T) {
	dir := t.TempDir()
	db, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.close() }()
	// Tasks of schema 3: one under the key that schema gave it, and one
	// under a key that does not say its registration.
	legacy, odd := orphanBurst("fw", 0, 2)[0], orphanBurst("fw", 1, 1)[0]
	legacy.ID, legacy.ExecutorID, legacy.keyNumber = "legacy", "legacy", 0
	odd.ID, odd.ExecutorID, odd.keyNumber, odd.key = "odd", "odd", 0, "other\x00odd"
	fw := "fw"
	if err := commitWrite(db, &write{frameworkID: &fw, tasks: []*Task{legacy, odd}}); err != nil {
		t.Fatal(err)
	}
	restart := func() *state {
		t.Helper()
		if err := db.close(); err != nil {
			t.Fatal(err)
		}
		if db, err = openStore(dir); err != nil {
			t.Fatal(err)
		}
		s := benchState().s
		s.store = db
		st, err := s.restore()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	k := 0
	update := func(st *state, ids ...string) {
		t.Helper()
		for _, id := range ids {
			k++
			st.onEvent(walkUpdate(id, k, mesos.TaskState_TASK_RUNNING, "made", false))
		}
		b := st.take()
		st.out = st.out[:0]
		if b == nil || b.writes == nil || b.encodeErr != nil {
			t.Fatalf("nothing to commit after updates of %v (%v)", ids, b)
		}
		if err := db.commit(b.writes); err != nil {
			t.Fatal(err)
		}
	}
	// stored lists the ids of the records of numbered keys in key order,
	// and those of the other keys.
	stored := func() (numbered []string, others []string) {
		t.Helper()
		db.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
				task, _, err := decodeTask(v, newSharing())
				if err != nil {
					t.Fatalf("record %q: %v", k, err)
				}
				if _, ok := keyNumber(k); ok {
					numbered = append(numbered, task.ID)
				} else {
					others = append(others, task.ID)
				}
				return nil
			})
		})
		return numbered, others
	}

	st := restart()
	update(st, "zeta", "alpha", "mu")
	if numbered, others := stored(); !slices.Equal(numbered, []string{"zeta", "alpha", "mu"}) || !slices.Equal(others, []string{"legacy", "odd"}) {
		t.Fatalf("records: numbered %v, others %v; want [zeta alpha mu], [legacy odd]", numbered, others)
	}
	st = restart()
	update(st, "beta", "legacy")
	// A state change rewrites a task's whole record: each under its own key.
	for _, id := range []string{"legacy", "odd", "alpha"} {
		k++
		st.onEvent(walkUpdate(id, k, mesos.TaskState_TASK_FINISHED, "done", false))
	}
	b := st.take()
	st.out = st.out[:0]
	if err := db.commit(b.writes); err != nil {
		t.Fatal(err)
	}
	if numbered, others := stored(); !slices.Equal(numbered, []string{"zeta", "alpha", "mu", "beta"}) || !slices.Equal(others, []string{"legacy", "odd"}) {
		t.Fatalf("records after a restart: numbered %v, others %v; want [zeta alpha mu beta], [legacy odd]", numbered, others)
	}
	st = restart()
	if len(st.tasks) != 6 {
		t.Fatalf("restored %d tasks, want 6", len(st.tasks))
	}
	for _, id := range []string{"legacy", "odd", "alpha"} {
		if got := st.tasks[id].State; got != mesos.TaskState_TASK_FINISHED {
			t.Errorf("task %s restored %v, want finished", id, got)
		}
	}
}

// TestStatusKeepsReasonAndVerdict: a status keeps the update's reason,
// the enum's zero among them, apart from no reason at all, and the health
// verdict's three values; both survive a record, and a reason this build's
// enum lacks is kept by its number. A status stays 72 bytes.
func TestStatusKeepsReasonAndVerdict(t *testing.T) {
	st := benchState()
	st.registration = "fw"
	update := func(id string, reason *mesos.TaskStatus_Reason, healthy *bool) Status {
		t.Helper()
		st.onEvent(&mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: &mesos.TaskStatus{
			TaskId: &mesos.TaskID{Value: proto.String(id)}, State: mesos.TaskState_TASK_RUNNING.Enum(),
			AgentId: &mesos.AgentID{Value: proto.String("agent-1")}, Reason: reason, Healthy: healthy}}})
		h := st.tasks[id].History
		return h[len(h)-1]
	}
	zero := update("a", mesos.TaskStatus_REASON_COMMAND_EXECUTOR_FAILED.Enum(), proto.Bool(false))
	none := update("b", nil, nil)
	healthy := update("c", mesos.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED.Enum(), proto.Bool(true))
	unknown := Status{Reason: 999, HasReason: true}
	for _, c := range []struct {
		name    string
		s       Status
		reason  string
		healthy *bool
	}{
		{"the enum's zero", zero, "REASON_COMMAND_EXECUTOR_FAILED", proto.Bool(false)},
		{"no reason, no verdict", none, "", nil},
		{"healthy", healthy, "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED", proto.Bool(true)},
		{"a reason this build lacks", unknown, "999", nil},
	} {
		b, err := appendStatus(nil, &c.s, false)
		if err != nil {
			t.Fatal(err)
		}
		r := recordReader{b: b}
		back, _ := r.status()
		for _, s := range []Status{c.s, back} {
			if got, h := s.ReasonName(), s.Healthy(); got != c.reason || (h == nil) != (c.healthy == nil) || (h != nil && *h != *c.healthy) {
				t.Errorf("%s: reason %q, verdict %s; want %q, %s", c.name, got, verdict(h), c.reason, verdict(c.healthy))
			}
		}
	}
	for name, n := range mesos.TaskStatus_Reason_value {
		if got := (&Status{Reason: mesos.TaskStatus_Reason(n), HasReason: true}).ReasonName(); got != name {
			t.Errorf("reason %d is named %q, want %q", n, got, name)
		}
	}
	if n := unsafe.Sizeof(Status{}); n > 72 {
		t.Errorf("a Status is %d bytes, want at most 72: every task keeps up to %d", n, maxHistory)
	}
}

// verdict shows a health verdict as Mesos gives it.
func verdict(h *bool) string {
	if h == nil {
		return "none"
	}
	return strconv.FormatBool(*h)
}
