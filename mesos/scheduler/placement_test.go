package scheduler_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

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

// TestLaunchRefusesWhatNoAgentCanRun: a spec no agent seen can run is
// refused at once, naming the largest agent; asked to wait, it queues.
func TestLaunchRefusesWhatNoAgentCanRun(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	s.waitFor(t, "all three agents", func(s *scheduler.Snapshot) bool { return len(s.Agents) == 3 })
	tests := []struct {
		name string
		spec scheduler.TaskSpec
		want string
	}{
		{"mem 5000", scheduler.TaskSpec{Mem: 5000, CPUs: 1}, "no agent has 5000 MB; the largest has 992 MB"},
		{"cpus 1e9", scheduler.TaskSpec{Mem: 32, CPUs: 1e9}, "no agent has 1e+09 cpus; the largest has 4"},
		{"mem 1e12 and cpus 5", scheduler.TaskSpec{Mem: 1e12, CPUs: 5}, "no agent has 5 cpus; the largest has 4; no agent has 1e+12 MB; the largest has 992 MB"},
		{"unknown attribute", scheduler.TaskSpec{Mem: 32, CPUs: 0.1, Constraints: "color==blue"},
			"no agent has color==blue: none of the 3 agents seen has attribute color"},
		{"unknown value", scheduler.TaskSpec{Mem: 32, CPUs: 0.1, Constraints: "rack==r5"},
			"no agent has rack==r5: the agents seen have rack bb8, c3po, r2d2"},
		{"constrained size", scheduler.TaskSpec{Mem: 900, CPUs: 0.1, Constraints: "rack==c3po"},
			"no agent that meets the constraints has 900 MB; the largest has 496 MB"},
		{"two constraints never together", scheduler.TaskSpec{Mem: 32, CPUs: 0.1, Constraints: "rack==c3po; gen==3"},
			"no agent has rack==c3po and gen==3 at once"},
		{"too many unique", scheduler.TaskSpec{Mem: 32, CPUs: 0.1, Instances: 4, Constraints: "hostname unique"},
			"hostname unique allows 3 of 4 instances on the agents seen (3 with hostname)"},
		{"resources together", scheduler.TaskSpec{Mem: 900, CPUs: 3, Ports: 1}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Name, tc.spec.Command = "big", "true"
			_, err := s.Launch(t.Context(), operator, tc.spec)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Launch(%+v) = %v, want it queued or placed", tc.spec, err)
				}
				return
			}
			var nf *scheduler.NeverFitsError
			if !errors.As(err, &nf) || !errors.Is(err, scheduler.ErrNeverFits) || nf.Error() != tc.want {
				t.Fatalf("Launch(%+v) = %v, want a NeverFitsError %q", tc.spec, err, tc.want)
			}
			tc.spec.Wait = true
			res, err := s.Launch(t.Context(), operator, tc.spec)
			if err != nil || !(strings.HasPrefix(res.Message, "queued") || strings.HasPrefix(res.Message, "placed")) {
				t.Fatalf("Launch(%+v with Wait) = %q, %v; want it queued", tc.spec, res.Message, err)
			}
		})
	}
}

