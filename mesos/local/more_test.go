package local_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/internal/zktest"
	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/detect"
	"github.com/offerdeck/offerdeck/mesos/local"
)

func TestLaunchGroup(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", func(fi *mesos.FrameworkInfo) {
		fi.Capabilities = []*mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_TASK_KILLING_STATE.Enum()}}
	})
	o := c.nextOffer(t, "agent-3.demo")
	exec := &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_DEFAULT.Enum(),
		ExecutorId: &mesos.ExecutorID{Value: proto.String("grp-exec")},
		Resources:  []*mesos.Resource{mesos.Scalar("cpus", 0.1), mesos.Scalar("mem", 32), mesos.Scalar("disk", 10)},
	}
	a := commandTask("grp-a", "sleep 60")
	b := commandTask("grp-b", "sleep 60")
	a.AgentId, b.AgentId = o.GetAgentId(), o.GetAgentId()
	err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_ACCEPT.Enum(), Accept: &mesos.Call_Accept{
		OfferIds: []*mesos.OfferID{o.GetId()},
		Operations: []*mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH_GROUP.Enum(), LaunchGroup: &mesos.Offer_Operation_LaunchGroup{
			Executor: exec, TaskGroup: &mesos.TaskGroupInfo{Tasks: []*mesos.TaskInfo{a, b}},
		}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	running := map[string]bool{}
	for len(running) < 2 {
		st := c.next(t, mesos.Event_UPDATE).GetUpdate().GetStatus()
		c.ack(t, st)
		if st.GetState() == mesos.TaskState_TASK_RUNNING {
			running[st.GetTaskId().GetValue()] = true
		}
	}
	// Killing one task of a group kills the group.
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_KILL.Enum(), Kill: &mesos.Call_Kill{TaskId: &mesos.TaskID{Value: proto.String("grp-a")}}}); err != nil {
		t.Fatal(err)
	}
	killed := map[string]bool{}
	for len(killed) < 2 {
		st := c.next(t, mesos.Event_UPDATE).GetUpdate().GetStatus()
		c.ack(t, st)
		if st.GetState() == mesos.TaskState_TASK_KILLED {
			killed[st.GetTaskId().GetValue()] = true
		}
	}

	// A group whose executor lacks resources fails as a whole.
	o = c.nextOffer(t, "")
	bad := proto.CloneOf(exec)
	bad.Resources = []*mesos.Resource{mesos.Scalar("cpus", 0.1)}
	x, y := commandTask("bad-x", "true"), commandTask("bad-y", "true")
	x.AgentId, y.AgentId = o.GetAgentId(), o.GetAgentId()
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_ACCEPT.Enum(), Accept: &mesos.Call_Accept{
		OfferIds: []*mesos.OfferID{o.GetId()},
		Operations: []*mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH_GROUP.Enum(), LaunchGroup: &mesos.Offer_Operation_LaunchGroup{
			Executor: bad, TaskGroup: &mesos.TaskGroupInfo{Tasks: []*mesos.TaskInfo{x, y}},
		}}},
	}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"bad-x", "bad-y"} {
		st := c.nextUpdate(t, id)
		if st.GetState() != mesos.TaskState_TASK_ERROR || st.GetReason() != mesos.TaskStatus_REASON_TASK_GROUP_INVALID {
			t.Errorf("%s = %v %v, want TASK_ERROR REASON_TASK_GROUP_INVALID", id, st.GetState(), st.GetReason())
		}
	}
}

// TestSilentHeartbeatsMakeClientResubscribe: with heartbeats stopped and
// the connection left open, a client notices and subscribes again.
func TestSilentHeartbeatsMakeClientResubscribe(t *testing.T) {
	m, base := startMaster(t, local.Config{HeartbeatInterval: 50 * time.Millisecond, AllocationInterval: time.Hour})
	c := newClient(t, base, "", func(fi *mesos.FrameworkInfo) { fi.FailoverTimeout = proto.Float64(60) })
	first := c.next(t, mesos.Event_SUBSCRIBED)
	if got := first.GetSubscribed().GetHeartbeatIntervalSeconds(); got != 0.05 {
		t.Errorf("heartbeat_interval_seconds = %v, want the configured 0.05", got)
	}
	c.next(t, mesos.Event_HEARTBEAT)
	m.StopHeartbeats(true)
	again := c.next(t, mesos.Event_SUBSCRIBED)
	if again.GetSubscribed().GetFrameworkId().GetValue() != first.GetSubscribed().GetFrameworkId().GetValue() {
		t.Error("the client did not fail over its framework")
	}
}

func TestResponseDelayAndAddAgent(t *testing.T) {
	m, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", nil)
	c.nextOffer(t, "")
	m.SetResponseDelay(200 * time.Millisecond)
	start := time.Now()
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_REVIVE.Enum()}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 190*time.Millisecond {
		t.Errorf("call answered after %v despite a 200 ms delay", took)
	}
	m.SetResponseDelay(0)
	id, err := m.AddAgent(local.AgentConfig{Hostname: "late.demo", CPUs: 1, Mem: 128, Attributes: "rack:late"})
	if err != nil {
		t.Fatal(err)
	}
	o := c.nextOffer(t, "late.demo")
	if o.GetAgentId().GetValue() != id || mesos.AttributeText(o.GetAttributes()[0]) != "late" {
		t.Errorf("offer from the added agent = %v", o)
	}
	if _, err := m.AddAgent(local.AgentConfig{Hostname: "bad", Attributes: "no-colon"}); err == nil || !strings.Contains(err.Error(), "name:value") {
		t.Errorf("AddAgent with bad attributes = %v", err)
	}
}

// TestAnnouncesInZooKeeper: with a zk:// URL the stand-in registers like a
// real master, so the detector finds it.
func TestAnnouncesInZooKeeper(t *testing.T) {
	zk := zktest.StartServer(t)
	m, base := startMaster(t, local.Config{ZooKeeper: zk.URL("/mesos")})
	det, err := detect.NewZooKeeper(detect.Config{URL: zk.URL("/mesos")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); det.Run(ctx) }()
	defer func() { cancel(); <-done }()
	lctx, lcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer lcancel()
	leader, err := det.Leader(lctx, "")
	_, port, _ := strings.Cut(strings.TrimPrefix(base, "http://"), ":")
	if err != nil || leader.ID != m.ID() || !strings.HasSuffix(leader.URL, ":"+port) {
		t.Fatalf("detected leader = %+v, %v; want master %s on port %s", leader, err, m.ID(), port)
	}
}
