package local_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/master"
	"github.com/offerdeck/offerdeck/mesos/recordio"
)

// opPost sends a raw request to the operator endpoint.
func opPost(t *testing.T, base, method, contentType, accept string, body []byte, header ...string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+"/api/v1", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// noRedirects shows a 307 as it is.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// opCall makes a call in the media type and decodes the 200 answer.
func opCall(t *testing.T, base, mediaType string, call *master.Call) *master.Response {
	t.Helper()
	body, err := mesos.Marshal(mediaType, call)
	if err != nil {
		t.Fatal(err)
	}
	r := opPost(t, base, http.MethodPost, mediaType, mediaType, body)
	if r.status != http.StatusOK {
		t.Fatalf("%v = %d %q, want 200", call.GetType(), r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != mediaType {
		t.Fatalf("%v Content-Type = %q, want %q", call.GetType(), ct, mediaType)
	}
	resp := new(master.Response)
	if err := mesos.Unmarshal(mediaType, []byte(r.body), resp); err != nil {
		t.Fatalf("%v: decode %q: %v", call.GetType(), r.body, err)
	}
	return resp
}

func opType(typ master.Call_Type) *master.Call { return &master.Call{Type: typ.Enum()} }

// opStream is an operator SUBSCRIBE stream read with HTTP and RecordIO only.
type opStream struct {
	header http.Header
	events chan *master.Event
	cancel context.CancelFunc
	done   chan struct{}
}

func subscribeOperator(t *testing.T, base, mediaType string) *opStream {
	t.Helper()
	body, _ := mesos.Marshal(mediaType, opType(master.Call_SUBSCRIBE))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/master/api/v1", bytes.NewReader(body))
	req.Header.Set("Content-Type", mediaType)
	req.Header.Set("Accept", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("SUBSCRIBE = %d %s", resp.StatusCode, b)
	}
	s := &opStream{header: resp.Header, events: make(chan *master.Event, 4096), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.events)
		defer resp.Body.Close()
		r := recordio.NewReader(resp.Body, 64<<20)
		for {
			rec, err := r.ReadRecord()
			if err != nil {
				return
			}
			e := new(master.Event)
			if err := mesos.Unmarshal(mediaType, rec, e); err != nil {
				t.Errorf("decode operator event: %v", err)
				return
			}
			s.events <- e
		}
	}()
	t.Cleanup(func() { s.cancel(); <-s.done })
	return s
}

// next returns the next event that is not a heartbeat.
func (s *opStream) next(t *testing.T) *master.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				t.Fatal("operator stream ended")
			}
			if e.GetType() != master.Event_HEARTBEAT {
				return e
			}
		case <-deadline:
			t.Fatal("no operator event within 10s")
		}
	}
}

// expect reads events up to one of type typ that satisfies ok, and fails
// if an event outside allowed comes first.
func (s *opStream) expect(t *testing.T, typ master.Event_Type, ok func(*master.Event) bool) *master.Event {
	t.Helper()
	for {
		e := s.next(t)
		if e.GetType() == typ && (ok == nil || ok(e)) {
			return e
		}
	}
}

var mediaTypes = []string{mesos.MediaTypeJSON, mesos.MediaTypeProtobuf}

