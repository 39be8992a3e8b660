package local_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
)

// TestSlowClientsGiveTheirConnectionBack: a request whose body never
// comes, and a kept-alive connection that sends nothing more, are closed
// after their timeouts; a SUBSCRIBE stream lasts well beyond them.
func TestSlowClientsGiveTheirConnectionBack(t *testing.T) {
	const timeout = 300 * time.Millisecond
	_, base := startMaster(t, local.Config{ReadTimeout: timeout, IdleTimeout: timeout, HeartbeatInterval: 100 * time.Millisecond})
	addr := strings.TrimPrefix(base, "http://")

	closedWithin := func(what, send string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, send); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, c) // until the server closes it
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s: the connection stayed open %v, want it closed after about %v", what, took, timeout)
		}
	}
	closedWithin("a body that never comes", fmt.Sprintf("POST /api/v1/scheduler HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", addr))
	closedWithin("an idle kept-alive connection", fmt.Sprintf("GET /health HTTP/1.1\r\nHost: %s\r\n\r\n", addr))

	// A subscription outlives the read timeout many times over.
	c := newClient(t, base, "", nil)
	deadline := time.Now().Add(10 * timeout)
	for beats := 0; time.Now().Before(deadline); beats++ {
		c.next(t, mesos.Event_HEARTBEAT)
	}
}

// TestLongNamesAreCutInTheLog: a framework named with a megabyte is
// registered, and the log says so in a line of bounded length.
func TestLongNamesAreCutInTheLog(t *testing.T) {
	var logged safeBuffer
	_, base := startMaster(t, local.Config{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	name := strings.Repeat("n", 1<<20)
	c := newClient(t, base, "", func(fi *mesos.FrameworkInfo) { fi.Name = &name })
	c.next(t, mesos.Event_SUBSCRIBED)
	for _, line := range strings.Split(logged.String(), "\n") {
		if len(line) > 2<<10 {
			t.Errorf("a log line of %d bytes: %.120s…", len(line), line)
		}
	}
	if !strings.Contains(logged.String(), "1048576 bytes") {
		t.Errorf("the log does not say how long the cut name was:\n%.500s", logged.String())
	}
}

// safeBuffer is a bytes.Buffer for a logger written from several
// goroutines.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
