package zktest_test

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/internal/zktest"
)

func TestServerStopRestart(t *testing.T) {
	srv := zktest.StartServer(t)
	if got := srvr(t, srv.Addr()); !strings.Contains(got, "Mode: standalone") {
		t.Fatalf("srvr after Start = %q, want Mode: standalone", got)
	}
	if want := "zk://" + srv.Addr() + "/mesos"; srv.URL("/mesos") != want {
		t.Errorf("URL(%q) = %q, want %q", "/mesos", srv.URL("/mesos"), want)
	}

	srv.Stop()
	if conn, err := net.Dial("tcp", srv.Addr()); err == nil {
		conn.Close()
		t.Fatalf("dial %s after Stop succeeded, want connection refused", srv.Addr())
	}

	addr := srv.Addr()
	srv.Restart()
	if srv.Addr() != addr {
		t.Errorf("Addr() after Restart = %q, want %q", srv.Addr(), addr)
	}
	if got := srvr(t, srv.Addr()); !strings.Contains(got, "Mode: standalone") {
		t.Errorf("srvr after Restart = %q, want Mode: standalone", got)
	}
}

func srvr(t *testing.T, addr string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "srvr"); err != nil {
		t.Fatalf("send srvr: %v", err)
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("read srvr reply: %v", err)
	}
	return string(b)
}
