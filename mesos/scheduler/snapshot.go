package scheduler

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Snapshot is a consistent copy of the scheduler's state at change Seq.
// Nothing in it changes after it is taken.
type Snapshot struct {
	Seq    uint64
	Conn   Connection
	Offers []Offer  // oldest first
	Agents []Agent  // by hostname
	Tasks  []*Task  // the current registration's, newest first
	Older  []*Task  // tasks of removed registrations
	Queue  []Queued // oldest first
	Events []Event  // oldest first
	Calls  []Call   // oldest first
	// HoldTime and RefuseSeconds are the hold policy in force.
	HoldTime      time.Duration
	RefuseSeconds float64
}

// Snapshot returns the state as it is now, with the sequence number of
// the last change it includes: a page rendered from it and a stream
// resumed after that number miss nothing. The Tasks it holds are shared
// with other callers and must not be modified; its slices are its own.
//
// Callers that ask while a snapshot waits to be taken share it: a hundred
// pages loading at once (a reconnect after a restart) cost one copy of a
// 100k-task state on the state goroutine instead of a hundred, which held
// every update up for seconds. A caller that joins a waiting snapshot gets
// one taken after it asked, so what it read before asking is in it.
func (s *Scheduler) Snapshot(ctx context.Context) (*Snapshot, error) {
	s.snapMu.Lock()
	req := s.snapReq
	owner := req == nil
	if owner {
		req = &snapshotReq{done: make(chan struct{})}
		s.snapReq = req
	}
	req.callers++
	s.snapMu.Unlock()
	if owner {
		posted := s.post(ctx, func(st *state) {
			s.snapMu.Lock()
			s.snapReq = nil // who asks from now on needs a later one
			s.snapMu.Unlock()
			req.snap = st.snapshot()
			close(req.done)
		})
		if !posted {
			s.snapMu.Lock()
			if s.snapReq == req {
				s.snapReq = nil
			}
			s.snapMu.Unlock()
			req.abandoned = true
			close(req.done)
			return nil, s.stopErr(ctx)
		}
	}
	select {
	case <-req.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.stopped:
		return nil, ErrStopped
	}
	if req.abandoned { // its owner gave up before posting: ask anew
		return s.Snapshot(ctx)
	}
	req.sorted.Do(req.snap.sort) // here, not on the state goroutine
	return req.snap.copy(), nil
}

// snapshotReq is a snapshot waiting to be taken, shared by the callers
// that asked meanwhile.
type snapshotReq struct {
	done      chan struct{} // closed once snap is taken or the request abandoned
	snap      *Snapshot
	abandoned bool
	sorted    sync.Once
	callers   int // who asked for it, under Scheduler.snapMu
}

// copy gives a caller slices of its own; the values they hold are shared.
func (snap *Snapshot) copy() *Snapshot {
	c := *snap
	c.Offers = slices.Clone(snap.Offers)
	c.Agents = slices.Clone(snap.Agents)
	c.Tasks = slices.Clone(snap.Tasks)
	c.Older = slices.Clone(snap.Older)
	c.Queue = slices.Clone(snap.Queue)
	c.Events = slices.Clone(snap.Events)
	c.Calls = slices.Clone(snap.Calls)
	return &c
}

// sort puts the snapshot's lists in their documented orders.
func (snap *Snapshot) sort() {
	sort.Slice(snap.Offers, func(i, j int) bool {
		a, b := snap.Offers[i], snap.Offers[j]
		if !a.Arrived.Equal(b.Arrived) {
			return a.Arrived.Before(b.Arrived)
		}
		return a.ID < b.ID
	})
	sort.Slice(snap.Agents, func(i, j int) bool { return snap.Agents[i].Hostname < snap.Agents[j].Hostname })
	sortTasks(snap.Tasks)
	sortTasks(snap.Older)
}

func (st *state) snapshot() *Snapshot {
	// Changes made but not yet emitted are not in the stream yet; the
	// snapshot's sequence is the last one the consumer will have seen
	// before what follows, which is every change up to st.seq once they
	// are emitted. Include them: the consumer skips changes <= Seq.
	snap := &Snapshot{Seq: st.seq, Conn: st.conn, HoldTime: st.s.cfg.HoldTime, RefuseSeconds: st.s.cfg.RefuseSeconds}
	snap.Offers = make([]Offer, 0, len(st.offers))
	for _, o := range st.offers {
		snap.Offers = append(snap.Offers, *o)
	}
	snap.Agents = make([]Agent, 0, len(st.agents))
	for _, a := range st.agents {
		snap.Agents = append(snap.Agents, *a)
	}
	snap.Tasks = make([]*Task, 0, len(st.tasks))
	for _, t := range st.tasks {
		snap.Tasks = append(snap.Tasks, t.clone())
	}
	for _, t := range st.older {
		snap.Older = append(snap.Older, t.clone())
	}
	for _, q := range st.queue {
		snap.Queue = append(snap.Queue, *st.describeQueued(q))
	}
	snap.Events = slices.Clone(st.keptEvents())
	snap.Calls = slices.Clone(st.keptCalls())
	return snap
}

func sortTasks(ts []*Task) {
	sort.Slice(ts, func(i, j int) bool {
		if !ts[i].Launched.Equal(ts[j].Launched) {
			return ts[i].Launched.After(ts[j].Launched)
		}
		return strings.Compare(ts[i].ID, ts[j].ID) < 0
	})
}

// AuditLog returns up to limit audit entries, newest first, older than
// sequence before (0: from the newest).
func (s *Scheduler) AuditLog(before uint64, limit int) ([]AuditEntry, error) {
	return s.store.auditLog(before, limit)
}
