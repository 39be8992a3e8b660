package scheduler_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// TestOutputThroughAnAuthenticatingStandIn: a stand-in that demands
// credentials on its agents' /files too serves a task's output to the
// scheduler, which reads it with the client's credentials, not anonymously.
func TestOutputThroughAnAuthenticatingStandIn(t *testing.T) {
	_, base := startMaster(t, local.Config{Credentials: map[string]string{"dash": "s3:cr:et"}})
	s := startScheduler(t, base, t.TempDir(), func(c *scheduler.Config) {
		c.Client.Principal, c.Client.Secret = "dash", "s3:cr:et"
	})
	id := launchAndFinish(t, s, "echo hello world")
	out, err := s.TaskOutput(t.Context(), id, "stdout", 0, 0)
	if err != nil || string(out.Data) != "hello world\n" {
		t.Fatalf("TaskOutput = %q, %v; want hello world", out.Data, err)
	}
}

// launchAndFinish launches command on agent-1 and waits until the task has
// finished, every update acknowledged; it returns the task's id.
func launchAndFinish(t *testing.T, s *running, command string) string {
	t.Helper()
	snap := s.waitFor(t, "an offer from agent-1", func(s *scheduler.Snapshot) bool { return offerOn(s, "agent-1.demo") != nil })
	res, err := s.Accept(t.Context(), operator, offerOn(snap, "agent-1.demo").ID, []scheduler.TaskSpec{{Name: "out", Command: command, CPUs: 0.1, Mem: 32}})
	if err != nil || len(res.TaskIDs) != 1 {
		t.Fatalf("Accept = %+v, %v", res, err)
	}
	id := res.TaskIDs[0]
	s.waitFor(t, "the task finished", func(s *scheduler.Snapshot) bool {
		tk := task(s, id)
		return tk != nil && tk.State == mesos.TaskState_TASK_FINISHED && allAcked(tk)
	})
	return id
}

func allAcked(tk *scheduler.Task) bool {
	for i, h := range tk.History {
		if h.UUID.IsSet() && !tk.Acked(i) {
			return false
		}
	}
	return true
}

// TestOutputErrorsAreSentences: an agent that no longer answers gives a
// sentence naming it, not a transport error.
func TestOutputErrorsAreSentences(t *testing.T) {
	base, stop := runMaster(t, local.Config{SandboxRoot: t.TempDir()})
	s := startScheduler(t, base, t.TempDir(), nil)
	id := launchAndFinish(t, s, "echo hello")
	stop()
	_, err := s.TaskOutput(t.Context(), id, "stdout", 0, 0)
	if !errors.Is(err, scheduler.ErrOutputUnavailable) || strings.Contains(err.Error(), "dial") || !strings.Contains(err.Error(), "agent-1.demo does not answer") {
		t.Fatalf("TaskOutput with the agent gone = %v, want a sentence naming agent-1.demo", err)
	}
}

// runMaster runs a stand-in the test can stop before it ends; stop waits
// for it and may be called more than once.
func runMaster(t *testing.T, cfg local.Config) (base string, stop func()) {
	t.Helper()
	cfg.AllocationInterval = 50 * time.Millisecond
	m, err := local.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ln) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stand-in master: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("stand-in master did not stop within 15s")
		}
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

// TestOutputAfterTheStandInRestarts: the stand-in comes back on the same
// sandbox folder but another port, and the dashboard with it; a task of the
// earlier run is read through the agent's new address (its id is the same),
// not the dead one it was launched on.
func TestOutputAfterTheStandInRestarts(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	base, stop := runMaster(t, local.Config{SandboxRoot: root})
	s := startScheduler(t, base, state, nil)
	id := launchAndFinish(t, s, "echo from the first run")
	s.stop()
	stop()

	base2, _ := runMaster(t, local.Config{SandboxRoot: root})
	if base2 == base {
		t.Skip("the stand-in came back on the same port")
	}
	s = startScheduler(t, base2, state, nil)
	s.waitFor(t, "an offer from agent-1 again", func(s *scheduler.Snapshot) bool { return offerOn(s, "agent-1.demo") != nil })
	out, err := s.TaskOutput(t.Context(), id, "stdout", 0, 0)
	if err != nil || string(out.Data) != "from the first run\n" {
		t.Fatalf("TaskOutput after the restart = %q, %v", out.Data, err)
	}
}

// TestOutputFromAnAgentThatOffersNothing: after a restart, an agent that
// makes no offer (all its resources in use; here it has none) is found
// through the master's /master/state, under its unchanged id.
func TestOutputFromAnAgentThatOffersNothing(t *testing.T) {
	root, state := t.TempDir(), t.TempDir()
	creds := map[string]string{"dash": "s3:cr:et"}
	withCreds := func(c *scheduler.Config) { c.Client.Principal, c.Client.Secret = "dash", "s3:cr:et" }
	base, stop := runMaster(t, local.Config{SandboxRoot: root, Credentials: creds})
	s := startScheduler(t, base, state, withCreds)
	id := launchAndFinish(t, s, "echo from the first run")
	s.stop()
	stop()

	base2, _ := runMaster(t, local.Config{SandboxRoot: root, Credentials: creds, Agents: []local.AgentConfig{{Hostname: "agent-1.demo"}}})
	if base2 == base {
		t.Skip("the stand-in came back on the same port")
	}
	s = startScheduler(t, base2, state, withCreds)
	s.waitFor(t, "subscribed again", func(s *scheduler.Snapshot) bool { return s.Conn.State == mesos.Subscribed })
	out, err := s.TaskOutput(t.Context(), id, "stdout", 0, 0)
	if err != nil || string(out.Data) != "from the first run\n" {
		t.Fatalf("TaskOutput after the restart = %q, %v", out.Data, err)
	}
	if snap, _ := s.Snapshot(t.Context()); offerOn(snap, "agent-1.demo") != nil {
		t.Error("agent-1 made an offer: the test did not exercise the lookup in /master/state")
	}
}
