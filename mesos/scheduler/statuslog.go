package scheduler

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
)

// The status log. Most updates a running cluster sends are one more
// status of a task whose state stays the same (a health check, a
// reconciliation answer). Storing each as a rewrite of its task's record,
// with up to maxHistory statuses, cost some 4 KB an update, on a page of
// its own among other tasks' records. Such a status is instead appended
// to the log: one small record under the next sequence number, so the
// records of a commit share the last page or two of the log's bucket.
//
// A task's record in the tasks bucket says which log record it is current
// to (its head sequence number); loading it replays the log records of
// that task after it, through the same addStatus, so the history read back
// is the one the state held. The log is bounded by compaction: once it
// holds more than its limit (statusLog.limit), the tasks whose oldest log
// records are the log's oldest have their records rewritten, current to
// the log's end, and the log's records before the oldest still needed are
// deleted.

var bucketStatuses = []byte("statuses")

// Bounds of the status log (see statusLog.limit): it may hold
// logPerTask records for each task, and at least logMin, at most logMax.
// A task's record is rewritten about once in logPerTask of its updates;
// a restart replays at most logMax records.
const (
	logPerTask = 64
	logMin     = 1 << 14
	logMax     = 1 << 20
	// logBudgetMin is how many task records one commit may rewrite for
	// compaction at least; a busy window may rewrite twice as many as it
	// logged, so the log shrinks back under its bound.
	logBudgetMin = 64
)

// statusLog is the state goroutine's account of the status log. The zero
// statusLog is an empty one (encode starts it at 1).
type statusLog struct {
	next  uint64 // the sequence number of the next record; from 1
	first uint64 // the oldest record kept (== next when empty)
	// behind lists, in sequence order, tasks whose record is not current
	// to the log, each with its oldest log record after the record
	// (Task.loggedSince). An entry whose task has been rewritten since
	// is stale and skipped.
	behind []logEntry
	// min and max bound limit (logMin and logMax when 0); tests make
	// them small.
	min, max int
}

type logEntry struct {
	seq uint64
	t   *Task
}

// limit is how many records the log may hold for tasks tasks.
func (l *statusLog) limit(tasks int) uint64 {
	return uint64(min(max(logPerTask*tasks, cmp.Or(l.min, logMin)), cmp.Or(l.max, logMax)))
}

// appendLogKey appends the key of log record seq: big-endian, so the
// bucket keeps the records in order.
func appendLogKey(b []byte, seq uint64) []byte { return binary.BigEndian.AppendUint64(b, seq) }

// A log record is the task's key; a byte saying whether a status follows,
// and the status (appendStatus); then the task's unacknowledged status
// numbers (Task.Unacked) as they are when the record is made, so that the
// acknowledgement marks of earlier statuses ride along. A record without
// a status carries marks alone (see saveAckMarks).
func appendLogRecord(b []byte, key []byte, t *Task, i int) ([]byte, error) {
	b = appendString(b, key)
	if i < 0 {
		b = append(b, 0)
	} else {
		var err error
		if b, err = appendStatus(append(b, 1), &t.History[i], t.Acked(i)); err != nil {
			return nil, err
		}
	}
	b = binary.AppendUvarint(b, uint64(len(t.Unacked)))
	for _, n := range t.Unacked {
		b = binary.AppendUvarint(b, uint64(n))
	}
	return b, nil
}

// logRecord is a decoded log record.
type logRecord struct {
	key       string
	hasStatus bool
	status    Status
	unacked   []int
}

func decodeLogRecord(b []byte) (logRecord, error) {
	r := recordReader{b: b}
	var rec logRecord
	rec.key = r.string()
	switch r.byte() {
	case 0:
	case 1:
		rec.hasStatus = true
		rec.status, _ = r.status() // its mark is in unacked
	default:
		r.fail("the status flag")
	}
	for range r.count() {
		rec.unacked = append(rec.unacked, int(min(r.uvarint(), math.MaxInt32)))
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes after the record", len(r.b))
	}
	return rec, r.err
}

// replay applies rec to t, as the state applied it.
func (rec *logRecord) replay(t *Task) {
	if rec.hasStatus {
		t.addStatus(rec.status)
	}
	t.Unacked = nil
	for _, n := range rec.unacked {
		if t.HasStatus(n) {
			t.Unacked = append(t.Unacked, n)
		}
	}
}
