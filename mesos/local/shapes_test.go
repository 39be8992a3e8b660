package local_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
)

// The shapes a real master's read-only endpoints answer with, written here
// field by field from the Mesos sources (paths relative to the Mesos
// repository), not from the stand-in's output. A key in always must be
// present; a key in sometimes may be (the source writes it under a
// condition, given beside it); any other key is a mistake.
type shape struct {
	always, sometimes []string
}

var (
	// src/master/readonly_handler.cpp, ReadOnlyHandler::state.
	stateShape = shape{
		always: []string{"version", "build_date", "build_time", "build_user", "start_time", "id", "pid", "hostname",
			"capabilities", "activated_slaves", "deactivated_slaves", "unreachable_slaves", "slaves", "recovered_slaves",
			"frameworks", "completed_frameworks", "orphan_tasks", "unregistered_frameworks",
			// under approvers->approved<VIEW_FLAGS>(), which an
			// unauthenticated master grants
			"flags"},
		sometimes: []string{"git_sha", "git_branch", "git_tag", "elected_time", "domain", "leader", "leader_info",
			"cluster", "log_dir", "external_log_file"},
	}
	// SlaveWriter::operator() over json(ObjectWriter, SlaveInfo) of
	// src/common/http.cpp.
	agentShape = shape{
		always: []string{"id", "hostname", "port", "attributes", "pid", "registered_time", "resources", "used_resources",
			"offered_resources", "reserved_resources", "unreserved_resources", "active", "deactivated", "version", "capabilities"},
		sometimes: []string{"domain", "reregistered_time", "drain_info", "estimated_drain_start_time_seconds"},
	}
	// FullFrameworkWriter::operator() over json(ObjectWriter,
	// Summary<Framework>): pid only for PID frameworks, principal only when
	// set, roles for MULTI_ROLE frameworks and role otherwise, labels
	// when set, reregistered_time when it differs from registered_time.
	frameworkShape = shape{
		always: []string{"id", "name", "used_resources", "offered_resources", "capabilities", "hostname", "webui_url",
			"active", "connected", "recovered", "user", "failover_timeout", "checkpoint", "registered_time",
			"unregistered_time", "resources", "tasks", "unreachable_tasks", "completed_tasks", "offers", "executors",
			"offer_constraints"},
		sometimes: []string{"pid", "principal", "reregistered_time", "roles", "role", "labels"},
	}
	// json(ObjectWriter, Task) of src/common/http.cpp.
	taskShape = shape{
		always:    []string{"id", "name", "framework_id", "executor_id", "slave_id", "state", "resources", "role", "statuses"},
		sometimes: []string{"limits", "user", "labels", "discovery", "container", "health_check"},
	}
	// json(ObjectWriter, TaskStatus) of src/common/http.cpp.
	statusShape = shape{
		always:    []string{"state", "timestamp"},
		sometimes: []string{"labels", "container_status", "healthy"},
	}
	// An agent's own /state: src/slave/http.cpp, Http::state.
	agentStateShape = shape{
		always: []string{"version", "build_date", "build_time", "build_user", "start_time", "id", "pid", "hostname",
			"capabilities", "resources", "reserved_resources", "unreserved_resources", "reserved_resources_full",
			"unreserved_resources_full", "reserved_resources_allocated", "unreserved_resources_allocated",
			"resource_providers", "attributes", "frameworks", "completed_frameworks"},
		sometimes: []string{"git_sha", "git_branch", "git_tag", "domain", "drain_config", "estimated_drain_start_time_seconds",
			"master_hostname", "log_dir", "external_log_file", "flags"},
	}
	// json(ObjectWriter, Offer) of src/common/http.cpp.
	offerShape = shape{always: []string{"id", "framework_id", "allocation_info", "slave_id", "resources"}}
	// json(ObjectWriter, MasterInfo) of src/common/http.cpp.
	leaderInfoShape = shape{always: []string{"id", "pid", "port", "hostname"}, sometimes: []string{"domain"}}
)