// TestLaunchSaysEveryProblem: every rule of a spec is checked, and all
// problems come back at once, in one wording.
func TestLaunchSaysEveryProblem(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	tests := []struct {
		name   string
		spec   scheduler.TaskSpec
		fields []string
		want   string
	}{
		{"cpus 0", scheduler.TaskSpec{Command: "true", Mem: 32}, []string{"cpus"}, "invalid task spec: cpus must be more than 0, not 0"},
		{"mem 0", scheduler.TaskSpec{Command: "true", CPUs: 0.1}, []string{"mem"}, "invalid task spec: mem must be more than 0, not 0"},
		{"everything wrong", scheduler.TaskSpec{Name: "a/b", CPUs: -1, Mem: math.NaN(), Disk: -1, Ports: 101, Instances: 101,
			Env: map[string]string{"A B": "1"}, Constraints: "rack====r2d2", KillGrace: -time.Second},
			[]string{"name", "command", "cpus", "mem", "disk", "ports", "instances", "env", "constraints", "kill_grace"},
			`invalid task spec: name "a/b" may not contain slashes or control characters; give a command to run or a container image; ` +
				"cpus must be more than 0, not -1; mem must be more than 0, not NaN; disk must be 0 or more (and at most 1e+12), not -1; " +
				"ports must be between 0 and 100, not 101; instances must be between 1 and 100, not 101; " +
				`environment variable name "A B" is not valid; constraint "rack====r2d2", character 7 (rack==‸==r2d2): ` +
				`a value may not start with "=": one operator per constraint; kill grace period must not be negative`},
		{"negative instances", scheduler.TaskSpec{Command: "true", CPUs: 0.1, Mem: 32, Instances: -1}, []string{"instances"},
			"invalid task spec: instances must be between 1 and 100, not -1"},
		{"argv and command", scheduler.TaskSpec{Command: "true", Argv: []string{"x"}, CPUs: 0.1, Mem: 32}, []string{"command"},
			"invalid task spec: give a shell command or an argument list, not both"},
		{"huge command", scheduler.TaskSpec{Command: strings.Repeat("x", 64<<10+1), CPUs: 0.1, Mem: 32}, []string{"command"},
			"invalid task spec: command is 65537 bytes; the limit is 65536"},
		{"too many env", scheduler.TaskSpec{Command: "true", CPUs: 0.1, Mem: 32, Env: manyEnv(65)}, []string{"env"},
			"invalid task spec: at most 64 environment variables, not 65"},
		{"long name", scheduler.TaskSpec{Name: strings.Repeat("n", 65), Command: "true", CPUs: 0.1, Mem: 32}, []string{"name"},
			"invalid task spec: name is longer than 64 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Launch(t.Context(), operator, tc.spec)
			var se *scheduler.SpecError
			if !errors.As(err, &se) || !errors.Is(err, scheduler.ErrBadSpec) || err.Error() != tc.want {
				t.Fatalf("Launch = %v\nwant %s", err, tc.want)
			}
			var fields []string
			for _, p := range se.Problems {
				fields = append(fields, p.Field)
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("problems are of fields %v, want %v", fields, tc.fields)
			}
		})
	}
	snap, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Queue) != 0 || len(snap.Tasks) != 0 {
		t.Errorf("refused specs left %d queued and %d tasks", len(snap.Queue), len(snap.Tasks))
	}
}

func manyEnv(n int) map[string]string {
	env := map[string]string{}
	for i := range n {
		env[fmt.Sprintf("V%d", i)] = "1"
	}
	return env
}

// TestPinnedLaunchWaitsForTheAgentsNextOffer: a spec pinned to an agent
// whose offer expired waits, saying so, and is placed on that agent's
// next offer, not on another agent's.
func TestPinnedLaunchWaitsForTheAgentsNextOffer(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), func(c *scheduler.Config) {
		c.HoldTime = 200 * time.Millisecond
		c.RefuseSeconds = 3 // long enough to see the spec wait
	})
	snap := s.waitFor(t, "agent-2's offer", func(s *scheduler.Snapshot) bool { return offerOn(s, "agent-2.demo") != nil })
	first := offerOn(snap, "agent-2.demo")
	s.waitFor(t, "agent-2's offer expired", func(s *scheduler.Snapshot) bool { return offerOn(s, "agent-2.demo") == nil })
	spec := scheduler.TaskSpec{Name: "pinned", Command: "sleep 600", CPUs: 0.1, Mem: 32}
	if _, err := s.Accept(t.Context(), operator, first.ID, []scheduler.TaskSpec{spec}); !errors.Is(err, scheduler.ErrUnknownOffer) {
		t.Fatalf("Accept(expired offer) = %v, want ErrUnknownOffer", err)
	}
	spec.Agent = first.AgentID
	res, err := s.Launch(t.Context(), operator, spec)
	if err != nil {
		t.Fatalf("Launch(pinned) = %v", err)
	}
	if want := "queued 1 instance of pinned: waiting for agent-2.demo's next offer"; res.Message != want {
		t.Fatalf("Launch(pinned) = %q, want %q", res.Message, want)
	}
	snap, err = s.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Queue) != 1 || len(snap.Queue[0].Why) == 0 || snap.Queue[0].Why[0].Reasons[0] != "waiting for agent-2.demo's next offer" {
		t.Errorf("queue = %+v, want the spec waiting for agent-2.demo's next offer", snap.Queue)
	}
	snap = s.waitFor(t, "pinned running", func(s *scheduler.Snapshot) bool {
		for _, tk := range s.Tasks {
			if tk.Name == "pinned" && tk.State == mesos.TaskState_TASK_RUNNING {
				return true
			}
		}
		return false
	})
	for _, tk := range snap.Tasks {
		if tk.Name == "pinned" && tk.Hostname != "agent-2.demo" {
			t.Errorf("pinned task placed on %s, want agent-2.demo", tk.Hostname)
		}
	}
}

