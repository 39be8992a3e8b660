package scheduler

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// A task record is stored in one of three forms, told apart by its first
// byte. Schema 1 wrote JSON ('{'); schema 2 wrote recordBinary, a compact
// append-encoded form: a reconciliation burst stores 100,000 records, and
// JSON made them four times larger and ten times slower to encode. Schema
// 3 writes recordLogged: recordBinary followed by the task's status count
// and the status log's sequence number the record is current to (see
// statuslog.go); the statuses logged after that follow it in the log. All
// forms are read, so an older database needs no migration pass: each
// record is rewritten in the new form the next time its task changes.
const (
	recordBinary = 0x02
	recordLogged = 0x03
)

// appendTaskKey appends the key schemas before 4 gave a task's record:
// its registration, 0, its id.
func appendTaskKey(b []byte, registration, id string) []byte {
	return append(append(append(b, registration...), 0), id...)
}

// isTaskKey reports whether k is appendTaskKey's key for registration and
// id, without making it.
func isTaskKey(k []byte, registration, id string) bool {
	n := len(registration)
	return len(k) == n+1+len(id) && string(k[:n]) == registration && k[n] == 0 && string(k[n+1:]) == id
}

// appendRecordKey appends the key of t's record to b.
func (t *Task) appendRecordKey(b []byte) []byte {
	switch {
	case t.keyNumber != 0:
		return binary.BigEndian.AppendUint64(append(b, keyPrefix), t.keyNumber)
	case t.key != "":
		return append(b, t.key...)
	}
	return appendTaskKey(b, t.Registration, t.ID)
}

// A task made since schema 4 has its record under a numbered key: a byte
// keyPrefix, then its number, big-endian. Numbers grow as tasks are made,
// so the records of new tasks are appended at the end of the bucket, on
// its last pages, rather than put among the others on pages spread over
// the whole tree: a reconciliation burst of 100,000 tasks the dashboard
// never saw had each commit rewrite most of the bucket. Keys made before
// (appendTaskKey's) begin with a framework id, which is printable text, or
// with its separator, 0: never with keyPrefix.
const keyPrefix = 0x01

// keyNumber is the number of a numbered key; false for a key of
// appendTaskKey's.
func keyNumber(k []byte) (uint64, bool) {
	if len(k) != 9 || k[0] != keyPrefix {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[1:]), true
}

// encodeTask appends the stored form of t to b, current to the status log's
// record headSeq.
func encodeTask(b []byte, t *Task, headSeq uint64) ([]byte, error) {
	b = append(b, recordLogged)
	for _, s := range []string{t.ID, t.Name, t.AgentID, t.Hostname, t.AgentURL, t.ExecutorID, t.OfferID, t.Command, t.Image, t.Registration, t.QueueID} {
		b = appendString(b, s)
	}
	b = binary.AppendVarint(b, int64(t.State))
	b = append(b, flags(t.Launching, t.Orphan, t.Killing))
	keys := make([]string, 0, len(t.Attributes))
	for k := range t.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same task, the same bytes
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(appendString(b, k), t.Attributes[k])
	}
	b = binary.AppendUvarint(b, uint64(len(t.Resources)))
	for _, r := range t.Resources {
		b = binary.AppendUvarint(b, uint64(proto.Size(r)))
		var err error
		var opts proto.MarshalOptions
		if b, err = opts.MarshalAppend(b, r); err != nil {
			return nil, fmt.Errorf("resource: %w", err)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(t.Ports)))
	for _, p := range t.Ports {
		b = binary.AppendUvarint(b, p)
	}
	var err error
	if b, err = appendTime(b, t.Launched); err != nil {
		return nil, err
	}
	b = binary.AppendUvarint(b, uint64(len(t.History)))
	for i := range t.History {
		if b, err = appendStatus(b, &t.History[i], t.Acked(i)); err != nil {
			return nil, err
		}
	}
	b = binary.AppendUvarint(b, uint64(t.Statuses))
	return binary.AppendUvarint(b, headSeq), nil
}

// appendStatus appends the stored form of h, acknowledged or not.
func appendStatus(b []byte, h *Status, acked bool) ([]byte, error) {
	b = binary.AppendVarint(b, int64(h.State))
	b = binary.AppendVarint(b, int64(h.Source))
	b = appendString(appendString(b, h.ReasonName()), h.Message)
	verdict := byte(0) // none, unhealthy, healthy
	switch h.Health {
	case HealthFailing:
		verdict = 1
	case HealthOK:
		verdict = 2
	}
	b = append(b, verdict, flags(acked, h.Reconciliation))
	b, err := appendTime(b, h.Time)
	if err != nil {
		return nil, err
	}
	return appendString(b, h.UUID.slice()), nil
}

// status reads what appendStatus wrote.
func (r *recordReader) status() (h Status, acked bool) {
	h.State = mesos.TaskState(r.varint())
	h.Source = mesos.TaskStatus_Source(r.varint())
	h.Reason, h.HasReason = reasonNamed(r.string())
	h.Message = r.string()
	if verdict := r.byte(); verdict != 0 {
		h.Health = healthOf(verdict == 2)
	}
	f := r.byte()
	h.Reconciliation = f&2 != 0
	h.Time = r.time()
	h.UUID = UUIDOf(r.bytes())
	return h, f&1 != 0
}

