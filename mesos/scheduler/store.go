package scheduler

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// schemaVersion is the layout of the state database this code writes. A
// database from a newer version is refused rather than misread; an older
// one is upgraded in place (see record.go: version 2 added the binary task
// record and still reads version 1's JSON ones; version 3 the status log,
// statuslog.go, and reads version 2's records as current to an empty log;
// version 4 numbered keys for the records of new tasks, record.go's
// keyPrefix, and keeps the keys of the records before).
const schemaVersion = 4

// Errors opening the state database. Each leaves the file untouched.
var (
	ErrStateCorrupt = errors.New("state database is damaged")
	ErrStateNewer   = errors.New("state database was written by a newer Offerdeck")
	ErrStateLocked  = errors.New("state database is in use by another dashboard")
)

var (
	bucketMeta          = []byte("meta")
	bucketTasks         = []byte("tasks")
	bucketQueue         = []byte("queue")
	bucketAudit         = []byte("audit")
	bucketRegistrations = []byte("registrations")
	keySchema           = []byte("schema")
	keyFrameworkID      = []byte("framework_id")
)

// store persists what must survive a restart: the framework id, every task
// with its history, the launch queue and the audit log.
type store struct {
	db *bolt.DB
	// fault, when set, is asked before each commit and fails it with
	// its error: tests use it to make the disk fail.
	fault atomic.Pointer[func() error]
}

// openStore opens (or creates) the database in dir.
func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create state folder: %w", err)
	}
	path := filepath.Join(dir, "offerdeck.db")
	if err := checkStateFile(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("open %s: %w", path, ErrStateLocked)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrChecksum):
		return nil, fmt.Errorf("open %s: %w (%v); move it aside to start afresh", path, ErrStateCorrupt, err)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &store{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketTasks, bucketStatuses, bucketQueue, bucketAudit, bucketRegistrations, bucketRequests} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keySchema); v != nil {
			n, err := strconv.Atoi(string(v))
			if err != nil {
				return fmt.Errorf("%w: schema version %q", ErrStateCorrupt, v)
			}
			if n > schemaVersion {
				return fmt.Errorf("%w (schema %d, this build reads %d)", ErrStateNewer, n, schemaVersion)
			}
			if n == schemaVersion {
				return nil
			}
		}
		return meta.Put(keySchema, []byte(strconv.Itoa(schemaVersion)))
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

func (s *store) close() error { return s.db.Close() }

// frameworkID returns the framework id stored, "" when none.
func (s *store) frameworkID() (id string, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		id = string(tx.Bucket(bucketMeta).Get(keyFrameworkID))
		return nil
	})
	return id, err
}

// loaded is everything stored, as load read it.
type loaded struct {
	frameworkID string
	tasks       []*Task
	queue       []*queued
	auditSeq    uint64
	nextKey     uint64 // the number of the next task's record key (see keyPrefix)
	log         statusLog
	shared      *sharing // what the tasks read share, for the tasks to come
}

// load returns everything stored: each task's record with the status log
// replayed onto it.
func (s *store) load() (*loaded, error) {
	out := &loaded{shared: newSharing()}
	err := s.db.View(func(tx *bolt.Tx) error {
		out.frameworkID = string(tx.Bucket(bucketMeta).Get(keyFrameworkID))
		byKey := map[string]*Task{}
		heads := map[*Task]uint64{}
		var lastSeq uint64
		if err := tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			t, headSeq, err := decodeTask(v, out.shared)
			if err != nil {
				return fmt.Errorf("%w: task %q: %v", ErrStateCorrupt, k, err)
			}
			if n, ok := keyNumber(k); ok {
				t.keyNumber = n
				out.nextKey = max(out.nextKey, n+1)
			} else if !isTaskKey(k, t.Registration, t.ID) {
				t.key = string(k) // the record's own key is the one to rewrite
			}
			out.tasks = append(out.tasks, t)
			byKey[string(k)], heads[t] = t, headSeq
			lastSeq = max(lastSeq, headSeq)
			return nil
		}); err != nil {
			return err
		}
		first := uint64(0)
		if err := tx.Bucket(bucketStatuses).ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("%w: status log key %x", ErrStateCorrupt, k)
			}
			seq := binary.BigEndian.Uint64(k)
			if first == 0 {
				first = seq
			}
			lastSeq = max(lastSeq, seq)
			rec, err := decodeLogRecord(v)
			if err != nil {
				return fmt.Errorf("%w: status log record %d: %v", ErrStateCorrupt, seq, err)
			}
			t := byKey[rec.key]
			if t == nil || seq <= heads[t] {
				return nil // a record the task's own is current to
			}
			rec.replay(t)
			if t.loggedSince == 0 {
				t.loggedSince = seq
				out.log.behind = append(out.log.behind, logEntry{seq: seq, t: t})
			}
			return nil
		}); err != nil {
			return err
		}
		out.log.next = lastSeq + 1
		out.log.first = out.log.next
		if first != 0 {
			out.log.first = first
		}
		for _, t := range out.tasks {
			if n := len(t.History); n > 0 {
				t.persisted = t.StatusNumber(n - 1)
			}
		}
		if err := tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
			q := new(queued)
			if err := json.Unmarshal(v, q); err != nil {
				return fmt.Errorf("%w: queued %q: %v", ErrStateCorrupt, k, err)
			}
			out.queue = append(out.queue, q)
			return nil
		}); err != nil {
			return err
		}
		out.auditSeq = tx.Bucket(bucketAudit).Sequence()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// write is one batch of changes, committed in one transaction: a group