// check reports keys of obj that the shape does not allow, and keys it
// requires that obj lacks.
func (s shape) check(t *testing.T, what string, obj map[string]any) {
	t.Helper()
	for _, k := range s.always {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s lacks %q", what, k)
		}
	}
	for k := range obj {
		if !slices.Contains(s.always, k) && !slices.Contains(s.sometimes, k) {
			t.Errorf("%s has %q, which a real master never writes", what, k)
		}
	}
}

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func objects(v any) []map[string]any {
	var out []map[string]any
	for _, e := range v.([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// TestStateShapesMatchMesos holds /master/state to the shapes above, with a
// framework that is not MULTI_ROLE and one that is (with a principal and
// labels), a running task, outstanding offers and a removed framework.
func TestStateShapesMatchMesos(t *testing.T) {
	m, base := startMaster(t, local.Config{})
	plain := newClient(t, base, "", nil)
	o := plain.nextOffer(t, "agent-1.demo")
	plain.launchRunning(t, o, "shape-1", "sleep 60")
	// The plain framework holds every other offer: it steps back so the
	// other one is offered something.
	if err := plain.Call(t.Context(), &mesos.Call{Type: mesos.Call_SUPPRESS.Enum()}); err != nil {
		t.Fatal(err)
	}
	m.RescindOffers()
	multi := newClient(t, base, "", func(fi *mesos.FrameworkInfo) {
		fi.Name = proto.String("multi")
		fi.Roles = []string{"dev"}
		fi.Principal = proto.String("ops")
		fi.Labels = &mesos.Labels{Labels: []*mesos.Label{{Key: proto.String("team"), Value: proto.String("blue")}}}
		fi.Capabilities = []*mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE.Enum()}}
	})
	multi.nextOffer(t, "")
	gone := newClient(t, base, "", func(fi *mesos.FrameworkInfo) { fi.Name = proto.String("gone") })
	gone.next(t, mesos.Event_SUBSCRIBED)
	if err := gone.Call(t.Context(), &mesos.Call{Type: mesos.Call_TEARDOWN.Enum()}); err != nil {
		t.Fatal(err)
	}

	state := getJSON(t, base+"/master/state")
	stateShape.check(t, "state", state)
	leaderInfoShape.check(t, "leader_info", state["leader_info"].(map[string]any))
	agents := objects(state["slaves"])
	if len(agents) != 3 {
		t.Fatalf("%d slaves, want 3", len(agents))
	}
	for _, a := range agents {
		agentShape.check(t, "slave "+a["hostname"].(string), a)
		// cpus, gpus, mem and disk are always written, zero when absent.
		for _, k := range []string{"resources", "used_resources", "offered_resources", "unreserved_resources"} {
			for _, name := range []string{"cpus", "gpus", "mem", "disk"} {
				if _, ok := a[k].(map[string]any)[name]; !ok {
					t.Errorf("slave %s %s lacks %s", a["hostname"], k, name)
				}
			}
		}
	}
	agent1 := agents[0]
	if used := agent1["used_resources"].(map[string]any); used["cpus"] != 0.1 || used["mem"] != 32.0 {
		t.Errorf("agent-1 used_resources = %v, want the running task's cpus 0.1, mem 32 (offers are not used)", used)
	}
	if attrs := agent1["attributes"].(map[string]any); attrs["rack"] != "r2d2" {
		t.Errorf("agent-1 attributes = %v", attrs)
	}
	var names []string
	for _, f := range objects(state["frameworks"]) {
		name := f["name"].(string)
		names = append(names, name)
		frameworkShape.check(t, "framework "+name, f)
		_, hasRole := f["role"]
		_, hasRoles := f["roles"]
		_, hasPrincipal := f["principal"]
		switch name {
		case "client-test":
			if !hasRole || hasRoles || hasPrincipal {
				t.Errorf("plain framework: role %v roles %v principal %v; want role only", hasRole, hasRoles, hasPrincipal)
			}
			tasks := objects(f["tasks"])
			if len(tasks) != 1 {
				t.Fatalf("plain framework tasks = %v", tasks)
			}
			taskShape.check(t, "task", tasks[0])
			for _, st := range objects(tasks[0]["statuses"]) {
				statusShape.check(t, "status", st)
			}
		case "multi":
			if hasRole || !hasRoles || f["principal"] != "ops" || f["labels"] == nil {
				t.Errorf("MULTI_ROLE framework: role %v roles %v principal %v labels %v", hasRole, f["roles"], f["principal"], f["labels"])
			}
			offers := objects(f["offers"])
			if len(offers) == 0 {
				t.Fatal("the MULTI_ROLE framework holds no offer")
			}
			offerShape.check(t, "offer", offers[0])
			if role := offers[0]["allocation_info"].(map[string]any)["role"]; role != "dev" {
				t.Errorf("offer allocation_info role = %v, want dev", role)
			}
		}
	}
	if !slices.Contains(names, "multi") || !slices.Contains(names, "client-test") || slices.Contains(names, "gone") {
		t.Errorf("frameworks = %v", names)
	}
	completed := objects(state["completed_frameworks"])
	if len(completed) != 1 || completed[0]["name"] != "gone" || completed[0]["unregistered_time"] == 0.0 {
		t.Errorf("completed_frameworks = %v, want the torn-down one with its unregistered_time", completed)
	}
}

// TestJSONP: ?jsonp=cb answers cb(...) as text/javascript, as libprocess's
// OK(JSON, jsonp) does (3rdparty/libprocess/src/http.cpp); a callback that
// is not a JavaScript name is refused instead of echoed into a script.
func TestJSONP(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	resp, err := http.Get(base + "/master/state?jsonp=cb.done")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/javascript" || !strings.HasPrefix(string(body), "cb.done({") || !strings.HasSuffix(string(body), "})") {
		t.Errorf("jsonp = %s %q", resp.Header.Get("Content-Type"), body)
	}
	for _, path := range []string{"/master/slaves?jsonp=cb", "/metrics/snapshot?jsonp=cb"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Content-Type") != "text/javascript" || !strings.HasPrefix(string(body), "cb(") {
			t.Errorf("%s = %d %s %.40q", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	resp, err = http.Get(base + "/master/state?jsonp=" + "alert(1)//")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("jsonp with a script for a name = %d, want 400", resp.StatusCode)
	}
}

// TestPathsAndAcceptAsLibprocess: libprocess drops empty path segments and
// a trailing slash (3rdparty/libprocess/src/process.cpp), and matches an
// Accept list from the most specific entry (src/http.cpp
// _acceptsMediaType), which the master asks for JSON first, then
// protobuf (src/master/http.cpp).
func TestPathsAndAcceptAsLibprocess(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	for _, tc := range []struct {
		path   string
		accept string // "-" sends none
		want   int
		ct     string
	}{
		{"//api/v1/scheduler", "-", 200, mesos.MediaTypeJSON},
		{"/api/v1/scheduler/", "-", 200, mesos.MediaTypeJSON},
		{"/master//api/v1/scheduler//", "-", 200, mesos.MediaTypeJSON},
		{"/api/v1/scheduler", "application/json;q=0, */*", 200, mesos.MediaTypeProtobuf},
		{"/api/v1/scheduler", "application/json;q=0,application/x-protobuf;q=0,*/*", 406, ""},
		{"/api/v1/scheduler", "application/*;q=0.5, application/x-protobuf", 200, mesos.MediaTypeJSON},
		{"/api/v1/scheduler", "text/html, application/x-protobuf", 200, mesos.MediaTypeProtobuf},
		{"/api/v1/scheduler", "APPLICATION/JSON", 200, mesos.MediaTypeJSON},
		{"/api/v1/scheduler", "application/json;q=zero, application/x-protobuf", 200, mesos.MediaTypeProtobuf},
	} {
		req, err := http.NewRequestWithContext(t.Context(), "POST", base+tc.path, strings.NewReader(subscribeBody))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", mesos.MediaTypeJSON)
		if tc.accept != "-" {
			req.Header.Set("Accept", tc.accept)
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close() // ends the subscription
		if resp.StatusCode != tc.want || (tc.ct != "" && resp.Header.Get("Content-Type") != tc.ct) {
			t.Errorf("SUBSCRIBE to %s with Accept %q = %d %s, want %d %s", tc.path, tc.accept, resp.StatusCode, resp.Header.Get("Content-Type"), tc.want, tc.ct)
		}
	}
}

// TestOtherReadOnlyEndpoints: the endpoints operator tools read besides
// /master/state answer with the top-level keys of
// src/master/readonly_handler.cpp (metrics under the names of
// src/master/metrics.cpp), and what they hold agrees with the cluster.
func TestOtherReadOnlyEndpoints(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", nil)
	o := c.nextOffer(t, "agent-1.demo")
	c.launchRunning(t, o, "ro-1", "sleep 60")
	fid := c.Status().FrameworkID
	keys := func(obj map[string]any) []string {
		var out []string
		for k := range obj {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/master/frameworks", []string{"completed_frameworks", "frameworks", "unregistered_frameworks"}},
		{"/master/slaves", []string{"recovered_slaves", "slaves"}},
		{"/master/state-summary", []string{"frameworks", "hostname", "slaves"}},
		{"/master/tasks", []string{"tasks"}},
		{"/master/roles", []string{"roles"}},
		{"/master/flags", []string{"flags"}},
		{"/master/maintenance/schedule", nil},
	} {
		if got := keys(getJSON(t, base+tc.path)); !slices.Equal(got, tc.want) {
			t.Errorf("%s keys = %v, want %v", tc.path, got, tc.want)
		}
	}
	tasks := objects(getJSON(t, base+"/master/tasks?framework_id="+fid)["tasks"])
	if len(tasks) != 1 || tasks[0]["id"] != "ro-1" || tasks[0]["state"] != "TASK_RUNNING" {
		t.Errorf("/master/tasks = %v", tasks)
	}
	taskShape.check(t, "/master/tasks task", tasks[0])
	if n := len(objects(getJSON(t, base+"/master/tasks?framework_id=nope")["tasks"])); n != 0 {
		t.Errorf("/master/tasks of an unknown framework lists %d tasks", n)
	}
	summary := getJSON(t, base+"/master/state-summary")
	for _, f := range objects(summary["frameworks"]) {
		if f["id"] == fid && (f["TASK_RUNNING"] != 1.0 || len(f["slave_ids"].([]any)) != 1) {
			t.Errorf("state-summary framework = %v, want one running task on one agent", f)
		}
	}
	agents := objects(getJSON(t, base+"/master/slaves?slave_id="+o.GetAgentId().GetValue())["slaves"])
	if len(agents) != 1 || len(agents[0]["used_resources_full"].([]any)) == 0 {
		t.Fatalf("/master/slaves?slave_id= = %v", agents)
	}
	var roles []string
	for _, r := range objects(getJSON(t, base+"/master/roles")["roles"]) {
		roles = append(roles, r["name"].(string))
	}
	if !slices.Contains(roles, "*") {
		t.Errorf("/master/roles = %v, want the framework's role *", roles)
	}
	// Each agent is a process of its own on the master's port: its pid
	// leads to its own endpoints.
	pids := map[string]string{}
	for _, a := range objects(getJSON(t, base+"/master/state")["slaves"]) {
		pids[a["id"].(string)] = a["pid"].(string)
	}
	pid := pids[o.GetAgentId().GetValue()]
	if len(pids) != 3 || pid == pids[""] || !strings.HasPrefix(pid, "slave(") {
		t.Fatalf("agent pids = %v", pids)
	}
	if got := o.GetUrl().GetPath(); "/"+strings.Split(pid, "@")[0] != got {
		t.Errorf("offer url path = %q, want the agent's process %q", got, pid)
	}
	agentBase := base + "/" + strings.Split(pid, "@")[0]
	agent := getJSON(t, agentBase+"/state")
	agentStateShape.check(t, "agent state", agent)
	if agent["id"] != o.GetAgentId().GetValue() {
		t.Errorf("%s/state is agent %v, want %s", agentBase, agent["id"], o.GetAgentId().GetValue())
	}
	fws := objects(agent["frameworks"])
	if len(fws) != 1 || len(objects(fws[0]["executors"])) != 1 {
		t.Fatalf("agent state frameworks = %v", fws)
	}
	ex := objects(fws[0]["executors"])[0]
	if ex["name"] != "Command Executor (Task: ro-1) (Command: sh -c 'sleep 60')" || ex["source"] != "ro-1" || ex["container"] == "" {
		t.Errorf("executor = %v", ex)
	}
	if ts := objects(ex["tasks"]); len(ts) != 1 || ts[0]["id"] != "ro-1" {
		t.Errorf("executor tasks = %v", ex["tasks"])
	}
	resp, err := http.Get(agentBase + "/files/browse?path=" + ex["directory"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("browsing the executor's directory through its agent = %d", resp.StatusCode)
	}
	var stats []map[string]any
	resp, err = http.Get(agentBase + "/monitor/statistics")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if len(stats) != 1 || stats[0]["source"] != "ro-1" || stats[0]["statistics"].(map[string]any)["cpus_limit"] != 0.1 {
		t.Errorf("/monitor/statistics = %v", stats)
	}
	if resp, err := http.Get(base + "/slave(99)/state"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != 404 {
		t.Errorf("an agent that does not exist = %d, want 404", resp.StatusCode)
	}
	metrics := getJSON(t, base+"/metrics/snapshot")
	if metrics["master/tasks_running"] != 1.0 || metrics["master/slaves_active"] != 3.0 || metrics["master/elected"] != 1.0 || metrics["master/cpus_used"] != 0.1 {
		t.Errorf("/metrics/snapshot = %v", metrics)
	}
}
