package mesos_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/internal/zktest"
	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/detect"
)

// announce registers a fake master in ZooKeeper the way a real master
// does, until the returned stop is called.
func announce(t *testing.T, zkURL string, m *fakeMaster) (stop func()) {
	t.Helper()
	host, portText, _ := net.SplitHostPort(strings.TrimPrefix(m.URL(), "http://"))
	port, _ := strconv.Atoi(portText)
	info := fmt.Sprintf(`{"id":"%s","ip":16777343,"port":%d,"hostname":"%s","address":{"hostname":"%s","ip":"%s","port":%d}}`,
		portText, port, host, host, host, port)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := detect.Announce(ctx, zkURL, []byte(info), nil); err != nil {
			t.Errorf("announce: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestZooKeeperLeaderChange: two masters registered in a real ZooKeeper;
// the client subscribes to the leader, and when the leader's znode goes
// away it fails over to the other master with the same framework id.
func TestZooKeeperLeaderChange(t *testing.T) {
	zk := zktest.StartServer(t)
	zkURL := zk.URL("/mesos")
	first := newFakeMaster(t)
	second := newFakeMaster(t)
	stopFirst := announce(t, zkURL, first)

	det, err := detect.NewZooKeeper(detect.Config{URL: zkURL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	detDone := make(chan error, 1)
	go func() { detDone <- det.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-detDone
	})
	// The second registers after the first, so the first leads.
	waitLeader(t, det, first.URL())
	announce(t, zkURL, second)

	c := startClient(t, mesos.Config{Detector: det})
	first.nextStream(t).subscribed(t, "fw-zk", 15*time.Second)
	waitStatus(t, c.Client, "subscribed to the first master", func(s mesos.Status) bool {
		return s.State == mesos.Subscribed && s.Master == first.URL()
	})

	stopFirst() // the leader's ephemeral znode is removed
	s := second.nextStream(t)
	if got := s.req.call.GetFrameworkId().GetValue(); got != "fw-zk" {
		t.Errorf("SUBSCRIBE to the new leader has framework id %q, want fw-zk", got)
	}
	s.subscribed(t, "fw-zk", 15*time.Second)
	waitStatus(t, c.Client, "subscribed to the second master", func(s mesos.Status) bool {
		return s.State == mesos.Subscribed && s.Master == second.URL()
	})
}

func waitLeader(t *testing.T, det *detect.ZooKeeper, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	m, err := det.Leader(ctx, "")
	if err != nil || m.URL != url {
		t.Fatalf("leader = %v, %v; want %s", m, err, url)
	}
}
