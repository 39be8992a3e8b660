package scheduler

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestConcurrentSnapshotsShareOneCopy: callers that ask while a snapshot
// waits for the state goroutine share it, each with slices of its own;
// a caller that asks after it was taken gets a later one.
func TestConcurrentSnapshotsShareOneCopy(t *testing.T) {
	st := benchState()
	st.s.inbox = make(chan func(*state), 64)
	for i := range 100 {
		id := "t" + strconv.Itoa(i)
		st.tasks[id] = &Task{Launch: &Launch{Launched: time.Unix(int64(i), 0)}, ID: id}
	}
	const callers = 20
	snaps := make(chan *Snapshot, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			snap, err := st.s.Snapshot(context.Background())
			if err != nil {
				t.Error(err)
			}
			snaps <- snap
		})
	}
	// The state goroutine is busy until every caller has asked.
	deadline := time.Now().Add(5 * time.Second)
	for len(st.s.inbox) < 1 || !allWaiting(st.s, callers) {
		if time.Now().After(deadline) {
			t.Fatal("callers did not all ask")
		}
		time.Sleep(time.Millisecond)
	}
	taken := 0
	for len(st.s.inbox) > 0 {
		(<-st.s.inbox)(st)
		taken++
	}
	wg.Wait()
	close(snaps)
	if taken != 1 {
		t.Errorf("%d snapshots taken for %d callers at once, want 1", taken, callers)
	}
	var first *Snapshot
	for snap := range snaps {
		if len(snap.Tasks) != 100 || snap.Tasks[0].ID != "t99" {
			t.Fatalf("snapshot has %d tasks, first %s; want 100, newest first", len(snap.Tasks), snap.Tasks[0].ID)
		}
		if first == nil {
			first = snap
		} else if &first.Tasks[0] == &snap.Tasks[0] {
			t.Error("two callers share a slice")
		}
	}

	// Asked after it was taken: a new one.
	done := make(chan *Snapshot)
	go func() {
		snap, _ := st.s.Snapshot(context.Background())
		done <- snap
	}()
	(<-st.s.inbox)(st)
	if snap := <-done; snap == nil {
		t.Fatal("no snapshot for a later caller")
	}
}

// allWaiting reports whether n callers wait on the pending snapshot.
func allWaiting(s *Scheduler, n int) bool {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	return s.snapReq != nil && s.snapReq.callers == n
}
