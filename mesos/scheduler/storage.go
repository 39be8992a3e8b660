package scheduler

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// What happens when the state cannot be written (a full disk, an I/O
// error): nothing that promised durability goes out, every action of the
// failed commit is answered with ErrStorage and undone, and what the state
// holds is kept to be written with the next commit, so nothing that was
// acknowledged is lost. The dashboard is not ready, and says why in
// Connection.StorageErr, until a commit succeeds again; while it fails the
// state goroutine retries on its tick.

// storageLogEvery bounds how often a failing disk is logged: once at the
// first failure, then at most this often, with the count since.
const storageLogEvery = 10 * time.Second

// storageHealth is what the committer tells the state goroutine about
// the disk. Safe for concurrent use.
type storageHealth struct {
	wake chan struct{} // signalled when there is news; buffered 1

	mu       sync.Mutex
	err      error           // the last commit's failure; nil once one succeeds
	failures []commitFailure // not yet seen by the state goroutine
	news     bool
	// Log rate limiting, committer only.
	since    time.Time // when the disk started failing
	lastLog  time.Time
	unlogged int
}

// commitFailure is what a failed commit held back, for the state
// goroutine to settle: the calls' follow-ups, the actions to undo and the
// answers not to remember.
type commitFailure struct {
	err    error
	calls  []masterCall
	undos  []func(st *state)
	forget []string // requestKeys
}

func newStorageHealth() *storageHealth { return &storageHealth{wake: make(chan struct{}, 1)} }

// failed records a failed commit.
func (h *storageHealth) failed(f commitFailure) {
	h.mu.Lock()
	h.err = f.err
	h.failures = append(h.failures, f)
	h.news = true
	h.mu.Unlock()
	h.signal()
}

// succeeded records a commit that went through; it reports whether the
// disk was failing until now.
func (h *storageHealth) succeeded() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		return false
	}
	h.err, h.news = nil, true
	h.signal()
	return true
}

func (h *storageHealth) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// failing reports whether the last commit failed.
func (h *storageHealth) failing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err != nil
}

// take returns the news for the state goroutine: the current error and
// the failures it has not settled yet; ok is false when there is none.
func (h *storageHealth) take() (err error, failures []commitFailure, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.news {
		return nil, nil, false
	}
	err, failures, ok = h.err, h.failures, true
	h.failures, h.news = nil, false
	return err, failures, ok
}

// checkStorage applies the committer's news on the state goroutine:
// settles what failed commits held back, and shows the disk's state.
func (st *state) checkStorage() {
	err, failures, ok := st.s.health.take()
	if !ok {
		return
	}
	for _, f := range failures {
		for _, k := range f.forget {
			st.done.forget(k)
		}
		for _, c := range f.calls {
			if c.after != nil {
				c.after(st, f.err)
			}
		}
		for _, u := range f.undos {
			u(st)
		}
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != st.conn.StorageErr {
		recovered := msg == ""
		st.conn.StorageErr = msg
		st.connChanged()
		if recovered {
			// Instances put back while the disk failed wait on offers
			// we may hold already: place them now.
			st.placeQueued()
		}
	}
}

// then merges n, the newer, into e, what failed to commit before it: the
// newest value of each key, so it stays bounded by the number of distinct
// records however long the disk fails. The status log's records add up,
// but while commits fail no update is acknowledged, and an agent sends a
// task's next update only once the last one was: about a record a task.
func (e *encoded) then(n *encoded) *encoded {
	if e == nil {
		return n
	}
	if n == nil {
		return e
	}
	out := &encoded{frameworkID: e.frameworkID, archives: append(append([]string(nil), e.archives...), n.archives...)}
	if n.frameworkID != nil {
		out.frameworkID = n.frameworkID
	}
	out.tasks, _ = mergeRecords(e.tasks, nil, n.tasks, nil)
	// The log's records have keys of their own, in order; its cut only
	// moves on.
	out.log = append(append(out.log, e.log...), n.log...)
	out.logCut = max(e.logCut, n.logCut)
	out.queuePut, out.queueDelete = mergeRecords(e.queuePut, e.queueDelete, n.queuePut, n.queueDelete)
	out.results, out.resultDeletes = mergeRecords(e.results, e.resultDeletes, n.results, n.resultDeletes)
	out.audit = append(append(out.audit, e.audit...), n.audit...)
	out.auditOf = append(append(out.auditOf, e.auditOf...), n.auditOf...)
	out.buffers = append(append(out.buffers, e.buffers...), n.buffers...)
	return out
}

// mergeRecords merges puts and deletes of two writes, the second newer.
// Within one write a delete wins over a put of the same key, as commit
// applies deletes last.
func mergeRecords(puts1 []record, dels1 []string, puts2 []record, dels2 []string) ([]record, []string) {
	type value struct {
		v       []byte
		deleted bool
	}
	var order []string
	m := map[string]value{}
	set := func(k string, v value) {
		if _, ok := m[k]; !ok {
			order = append(order, k)
		}
		m[k] = v
	}
	for _, w := range []struct {
		puts []record
		dels []string
	}{{puts1, dels1}, {puts2, dels2}} {
		for _, r := range w.puts {
			set(string(r.key), value{v: r.value})
		}
		for _, k := range w.dels {
			set(k, value{deleted: true})
		}
	}
	var puts []record
	var dels []string
	for _, k := range order {
		if v := m[k]; v.deleted {
			dels = append(dels, k)
		} else {
			puts = append(puts, record{key: []byte(k), value: v.v})
		}
	}
	return puts, dels
}

// unsaved is what is left of e to write later after its commit failed
// with err: the answers to its actions are dropped (they were answered
// with err and are not remembered), and the audit entries of actions that
// were nothing but what they wrote say the action failed, as their answer
// did; actions whose call went out are recorded as they happened.
func (e *encoded) unsaved(err error) (*encoded, []string) {
	if e == nil {
		return nil, nil
	}
	out := *e
	forget := make([]string, 0, len(e.results))
	for _, r := range e.results {
		forget = append(forget, string(r.key))
	}
	out.results = nil
	out.audit = make([]record, len(e.audit))
	out.auditOf = make([]*AuditEntry, len(e.auditOf))
	for i, r := range e.audit {
		out.audit[i], out.auditOf[i] = r, e.auditOf[i]
		a := e.auditOf[i]
		if a == nil || !a.undoable {
			continue
		}
		c := *a
		c.Result, c.Err = "failed", "not carried out: "+err.Error()
		if b, merr := json.Marshal(&c); merr == nil {
			out.audit[i] = record{key: r.key, value: b, seq: r.seq}
			out.auditOf[i] = &c
		}
	}
	return &out, forget
}

// storageError makes a commit's error an ErrStorage that says what to do.
func storageError(err error) error {
	return fmt.Errorf("%w: %v (free space in the state folder; the dashboard retries by itself)", ErrStorage, err)
}
