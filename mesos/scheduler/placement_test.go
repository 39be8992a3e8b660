package scheduler_test

import (
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// offersOn returns the offers held of one host.
func offersOn(snap *scheduler.Snapshot, host string) []scheduler.Offer {
	var out []scheduler.Offer
	for _, o := range snap.Offers {
		if o.Hostname == host {
			out = append(out, o)
		}
	}
	return out
}

// splitAgent2 brings the scheduler to the case: agent-2 offered in
// two pieces, 1.9 cpus / 464 MB and 0.1 cpus / 32 MB, both held.
func splitAgent2(t *testing.T) *running {
	t.Helper()
	_, base := startMaster(t, local.Config{Agents: local.DemoAgents()[1:2]})
	s := startScheduler(t, base, t.TempDir(), func(c *scheduler.Config) { c.RefuseSeconds = 0.001 })
	snap := s.waitFor(t, "agent-2's offer", func(s *scheduler.Snapshot) bool { return offerOn(s, "agent-2.demo") != nil })
	res, err := s.Accept(t.Context(), operator, offerOn(snap, "agent-2.demo").ID,
		[]scheduler.TaskSpec{{Name: "short", Command: "sleep 600", CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatalf("Accept(short) = %v", err)
	}
	s.waitFor(t, "the rest of agent-2 offered", func(s *scheduler.Snapshot) bool {
		o := offerOn(s, "agent-2.demo")
		return o != nil && mesos.ScalarSum(o.Offer.GetResources(), "cpus") == 1.9
	})
	if _, err := s.Kill(t.Context(), operator, res.TaskIDs[0], 0); err != nil {
		t.Fatalf("Kill(short) = %v", err)
	}
	s.waitFor(t, "agent-2 offered in two pieces", func(s *scheduler.Snapshot) bool { return len(offersOn(s, "agent-2.demo")) == 2 })
	return s
}

// TestSplitOffersPlacedAtOnce: a spec needing the sum of an agent's two
// held offers is placed at once, in one ACCEPT of both.
func TestSplitOffersPlacedAtOnce(t *testing.T) {
	s := splitAgent2(t)
	res, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Name: "big", Command: "sleep 600", CPUs: 2, Mem: 400, Constraints: "rack==c3po"})
	if err != nil {
		t.Fatalf("Launch(big) = %v", err)
	}
	if want := "placed 1 of 1 instance of big at once"; res.Message != want || len(res.TaskIDs) != 1 {
		t.Fatalf("Launch(big) = %q %v, want %q", res.Message, res.TaskIDs, want)
	}
	snap := s.waitFor(t, "big running", func(s *scheduler.Snapshot) bool {
		tk := task(s, res.TaskIDs[0])
		return tk != nil && tk.State == mesos.TaskState_TASK_RUNNING
	})
	tk := task(snap, res.TaskIDs[0])
	if got := mesos.ScalarSum(tk.Resources, "cpus"); got != 2 {
		t.Errorf("big runs with cpus %v, want 2", got)
	}
	if !strings.Contains(tk.OfferID, ", ") {
		t.Errorf("big's offer = %q, want the two offers it was launched on", tk.OfferID)
	}
	if n := len(offersOn(snap, "agent-2.demo")); n != 0 && len(snap.Queue) != 0 {
		t.Errorf("after the launch: %d offers of agent-2 held, queue %v", n, snap.Queue)
	}
}

// TestAcceptTakesTheAgentsWholeShare: Accept… of one piece launches a
// task needing both, since the form offers the agent's whole share.
func TestAcceptTakesTheAgentsWholeShare(t *testing.T) {
	s := splitAgent2(t)
	snap, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pieces := offersOn(snap, "agent-2.demo")
	res, err := s.Accept(t.Context(), operator, pieces[1].ID, []scheduler.TaskSpec{{Name: "whole", Command: "sleep 600", CPUs: 2, Mem: 496}})
	if err != nil {
		t.Fatalf("Accept(whole share) = %v", err)
	}
	s.waitFor(t, "whole running", func(s *scheduler.Snapshot) bool {
		tk := task(s, res.TaskIDs[0])
		return tk != nil && tk.State == mesos.TaskState_TASK_RUNNING
	})
}