// TestOperatorCalls: every read call answers 200 in the asked media type
// with the cluster as the scheduler API made it.
func TestOperatorCalls(t *testing.T) {
	m, base := startMaster(t, local.Config{SimulateCommands: true})
	c := newClient(t, base, "", func(fi *mesos.FrameworkInfo) { fi.Name = proto.String("op-calls") })
	o := c.nextOffer(t, "agent-1.demo")
	ti := commandTask("with-executor", "sleep 60")
	ti.Command = nil
	ti.Executor = &mesos.ExecutorInfo{
		ExecutorId: &mesos.ExecutorID{Value: proto.String("ex-1")},
		Type:       mesos.ExecutorInfo_CUSTOM.Enum(),
		Command:    &mesos.CommandInfo{Value: proto.String("sleep 60"), User: proto.String("nobody")},
	}
	c.launch(t, o, ti, nil)
	for st := c.nextUpdate(t, "with-executor"); st.GetState() != mesos.TaskState_TASK_RUNNING; st = c.nextUpdate(t, "with-executor") {
		c.ack(t, st)
	}
	fid := c.Status().FrameworkID

	for _, mt := range mediaTypes {
		t.Run(mt, func(t *testing.T) {
			if r := opCall(t, base, mt, opType(master.Call_GET_HEALTH)); !r.GetGetHealth().GetHealthy() || r.GetType() != master.Response_GET_HEALTH {
				t.Errorf("GET_HEALTH = %v", r)
			}
			if r := opCall(t, base, mt, opType(master.Call_GET_VERSION)); r.GetGetVersion().GetVersionInfo().GetVersion() != local.Version {
				t.Errorf("GET_VERSION = %v", r)
			}
			r := opCall(t, base, mt, opType(master.Call_GET_MASTER))
			if r.GetGetMaster().GetMasterInfo().GetId() != m.ID() || r.GetGetMaster().GetStartTime() <= 0 {
				t.Errorf("GET_MASTER = %v, want id %s", r, m.ID())
			}
			flags := opCall(t, base, mt, opType(master.Call_GET_FLAGS)).GetGetFlags().GetFlags()
			if !slices.ContainsFunc(flags, func(f *mesos.Flag) bool {
				return f.GetName() == "max_operator_event_stream_subscribers" && f.GetValue() == "1000"
			}) {
				t.Errorf("GET_FLAGS = %v, want max_operator_event_stream_subscribers=1000", flags)
			}
			metrics := opCall(t, base, mt, &master.Call{Type: master.Call_GET_METRICS.Enum(), GetMetrics: &master.Call_GetMetrics{}}).GetGetMetrics().GetMetrics()
			want := map[string]float64{"master/slaves_active": 3, "master/frameworks_active": 1, "master/tasks_running": 1, "master/cpus_total": 8}
			for _, mt := range metrics {
				if v, ok := want[mt.GetName()]; ok {
					if mt.GetValue() != v {
						t.Errorf("metric %s = %v, want %v", mt.GetName(), mt.GetValue(), v)
					}
					delete(want, mt.GetName())
				}
			}
			if len(want) > 0 {
				t.Errorf("GET_METRICS lacks %v", want)
			}

			agents := opCall(t, base, mt, opType(master.Call_GET_AGENTS)).GetGetAgents().GetAgents()
			var hosts []string
			for _, a := range agents {
				hosts = append(hosts, a.GetAgentInfo().GetHostname())
				if !a.GetActive() || a.GetVersion() != local.Version || a.GetRegisteredTime().GetNanoseconds() <= 0 || len(a.GetCapabilities()) == 0 {
					t.Errorf("agent %s = %v", a.GetAgentInfo().GetHostname(), a)
				}
				used := mesos.ScalarSum(a.GetAllocatedResources(), "cpus")
				if a.GetAgentInfo().GetHostname() == "agent-1.demo" && used != 0.1 {
					t.Errorf("agent-1 allocated cpus = %v, want 0.1 (the task only; offers are offered_resources)", used)
				}
			}
			if want := []string{"agent-1.demo", "agent-2.demo", "agent-3.demo"}; !slices.Equal(hosts, want) {
				t.Errorf("GET_AGENTS hosts = %v, want %v", hosts, want)
			}

			fws := opCall(t, base, mt, opType(master.Call_GET_FRAMEWORKS)).GetGetFrameworks().GetFrameworks()
			if len(fws) != 1 || fws[0].GetFrameworkInfo().GetId().GetValue() != fid || !fws[0].GetActive() || !fws[0].GetConnected() ||
				fws[0].GetFrameworkInfo().GetName() != "op-calls" || mesos.ScalarSum(fws[0].GetAllocatedResources(), "cpus") != 0.1 {
				t.Errorf("GET_FRAMEWORKS = %v", fws)
			}

			tasks := opCall(t, base, mt, opType(master.Call_GET_TASKS)).GetGetTasks().GetTasks()
			if len(tasks) != 1 || tasks[0].GetTaskId().GetValue() != "with-executor" || tasks[0].GetState() != mesos.TaskState_TASK_RUNNING ||
				tasks[0].GetFrameworkId().GetValue() != fid || tasks[0].GetExecutorId().GetValue() != "ex-1" || tasks[0].GetUser() != "nobody" {
				t.Errorf("GET_TASKS = %v", tasks)
			}

			exs := opCall(t, base, mt, opType(master.Call_GET_EXECUTORS)).GetGetExecutors().GetExecutors()
			if len(exs) != 1 || exs[0].GetExecutorInfo().GetExecutorId().GetValue() != "ex-1" || exs[0].GetAgentId().GetValue() != o.GetAgentId().GetValue() {
				t.Errorf("GET_EXECUTORS = %v", exs)
			}

			roles := opCall(t, base, mt, opType(master.Call_GET_ROLES)).GetGetRoles().GetRoles()
			if len(roles) != 1 || roles[0].GetName() != "*" || roles[0].GetWeight() != 1 || len(roles[0].GetFrameworks()) != 1 {
				t.Errorf("GET_ROLES = %v", roles)
			}

			st := opCall(t, base, mt, opType(master.Call_GET_STATE)).GetGetState()
			if len(st.GetGetAgents().GetAgents()) != 3 || len(st.GetGetFrameworks().GetFrameworks()) != 1 ||
				len(st.GetGetTasks().GetTasks()) != 1 || len(st.GetGetExecutors().GetExecutors()) != 1 {
				t.Errorf("GET_STATE = %v", st)
			}
		})
	}
}

