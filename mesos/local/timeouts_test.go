package local_test

import (
	"fmt"
	"io"
	"net"
	"strings"
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
