package scheduler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// TestCallsAfterRunReturnErrStopped shows that once Run has returned,
// nothing waits on the state goroutine any more: snapshots, actions and
// task output answer ErrStopped at once, even with a context that never
// ends.
func TestCallsAfterRunReturnErrStopped(t *testing.T) {
	_, master := startMaster(t, local.Config{})
	r := startScheduler(t, master, t.TempDir(), nil)
	r.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	r.stop()

	ctx := context.Background() // never done: only ErrStopped can end the calls
	calls := map[string]func() error{
		"Snapshot": func() error { _, err := r.Snapshot(ctx); return err },
		"Kill": func() error {
			_, err := r.Kill(ctx, scheduler.Actor{User: "t"}, "no-such-task", 0)
			return err
		},
		"Reconcile":  func() error { _, err := r.Reconcile(ctx, scheduler.Actor{User: "t"}); return err },
		"TaskOutput": func() error { _, err := r.TaskOutput(ctx, "no-such-task", "stdout", 0, 10); return err },
	}
	for name, call := range calls {
		done := make(chan error, 1)
		go func() { done <- call() }()
		select {
		case err := <-done:
			if !errors.Is(err, scheduler.ErrStopped) {
				t.Errorf("%s after Run returned = %v, want ErrStopped", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s after Run returned still blocks after 5s", name)
		}
	}
}