// TestOperatorErrors: refusals carry the status and text of
// Master::Http::api (src/master/http.cpp), checked in its order.
func TestOperatorErrors(t *testing.T) {
	_, base := startMaster(t, local.Config{SimulateCommands: true})
	reserve := `{"type":"RESERVE_RESOURCES","reserve_resources":{"agent_id":{"value":"x"}}}`
	for _, tc := range []struct {
		name, method, contentType, accept, body string
		status                                  int
		text                                    string
	}{
		{"GET", http.MethodGet, "", "", "", 405, "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."},
		{"no content type", "POST", "", "", `{"type":"GET_HEALTH"}`, 400, "Expecting 'Content-Type' to be present"},
		{"text/plain", "POST", "text/plain", "", `{"type":"GET_HEALTH"}`, 415, "Expecting 'Content-Type' of application/json or application/x-protobuf"},
		{"bad JSON", "POST", "application/json", "", `{"type":`, 400, "Failed to parse body into JSON: "},
		{"wrong JSON type", "POST", "application/json", "", `{"type":7}`, 400, "Failed to convert JSON into Call protobuf: "},
		{"bad protobuf", "POST", "application/x-protobuf", "", "\xff\xff", 400, "Failed to parse body into Call protobuf"},
		{"unknown type name", "POST", "application/json", "", `{"type":"GET_EVERYTHING"}`, 400, "Failed to validate master::Call: Expecting 'type' to be present"},
		{"metrics without get_metrics", "POST", "application/json", "", `{"type":"GET_METRICS"}`, 400, "Failed to validate master::Call: Expecting 'get_metrics' to be present"},
		{"teardown without teardown", "POST", "application/json", "", `{"type":"TEARDOWN"}`, 400, "Failed to validate master::Call: Expecting 'teardown' to be present"},
		{"not acceptable", "POST", "application/json", "text/html", `{"type":"GET_HEALTH"}`, 406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"},
		{"UNKNOWN", "POST", "application/json", "", `{"type":"UNKNOWN"}`, 501, "501 Not Implemented."},
		{"not in the stand-in", "POST", "application/json", "", reserve, 501, "The stand-in master does not implement RESERVE_RESOURCES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := opPost(t, base, tc.method, tc.contentType, tc.accept, []byte(tc.body))
			if r.status != tc.status || !strings.HasPrefix(r.body, tc.text) {
				t.Errorf("%s = %d %q, want %d %q", tc.name, r.status, r.body, tc.status, tc.text)
			}
			if tc.status == 405 && r.header.Get("Allow") != "POST" {
				t.Errorf("405 Allow = %q, want POST", r.header.Get("Allow"))
			}
		})
	}
	t.Run("body too large", func(t *testing.T) {
		big := append([]byte(`{"type":"GET_HEALTH","x":"`), bytes.Repeat([]byte("a"), 17<<20)...)
		r := opPost(t, base, "POST", "application/json", "", append(big, `"}`...))
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("17 MiB body = %d %q, want 413", r.status, r.body)
		}
	})
}

