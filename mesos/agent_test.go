package mesos_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/offerdeck/offerdeck/mesos"
)

// TestAgentGetUsesTheClientsTransportAndGuardsTheSecret: agents are read
// with the configured transport (here one that trusts a test CA, which
// http.DefaultClient does not), and the master's credentials go only to an
// agent on a master's own address, as the stand-in's agents are.
func TestAgentGetUsesTheClientsTransportAndGuardsTheSecret(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // host -> Authorization header
	record := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Host] = r.Header.Get("Authorization")
		mu.Unlock()
		w.Write([]byte(`{"data":"","offset":0}`))
	})
	master := httptest.NewTLSServer(record)
	defer master.Close()
	other := httptest.NewUnstartedServer(record)
	other.TLS = master.TLS // the same test certificate, trusted below
	other.StartTLS()
	defer other.Close()

	c, err := mesos.NewClient(mesos.Config{
		Masters:   []string{master.URL},
		Framework: framework(),
		Principal: "dash",
		Secret:    "s3:cr:et",
		Transport: master.Client().Transport.(*http.Transport),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, agent := range []string{master.URL, other.URL} {
		resp, err := c.AgentGet(t.Context(), agent, "/files/read?path=/x&offset=0")
		if err != nil {
			t.Fatalf("AgentGet(%s) = %v", agent, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("AgentGet(%s) = %d, want 200", agent, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, master.URL, nil)
	req.SetBasicAuth("dash", "s3:cr:et")
	mu.Lock()
	defer mu.Unlock()
	if got := seen[master.Listener.Addr().String()]; got != req.Header.Get("Authorization") {
		t.Errorf("the agent on the master's address got Authorization %q, want the principal's", got)
	}
	if got, ok := seen[other.Listener.Addr().String()]; !ok || got != "" {
		t.Errorf("an agent elsewhere got Authorization %q (asked: %v), want none", got, ok)
	}
	if _, err := c.AgentGet(t.Context(), "ftp://x", "/"); err == nil {
		t.Error("AgentGet of an ftp URL = nil error")
	}
}
