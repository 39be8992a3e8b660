package local_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
)

// TestScaleMode: 10,000 simulated agents are usable: a framework gets an
// offer from every one of them, launches simulated tasks on them, and the
// tasks run. Bounded by generous timeouts only; speed is for benchmarks.
func TestScaleMode(t *testing.T) {
	if testing.Short() {
		t.Skip("scale mode in -short")
	}
	const agents = 10000
	_, base := startMaster(t, local.Config{Agents: local.ScaleAgents(agents), SimulateCommands: true, SimulatedRunTime: time.Hour, AllocationInterval: time.Second})
	c := newClient(t, base, "", nil)
	// Generous: 10,000 agents' first offers under -race, with the other
	// packages' tests on the same two cores, took over 10 s.
	c.wait = time.Minute
	start := time.Now()
	seen := map[string]*mesos.Offer{}
	for len(seen) < agents {
		e := c.next(t, mesos.Event_OFFERS)
		for _, o := range e.GetOffers().GetOffers() {
			seen[o.GetAgentId().GetValue()] = o
		}
	}
	t.Logf("offers from %d agents after %v", len(seen), time.Since(start).Round(time.Millisecond))

	// Launch one simulated task on each of 1,000 agents in one burst.
	n := 0
	for _, o := range seen {
		if n == 1000 {
			break
		}
		n++
		ti := commandTask("t-"+o.GetHostname(), "sleep 3600")
		c.launch(t, o, ti, &mesos.Filters{RefuseSeconds: proto.Float64(3600)})
	}
	running := 0
	start = time.Now()
	for running < n {
		st := c.next(t, mesos.Event_UPDATE).GetUpdate().GetStatus()
		c.ack(t, st)
		if st.GetState() == mesos.TaskState_TASK_RUNNING {
			running++
		}
	}
	t.Logf("%d simulated tasks running %v after the launches", running, time.Since(start).Round(time.Millisecond))
}
