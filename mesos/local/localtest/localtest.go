// Package localtest starts the stand-in master for other packages' tests,
// over real HTTP on a loopback port. It is for tests only: no non-test
// code may import it.
package localtest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos/local"
)

// Start runs a stand-in master for the test and stops it (and every task
// it started) when the test ends. Zero fields of cfg get test-friendly
// values: a sandbox folder in t.TempDir and a 50 ms allocation interval.
// It returns the master and its base URL.
func Start(t testing.TB, cfg local.Config) (*local.Master, string) {
	t.Helper()
	if cfg.SandboxRoot == "" {
		cfg.SandboxRoot = t.TempDir()
	}
	if cfg.AllocationInterval == 0 {
		cfg.AllocationInterval = 50 * time.Millisecond
	}
	m, err := local.New(cfg)
	if err != nil {
		t.Fatalf("start stand-in master: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start stand-in master: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("stand-in master: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("stand-in master did not stop within 15s")
		}
	})
	return m, "http://" + ln.Addr().String()
}
