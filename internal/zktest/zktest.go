// Package zktest starts a real Apache ZooKeeper server for a test. It is for
// tests only: no non-test code may import it.
//
// The server is the one in Debian's zookeeper package, run as a child
// process with java and /usr/share/java/zookeeper.jar, standalone, on a free
// loopback port, with its configuration, data and output in t.TempDir(). Its
// tick is short (200ms), so ZooKeeper clamps every session timeout to between
// 0.4s and 4s and expiry tests finish quickly.
//
// If java or the jar is missing, Start fails the test with the command that
// installs them, or skips it when OFFERDECK_SKIP_ZOOKEEPER=1 is set.
package zktest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	jar         = "/usr/share/java/zookeeper.jar"
	installHint = "apt-get install -y --no-install-recommends zookeeper"
	skipEnv     = "OFFERDECK_SKIP_ZOOKEEPER"

	// readyTimeout bounds a start; the JVM and ZooKeeper need about 3s on an
	// idle machine, more when tests start several servers at once.
	readyTimeout = 30 * time.Second
	// stopTimeout is how long a SIGTERMed server may take before SIGKILL.
	stopTimeout = 10 * time.Second
	// pollInterval paces srvr requests while the server starts, because
	// ZooKeeper announces readiness in no other way.
	pollInterval = 100 * time.Millisecond
	// outputTail is how much of the server's output a failure shows.
	outputTail = 8 << 10
)

// errExited reports that the server process ended while starting.
var errExited = errors.New("zookeeper exited while starting")

// Server is a ZooKeeper server run for one test. Its methods must be called
// from the test's goroutine, not concurrently.
type Server struct {
	t    testing.TB
	java string
	dir  string
	addr string

	// cmd is the running server process, nil when stopped. exited is closed
	// once cmd has been waited for.
	cmd    *exec.Cmd
	cancel context.CancelFunc
	exited chan struct{}
}

// Start starts a ZooKeeper server for t and returns its address,
// 127.0.0.1:port, to use as a ZooKeeper connect string. The server stops
// when t's cleanup runs.
func Start(t testing.TB) (connect string) {
	t.Helper()
	return StartServer(t).Addr()
}

// StartServer is Start for tests that need to stop or restart the server
// mid-test. It blocks until the server serves requests, for at most 30s.
func StartServer(t testing.TB) *Server {
	t.Helper()
	java, err := exec.LookPath("java")
	missing := ""
	switch {
	case err != nil:
		missing = "java not found"
	default:
		if _, err := os.Stat(jar); err != nil {
			missing = jar + " not found"
		}
	}
	if missing != "" {
		if os.Getenv(skipEnv) == "1" {
			t.Skipf("zookeeper is not installed (%s) and %s=1", missing, skipEnv)
		}
		t.Fatalf("zookeeper is not installed (%s): install it with `%s`, or set %s=1 to skip these tests",
			missing, installHint, skipEnv)
	}

	s := &Server{t: t, java: java, dir: t.TempDir()}
	t.Cleanup(s.cleanup)
	// Another process may take the free port before the server binds it;
	// then the server exits and a new port is tried.
	const attempts = 3
	for i := 1; ; i++ {
		s.addr = freeAddr(t)
		err := s.start()
		if err == nil {
			return s
		}
		if i == attempts || !errors.Is(err, errExited) {
			t.Fatalf("start zookeeper: %v\n%s", err, s.output())
		}
		t.Logf("start zookeeper on %s: %v; trying another port", s.addr, err)
	}
}

// Addr returns the server's address, 127.0.0.1:port. It stays the same
// across Restart.
func (s *Server) Addr() string { return s.addr }

// URL returns a zk:// URL for path on this server, such as
// zk://127.0.0.1:40123/mesos for "/mesos".
func (s *Server) URL(path string) string { return "zk://" + s.addr + path }

// Stop stops the server with SIGTERM, or SIGKILL after 10s, and waits for
// it to exit. Clients see their connections drop. Stopping a stopped server
// does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cancel()
	<-s.exited
	s.cmd = nil
}

// Restart stops the server if it is running and starts it again on the same
// address with the same data, so znodes survive, and so do sessions whose
// clients reconnect within their timeout. It fails the test if the server
// does not serve again within 30s.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("restart zookeeper: %v\n%s", err, s.output())
	}
}

func (s *Server) cleanup() {
	s.Stop()
	if s.t.Failed() {
		s.t.Logf("zookeeper on %s:\n%s", s.addr, s.output())
	}
}

// start writes the configuration, starts the process and waits until it
// serves.
func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.addr)
	cfg := filepath.Join(s.dir, "zoo.cfg")
	conf := strings.Join([]string{
		"tickTime=200",
		"dataDir=" + filepath.Join(s.dir, "data"),
		"clientPort=" + port,
		"clientPortAddress=127.0.0.1",
		"admin.enableServer=false",
		"4lw.commands.whitelist=ruok,srvr",
		"maxClientCnxns=0",
		"forceSync=no",
		"preAllocSize=1024",
		"",
	}, "\n")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return err
	}
	out, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close() // the child keeps its own descriptor
	fmt.Fprintf(out, "--- zktest: starting on %s\n", s.addr)

	// The server must outlive t.Context(), which ends before cleanups run,
	// so that clients stopped in cleanups can still say goodbye.
	ctx, cancel := context.WithCancel(context.WithoutCancel(s.t.Context()))
	cmd := exec.CommandContext(ctx, s.java,
		"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-cp", s.dir+string(os.PathListSeparator)+jar,
		"org.apache.zookeeper.server.ZooKeeperServerMain", cfg)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopTimeout
	if err := cmd.Start(); err != nil {
		cancel()
		return err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.cancel, s.exited = cmd, cancel, exited

	timeout := time.NewTimer(readyTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if reply, err := fourLetterWord(s.addr, "srvr"); err == nil && strings.Contains(reply, "Mode:") {
			return nil
		}
		select {
		case <-exited:
			cancel()
			s.cmd = nil
			return fmt.Errorf("%w: %v", errExited, waitErr)
		case <-timeout.C:
			s.Stop()
			return fmt.Errorf("zookeeper on %s did not answer srvr with Mode: within %v", s.addr, readyTimeout)
		case <-tick.C:
		}
	}
}

func (s *Server) logPath() string { return filepath.Join(s.dir, "zookeeper.log") }

// output returns the end of the server's output, for failure messages.
func (s *Server) output() string {
	b, err := os.ReadFile(s.logPath())
	if err != nil {
		return fmt.Sprintf("(no zookeeper output: %v)", err)
	}
	if len(b) > outputTail {
		b = b[len(b)-outputTail:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// fourLetterWord sends one of ZooKeeper's four-letter commands and returns
// the reply; the server closes the connection after replying.
func fourLetterWord(addr, word string) (string, error) {
	const timeout = time.Second
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(conn, word); err != nil {
		return "", err
	}
	b, err := io.ReadAll(conn)
	return string(b), err
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