// TestOperatorAuthAndLeader: with credentials the operator API needs them
// in the read-write realm; a follower redirects to the leader.
func TestOperatorAuthAndLeader(t *testing.T) {
	m, base := startMaster(t, local.Config{SimulateCommands: true, Credentials: map[string]string{"ops": "s3cret"}})
	body := []byte(`{"type":"GET_HEALTH"}`)
	r := opPost(t, base, "POST", "application/json", "", body)
	if r.status != 401 || r.header.Get("WWW-Authenticate") != `Basic realm="mesos-master-readwrite"` || r.body != "401 Unauthorized." {
		t.Errorf("no credentials = %d %q %q, want 401 in realm mesos-master-readwrite", r.status, r.header.Get("WWW-Authenticate"), r.body)
	}
	auth := "Basic b3BzOnMzY3JldA==" // ops:s3cret
	if r := opPost(t, base, "POST", "application/json", "", body, "Authorization", auth); r.status != 200 || r.body != `{"type":"GET_HEALTH","get_health":{"healthy":true}}` {
		t.Errorf("with credentials = %d %q", r.status, r.body)
	}
	m.StepDown("leader.example:5050")
	r = opPost(t, base, "POST", "application/json", "", body, "Authorization", auth)
	if r.status != 307 || r.header.Get("Location") != "//leader.example:5050/api/v1" {
		t.Errorf("follower = %d Location %q, want 307 //leader.example:5050/api/v1", r.status, r.header.Get("Location"))
	}
}