// commit, so a burst of updates costs one fsync, not one each. It points
// at live state; encode takes its stored form.
type write struct {
	frameworkID *string
	archive     string  // a removed registration to remember
	tasks       []*Task // whose records are rewritten
	// logged are tasks whose change since their last write is statuses
	// added and acknowledgement marks: they go to the status log.
	logged      []*Task
	queuePut    []*queued
	queueDelete []string
	audit       []*AuditEntry
	// results are answers to remember by request; resultDeletes the
	// keys of answers forgotten.
	results       []resultRecord
	resultDeletes []string
}

func (w *write) empty() bool {
	return w.frameworkID == nil && w.archive == "" && len(w.tasks) == 0 && len(w.logged) == 0 && len(w.queuePut) == 0 &&
		len(w.queueDelete) == 0 && len(w.audit) == 0 && len(w.results) == 0 && len(w.resultDeletes) == 0
}

// encoded is a write in its stored form. It shares nothing with the state,
// so it can be committed on another goroutine while the state moves on.
type encoded struct {
	frameworkID *string
	archives    []string
	tasks       []record
	// log holds the status log's new records, in order, keyed by
	// logKey; the log's records before logCut are deleted (0: none).
	log         []record
	logCut      uint64
	queuePut    []record
	queueDelete []string
	audit       []record      // keyed by sequence number
	auditOf     []*AuditEntry // what audit[i] encodes
	// results and resultDeletes are the answers to store and forget,
	// keyed by requestKey.
	results       []record
	resultDeletes []string
	// buffers are the arrays the tasks' and the log's records are cut
	// from, for the committer to give back once they are written (see
	// encodeBuffers).
	buffers []*encodeBuffers
}

// encodeBuffers are the arrays an encoded write's task and log records
// are cut from: their bytes, the log's records, and the keys. Once the
// write is committed nothing reads them (bbolt copies a value into its
// pages as it commits, and a key as it is put), so the committer hands
// them back to the state goroutine, whose next encode writes into them:
// at the steady rate they were a tenth of the bytes allocated an update.
// A write that failed keeps its buffers until it is written.
type encodeBuffers struct {
	buf  []byte
	log  []record
	keys []byte
}

// maxSpareEncodeBytes bounds the buffers kept for the next encode: a
// burst's commit of 8,192 new tasks fits; a bigger one's are let go.
const maxSpareEncodeBytes = 4 << 20

// reusable reports whether b is worth keeping for the next encode, and
// drops what its log's records point at, so a kept buffer holds on to
// nothing else.
func (b *encodeBuffers) reusable() bool {
	if cap(b.buf)+cap(b.keys)+cap(b.log)*int(unsafe.Sizeof(record{})) > maxSpareEncodeBytes {
		return false
	}
	clear(b.log)
	b.buf, b.log, b.keys = b.buf[:0], b.log[:0], b.keys[:0]
	return true
}

type record struct {
	key, value []byte
	seq        uint64 // audit entries only
}

