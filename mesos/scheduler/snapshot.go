package scheduler

import (
	"context"
	"slices"
	"sort"
	"strings"
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
	// HoldTime and RefuseSeconds are the hold policy in force.
	HoldTime      time.Duration
	RefuseSeconds float64
}

// Snapshot returns the state as it is now, with the sequence number of
// the last change it includes: a page rendered from it and a stream
// resumed after that number miss nothing.
func (s *Scheduler) Snapshot(ctx context.Context) (*Snapshot, error) {
	ch := make(chan *Snapshot, 1)
	if !s.post(ctx, func(st *state) { ch <- st.snapshot() }) {
		return nil, ctx.Err()
	}
	select {
	case snap := <-ch:
		snap.sort() // here, not on the state goroutine, which updates wait for
		return snap, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
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