// TestOperatorSubscribe: the stream starts with SUBSCRIBED (the whole
// cluster, the heartbeat interval) and a HEARTBEAT, then reports another
// framework's life, its tasks and agents coming and going, in the order a
// real master sends them.
func TestOperatorSubscribe(t *testing.T) {
	for _, mt := range mediaTypes {
		t.Run(mt, func(t *testing.T) {
			m, base := startMaster(t, local.Config{SimulateCommands: true, HeartbeatInterval: 5 * time.Second})
			s := subscribeOperator(t, base, mt)
			if ct := s.header.Get("Content-Type"); ct != mt {
				t.Errorf("Content-Type = %q, want %q", ct, mt)
			}
			if id := s.header.Get("Mesos-Stream-Id"); id != "" {
				t.Errorf("Mesos-Stream-Id = %q; the operator stream has none", id)
			}
			first := <-s.events
			sub := first.GetSubscribed()
			if first.GetType() != master.Event_SUBSCRIBED || sub.GetHeartbeatIntervalSeconds() != 5 || len(sub.GetGetState().GetGetAgents().GetAgents()) != 3 {
				t.Fatalf("first event = %v, want SUBSCRIBED with 3 agents and a 5 s heartbeat", first)
			}
			if second := <-s.events; second.GetType() != master.Event_HEARTBEAT {
				t.Fatalf("second event = %v, want HEARTBEAT", second)
			}

			c := newClient(t, base, "", func(fi *mesos.FrameworkInfo) {
				fi.Name = proto.String("other")
				fi.FailoverTimeout = proto.Float64(3600)
			})
			e := s.next(t)
			fw := e.GetFrameworkAdded().GetFramework()
			if e.GetType() != master.Event_FRAMEWORK_ADDED || fw.GetFrameworkInfo().GetName() != "other" || !fw.GetActive() || fw.GetRegisteredTime().GetNanoseconds() <= 0 {
				t.Fatalf("after a framework subscribed: %v, want FRAMEWORK_ADDED", e)
			}
			fid := fw.GetFrameworkInfo().GetId().GetValue()

			o := c.nextOffer(t, "agent-2.demo")
			c.launch(t, o, commandTask("web-1", "sleep 60"), nil)
			e = s.next(t)
			task := e.GetTaskAdded().GetTask()
			if e.GetType() != master.Event_TASK_ADDED || task.GetTaskId().GetValue() != "web-1" || task.GetState() != mesos.TaskState_TASK_STAGING ||
				task.GetFrameworkId().GetValue() != fid || task.GetAgentId().GetValue() != o.GetAgentId().GetValue() {
				t.Fatalf("after a launch: %v, want TASK_ADDED of web-1 in STAGING", e)
			}
			// The agent's updates reach the master one at a time, each after
			// the framework acknowledged the one before.
			for _, want := range []mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING} {
				c.ack(t, c.nextUpdate(t, "web-1"))
				e = s.next(t)
				u := e.GetTaskUpdated()
				if e.GetType() != master.Event_TASK_UPDATED || u.GetFrameworkId().GetValue() != fid || u.GetStatus().GetTaskId().GetValue() != "web-1" ||
					u.GetStatus().GetState() != want {
					t.Fatalf("task update: %v, want TASK_UPDATED %v", e, want)
				}
			}

			id, err := m.AddAgent(local.AgentConfig{Hostname: "agent-4.demo", CPUs: 1, Mem: 256, Disk: 1000})
			if err != nil {
				t.Fatal(err)
			}
			e = s.next(t)
			if a := e.GetAgentAdded().GetAgent(); e.GetType() != master.Event_AGENT_ADDED || a.GetAgentInfo().GetId().GetValue() != id ||
				a.GetAgentInfo().GetHostname() != "agent-4.demo" || mesos.ScalarSum(a.GetTotalResources(), "cpus") != 1 {
				t.Fatalf("after AddAgent: %v, want AGENT_ADDED of agent-4.demo", e)
			}

			// Removing web-1's agent loses the task first, then the agent.
			if err := m.RemoveAgent(o.GetAgentId().GetValue()); err != nil {
				t.Fatal(err)
			}
			e = s.next(t)
			if u := e.GetTaskUpdated(); e.GetType() != master.Event_TASK_UPDATED || u.GetState() != mesos.TaskState_TASK_LOST ||
				u.GetStatus().GetTaskId().GetValue() != "web-1" || u.GetStatus().GetSource() != mesos.TaskStatus_SOURCE_MASTER {
				t.Fatalf("after RemoveAgent: %v, want TASK_UPDATED web-1 TASK_LOST", e)
			}
			e = s.next(t)
			if e.GetType() != master.Event_AGENT_REMOVED || e.GetAgentRemoved().GetAgentId().GetValue() != o.GetAgentId().GetValue() {
				t.Fatalf("after the task: %v, want AGENT_REMOVED", e)
			}

			// A framework that re-subscribes is updated; one torn down is
			// removed after its tasks are killed.
			o = c.nextOffer(t, "agent-3.demo")
			c.launch(t, o, commandTask("web-2", "sleep 60"), nil)
			s.expect(t, master.Event_TASK_ADDED, nil)
			c.ack(t, c.nextUpdate(t, "web-2"))
			s.expect(t, master.Event_TASK_UPDATED, nil)
			m.CutStreams(false)
			e = s.expect(t, master.Event_FRAMEWORK_UPDATED, nil)
			if fw := e.GetFrameworkUpdated().GetFramework(); fw.GetFrameworkInfo().GetId().GetValue() != fid || !fw.GetConnected() || fw.GetReregisteredTime().GetNanoseconds() <= 0 {
				t.Fatalf("after a failover: %v, want FRAMEWORK_UPDATED, connected, reregistered", e)
			}
			waitSubscribed(t, c)
			if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_TEARDOWN.Enum()}); err != nil {
				t.Fatal(err)
			}
			e = s.expect(t, master.Event_TASK_UPDATED, func(e *master.Event) bool { return e.GetTaskUpdated().GetState() == mesos.TaskState_TASK_KILLED })
			if u := e.GetTaskUpdated(); u.GetStatus().GetTaskId().GetValue() != "web-2" || u.GetStatus().GetReason() != mesos.TaskStatus_REASON_FRAMEWORK_REMOVED {
				t.Fatalf("teardown: %v, want web-2 killed because its framework was removed", e)
			}
			e = s.next(t)
			if e.GetType() != master.Event_FRAMEWORK_REMOVED || e.GetFrameworkRemoved().GetFrameworkInfo().GetId().GetValue() != fid {
				t.Fatalf("after the tasks: %v, want FRAMEWORK_REMOVED", e)
			}
		})
	}
}

