package detect_test

import (
	"context"
	"errors"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/offerdeck/offerdeck/internal/zktest"
	"github.com/offerdeck/offerdeck/mesos/detect"
)

func TestLeaderIsLowestSequence(t *testing.T) {
	t.Parallel()
	log, _ := newLog(t)
	srv := zktest.StartServer(t)
	url := srv.URL("/mesos")
	conn := connect(t, srv.Addr(), log)
	d := startDetector(t, detect.Config{URL: url, Logger: log.With("component", "detector")})

	// Each master announces itself in a different MasterInfo shape.
	first := detect.Master{URL: "http://m1:5051", ID: "id-m1", Hostname: "m1", Version: "1.11.0"}
	stopFirst := announce(t, url, info("m1", 5051), log.With("master", "m1"))
	if got := leader(t, d, ""); got != first {
		t.Fatalf("Leader() = %+v, want %+v", got, first)
	}

	second := detect.Master{URL: "http://127.0.0.1:5052", ID: "id-m2"}
	announce(t, url, []byte(`{"id":"id-m2","ip":16777343,"port":5052}`), log.With("master", "m2"))
	waitMembers(t, conn, "/mesos", 2)
	if got := leader(t, d, ""); got != first {
		t.Errorf("Leader() with two masters = %+v, want the first, %+v", got, first)
	}

	stopFirst() // deletes its znode
	if got := leader(t, d, first.URL); got != second {
		t.Fatalf("Leader(%q) after the first withdrew = %+v, want %+v", first.URL, got, second)
	}

	announce(t, url, []byte(`{"id":"id-m3","hostname":"m3","port":5053}`), log.With("master", "m3"))
	waitMembers(t, conn, "/mesos", 2)
	if got := leader(t, d, ""); got != second {
		t.Errorf("Leader() after a third announced = %+v, want %+v", got, second)
	}
}

func TestLeaderIgnoresOtherChildren(t *testing.T) {
	t.Parallel()
	log, lines := newLog(t)
	srv := zktest.StartServer(t)
	url := srv.URL("/mesos")
	conn := connect(t, srv.Addr(), log)

	// Children that are no json.info_ member, each with data that would make
	// it the leader if it were taken for one, and created before any member
	// so that it would come first in sequence order.
	create(t, conn, "/mesos", nil, 0)
	create(t, conn, "/mesos/log_replicas", info("log-replicas", 1), 0)
	create(t, conn, "/mesos/info_", info("legacy", 2), zk.FlagSequence)
	create(t, conn, "/mesos/junk", info("junk", 3), 0)
	create(t, conn, "/mesos/json.info_", info("no-number", 4), 0)
	create(t, conn, "/mesos/json.info_12x", info("not-a-number", 5), 0)
	create(t, conn, "/mesos/json.info_-0000000001", info("negative", 6), 0)
	create(t, conn, "/mesos/_c_0123-json.info_0000000000", info("protected", 7), 0)
	// A member that comes first but whose data is unusable is skipped.
	broken := create(t, conn, "/mesos/json.info_", []byte("master@127.0.0.1:5050"), zk.FlagSequence)

	d := startDetector(t, detect.Config{URL: url, Logger: log.With("component", "detector")})
	announce(t, url, info("m1", 5051), log.With("master", "m1"))
	if got, want := leader(t, d, "").URL, "http://m1:5051"; got != want {
		t.Fatalf("Leader().URL = %q, want %q", got, want)
	}
	lines.wait(t, "skipping master with unusable info", "node="+broken)

	// Members are ordered by number, not by name: json.info_1 comes before
	// m1's json.info_00000000NN, although it sorts after it as a string.
	create(t, conn, "/mesos/json.info_1", info("unpadded", 5052), 0)
	if got, want := leader(t, d, "http://m1:5051").URL, "http://unpadded:5052"; got != want {
		t.Errorf("Leader(%q).URL = %q, want %q", "http://m1:5051", got, want)
	}
}

func TestLeaderWaitsForPath(t *testing.T) {
	t.Parallel()
	log, lines := newLog(t)
	srv := zktest.StartServer(t)
	url := srv.URL("/later/mesos")
	d := startDetector(t, detect.Config{URL: url, Logger: log.With("component", "detector")})
	lines.wait(t, "masters' path missing", "path=/later/mesos")

	announce(t, url, info("m1", 5051), log.With("master", "m1")) // creates the path
	if got, want := leader(t, d, "").URL, "http://m1:5051"; got != want {
		t.Errorf("Leader().URL = %q, want %q", got, want)
	}
}

func TestLeaderAfterZooKeeperRestart(t *testing.T) {
	t.Parallel()
	log, _ := newLog(t)
	srv := zktest.StartServer(t)
	url := srv.URL("/mesos")
	d := startDetector(t, detect.Config{URL: url, Logger: log.With("component", "detector")})
	stopFirst := announce(t, url, info("m1", 5051), log.With("master", "m1"))
	if got, want := leader(t, d, "").URL, "http://m1:5051"; got != want {
		t.Fatalf("Leader().URL = %q, want %q", got, want)
	}

	srv.Restart()

	// The first master's znode survives if its session did; withdrawing it
	// removes it either way, and the detector must notice through its
	// reconnected (or renewed) session.
	announce(t, url, info("m2", 5052), log.With("master", "m2"))
	stopFirst()
	if got, want := leader(t, d, "http://m1:5051").URL, "http://m2:5052"; got != want {
		t.Errorf("Leader().URL after restart = %q, want %q", got, want)
	}
}

