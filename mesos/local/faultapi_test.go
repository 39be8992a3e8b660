package local_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
)

// faultCall posts to the fault API and returns the status and body.
func faultCall(t *testing.T, base, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFaultAPI breaks the stand-in over HTTP as a test outside the process
// would, and checks a subscribed framework sees what the Go fault methods
// make it see.
func TestFaultAPI(t *testing.T) {
	_, base := startMaster(t, local.Config{FaultAPI: true})
	c := newClient(t, base, "", nil)
	o := c.nextOffer(t, "agent-2.demo")
	agent := o.GetAgentId().GetValue()

	// An added agent is offered.
	status, body := faultCall(t, base, "POST", "/faults/agents", `{"hostname":"late.demo","cpus":1,"mem":64,"attributes":"rack:late"}`, nil)
	var added struct {
		AgentID string `json:"agent_id"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &added) != nil || added.AgentID == "" {
		t.Fatalf("add agent = %d %q", status, body)
	}
	if got := c.nextOffer(t, "late.demo"); got.GetAgentId().GetValue() != added.AgentID {
		t.Errorf("offer of the added agent names %q, the API answered %q", got.GetAgentId().GetValue(), added.AgentID)
	}

	// A removed agent's offer is rescinded and the framework told.
	if status, body := faultCall(t, base, "POST", "/faults/agents/"+agent+"/remove", "", nil); status != 200 || !strings.Contains(body, agent) {
		t.Fatalf("remove agent = %d %q", status, body)
	}
	for {
		ev := c.next(t, mesos.Event_RESCIND, mesos.Event_FAILURE)
		if ev.GetType() == mesos.Event_FAILURE {
			if got := ev.GetFailure().GetAgentId().GetValue(); got != agent {
				t.Errorf("FAILURE names agent %q, want %q", got, agent)
			}
			break
		}
	}

	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		want                     int
		wantBody                 string
	}{
		{"removed twice", "POST", "/faults/agents/" + agent + "/remove", "", nil, 404, "unknown agent"},
		{"unknown agent", "POST", "/faults/agents/nope/partition", "", nil, 404, "unknown agent"},
		{"unknown verb", "POST", "/faults/agents/" + added.AgentID + "/explode", "", nil, 404, "no such fault"},
		{"unknown fault", "POST", "/faults/meteor", "", nil, 404, "no such fault"},
		{"GET", "GET", "/faults/offers/rescind", "", nil, 405, "the fault API takes POST"},
		{"bad agent JSON", "POST", "/faults/agents", `{"hostname":`, nil, 400, "invalid agent"},
		{"unknown agent field", "POST", "/faults/agents", `{"hostname":"x","gpus":3}`, nil, 400, "invalid agent"},
		{"two agents", "POST", "/faults/agents", `{"hostname":"x"}{"hostname":"y"}`, nil, 400, "one JSON object expected"},
		{"bad attributes", "POST", "/faults/agents", `{"hostname":"x","attributes":"no-colon"}`, nil, 400, "name:value"},
		{"huge agent", "POST", "/faults/agents", `{"hostname":"` + strings.Repeat("a", 100<<10) + `"}`, nil, 400, "invalid agent"},
		{"cross-site", "POST", "/faults/offers/rescind", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-site request refused"},
		{"partition", "POST", "/faults/agents/" + added.AgentID + "/partition", "", nil, 200, added.AgentID},
		{"heal", "POST", "/faults/agents/" + added.AgentID + "/heal", "", nil, 200, added.AgentID},
		{"rescind", "POST", "/faults/offers/rescind", "", nil, 200, `"rescinded":`},
		{"cut streams", "POST", "/faults/streams/cut", "", nil, 200, `"cut":`},
		{"failover", "POST", "/faults/failover", "", nil, 200, `"ok":true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := faultCall(t, base, tc.method, tc.path, tc.body, tc.header)
			if status != tc.want || !strings.Contains(body, tc.wantBody) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, status, body, tc.want, tc.wantBody)
			}
		})
	}
}

// TestFaultAPIOffAndGuarded: without FaultAPI no /faults/ route exists, and
// with credentials the fault API wants them like every other endpoint.
func TestFaultAPIOffAndGuarded(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	if status, _ := faultCall(t, base, "POST", "/faults/offers/rescind", "", nil); status != 404 {
		t.Errorf("fault API off: POST /faults/offers/rescind = %d, want 404", status)
	}
	_, base = startMaster(t, local.Config{FaultAPI: true, Credentials: map[string]string{"dash": "s3cret"}})
	status, _ := faultCall(t, base, "POST", "/faults/offers/rescind", "", nil)
	if status != 401 {
		t.Errorf("without credentials = %d, want 401", status)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/faults/offers/rescind", nil)
	req.SetBasicAuth("dash", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with credentials = %d, want 200", resp.StatusCode)
	}
}

// TestNeighbourFramework: the fault API starts another framework that
// keeps its tasks running beside the dashboard's, and tears it down.
func TestNeighbourFramework(t *testing.T) {
	m, base := startMaster(t, local.Config{FaultAPI: true, SimulateCommands: true})
	status, body := faultCall(t, base, "POST", "/faults/frameworks", `{"name":"batch","tasks":3,"cpus":0.2,"mem":16}`, nil)
	var started struct {
		FrameworkID string `json:"framework_id"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &started) != nil || started.FrameworkID == "" {
		t.Fatalf("start neighbour = %d %q", status, body)
	}
	running := func() int {
		n := 0
		for _, task := range m.FrameworkTasks(started.FrameworkID) {
			if task.State == mesos.TaskState_TASK_RUNNING {
				n++
			}
		}
		return n
	}
	waitFor(t, "the neighbour's 3 tasks running", func() bool { return running() == 3 })

	if status, body := faultCall(t, base, "POST", "/faults/frameworks/"+started.FrameworkID+"/teardown", "", nil); status != 200 {
		t.Fatalf("teardown = %d %q", status, body)
	}
	waitFor(t, "the neighbour's framework removed", func() bool { return m.FrameworkTasks(started.FrameworkID) == nil })
	for _, tc := range []struct{ path, body string }{
		{"/faults/frameworks/" + started.FrameworkID + "/teardown", ""},
		{"/faults/frameworks", `{"tasks":5000}`},
		{"/faults/frameworks", `{"tasks":1,"colour":"red"}`},
	} {
		if status, body := faultCall(t, base, "POST", tc.path, tc.body, nil); status != 404 && status != 400 {
			t.Errorf("POST %s %s = %d %q, want a refusal", tc.path, tc.body, status, body)
		}
	}
}

// waitFor waits until ok holds, failing the test after 20 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConfiguredNeighbours: the neighbours a configuration names start
// with the master and keep their tasks running.
func TestConfiguredNeighbours(t *testing.T) {
	_, base := startMaster(t, local.Config{SimulateCommands: true, SimulatedRunTime: time.Hour, Neighbours: local.Neighbours(2)})
	waitFor(t, "two neighbours with two running tasks each", func() bool {
		resp, err := http.Get(base + "/master/frameworks")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var state struct {
			Frameworks []struct {
				Name  string `json:"name"`
				Tasks []struct {
					State string `json:"state"`
				} `json:"tasks"`
			} `json:"frameworks"`
		}
		if json.NewDecoder(resp.Body).Decode(&state) != nil {
			return false
		}
		running := map[string]int{}
		for _, f := range state.Frameworks {
			for _, task := range f.Tasks {
				if task.State == "TASK_RUNNING" {
					running[f.Name]++
				}
			}
		}
		return running["neighbour-1"] == 2 && running["neighbour-2"] == 2
	})
}
