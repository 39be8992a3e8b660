package local_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
)

// acceptAll accepts several offers at once with one command task.
func (c *testClient) acceptAll(t *testing.T, ids []*mesos.OfferID, ti *mesos.TaskInfo) {
	t.Helper()
	err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_ACCEPT.Enum(), Accept: &mesos.Call_Accept{
		OfferIds: ids,
		Operations: []*mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH.Enum(),
			Launch: &mesos.Offer_Operation_Launch{TaskInfos: []*mesos.TaskInfo{ti}}}},
		Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0)},
	}})
	if err != nil {
		t.Fatalf("ACCEPT: %v", err)
	}
}

// TestAcceptAggregatesOneAgentsOffers: an agent offered in two pieces (a
// task ended while the framework held the rest) is accepted in one ACCEPT
// of both offers, for a task needing more than either piece, as the
// master allows for offers of one agent and one role.
func TestAcceptAggregatesOneAgentsOffers(t *testing.T) {
	_, base := startMaster(t, local.Config{Agents: local.DemoAgents()[:1]})
	c := newClient(t, base, "", nil)

	whole := c.nextOffer(t, "agent-1.demo")
	short := commandTask("short", "sleep 600")
	c.launch(t, whole, short, &mesos.Filters{RefuseSeconds: proto.Float64(0)})
	rest := c.nextOffer(t, "agent-1.demo") // 1.9 cpus, 464 MB
	if got := mesos.ScalarSum(rest.GetResources(), "cpus"); got != 1.9 {
		t.Fatalf("rest offered with cpus %v, want 1.9", got)
	}
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_KILL.Enum(), Kill: &mesos.Call_Kill{TaskId: short.GetTaskId()}}); err != nil {
		t.Fatalf("KILL: %v", err)
	}
	for st := c.nextUpdate(t, "short"); !mesos.IsTerminal(st.GetState()); st = c.nextUpdate(t, "short") {
		c.ack(t, st)
	}
	piece := c.nextOffer(t, "agent-1.demo") // what the task freed
	if got := mesos.ScalarSum(piece.GetResources(), "cpus"); got != 0.1 {
		t.Fatalf("freed piece offered with cpus %v, want 0.1", got)
	}

	big := commandTask("big", "true")
	big.AgentId = rest.GetAgentId()
	big.Resources = []*mesos.Resource{mesos.Scalar("cpus", 2), mesos.Scalar("mem", 400)}
	c.acceptAll(t, []*mesos.OfferID{rest.GetId(), piece.GetId()}, big)
	if st := c.nextUpdate(t, "big"); st.GetState() != mesos.TaskState_TASK_STARTING {
		t.Fatalf("task on both offers: %v (%s), want STARTING", st.GetState(), st.GetMessage())
	}
}

// TestAcceptRefusesOffersOfTwoAgents: offers of different agents in one
// ACCEPT lose its tasks with the master's words, and the offers are
// discarded (offered again, with no filter).
func TestAcceptRefusesOffersOfTwoAgents(t *testing.T) {
	_, base := startMaster(t, local.Config{Agents: local.DemoAgents()[:2]})
	c := newClient(t, base, "", nil)
	one, two := c.nextOffer(t, "agent-1.demo"), c.nextOffer(t, "agent-2.demo")

	ti := commandTask("mixed", "true")
	ti.AgentId = one.GetAgentId()
	c.acceptAll(t, []*mesos.OfferID{one.GetId(), two.GetId()}, ti)
	st := c.nextUpdate(t, "mixed")
	want := "Task launched with invalid offers: Aggregated offers must belong to one single agent. Offer " +
		two.GetId().GetValue() + " uses agent " + two.GetAgentId().GetValue() + " and agent " + one.GetAgentId().GetValue()
	if st.GetState() != mesos.TaskState_TASK_LOST || st.GetReason() != mesos.TaskStatus_REASON_INVALID_OFFERS || st.GetMessage() != want {
		t.Errorf("update = %v %v %q, want TASK_LOST REASON_INVALID_OFFERS %q", st.GetState(), st.GetReason(), st.GetMessage(), want)
	}
	// Discarded, not declined: both agents are offered again at once.
	var three *mesos.Offer
	for _, host := range []string{"agent-1.demo", "agent-2.demo"} {
		three = c.nextOffer(t, host)
		if id := three.GetId().GetValue(); id == one.GetId().GetValue() || id == two.GetId().GetValue() {
			t.Errorf("offer %s of %s again, want a new offer", id, host)
		}
	}

	// A duplicate is found before anything else, as the master checks it first.
	dup := commandTask("dup", "true")
	dup.AgentId = three.GetAgentId()
	c.acceptAll(t, []*mesos.OfferID{{Value: proto.String("gone")}, three.GetId(), three.GetId()}, dup)
	if st := c.nextUpdate(t, "dup"); st.GetMessage() != "Task launched with invalid offers: Duplicate offer "+three.GetId().GetValue()+" in offer list" {
		t.Errorf("duplicate and unknown offers: %q, want the duplicate named first", st.GetMessage())
	}
}
