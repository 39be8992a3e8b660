package local_test

import (
	"context"
	"encoding/json"
	"maps"
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

// TestAgentsKeepTheirIDsOnTheSameSandboxFolder: a stand-in started again
// on the same sandbox folder is a new master (new id) whose agents keep the
// ids they had, as Mesos agents recover theirs from their work_dir.
func TestAgentsKeepTheirIDsOnTheSameSandboxFolder(t *testing.T) {
	root := t.TempDir()
	agentIDs := func() (master string, byHost map[string]string) {
		t.Helper()
		m, err := local.New(local.Config{SandboxRoot: root, SimulateCommands: true})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx, ln) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
		}()
		resp, err := http.Get("http://" + ln.Addr().String() + "/master/state")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct {
			Slaves []struct{ ID, Hostname string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		byHost = map[string]string{}
		for _, s := range st.Slaves {
			byHost[s.Hostname] = s.ID
		}
		return m.ID(), byHost
	}
	firstMaster, first := agentIDs()
	secondMaster, second := agentIDs()
	if len(first) != 3 || !maps.Equal(first, second) {
		t.Errorf("agents' ids = %v, then %v; want the same three", first, second)
	}
	if firstMaster == secondMaster {
		t.Errorf("both masters have id %s, want a new one", firstMaster)
	}
}