// encode takes the stored form of w as the state is now. A task or queued
// spec changed several times since the last commit is stored once. The
// statuses of logged tasks go to the status log l, which is compacted
// when it holds more than limit records (see statuslog.go); l and the
// tasks' accounts of what is stored change only when encode succeeds. The
// records are cut from spare's arrays when they are big enough (spare may
// be nil).
func (w *write) encode(l *statusLog, limit uint64, spare *encodeBuffers) (*encoded, error) {
	e := &encoded{frameworkID: w.frameworkID, queueDelete: w.queueDelete, resultDeletes: w.resultDeletes}
	if spare == nil {
		spare = new(encodeBuffers)
	}
	if w.archive != "" {
		e.archives = []string{w.archive}
	}
	if l.next == 0 { // the zero statusLog: an empty log
		l.next, l.first = 1, 1
	}
	seen := make(map[any]bool, len(w.tasks)+len(w.logged)+len(w.queuePut))
	var heads []*Task
	for _, t := range w.tasks {
		if !seen[t] {
			seen[t] = true
			heads = append(heads, t)
		}
	}
	// One buffer for every record, cut into values that never grow; an
	// outgrown buffer stays alive for the values already cut from it.
	buf := spare.buf[:0]
	if hint := encodedSizeHint(w.tasks) + logSizeHint(w.logged); cap(buf) < hint {
		buf = make([]byte, 0, hint)
	}
	next := l.next
	type stored struct {
		t         *Task
		persisted int    // the number of its newest status stored
		since     uint64 // its oldest log record after its own record
	}
	// Most logged tasks make one record: room for that many, and their
	// keys and sequence numbers each in one array.
	done := make([]stored, 0, len(w.logged))
	e.log = spare.log[:0]
	if cap(e.log) < len(w.logged) {
		e.log = make([]record, 0, len(w.logged))
	}
	keys := spare.keys[:0]
	if hint := 17*len(w.logged) + 9*len(heads); cap(keys) < hint {
		keys = make([]byte, 0, hint) // a numbered key and a sequence number each
	}
	var behind []logEntry // the log's new entries, after l.behind's
	for _, t := range w.logged {
		if seen[t] {
			continue
		}
		seen[t] = true
		latest := 0
		if n := len(t.History); n > 0 {
			latest = t.StatusNumber(n - 1)
		}
		from := t.persisted + 1
		if t.persisted == 0 || (from <= latest && !t.HasStatus(from)) {
			// Never stored with its statuses, or a status left the
			// history before it was stored: only the whole record can
			// say what the history holds.
			heads = append(heads, t)
			continue
		}
		at := len(keys)
		keys = t.appendRecordKey(keys)
		key := keys[at:len(keys):len(keys)]
		first := next
		for n := from; n <= max(latest, from); n++ {
			i, _ := t.StatusIndex(n)
			if n > latest {
				i = -1 // no new status: the marks alone
			}
			at := len(buf)
			var err error
			if buf, err = appendLogRecord(buf, key, t, i); err != nil {
				return nil, fmt.Errorf("encode status of task %s: %w", t.ID, err)
			}
			seq := len(keys)
			keys = appendLogKey(keys, next)
			e.log = append(e.log, record{key: keys[seq:len(keys):len(keys)], value: buf[at:len(buf):len(buf)]})
			next++
		}
		since := t.loggedSince
		if since == 0 {
			since = first
			behind = append(behind, logEntry{seq: first, t: t})
		}
		done = append(done, stored{t: t, persisted: max(latest, t.persisted), since: since})
	}
	// Compaction: rewrite the records of the tasks whose log records are
	// the oldest, until the log is back within limit or this commit's
	// budget is spent; the records before the oldest entry still needed
	// go.
	rewrite := make(map[*Task]bool, len(heads))
	for _, t := range heads {
		rewrite[t] = true
	}
	k := 0 // entries of l.behind settled
	cut := l.first
	if next-l.first > limit {
		budget := max(logBudgetMin, 2*int(next-l.next))
		for ; k < len(l.behind); k++ {
			en := l.behind[k]
			if en.t.loggedSince != en.seq || rewrite[en.t] {
				continue // stale: rewritten since, or now
			}
			if next-en.seq <= limit || budget == 0 {
				break
			}
			budget--
			rewrite[en.t] = true
			heads = append(heads, en.t)
		}
		switch {
		case k < len(l.behind):
			cut = l.behind[k].seq
		case len(behind) > 0:
			cut = behind[0].seq
		default:
			cut = next
		}
	}
	for _, t := range heads {
		at := len(buf)
		var err error
		if buf, err = encodeTask(buf, t, next-1); err != nil {
			return nil, fmt.Errorf("encode task %s: %w", t.ID, err)
		}
		k := len(keys)
		keys = t.appendRecordKey(keys)
		e.tasks = append(e.tasks, record{key: keys[k:len(keys):len(keys)], value: buf[at:len(buf):len(buf)]})
	}
	e.buffers = []*encodeBuffers{{buf: buf, log: e.log, keys: keys}}
	// Encoded: the accounts follow.
	for _, d := range done {
		d.t.persisted, d.t.loggedSince = d.persisted, d.since
	}
	for _, t := range heads {
		t.persisted, t.loggedSince = 0, 0
		if n := len(t.History); n > 0 {
			t.persisted = t.StatusNumber(n - 1)
		}
	}
	l.next = next
	if cut > l.first {
		e.logCut, l.first = cut, cut
	}
	// A queue: append drops the settled front when it grows the array.
	l.behind = append(l.behind[k:], behind...)
	for _, q := range w.queuePut {
		if seen[q] {
			continue
		}
		seen[q] = true
		b, err := json.Marshal(q)
		if err != nil {
			return nil, fmt.Errorf("encode queued %s: %w", q.ID, err)
		}
		e.queuePut = append(e.queuePut, record{key: []byte(q.ID), value: b})
	}
	for _, a := range w.audit {
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("encode audit entry %d: %w", a.Seq, err)
		}
		k := binary.BigEndian.AppendUint64(nil, a.Seq)
		e.audit = append(e.audit, record{key: k, value: b, seq: a.Seq})
		e.auditOf = append(e.auditOf, a)
	}
	for _, r := range w.results {
		b, err := json.Marshal(r.r)
		if err != nil {
			return nil, fmt.Errorf("encode answer to request %s: %w", r.r.Request, err)
		}
		e.results = append(e.results, record{key: []byte(r.key), value: b})
	}
	return e, nil
}