// decodeTask reads a stored task in any form, with the status log's
// record it is current to (0 for the forms before the log).
func decodeTask(b []byte, sh *sharing) (t *Task, headSeq uint64, err error) {
	if len(b) == 0 {
		return nil, 0, errors.New("empty record")
	}
	switch b[0] {
	case '{':
		t, err := decodeTaskJSON(b)
		return t, 0, err
	case recordBinary, recordLogged:
	default:
		return nil, 0, fmt.Errorf("unknown record form %#x", b[0])
	}
	r := recordReader{b: b[1:]}
	t = &Task{Launch: new(Launch)}
	for _, s := range []*string{&t.ID, &t.Name, &t.AgentID, &t.Hostname, &t.AgentURL, &t.ExecutorID, &t.OfferID, &t.Command, &t.Image, &t.Registration, &t.QueueID} {
		*s = r.string()
	}
	t.State = mesos.TaskState(r.varint())
	f := r.byte()
	t.Launching, t.Orphan, t.Killing = f&1 != 0, f&2 != 0, f&4 != 0
	if n := r.count(); n > 0 {
		t.Attributes = make(map[string]string, n)
		for range n {
			k := r.string()
			t.Attributes[k] = r.string()
		}
	}
	for range r.count() {
		res, err := sh.resource(r.bytes())
		if err != nil {
			if r.err == nil {
				r.err = fmt.Errorf("resource: %w", err)
			}
			res = new(mesos.Resource)
		}
		t.Resources = append(t.Resources, res)
	}
	for range r.count() {
		t.Ports = append(t.Ports, r.uvarint())
	}
	t.Launched = r.time()
	if n := r.count(); n > 0 {
		t.History = make([]Status, n)
		for i := range t.History {
			h, acked := r.status()
			t.History[i] = h
			if h.UUID.IsSet() && !acked {
				t.Unacked = append(t.Unacked, i) // numbered below, once Statuses is known
			}
		}
	}
	if b[0] == recordLogged {
		t.Statuses = int(min(r.uvarint(), math.MaxInt32))
		headSeq = r.uvarint()
	}
	for k, i := range t.Unacked {
		t.Unacked[k] = t.StatusNumber(i)
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes after the record", len(r.b))
	}
	if r.err != nil {
		return nil, 0, r.err
	}
	t.Attributes, t.AgentURL = sh.agent(t.AgentID, t.Attributes, t.AgentURL)
	return t, headSeq, nil
}

// taskJSON is a Task as schema 1 stored it: protobuf values in Mesos's JSON.
type taskJSON struct {
	Task
	Resources []json.RawMessage `json:"Resources"`
	History   []statusJSON      `json:"History"`
}

// statusJSON is a Status as schema 1 stored it, with its acknowledgement
// mark.
type statusJSON struct {
	Status
	Acked bool
	// Schema 1 named the reason and gave the verdict as a bool.
	Reason  string
	Healthy *bool
}

// status is the Status s stored.
func (s *statusJSON) status() Status {
	h := s.Status
	h.Reason, h.HasReason = reasonNamed(s.Reason)
	if s.Healthy != nil {
		h.Health = healthOf(*s.Healthy)
	}
	return h
}

func decodeTaskJSON(b []byte) (*Task, error) {
	var rec taskJSON
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	t := rec.Task
	if t.Launch == nil { // a record with none of Launch's fields
		t.Launch = new(Launch)
	}
	for _, raw := range rec.Resources {
		r := new(mesos.Resource)
		if err := mesos.UnmarshalJSON(raw, r); err != nil {
			return nil, err
		}
		t.Resources = append(t.Resources, r)
	}
	for i, h := range rec.History {
		t.History = append(t.History, h.status())
		if h.UUID.IsSet() && !h.Acked {
			t.Unacked = append(t.Unacked, t.StatusNumber(i))
		}
	}
	return &t, nil
}

func flags(bits ...bool) byte {
	var f byte
	for i, b := range bits {
		if b {
			f |= 1 << i
		}
	}
	return f
}

func appendString[S ~string | ~[]byte](b []byte, s S) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendTime appends t with its zone offset, as time.Time's binary form
// keeps it, behind a length byte.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	at := len(b)
	b, err := t.AppendBinary(append(b, 0))
	if err != nil {
		return nil, fmt.Errorf("time %v: %w", t, err)
	}
	b[at] = byte(len(b) - at - 1)
	return b, nil
}

// recordReader reads a binary record; the first error sticks and every
// later read returns a zero value.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("record truncated or malformed at %s", what)
	}
	r.b = nil
}

func (r *recordReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("a number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("a number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length that must fit in what is left of the record, so a
// corrupt length never allocates much.
func (r *recordReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("a count")
		return 0
	}
	return int(n)
}

func (r *recordReader) byte() byte {
	if len(r.b) == 0 {
		r.fail("a byte")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// bytes returns the next length-prefixed bytes, aliasing the record.
func (r *recordReader) bytes() []byte {
	n := r.count()
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *recordReader) string() string { return string(r.bytes()) }

func (r *recordReader) time() time.Time {
	n := int(r.byte())
	if n > len(r.b) {
		r.fail("a time")
		return time.Time{}
	}
	var t time.Time
	if err := t.UnmarshalBinary(r.b[:n]); err != nil {
		r.fail("a time")
		return time.Time{}
	}
	r.b = r.b[n:]
	return t
}