// summary writes a queued spec's causes as the queue shows them.
func summary(q scheduler.Queued) string {
	var parts []string
	for _, c := range q.Tally {
		parts = append(parts, fmt.Sprintf("%d %s", c.Offers, c.Why))
	}
	return fmt.Sprintf("%d: %s", q.Seen, strings.Join(parts, ", "))
}

// TestQueueSaysWhyInNumbers: each queued spec counts what the last offers
// said about it: short of a resource, a constraint not met, or fitted but
// taken by a spec queued before it.
func TestQueueSaysWhyInNumbers(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	s.waitFor(t, "three offers", func(s *scheduler.Snapshot) bool { return len(s.Offers) == 3 })
	res, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Name: "wide", Command: "true", CPUs: 3, Mem: 32, Constraints: "rack==c3po", Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Message, "queued") {
		t.Fatalf("Launch(wide) = %q, want it queued", res.Message)
	}
	snap, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(snap.Queue[0]), "3: 2 short of cpus, 1 failed rack==c3po"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if _, err := s.Unqueue(t.Context(), operator, snap.Queue[0].ID); err != nil {
		t.Fatal(err)
	}

	// Two specs wait for agent-1's next offer; the first takes most of it.
	a1 := offerOn(snap, "agent-1.demo")
	if _, err := s.Decline(t.Context(), operator, a1.ID, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, sp := range []scheduler.TaskSpec{
		{Name: "first", Command: "sleep 600", CPUs: 1.5, Mem: 32, Constraints: "rack==r2d2"},
		{Name: "second", Command: "sleep 600", CPUs: 1, Mem: 32, Constraints: "rack==r2d2"},
	} {
		if _, err := s.Launch(t.Context(), operator, sp); err != nil {
			t.Fatal(err)
		}
	}
	snap = s.waitFor(t, "first placed on agent-1's next offer", func(s *scheduler.Snapshot) bool {
		return len(s.Queue) == 1 && s.Queue[0].Spec.Name == "second" && s.Queue[0].Seen == 3
	})
	if got, want := summary(snap.Queue[0]), "3: 2 failed rack==r2d2, 1 fitted but another spec took them"; got != want {
		t.Errorf("summary of second = %q, want %q", got, want)
	}
}

// TestPinnedLaunchTooBigForItsAgent: a spec pinned to an agent is held
// against that agent, not the largest one.
func TestPinnedLaunchTooBigForItsAgent(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "all three agents", func(s *scheduler.Snapshot) bool { return len(s.Agents) == 3 })
	a2 := offerOn(snap, "agent-2.demo")
	_, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Name: "big", Command: "true", CPUs: 0.1, Mem: 900, Agent: a2.AgentID})
	if want := "agent-2.demo has 496 MB at most, not 900 MB"; err == nil || err.Error() != want {
		t.Errorf("Launch(mem 900 pinned to agent-2) = %v, want %q", err, want)
	}
}