func TestLeaderAfterSessionExpiry(t *testing.T) {
	t.Parallel()
	log, lines := newLog(t)
	srv := zktest.StartServer(t)
	conn := connect(t, srv.Addr(), log)
	// The detector and the first master reach ZooKeeper through a proxy
	// that can cut them off; the server caps sessions at 4s (zktest), and
	// the detector asks for the minimum.
	p := startProxy(t, srv.Addr())
	viaProxy := "zk://" + p.addr() + "/mesos"
	d := startDetector(t, detect.Config{URL: viaProxy, SessionTimeout: time.Second, Logger: log.With("component", "detector")})
	announce(t, viaProxy, info("m1", 5051), log.With("master", "m1"))
	if got, want := leader(t, d, "").URL, "http://m1:5051"; got != want {
		t.Fatalf("Leader().URL = %q, want %q", got, want)
	}
	first := waitMembers(t, conn, "/mesos", 1)[0]

	p.block()
	// The first master's znode goes when the server expires its session;
	// the detector's shorter session has expired by then too.
	waitGone(t, conn, path.Join("/mesos", first))
	announce(t, srv.URL("/mesos"), info("m2", 5052), log.With("master", "m2"))
	waitMembers(t, conn, "/mesos", 1)
	p.unblock()

	if got, want := leader(t, d, "http://m1:5051").URL, "http://m2:5052"; got != want {
		t.Errorf("Leader().URL after session expiry = %q, want %q", got, want)
	}
	lines.wait(t, "zookeeper session expired", "component=detector")
	// The first master announces itself again, behind the second.
	lines.wait(t, "master znode gone", "master=m1")
	waitMembers(t, conn, "/mesos", 2)
	if got, want := leader(t, d, "").URL, "http://m2:5052"; got != want {
		t.Errorf("Leader().URL after the first master came back = %q, want %q", got, want)
	}
}

func TestAnnounceWithCredentials(t *testing.T) {
	t.Parallel()
	log, _ := newLog(t)
	srv := zktest.StartServer(t)
	conn := connect(t, srv.Addr(), log)
	announce(t, "zk://master:s3cret@"+srv.Addr()+"/secure/mesos", info("m1", 5051), log.With("master", "m1"))
	member := path.Join("/secure/mesos", waitMembers(t, conn, "/secure/mesos", 1)[0])

	// Anyone may read the masters' group; only the credentials may change it.
	d := startDetector(t, detect.Config{URL: srv.URL("/secure/mesos"), Logger: log.With("component", "detector")})
	if got, want := leader(t, d, "").URL, "http://m1:5051"; got != want {
		t.Errorf("Leader().URL = %q, want %q", got, want)
	}
	if err := conn.Delete(member, -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("Delete(%s) without credentials = %v, want %v", member, err, zk.ErrNoAuth)
	}
	if _, err := conn.Create("/secure/mesos/json.info_", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("Create in the group without credentials = %v, want %v", err, zk.ErrNoAuth)
	}
}

// waitGone waits until node no longer exists.
func waitGone(t *testing.T, conn *zk.Conn, node string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	for {
		exists, _, watch, err := conn.ExistsW(node)
		if err != nil {
			t.Fatalf("watch %s: %v", node, err)
		}
		if !exists {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s still exists after %v", node, waitTimeout)
		case <-watch:
		}
	}
}

func TestLeaderWithoutRun(t *testing.T) {
	d, err := detect.NewZooKeeper(detect.Config{URL: "zk://127.0.0.1:1/mesos"})
	if err != nil {
		t.Fatalf("NewZooKeeper() error = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	m, err := d.Leader(ctx, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Leader() with a cancelled context = %+v, %v, want %v", m, err, context.Canceled)
	}
}

func TestNewZooKeeperErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     detect.Config
		wantErr string
	}{
		{"no url", detect.Config{}, "must start with zk://"},
		{"root path", detect.Config{URL: "zk://zk1:2181/"}, `not "/"`},
		{"negative timeout", detect.Config{URL: "zk://zk1:2181/mesos", SessionTimeout: -1}, "below 100ms"},
		{"tiny timeout", detect.Config{URL: "zk://zk1:2181/mesos", SessionTimeout: time.Millisecond}, "below 100ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := detect.NewZooKeeper(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("NewZooKeeper(%+v) error = %v, want one containing %q", tc.cfg, err, tc.wantErr)
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	d, err := detect.NewZooKeeper(detect.Config{URL: "zk://127.0.0.1:1/mesos"})
	if err != nil {
		t.Fatalf("NewZooKeeper() error = %v", err)
	}
	// Nothing listens on port 1: the Run that gets going keeps trying until
	// it is stopped, and the other one must refuse at once.
	ctx, cancel := context.WithCancel(t.Context())
	results := make(chan error, 2)
	for range 2 {
		go func() { results <- d.Run(ctx) }()
	}
	refused := <-results
	cancel()
	stopped := <-results
	if refused == nil || !strings.Contains(refused.Error(), "already running") {
		t.Errorf("concurrent Run() = %v, want an error saying it is already running", refused)
	}
	if stopped != nil {
		t.Errorf("Run() = %v, want nil", stopped)
	}
}

func TestAnnounceErrors(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		info    string
		wantErr string
	}{
		{"bad url", "zk://zk1:2181/", `{"hostname":"m1"}`, `not "/"`},
		{"info not json", "zk://zk1:2181/mesos", `master@10.0.0.1:5050`, "parse master info"},
		{"info without host", "zk://zk1:2181/mesos", `{"port":5050}`, "no hostname or ip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := detect.Announce(t.Context(), tc.url, []byte(tc.info), nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Announce(%q, %s) = %v, want an error containing %q", tc.url, tc.info, err, tc.wantErr)
			}
		})
	}
}
