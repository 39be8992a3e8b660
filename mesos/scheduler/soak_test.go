package scheduler_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// TestSoak runs a workload of launches and kills through a seeded random
// sequence of 200 faults, then checks what must always hold: every update
// the master sent is in the dashboard's state and acknowledged, no task is
// launched twice, and the dashboard's view converges to the master's.
// It prints its seed; OFFERDECK_SOAK_SEED=<seed> replays it.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak in -short")
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("OFFERDECK_SOAK_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("OFFERDECK_SOAK_SEED=%q: %v", v, err)
		}
	}
	t.Logf("soak seed %d (replay with OFFERDECK_SOAK_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))

	m, base := startMaster(t, local.Config{
		SimulateCommands: true, SimulatedRunTime: 400 * time.Millisecond,
		StatusRetry: 50 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond,
	})
	s := startScheduler(t, base, t.TempDir(), func(c *scheduler.Config) {
		c.LaunchCheck = 300 * time.Millisecond
		c.HoldTime = 200 * time.Millisecond
		c.RefuseSeconds = 0.1
		c.Client.HeartbeatMisses = 3
	})
	s.waitFor(t, "subscribed", func(s *scheduler.Snapshot) bool { return s.Conn.State == mesos.Subscribed })
	agents := func() []string {
		snap, _ := s.Snapshot(t.Context())
		var ids []string
		for _, a := range snap.Agents {
			ids = append(ids, a.ID)
		}
		return ids
	}

	var log []string
	partitioned := map[string]bool{}
	launched := 0
	for i := range 200 {
		switch rng.IntN(12) {
		case 0:
			m.CutStreams(false)
			log = append(log, "cut")
		case 1:
			m.CutStreams(true)
			log = append(log, "cut-mid-record")
		case 2:
			m.StopHeartbeats(true)
			log = append(log, "silence")
		case 3:
			m.StopHeartbeats(false)
			log = append(log, "heartbeats")
		case 4:
			d := time.Duration(rng.IntN(40)) * time.Millisecond
			m.SetResponseDelay(d)
			log = append(log, "delay "+d.String())
		case 5:
			m.DropCalls(mesos.Call_ACKNOWLEDGE, 1)
			log = append(log, "drop-ack")
		case 6:
			m.DropCalls(mesos.Call_ACCEPT, 1)
			log = append(log, "drop-accept")
		case 7:
			m.RescindOffers()
			log = append(log, "rescind")
		case 8:
			if ids := agents(); len(ids) > 0 {
				id := ids[rng.IntN(len(ids))]
				if partitioned[id] {
					m.HealAgent(id)
					delete(partitioned, id)
					log = append(log, "heal")
				} else if m.PartitionAgent(id) == nil {
					partitioned[id] = true
					log = append(log, "partition")
				}
			}
		case 9:
			m.Restart()
			log = append(log, "master-restart")
		default:
			// Work: queue a task (placed when offers allow) or kill one.
			if rng.IntN(3) > 0 {
				if _, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Name: fmt.Sprintf("soak%d", i), Command: "sleep 1", CPUs: 0.1, Mem: 32}); err == nil {
					launched++
				}
				log = append(log, "launch")
			} else {
				snap, _ := s.Snapshot(t.Context())
				for _, tk := range snap.Tasks {
					if !tk.Terminal() && !tk.Launching {
						s.Kill(t.Context(), operator, tk.ID, 0)
						break
					}
				}
				log = append(log, "kill")
			}
		}
		time.Sleep(time.Duration(5+rng.IntN(15)) * time.Millisecond)
	}

	// The faults stop; the cluster heals.
	m.SetResponseDelay(0)
	m.StopHeartbeats(false)
	m.DropCalls(mesos.Call_ACKNOWLEDGE, 0)
	m.DropCalls(mesos.Call_ACCEPT, 0)
	for id := range partitioned {
		m.HealAgent(id)
	}
	defer func() {
		if t.Failed() {
			t.Logf("faults, in order: %v", log)
		}
	}()

	// Converged: subscribed, every master task known with the master's
	// state, nothing awaiting acknowledgement, the queue drained.
	var snap *scheduler.Snapshot
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.Reconcile(t.Context(), operator)
		time.Sleep(300 * time.Millisecond)
		snap, _ = s.Snapshot(t.Context())
		problem := converged(snap, m)
		if problem == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("seed %d: no convergence after the faults: %s", seed, problem)
		}
	}

	// No task launched twice: every id the master ever saw is one of ours,
	// and the master holds no id twice.
	ours := map[string]bool{}
	for _, tk := range snap.Tasks {
		ours[tk.ID] = true
	}
	seen := map[string]bool{}
	for _, mt := range m.FrameworkTasks(snap.Conn.FrameworkID) {
		if seen[mt.ID] {
			t.Errorf("seed %d: task %s launched twice", seed, mt.ID)
		}
		seen[mt.ID] = true
		if !ours[mt.ID] {
			t.Errorf("seed %d: the master runs %s, which the dashboard does not know", seed, mt.ID)
		}
	}
	states := map[string]int{}
	reasons := map[string]int{}
	for _, tk := range snap.Tasks {
		states[tk.State.String()]++
		if n := len(tk.History); n > 0 && tk.State == mesos.TaskState_TASK_ERROR {
			msg := tk.History[n-1].Message
			if len(msg) > 60 {
				msg = msg[:60]
			}
			reasons[msg]++
		}
	}
	t.Logf("why tasks were not launched: %v", reasons)
	t.Logf("%d faults, %d launches queued, %d tasks at the master, dashboard states %v", len(log), launched, len(seen), states)
}

// converged says what still differs between the dashboard and the master,
// or "" when nothing does.
func converged(snap *scheduler.Snapshot, m *local.Master) string {
	if snap.Conn.State != mesos.Subscribed {
		return "not subscribed"
	}
	if len(snap.Queue) > 0 {
		return fmt.Sprintf("%d specs still queued", len(snap.Queue))
	}
	byID := map[string]*scheduler.Task{}
	for _, tk := range snap.Tasks {
		byID[tk.ID] = tk
		if tk.Launching {
			return "task " + tk.ID + " still launching"
		}
		for i, h := range tk.History {
			if h.UUID.IsSet() && !tk.Acked(i) {
				return "task " + tk.ID + " has an unacknowledged update"
			}
		}
	}
	known := map[string]bool{}
	for _, mt := range m.FrameworkTasks(snap.Conn.FrameworkID) {
		known[mt.ID] = true
		if mt.Pending > 0 {
			return fmt.Sprintf("master task %s has %d updates awaiting acknowledgement", mt.ID, mt.Pending)
		}
		tk := byID[mt.ID]
		if tk == nil {
			return "master task " + mt.ID + " unknown to the dashboard"
		}
		if tk.State != mt.State {
			return fmt.Sprintf("task %s: dashboard %s, master %s", mt.ID, tk.State, mt.State)
		}
	}
	// What the master does not know must not look alive in the dashboard.
	for id, tk := range byID {
		if !known[id] && !tk.Terminal() {
			return fmt.Sprintf("task %s is %s in the dashboard but unknown to the master", id, tk.State)
		}
	}
	return ""
}
