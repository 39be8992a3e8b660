package scheduler

import (
	"context"
	"log/slog"
	"testing"

	"github.com/offerdeck/offerdeck/mesos"
)

// TestCommitReleasesOnlyWhatIsDurable: a batch's acknowledgements, calls
// and replies go out after its commit, and not at all when it fails; its
// changes are emitted either way.
func TestCommitReleasesOnlyWhatIsDurable(t *testing.T) {
	for _, fail := range []bool{false, true} {
		st, err := openStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if fail {
			st.close() // every commit fails
		} else {
			defer st.close()
		}
		s := &Scheduler{store: st, log: slog.New(slog.DiscardHandler), changes: make(chan Change, 1)}
		state := benchState()
		state.pending.tasks = orphanBurst("fw", 0, 3)
		state.acksReady = []ack{{agentID: "a", taskID: "t", uuid: []byte{1}}}
		var replied []error
		state.replies = []func(error){func(err error) { replied = append(replied, err) }}
		if fail {
			// Sent, it would panic: the Scheduler has no client.
			state.call(&mesos.Call{Type: mesos.Call_ACCEPT.Enum()}, nil)
		}
		state.change(Change{Kind: TaskChanged})
		b := state.take()
		if state.take() != nil {
			t.Fatal("a second take found work")
		}
		a := newAcker()
		s.commit(context.Background(), b, a)

		acks := a.take()
		switch {
		case len(replied) != 1:
			t.Fatalf("fail=%v: %d replies, want 1", fail, len(replied))
		case fail && replied[0] == nil:
			t.Errorf("failed commit replied %v, want its error", replied[0])
		case fail && len(acks) != 0:
			t.Errorf("failed commit released %d acknowledgements", len(acks))
		case !fail && (replied[0] != nil || len(acks) != 1):
			t.Errorf("commit replied %v with %d acknowledgements, want nil and 1", replied[0], len(acks))
		}
		if len(s.changes) != 1 {
			t.Errorf("fail=%v: %d changes emitted, want 1", fail, len(s.changes))
		}
	}
}
