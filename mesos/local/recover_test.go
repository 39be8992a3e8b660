package local_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos/local"
)

// TestSandboxFolderHasOneStandIn: a stand-in recovering a sandbox folder
// kills what it finds of earlier runs, so a second one on a folder in use
// must refuse to start rather than kill the first one's tasks.
func TestSandboxFolderHasOneStandIn(t *testing.T) {
	root := t.TempDir()
	_, base := startMaster(t, local.Config{SandboxRoot: root, SimulateCommands: true})
	// Once it answers, it serves, so it holds the folder.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m, err := local.New(local.Config{SandboxRoot: root, SimulateCommands: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := m.Run(ctx, ln); err == nil || !strings.Contains(err.Error(), "in use by another stand-in") {
		t.Fatalf("Run on a sandbox folder in use = %v, want a refusal", err)
	}
}
