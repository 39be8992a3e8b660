package scheduler_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

func countNamed(snap *scheduler.Snapshot, prefix string) (tasks, queued int) {
	for _, tk := range snap.Tasks {
		if strings.HasPrefix(tk.Name, prefix) {
			tasks++
		}
	}
	for _, q := range snap.Queue {
		if strings.HasPrefix(q.Spec.Name, prefix) {
			queued++
		}
	}
	return tasks, queued
}

// TestRequestIDsSurviveRestart: answered launches resent with their ids
// after a restart launch nothing again and are audited as replays; the
// same id used by another user, or for another action, is a request of
// its own.
func TestRequestIDsSurviveRestart(t *testing.T) {
	_, base := startMaster(t, local.Config{SimulateCommands: true})
	dir := t.TempDir()
	s := startScheduler(t, base, dir, nil)
	s.waitFor(t, "offers", func(s *scheduler.Snapshot) bool { return len(s.Offers) == 3 })

	const launches, instances = 5, 4
	spec := func(i int) scheduler.TaskSpec {
		return scheduler.TaskSpec{Name: fmt.Sprintf("dup-%d", i), Command: "sleep 600", CPUs: 0.05, Mem: 4, Instances: instances}
	}
	who := func(user string, i int) scheduler.Actor {
		return scheduler.Actor{User: user, Origin: "test", RequestID: fmt.Sprintf("req-%d", i)}
	}
	first := make([]string, launches)
	for i := range launches {
		res, err := s.Launch(t.Context(), who("ann", i), spec(i))
		if err != nil {
			t.Fatalf("Launch(%d) = %v", i, err)
		}
		first[i] = res.Message
	}
	s.waitFor(t, "every instance running", func(snap *scheduler.Snapshot) bool {
		running := 0
		for _, tk := range snap.Tasks {
			if strings.HasPrefix(tk.Name, "dup-") && tk.State == mesos.TaskState_TASK_RUNNING {
				running++
			}
		}
		n, q := countNamed(snap, "dup-")
		return running == launches*instances && n == running && q == 0
	})
	s.stop()

	s2 := startScheduler(t, base, dir, nil)
	s2.waitFor(t, "subscribed again", func(s *scheduler.Snapshot) bool { return s.Conn.State == mesos.Subscribed })
	for i := range launches {
		res, err := s2.Launch(t.Context(), who("ann", i), spec(i))
		if err != nil || res.Message != first[i] {
			t.Errorf("resent Launch(%d) = %q, %v; want the first answer %q", i, res.Message, err, first[i])
		}
	}
	snap, err := s2.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n, q := countNamed(snap, "dup-"); n != launches*instances || q != 0 {
		t.Fatalf("after resending with the same ids: %d tasks and %d queued specs, want %d and 0 (no duplicates)", n, q, launches*instances)
	}
	entries, err := s2.AuditLog(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	replays := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Request, "replayed request req-") && e.User == "ann" && e.Action == "launch" {
			replays++
		}
	}
	if replays != launches {
		t.Errorf("%d replay entries in the audit log, want %d: %+v", replays, launches, entries)
	}

	// Another user with the same id: a request of its own.
	res, err := s2.Launch(t.Context(), who("bob", 0), spec(0))
	if err != nil || res.Message == "" {
		t.Fatalf("bob's Launch with ann's id = %+v, %v", res, err)
	}
	s2.waitFor(t, "bob's instances too", func(snap *scheduler.Snapshot) bool {
		n, q := countNamed(snap, "dup-")
		return n+q > launches*instances
	})
	// Another action with a launch's id: carried out, not answered with
	// the launch's answer.
	victim := ""
	for _, tk := range snap.Tasks {
		if strings.HasPrefix(tk.Name, "dup-") && tk.State == mesos.TaskState_TASK_RUNNING {
			victim = tk.ID
			break
		}
	}
	res, err = s2.Kill(t.Context(), who("ann", 0), victim, time.Second)
	if err != nil || res.Message != "killing "+victim {
		t.Fatalf("Kill with a launch's id = %+v, %v; want the kill carried out", res, err)
	}
	s2.waitFor(t, "the victim killed", func(s *scheduler.Snapshot) bool {
		tk := task(s, victim)
		return tk != nil && tk.State == mesos.TaskState_TASK_KILLED
	})
	entries, _ = s2.AuditLog(0, 100)
	if e := entries[0]; e.Action != "kill" || e.Target != victim || strings.HasPrefix(e.Request, "replayed") {
		t.Errorf("newest audit entry = %+v, want the kill, not a replay", e)
	}
}

// TestRepeatWhileFirstIsWithTheMaster: a repeat that arrives while the
// first request's ACCEPT is still with the master waits for its answer,
// instead of failing on the offer the first one took.
func TestRepeatWhileFirstIsWithTheMaster(t *testing.T) {
	m, base := startMaster(t, local.Config{SimulateCommands: true})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "an offer", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	m.SetResponseDelay(2 * time.Second)
	who := scheduler.Actor{User: "ann", Origin: "test", RequestID: "slow-1"}
	spec := []scheduler.TaskSpec{{Name: "slow", Command: "sleep 600", CPUs: 0.1, Mem: 8}}
	type answer struct {
		res scheduler.Result
		err error
	}
	first := make(chan answer, 1)
	go func() {
		res, err := s.Accept(t.Context(), who, snap.Offers[0].ID, spec)
		first <- answer{res, err}
	}()
	s.waitFor(t, "the first one launching", func(s *scheduler.Snapshot) bool { _, n := countNamedLaunching(s, "slow"); return n == 1 })
	res, err := s.Accept(t.Context(), who, snap.Offers[0].ID, spec)
	f := <-first
	m.SetResponseDelay(0)
	if f.err != nil || err != nil || len(res.TaskIDs) != 1 || res.Message != f.res.Message {
		t.Fatalf("first = %+v, %v; repeat = %+v, %v; want the same answer", f.res, f.err, res, err)
	}
	snap, _ = s.Snapshot(t.Context())
	if n, _ := countNamed(snap, "slow"); n != 1 {
		t.Errorf("%d tasks launched, want 1", n)
	}
	entries, _ := s.AuditLog(0, 10)
	if len(entries) != 2 || !strings.HasPrefix(entries[0].Request, "replayed request slow-1") {
		t.Errorf("audit = %+v, want the accept and its replay", entries)
	}
}

func countNamedLaunching(snap *scheduler.Snapshot, prefix string) (tasks, launching int) {
	for _, tk := range snap.Tasks {
		if strings.HasPrefix(tk.Name, prefix) {
			tasks++
			if tk.Launching {
				launching++
			}
		}
	}
	return tasks, launching
}
