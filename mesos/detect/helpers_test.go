package detect_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/offerdeck/offerdeck/mesos/detect"
)

// waitTimeout bounds every wait on ZooKeeper. It is generous because
// reconnecting after a server restart takes seconds, more under -race.
const waitTimeout = 60 * time.Second

// logLines is a test's log: it copies every line to t.Output() and lets
// the test wait for a line. slog's text handler writes one line per Write.
type logLines struct {
	out io.Writer

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced when a line arrives
}

func newLog(t *testing.T) (*slog.Logger, *logLines) {
	l := &logLines{out: t.Output(), changed: make(chan struct{})}
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	close(l.changed)
	l.changed = make(chan struct{})
	return l.out.Write(p)
}

// wait blocks until a line contains every one of parts.
func (l *logLines) wait(t *testing.T, parts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	for {
		l.mu.Lock()
		found := slices.ContainsFunc(l.lines, func(line string) bool {
			return !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) })
		})
		changed := l.changed
		l.mu.Unlock()
		if found {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no log line with %q within %v", parts, waitTimeout)
		case <-changed:
		}
	}
}

// startDetector runs a detector for zkURL until the test ends.
func startDetector(t *testing.T, cfg detect.Config) *detect.ZooKeeper {
	t.Helper()
	d, err := detect.NewZooKeeper(cfg)
	if err != nil {
		t.Fatalf("NewZooKeeper(%+v) error = %v", cfg, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	})
	return d
}

// announce announces a master until the returned stop is called or the test
// ends. stop waits for Announce to return.
func announce(t *testing.T, zkURL string, info []byte, log *slog.Logger) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- detect.Announce(ctx, zkURL, info, log) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Announce(%s) = %v, want nil", info, err)
		}
	})
	t.Cleanup(stop)
	return stop
}

// leader calls Leader with waitTimeout.
func leader(t *testing.T, d *detect.ZooKeeper, notURL string) detect.Master {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	m, err := d.Leader(ctx, notURL)
	if err != nil {
		t.Fatalf("Leader(%q) error = %v", notURL, err)
	}
	return m
}

// info returns a MasterInfo as a Mesos master writes it.
func info(host string, port int) []byte {
	return fmt.Appendf(nil, `{"address":{"hostname":%q,"ip":"127.0.0.1","port":%d},"hostname":%q,`+
		`"id":"id-%s","ip":16777343,"pid":"master@127.0.0.1:%d","port":%d,"version":"1.11.0"}`,
		host, port, host, host, port, port)
}

// connect opens a plain ZooKeeper client for arranging znodes by hand.
func connect(t *testing.T, addr string, log *slog.Logger) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect([]string{addr}, 10*time.Second,
		zk.WithLogger(printfLogger{log.With("client", "test")}))
	if err != nil {
		t.Fatalf("connect to zookeeper %s: %v", addr, err)
	}
	t.Cleanup(func() {
		conn.Close()
		for range events { // closed once the library's goroutines have exited
		}
	})
	return conn
}

type printfLogger struct{ log *slog.Logger }

func (l printfLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...))
}

// create creates a znode, failing the test on error. It returns the
// znode's name.
func create(t *testing.T, conn *zk.Conn, path string, data []byte, flags int32) string {
	t.Helper()
	name, err := conn.Create(path, data, flags, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	return name
}

// waitMembers waits until path has exactly n json.info_ children and
// returns their names sorted.
func waitMembers(t *testing.T, conn *zk.Conn, path string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	for {
		children, _, watch, err := conn.ChildrenW(path)
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			t.Fatalf("list %s: %v", path, err)
		}
		var members []string
		for _, c := range children {
			if strings.HasPrefix(c, "json.info_") {
				members = append(members, c)
			}
		}
		if len(members) == n {
			slices.Sort(members)
			return members
		}
		if errors.Is(err, zk.ErrNoNode) {
			_, _, watch, err = conn.ExistsW(path)
			if err != nil {
				t.Fatalf("watch %s: %v", path, err)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s has members %q, want %d within %v", path, members, n, waitTimeout)
		case <-watch:
		}
	}
}

// proxy forwards TCP connections to a ZooKeeper server and can cut them
// off, so that the server sees its clients vanish while it keeps running.
type proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu      sync.Mutex
	blocked bool
	conns   map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	p := &proxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.block()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

func (p *proxy) serve(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		c.Close()
		up.Close()
		return
	}
	var copies sync.WaitGroup
	copies.Go(func() { io.Copy(up, c); up.Close(); c.Close() })
	copies.Go(func() { io.Copy(c, up); up.Close(); c.Close() })
	copies.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// track records a live connection pair, or reports false while blocked.
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.blocked {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// block drops every connection and refuses new ones until unblock.
func (p *proxy) block() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *proxy) unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = false
}