// waitSubscribed waits until the test framework is subscribed again.
func waitSubscribed(t *testing.T, c *testClient) {
	t.Helper()
	c.next(t, mesos.Event_SUBSCRIBED)
}

// TestOperatorStreamEndsOnShutdown: a stopped master ends its operator
// streams cleanly, and Run returns with none left open.
func TestOperatorStreamEndsOnShutdown(t *testing.T) {
	m, err := local.New(local.Config{SimulateCommands: true, SandboxRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ln) }()
	s := subscribeOperator(t, "http://"+ln.Addr().String(), mesos.MediaTypeJSON)
	if e := <-s.events; e.GetType() != master.Event_SUBSCRIBED {
		t.Fatalf("first event = %v", e.GetType())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("master did not stop")
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("operator stream still open after the master stopped")
	}
}

// TestOperatorPartition: an unreachable agent is not removed on the
// stream (Mesos sends no AGENT_REMOVED for it), only its tasks change and
// it leaves GET_AGENTS; when it comes back its tasks are added again, then
// the agent.
func TestOperatorPartition(t *testing.T) {
	m, base := startMaster(t, local.Config{SimulateCommands: true})
	s := subscribeOperator(t, base, mesos.MediaTypeJSON)
	s.expect(t, master.Event_SUBSCRIBED, nil)
	c := newClient(t, base, "", nil)
	o := c.nextOffer(t, "agent-3.demo")
	c.launch(t, o, commandTask("db-1", "sleep 60"), nil)
	s.expect(t, master.Event_TASK_ADDED, nil)
	c.ack(t, c.nextUpdate(t, "db-1")) // STARTING
	c.ack(t, c.nextUpdate(t, "db-1")) // RUNNING
	s.expect(t, master.Event_TASK_UPDATED, func(e *master.Event) bool { return e.GetTaskUpdated().GetState() == mesos.TaskState_TASK_RUNNING })

	agentID := o.GetAgentId().GetValue()
	if err := m.PartitionAgent(agentID); err != nil {
		t.Fatal(err)
	}
	e := s.next(t)
	if u := e.GetTaskUpdated(); e.GetType() != master.Event_TASK_UPDATED || u.GetState() != mesos.TaskState_TASK_LOST || u.GetStatus().GetTaskId().GetValue() != "db-1" {
		t.Fatalf("after a partition: %v, want TASK_UPDATED db-1 TASK_LOST (not partition aware)", e)
	}
	for _, a := range opCall(t, base, mesos.MediaTypeJSON, opType(master.Call_GET_AGENTS)).GetGetAgents().GetAgents() {
		if a.GetAgentInfo().GetId().GetValue() == agentID {
			t.Errorf("GET_AGENTS lists the unreachable agent %s", agentID)
		}
	}
	tasks := opCall(t, base, mesos.MediaTypeJSON, opType(master.Call_GET_TASKS)).GetGetTasks()
	if len(tasks.GetTasks()) != 0 || len(tasks.GetUnreachableTasks()) != 1 {
		t.Errorf("GET_TASKS = %v, want db-1 among unreachable tasks only", tasks)
	}

	if err := m.HealAgent(agentID); err != nil {
		t.Fatal(err)
	}
	e = s.next(t)
	if e.GetType() != master.Event_TASK_ADDED || e.GetTaskAdded().GetTask().GetTaskId().GetValue() != "db-1" {
		t.Fatalf("after the heal: %v, want TASK_ADDED db-1 first", e)
	}
	e = s.next(t)
	if e.GetType() != master.Event_AGENT_ADDED || e.GetAgentAdded().GetAgent().GetAgentInfo().GetId().GetValue() != agentID {
		t.Fatalf("after the task: %v, want AGENT_ADDED %s", e, agentID)
	}
}

