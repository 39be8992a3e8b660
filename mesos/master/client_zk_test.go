package master_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/internal/zktest"
	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/detect"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/local/localtest"
	"github.com/offerdeck/offerdeck/mesos/master"
)

// TestZooKeeperLeaderChange: two stand-ins announce themselves in a real
// ZooKeeper; the operator stream follows the leader, and when the leader
// stops it subscribes to the new one and starts over from its SUBSCRIBED.
func TestZooKeeperLeaderChange(t *testing.T) {
	zk := zktest.StartServer(t)
	zkURL := zk.URL("/mesos")

	// The first master is run here, so that the test can stop it.
	first, err := local.New(local.Config{SimulateCommands: true, SandboxRoot: t.TempDir(), ZooKeeper: zkURL, Hostname: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	firstURL := "http://" + ln.Addr().String()
	ctx, stopFirst := context.WithCancel(context.Background())
	firstDone := make(chan error, 1)
	go func() { firstDone <- first.Run(ctx, ln) }()
	t.Cleanup(func() { stopFirst(); <-firstDone })

	det, err := detect.NewZooKeeper(detect.Config{URL: zkURL})
	if err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithCancel(context.Background())
	detDone := make(chan error, 1)
	go func() { detDone <- det.Run(dctx) }()
	t.Cleanup(func() { cancel(); <-detDone })
	lctx, lcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer lcancel()
	if m, err := det.Leader(lctx, ""); err != nil || m.URL != firstURL {
		t.Fatalf("leader = %v, %v; want %s", m, err, firstURL)
	}
	second, secondURL := localtest.Start(t, local.Config{SimulateCommands: true, ZooKeeper: zkURL, Hostname: "127.0.0.1"})

	op := runOperator(t, master.Config{Detector: det})
	e := op.next(t, master.Event_SUBSCRIBED)
	if got := e.GetSubscribed().GetGetState().GetGetAgents().GetAgents()[0].GetAgentInfo().GetId().GetValue(); got[:36] != first.ID() {
		t.Fatalf("first SUBSCRIBED has agent %s, want one of master %s", got, first.ID())
	}
	stopFirst()
	e = op.next(t, master.Event_SUBSCRIBED)
	if got := e.GetSubscribed().GetGetState().GetGetAgents().GetAgents()[0].GetAgentInfo().GetId().GetValue(); got[:36] != second.ID() {
		t.Fatalf("SUBSCRIBED after the leader stopped has agent %s, want one of master %s", got, second.ID())
	}
	if st := op.Status(); st.Master != secondURL || st.State != mesos.Subscribed {
		t.Errorf("Status() = %+v, want subscribed to %s", st, secondURL)
	}
}
