package scheduler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// launchOne accepts the first held offer for one task and returns its id.
func launchOne(t *testing.T, s *running, name, cmd string) string {
	t.Helper()
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	res, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, []scheduler.TaskSpec{{Name: name, Command: cmd, CPUs: 0.1, Mem: 32}})
	if err != nil {
		t.Fatal(err)
	}
	return res.TaskIDs[0]
}

func stateIs(id string, want mesos.TaskState) func(*scheduler.Snapshot) bool {
	return func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		return tk != nil && tk.State == want && !tk.Launching
	}
}

// TestLostAcknowledgement: the master loses two acknowledgements; the agent
// resends, the copies are acknowledged, and the task finishes with every
// update acknowledged and kept once.
func TestLostAcknowledgement(t *testing.T) {
	m, base := startMaster(t, local.Config{StatusRetry: 30 * time.Millisecond})
	s := startScheduler(t, base, t.TempDir(), nil)
	m.DropCalls(mesos.Call_ACKNOWLEDGE, 2)
	id := launchOne(t, s, "acked", "echo ok")
	snap := s.waitFor(t, "finished, all acknowledged", func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		if tk == nil || tk.State != mesos.TaskState_TASK_FINISHED {
			return false
		}
		for i, h := range tk.History {
			if h.UUID.IsSet() && !tk.Acked(i) {
				return false
			}
		}
		return true
	})
	if n := len(task(snap, id).History); n != 3 {
		t.Errorf("history has %d entries, want STARTING, RUNNING, FINISHED once each", n)
	}
}

// TestOfferRescindedWhileAcceptInFlight: the offer goes away while the
// ACCEPT travels; the master drops the task and the dashboard says so.
func TestOfferRescindedWhileAcceptInFlight(t *testing.T) {
	m, base := startMaster(t, local.Config{AllocationInterval: time.Hour})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "offers", func(s *scheduler.Snapshot) bool { return len(s.Offers) == 3 })
	m.SetResponseDelay(300 * time.Millisecond)
	done := make(chan scheduler.Result, 1)
	go func() {
		res, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, []scheduler.TaskSpec{{Name: "late", Command: "true", CPUs: 0.1, Mem: 32}})
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
		done <- res
	}()
	time.Sleep(100 * time.Millisecond) // the ACCEPT is in flight, held by the delay
	if n := m.RescindOffers(); n == 0 {
		t.Fatal("no offer to rescind")
	}
	res := <-done
	m.SetResponseDelay(0)
	snap = s.waitFor(t, "the task dropped", stateIs(res.TaskIDs[0], mesos.TaskState_TASK_DROPPED))
	last := task(snap, res.TaskIDs[0]).History
	if h := last[len(last)-1]; h.ReasonName() != "REASON_INVALID_OFFERS" || !strings.Contains(h.Message, "no longer valid") {
		t.Errorf("last update = %+v, want REASON_INVALID_OFFERS", h)
	}
}

// TestAcceptSilentlyDropped: the master answers ACCEPT but never acts on
// it; reconciliation of the launching task settles it as never launched.
func TestAcceptSilentlyDropped(t *testing.T) {
	m, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), func(c *scheduler.Config) { c.LaunchCheck = 200 * time.Millisecond })
	s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	m.DropCalls(mesos.Call_ACCEPT, 1)
	id := launchOne(t, s, "ghost", "sleep 60")
	snap := s.waitFor(t, "the lost launch settled", stateIs(id, mesos.TaskState_TASK_DROPPED))
	h := task(snap, id).History
	if !strings.Contains(h[len(h)-1].Message, "launch never took effect") {
		t.Errorf("last update = %+v", h[len(h)-1])
	}
}

// TestAgentPartitionAndHeal: a partition makes the task unreachable; the
// heal brings it back running, never killed or relaunched.
func TestAgentPartitionAndHeal(t *testing.T) {
	m, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	id := launchOne(t, s, "island", "sleep 600")
	snap := s.waitFor(t, "running", stateIs(id, mesos.TaskState_TASK_RUNNING))
	agent := task(snap, id).AgentID
	if err := m.PartitionAgent(agent); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "unreachable", stateIs(id, mesos.TaskState_TASK_UNREACHABLE))
	if err := m.HealAgent(agent); err != nil {
		t.Fatal(err)
	}
	snap = s.waitFor(t, "running again", stateIs(id, mesos.TaskState_TASK_RUNNING))
	n := 0
	for _, tk := range snap.Tasks {
		if tk.Name == "island" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d island tasks after the heal, want 1", n)
	}
}