// commit applies e durably. It is safe to call from any goroutine; bbolt
// runs one commit at a time.
func (s *store) commit(e *encoded) error {
	if f := s.fault.Load(); f != nil {
		if err := (*f)(); err != nil {
			return err
		}
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if e.frameworkID != nil {
			if err := meta.Put(keyFrameworkID, []byte(*e.frameworkID)); err != nil {
				return err
			}
		}
		for _, old := range e.archives {
			if err := tx.Bucket(bucketRegistrations).Put([]byte(old), []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
				return err
			}
		}
		tb := tx.Bucket(bucketTasks)
		for _, r := range e.tasks {
			if err := tb.Put(r.key, r.value); err != nil {
				return err
			}
		}
		sb := tx.Bucket(bucketStatuses)
		sb.FillPercent = 1 // appended in key order: pages filled, not split in half
		for _, r := range e.log {
			if err := sb.Put(r.key, r.value); err != nil {
				return err
			}
		}
		if e.logCut > 0 {
			c := sb.Cursor()
			for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) < e.logCut; k, _ = c.First() {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		qb := tx.Bucket(bucketQueue)
		for _, r := range e.queuePut {
			if err := qb.Put(r.key, r.value); err != nil {
				return err
			}
		}
		for _, id := range e.queueDelete {
			if err := qb.Delete([]byte(id)); err != nil {
				return err
			}
		}
		ab := tx.Bucket(bucketAudit)
		for _, r := range e.audit {
			if err := ab.Put(r.key, r.value); err != nil {
				return err
			}
			if r.seq > ab.Sequence() {
				if err := ab.SetSequence(r.seq); err != nil {
					return err
				}
			}
		}
		rb := tx.Bucket(bucketRequests)
		for _, r := range e.results {
			if err := rb.Put(r.key, r.value); err != nil {
				return err
			}
		}
		for _, k := range e.resultDeletes {
			if err := rb.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// auditLog returns up to limit audit entries, newest first, older than
// before (0 = from the newest).
func (s *store) auditLog(before uint64, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		var k, v []byte
		if before == 0 {
			k, v = c.Last()
		} else {
			var seek [8]byte
			binary.BigEndian.PutUint64(seek[:], before)
			c.Seek(seek[:])
			k, v = c.Prev()
		}
		for ; k != nil && len(out) < limit; k, v = c.Prev() {
			var a AuditEntry
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("%w: audit entry: %v", ErrStateCorrupt, err)
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// logSizeHint is about what the log records of tasks take, each with one
// status.
func logSizeHint(tasks []*Task) int {
	n := 0
	for _, t := range tasks {
		n += 40 + len(t.Registration) + len(t.ID)
		if l := len(t.History); l > 0 {
			h := &t.History[l-1]
			n += 26 + len(h.ReasonName()) + len(h.Message) + int(h.UUID.n)
		}
	}
	return n
}

// encodedSizeHint is about what encodeTask takes for tasks, a little more
// rather than less: one buffer of that size holds them all, where growing
// it copied each record several times (a task of 100 statuses is some 9
// KB). A task listed twice is counted twice.
func encodedSizeHint(tasks []*Task) int {
	n := 0
	for _, t := range tasks {
		n += 256 + len(t.ID) + len(t.Name) + len(t.AgentID) + len(t.Hostname) + len(t.AgentURL) + len(t.ExecutorID) +
			len(t.OfferID) + len(t.Command) + len(t.Image) + len(t.Registration) + len(t.QueueID) + 64*len(t.Resources)
		for i := range t.History {
			h := &t.History[i]
			n += 26 + len(h.ReasonName()) + len(h.Message) + int(h.UUID.n) // 26: the varints, flags and time at their largest
		}
	}
	return n
}
