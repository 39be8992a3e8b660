package local_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
)

// TestHealthChecks: with simulated health checks, a running task gets
// TASK_RUNNING updates whose health flips, each resent until
// acknowledged, and /master/state keeps one status per state.
func TestHealthChecks(t *testing.T) {
	_, base := startMaster(t, local.Config{SimulateCommands: true, HealthChecks: 200, StatusRetry: time.Hour})
	c := newClient(t, base, "", nil)
	c.launch(t, c.nextOffer(t, ""), commandTask("web", "sleep 600"), nil)
	for _, want := range []mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING} {
		st := c.nextUpdate(t, "web")
		if st.GetState() != want {
			t.Fatalf("update = %v, want %v", st.GetState(), want)
		}
		c.ack(t, st)
	}

	var last *mesos.TaskStatus
	for i := range 4 {
		st := c.nextUpdate(t, "web")
		if st.GetState() != mesos.TaskState_TASK_RUNNING || st.Healthy == nil ||
			st.GetReason() != mesos.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED || st.GetSource() != mesos.TaskStatus_SOURCE_EXECUTOR {
			t.Fatalf("health update %d = %v healthy %v reason %v source %v", i, st.GetState(), st.Healthy, st.GetReason(), st.GetSource())
		}
		if want := i%2 == 0; st.GetHealthy() != want {
			t.Errorf("health update %d: healthy %v, want %v (it flips, first to healthy)", i, st.GetHealthy(), want)
		}
		if last != nil && st.GetTimestamp() <= last.GetTimestamp() {
			t.Errorf("health update %d: timestamp %v not after %v", i, st.GetTimestamp(), last.GetTimestamp())
		}
		last = st
		c.ack(t, st)
	}

	// Unacknowledged, the stream holds: no second health result is sent
	// while one is in flight (resends are an hour away here).
	held := c.nextUpdate(t, "web")
	quiet := time.After(200 * time.Millisecond)
	for waiting := true; waiting; {
		select {
		case e := <-c.events:
			if e.GetType() == mesos.Event_UPDATE {
				t.Fatalf("a second update (%v) while %x was unacknowledged", e.GetUpdate().GetStatus().GetState(), held.GetUuid())
			}
		case <-quiet:
			waiting = false
		}
	}

	resp, err := http.Get(base + "/master/state")
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Frameworks []struct {
			Tasks []struct {
				ID       string `json:"id"`
				Statuses []struct {
					State string `json:"state"`
				} `json:"statuses"`
			} `json:"tasks"`
		} `json:"frameworks"`
	}
	decodeJSON(t, resp, &state)
	resp.Body.Close()
	var states []string
	for _, f := range state.Frameworks {
		for _, tk := range f.Tasks {
			for _, s := range tk.Statuses {
				states = append(states, s.State)
			}
		}
	}
	if len(states) != 2 || states[0] != "TASK_STARTING" || states[1] != "TASK_RUNNING" {
		t.Errorf("statuses in /master/state = %v, want one per state: STARTING, RUNNING", states)
	}
}

func TestHealthChecksNegative(t *testing.T) {
	if _, err := local.New(local.Config{SandboxRoot: t.TempDir(), HealthChecks: -1}); err == nil {
		t.Fatal("New accepted -1 health checks a second")
	}
}