// TestOperatorReadsDuringUpdates: read calls and the stream run while the
// master changes the tasks they describe (simulated health checks update
// every running task's statuses), race-free under -race, and the stream
// carries the health results as TASK_UPDATED without a change of state.
func TestOperatorReadsDuringUpdates(t *testing.T) {
	_, base := startMaster(t, local.Config{SimulateCommands: true, HealthChecks: 500})
	s := subscribeOperator(t, base, mesos.MediaTypeProtobuf)
	c := newClient(t, base, "", nil)
	for i, host := range []string{"agent-1.demo", "agent-2.demo", "agent-3.demo"} {
		c.launch(t, c.nextOffer(t, host), commandTask(fmt.Sprintf("hc-%d", i), "sleep 60"), nil)
	}
	// Health results keep coming only while they are acknowledged.
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case e := <-c.events:
				if st := e.GetUpdate().GetStatus(); len(st.GetUuid()) > 0 {
					c.Acknowledge(ctx, &mesos.Call_Acknowledge{AgentId: st.GetAgentId(), TaskId: st.GetTaskId(), Uuid: st.GetUuid()})
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() { stop(); <-done }()
	// A health result: a TASK_UPDATED whose state is unchanged.
	s.expect(t, master.Event_TASK_UPDATED, func(e *master.Event) bool {
		return e.GetTaskUpdated().GetStatus().GetReason() == mesos.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED
	})
	for range 30 {
		for _, mt := range mediaTypes {
			st := opCall(t, base, mt, opType(master.Call_GET_STATE)).GetGetState()
			if n := len(st.GetGetTasks().GetTasks()); n != 3 {
				t.Fatalf("GET_STATE has %d tasks, want 3", n)
			}
		}
	}
}

// TestOperatorSlowReaderIsCut: an operator stream whose reader stops
// reading is closed once its backlog passes Config.OperatorBacklog, and
// the master keeps serving everyone else.
func TestOperatorSlowReaderIsCut(t *testing.T) {
	m, base := startMaster(t, local.Config{SimulateCommands: true, OperatorBacklog: 256 << 10})
	// A subscriber that reads nothing after its request.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	body := `{"type":"SUBSCRIBE"}`
	fmt.Fprintf(conn, "POST /api/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	subscribers := func() float64 {
		t.Helper()
		for _, mt := range opCall(t, base, mesos.MediaTypeJSON, &master.Call{Type: master.Call_GET_METRICS.Enum(), GetMetrics: &master.Call_GetMetrics{}}).GetGetMetrics().GetMetrics() {
			if mt.GetName() == "master/operator_event_stream_subscribers" {
				return mt.GetValue()
			}
		}
		t.Fatal("no master/operator_event_stream_subscribers metric")
		return 0
	}
	for deadline := time.Now().Add(10 * time.Second); subscribers() != 1; {
		if time.Now().After(deadline) {
			t.Fatal("the subscriber was not registered within 10s")
		}
	}
	// Agents with 64 KiB of attributes each: AGENT_ADDED events that fill
	// the socket's buffers and then the backlog.
	attrs := "note:" + strings.Repeat("x", 64<<10)
	for i := 0; subscribers() == 1; i++ {
		if i == 2000 {
			t.Fatal("the stream was not cut after 2000 events of 64 KiB")
		}
		if _, err := m.AddAgent(local.AgentConfig{Hostname: fmt.Sprintf("big-%d.demo", i), CPUs: 1, Mem: 64, Disk: 1, Attributes: attrs}); err != nil {
			t.Fatal(err)
		}
	}
	// Everyone else is still served.
	s := subscribeOperator(t, base, mesos.MediaTypeJSON)
	if e := <-s.events; e.GetType() != master.Event_SUBSCRIBED {
		t.Fatalf("a new subscriber got %v first", e.GetType())
	}
}
