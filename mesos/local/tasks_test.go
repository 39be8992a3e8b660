package local_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
)

// TestEchoHelloWorld is the tutorial's first task: launch, watch it finish,
// read its output back through the agent's files API.
func TestEchoHelloWorld(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", nil)
	o := c.nextOffer(t, "agent-1.demo")
	c.launch(t, o, commandTask("hello-1", "echo hello world"), nil)

	for _, want := range []mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING, mesos.TaskState_TASK_FINISHED} {
		st := c.nextUpdate(t, "hello-1")
		if st.GetState() != want {
			t.Fatalf("update = %v (%s), want %v", st.GetState(), st.GetMessage(), want)
		}
		if len(st.GetUuid()) != 16 || st.GetSource() != mesos.TaskStatus_SOURCE_EXECUTOR || st.GetAgentId().GetValue() != o.GetAgentId().GetValue() {
			t.Errorf("update %v: uuid %d bytes, source %v, agent %v", want, len(st.GetUuid()), st.GetSource(), st.GetAgentId())
		}
		if want == mesos.TaskState_TASK_FINISHED && st.GetMessage() != "Command exited with status 0" {
			t.Errorf("FINISHED message = %q", st.GetMessage())
		}
		c.ack(t, st)
	}

	path := "/frameworks/" + c.Status().FrameworkID + "/executors/hello-1/runs/latest/stdout"
	agentURL := "http://" + o.GetUrl().GetAddress().GetIp() + ":" + itoa(int(o.GetUrl().GetAddress().GetPort()))
	resp, err := http.Get(agentURL + "/files/read?offset=0&path=" + url.QueryEscape(path))
	if err != nil {
		t.Fatal(err)
	}
	var read struct {
		Data   string `json:"data"`
		Offset int    `json:"offset"`
	}
	decodeJSON(t, resp, &read)
	resp.Body.Close()
	if !strings.Contains(read.Data, "hello world\n") {
		t.Errorf("stdout = %q, want hello world", read.Data)
	}
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}

// TestUpdatesRetriedUntilAcknowledged: the agent resends the head of a
// task's update stream until it is acknowledged, and holds the next one.
func TestUpdatesRetriedUntilAcknowledged(t *testing.T) {
	_, base := startMaster(t, local.Config{StatusRetry: 50 * time.Millisecond})
	c := newClient(t, base, "", nil)
	c.launch(t, c.nextOffer(t, ""), commandTask("sleepy", "sleep 30"), nil)

	first := c.nextUpdate(t, "sleepy")
	again := c.nextUpdate(t, "sleepy")
	if first.GetState() != mesos.TaskState_TASK_STARTING || again.GetState() != mesos.TaskState_TASK_STARTING || string(first.GetUuid()) != string(again.GetUuid()) {
		t.Fatalf("updates %v then %v: want STARTING resent with the same uuid", first.GetState(), again.GetState())
	}
	c.ack(t, again)
	var running *mesos.TaskStatus
	for running == nil {
		if st := c.nextUpdate(t, "sleepy"); st.GetState() == mesos.TaskState_TASK_RUNNING {
			running = st
		} else if st.GetState() != mesos.TaskState_TASK_STARTING {
			t.Fatalf("got %v while waiting for RUNNING", st.GetState())
		}
	}
	c.ack(t, running)
}

func TestKillWithKillingState(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", func(fi *mesos.FrameworkInfo) {
		fi.Capabilities = []*mesos.FrameworkInfo_Capability{{Type: mesos.FrameworkInfo_Capability_TASK_KILLING_STATE.Enum()}}
	})
	c.launch(t, c.nextOffer(t, ""), commandTask("long", "sleep 600"), nil)
	for _, want := range []mesos.TaskState{mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING} {
		st := c.nextUpdate(t, "long")
		if st.GetState() != want {
			t.Fatalf("update = %v, want %v", st.GetState(), want)
		}
		c.ack(t, st)
	}
	start := time.Now()
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_KILL.Enum(), Kill: &mesos.Call_Kill{
		TaskId:     &mesos.TaskID{Value: proto.String("long")},
		KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(200 * time.Millisecond))}},
	}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []mesos.TaskState{mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_KILLED} {
		st := c.nextUpdate(t, "long")
		if st.GetState() != want {
			t.Fatalf("update = %v, want %v", st.GetState(), want)
		}
		c.ack(t, st)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("kill took %v", took)
	}
}

// TestInvalidAccepts checks the updates the master sends for bad ACCEPTs.
func TestInvalidAccepts(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", nil)

	o := c.nextOffer(t, "agent-1.demo")
	// An unknown offer loses the task.
	bogus := &mesos.Offer{Id: &mesos.OfferID{Value: proto.String("no-such-offer")}, AgentId: o.GetAgentId()}
	c.launch(t, bogus, commandTask("t-bogus", "true"), nil)
	st := c.nextUpdate(t, "t-bogus")
	if st.GetState() != mesos.TaskState_TASK_LOST || st.GetReason() != mesos.TaskStatus_REASON_INVALID_OFFERS || st.GetSource() != mesos.TaskStatus_SOURCE_MASTER || len(st.GetUuid()) != 0 ||
		st.GetMessage() != "Task launched with invalid offers: Offer no-such-offer is no longer valid" {
		t.Errorf("unknown offer: %v", st)
	}

	tests := []struct {
		name    string
		task    func(o *mesos.Offer) *mesos.TaskInfo
		wantMsg string
	}{
		{"no resources", func(o *mesos.Offer) *mesos.TaskInfo {
			ti := commandTask("t-nores", "true")
			ti.Resources = nil
			return ti
		}, "Task uses no resources"},
		{"no command", func(o *mesos.Offer) *mesos.TaskInfo {
			ti := commandTask("t-nocmd", "true")
			ti.Command = nil
			return ti
		}, "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"},
		{"too much memory", func(o *mesos.Offer) *mesos.TaskInfo {
			ti := commandTask("t-big", "true")
			ti.Resources = []*mesos.Resource{mesos.Scalar("cpus", 0.1), mesos.Scalar("mem", 100000)}
			return ti
		}, "Total resources cpus:0.1; mem:100000 required by task and its executor is more than available "},
		{"negative cpus", func(o *mesos.Offer) *mesos.TaskInfo {
			ti := commandTask("t-neg", "true")
			ti.Resources = []*mesos.Resource{mesos.Scalar("cpus", -1)}
			return ti
		}, "Task uses invalid resources: Invalid scalar resource cpus: value <= 0"},
		{"bad id", func(o *mesos.Offer) *mesos.TaskInfo { return commandTask("a/b", "true") }, "'a/b' contains invalid characters"},
		{"wrong agent", func(o *mesos.Offer) *mesos.TaskInfo {
			ti := commandTask("t-agent", "true")
			ti.AgentId = &mesos.AgentID{Value: proto.String("other")}
			return ti
		}, "Task uses invalid agent other while agent "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := c.nextOffer(t, "")
			ti := tc.task(o)
			c.launch(t, o, ti, &mesos.Filters{RefuseSeconds: proto.Float64(0)})
			st := c.nextUpdate(t, ti.GetTaskId().GetValue())
			if st.GetState() != mesos.TaskState_TASK_ERROR || st.GetReason() != mesos.TaskStatus_REASON_TASK_INVALID || !strings.HasPrefix(st.GetMessage(), tc.wantMsg) {
				t.Errorf("%s: %v %v %q, want TASK_ERROR %q", tc.name, st.GetState(), st.GetReason(), st.GetMessage(), tc.wantMsg)
			}
		})
	}

	// A duplicate of a live task id.
	o = c.nextOffer(t, "")
	c.launch(t, o, commandTask("dup", "sleep 30"), &mesos.Filters{RefuseSeconds: proto.Float64(0)})
	c.ack(t, c.nextUpdate(t, "dup"))
	o = c.nextOffer(t, "")
	c.launch(t, o, commandTask("dup", "true"), &mesos.Filters{RefuseSeconds: proto.Float64(0)})
	for {
		st := c.nextUpdate(t, "dup")
		if st.GetState() == mesos.TaskState_TASK_ERROR {
			if st.GetMessage() != "Task has duplicate ID: dup" {
				t.Errorf("duplicate: %q", st.GetMessage())
			}
			break
		}
		c.ack(t, st)
	}
}

func TestCommandNotFoundFails(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", nil)
	c.launch(t, c.nextOffer(t, ""), commandTask("nf", "definitely-not-a-command-xyz"), nil)
	for {
		st := c.nextUpdate(t, "nf")
		c.ack(t, st)
		if mesos.IsTerminal(st.GetState()) {
			if st.GetState() != mesos.TaskState_TASK_FAILED || st.GetMessage() != "Command exited with status 127" {
				t.Errorf("terminal update = %v %q", st.GetState(), st.GetMessage())
			}
			return
		}
	}
}

func TestContainerTaskIsSimulated(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", nil)
	ti := commandTask("nginx-1", "")
	ti.Command = &mesos.CommandInfo{Shell: proto.Bool(false)}
	ti.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum(), Docker: &mesos.ContainerInfo_DockerInfo{Image: proto.String("nginx:1.25")}}
	c.launch(t, c.nextOffer(t, ""), ti, nil)
	c.ack(t, c.nextUpdate(t, "nginx-1"))
	running := c.nextUpdate(t, "nginx-1")
	if running.GetState() != mesos.TaskState_TASK_RUNNING || !strings.Contains(running.GetMessage(), "nginx:1.25") {
		t.Errorf("container task = %v %q, want RUNNING saying it is simulated", running.GetState(), running.GetMessage())
	}
}

func TestDeclineFilter(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", nil)
	o := c.nextOffer(t, "agent-2.demo")
	declined := time.Now()
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{
		OfferIds: []*mesos.OfferID{o.GetId()}, Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0.5)},
	}}); err != nil {
		t.Fatal(err)
	}
	again := c.nextOffer(t, "agent-2.demo")
	if waited := time.Since(declined); waited < 450*time.Millisecond {
		t.Errorf("agent-2 offered again after %v, before the 0.5 s filter expired", waited)
	}
	if again.GetId().GetValue() == o.GetId().GetValue() {
		t.Errorf("re-offer reused the offer id %s", o.GetId().GetValue())
	}
	// A used offer cannot be declined or accepted again: the task is lost.
	c.launch(t, o, commandTask("late", "true"), nil)
	if st := c.nextUpdate(t, "late"); st.GetState() != mesos.TaskState_TASK_LOST {
		t.Errorf("accept of a declined offer = %v", st.GetState())
	}
}

func TestSuppressAndRevive(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", nil)
	first := c.nextOffer(t, "")
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_SUPPRESS.Enum()}); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{
		OfferIds: []*mesos.OfferID{first.GetId()}, Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0)}}}); err != nil {
		t.Fatal(err)
	}
	// Drain what was sent before SUPPRESS took effect, then expect silence.
	time.Sleep(100 * time.Millisecond)
	for len(c.events) > 0 {
		<-c.events
	}
	quiet := time.After(300 * time.Millisecond)
	for waiting := true; waiting; {
		select {
		case e := <-c.events:
			if e.GetType() == mesos.Event_OFFERS {
				t.Fatalf("offer while suppressed: %v", e)
			}
		case <-quiet:
			waiting = false
		}
	}
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_REVIVE.Enum()}); err != nil {
		t.Fatal(err)
	}
	c.nextOffer(t, first.GetHostname())
}

func TestReconciliation(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", nil)
	o := c.nextOffer(t, "agent-1.demo")
	c.launch(t, o, commandTask("r-run", "sleep 30"), &mesos.Filters{RefuseSeconds: proto.Float64(0)})
	for st := c.nextUpdate(t, "r-run"); ; st = c.nextUpdate(t, "r-run") {
		c.ack(t, st)
		if st.GetState() == mesos.TaskState_TASK_RUNNING {
			break
		}
	}
	o = c.nextOffer(t, "agent-1.demo")
	c.launch(t, o, commandTask("r-done", "true"), nil)
	for st := c.nextUpdate(t, "r-done"); ; st = c.nextUpdate(t, "r-done") {
		c.ack(t, st)
		if st.GetState() == mesos.TaskState_TASK_FINISHED {
			break
		}
	}

	// Implicit: only live tasks (and unacknowledged terminal ones).
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_RECONCILE.Enum(), Reconcile: &mesos.Call_Reconcile{}}); err != nil {
		t.Fatal(err)
	}
	st := c.next(t, mesos.Event_UPDATE).GetUpdate().GetStatus()
	if st.GetTaskId().GetValue() != "r-run" || st.GetState() != mesos.TaskState_TASK_RUNNING || st.GetReason() != mesos.TaskStatus_REASON_RECONCILIATION ||
		st.GetMessage() != "Reconciliation: Latest task state" || len(st.GetUuid()) != 0 || st.GetSource() != mesos.TaskStatus_SOURCE_MASTER {
		t.Errorf("implicit reconciliation = %v", st)
	}

	// Explicit, for an acknowledged finished task: the Mesos surprise.
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_RECONCILE.Enum(), Reconcile: &mesos.Call_Reconcile{Tasks: []*mesos.Call_Reconcile_Task{
		{TaskId: &mesos.TaskID{Value: proto.String("r-done")}, AgentId: o.GetAgentId()},
		{TaskId: &mesos.TaskID{Value: proto.String("never-was")}},
	}}}); err != nil {
		t.Fatal(err)
	}
	done := c.nextUpdate(t, "r-done")
	if done.GetState() != mesos.TaskState_TASK_LOST || done.GetMessage() != "Reconciliation: Task is unknown to the agent" {
		t.Errorf("explicit reconciliation of an acknowledged finished task = %v %q", done.GetState(), done.GetMessage())
	}
	never := c.nextUpdate(t, "never-was")
	if never.GetState() != mesos.TaskState_TASK_LOST || never.GetMessage() != "Reconciliation: Task is unknown" {
		t.Errorf("explicit reconciliation of an unknown task = %v %q", never.GetState(), never.GetMessage())
	}
}

// TestFailover: a framework with a failover timeout keeps its tasks while
// disconnected and gets them back when it subscribes again with its id.
func TestFailover(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	withTimeout := func(fi *mesos.FrameworkInfo) { fi.FailoverTimeout = proto.Float64(60) }
	c := newClient(t, base, "", withTimeout)
	c.launch(t, c.nextOffer(t, ""), commandTask("survivor", "sleep 60"), nil)
	for st := c.nextUpdate(t, "survivor"); ; st = c.nextUpdate(t, "survivor") {
		c.ack(t, st)
		if st.GetState() == mesos.TaskState_TASK_RUNNING {
			break
		}
	}
	id := c.Status().FrameworkID
	c.stop()

	c2 := newClient(t, base, "", func(fi *mesos.FrameworkInfo) {
		withTimeout(fi)
		fi.Id = &mesos.FrameworkID{Value: proto.String(id)}
	})
	if got := c2.next(t, mesos.Event_SUBSCRIBED).GetSubscribed().GetFrameworkId().GetValue(); got != id {
		t.Fatalf("re-subscribed as %q, want %q", got, id)
	}
	if err := c2.Call(t.Context(), &mesos.Call{Type: mesos.Call_RECONCILE.Enum(), Reconcile: &mesos.Call_Reconcile{}}); err != nil {
		t.Fatal(err)
	}
	if st := c2.nextUpdate(t, "survivor"); st.GetState() != mesos.TaskState_TASK_RUNNING {
		t.Errorf("task after failover = %v, want RUNNING", st.GetState())
	}
}

// TestFailedOverStreamGetsError: a second subscription with the same id
// takes over; the first stream is told and closed.
func TestFailedOverStreamGetsError(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s1 := subscribeRaw(t, base, `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","failover_timeout":60}}}`)
	id := s1.next(t, mesos.Event_SUBSCRIBED).GetSubscribed().GetFrameworkId().GetValue()
	s2 := subscribeRaw(t, base, `{"type":"SUBSCRIBE","framework_id":{"value":"`+id+`"},"subscribe":{"framework_info":{"id":{"value":"`+id+`"},"user":"u","name":"n","failover_timeout":60}}}`)
	if got := s2.next(t, mesos.Event_SUBSCRIBED).GetSubscribed().GetFrameworkId().GetValue(); got != id {
		t.Fatalf("second subscription got id %q", got)
	}
	if e := s1.next(t, mesos.Event_ERROR); e.GetError().GetMessage() != "Framework failed over" {
		t.Errorf("old stream ERROR = %q", e.GetError().GetMessage())
	}
	if !s1.ended(5 * time.Second) {
		t.Error("old stream stayed open")
	}
	// The old stream id is now stale.
	r := s1.call(t, base, &mesos.Call{FrameworkId: fid(id), Type: mesos.Call_REVIVE.Enum()})
	if r.status != 400 || !strings.Contains(r.body, "didn't match the stream ID") {
		t.Errorf("call with the old stream id = %d %s", r.status, r.body)
	}
}

func TestTeardownAndRemovedFramework(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := subscribeRaw(t, base, subscribeBody)
	id := s.next(t, mesos.Event_SUBSCRIBED).GetSubscribed().GetFrameworkId().GetValue()
	if r := s.call(t, base, &mesos.Call{FrameworkId: fid(id), Type: mesos.Call_TEARDOWN.Enum()}); r.status != 202 {
		t.Fatalf("TEARDOWN = %d %s", r.status, r.body)
	}
	if !s.ended(5 * time.Second) {
		t.Fatal("stream stayed open after TEARDOWN")
	}
	again := subscribeRaw(t, base, `{"type":"SUBSCRIBE","framework_id":{"value":"`+id+`"},"subscribe":{"framework_info":{"id":{"value":"`+id+`"},"user":"root","name":"conformance"}}}`)
	if e := again.next(t, mesos.Event_ERROR, mesos.Event_SUBSCRIBED); e.GetError().GetMessage() != "Framework has been removed" {
		t.Errorf("re-subscribe of a removed framework = %v", e)
	}
	if r := post(t, base, "POST", mesos.MediaTypeJSON, "", s.streamID, []byte(`{"framework_id":{"value":"`+id+`"},"type":"REVIVE"}`)); r.status != 400 || r.body != "Framework cannot be found" {
		t.Errorf("call for a removed framework = %d %q", r.status, r.body)
	}
}

func TestDisconnectWithoutFailoverTimeoutRemovesFramework(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := subscribeRaw(t, base, subscribeBody)
	id := s.next(t, mesos.Event_SUBSCRIBED).GetSubscribed().GetFrameworkId().GetValue()
	s.close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		again := subscribeRaw(t, base, `{"type":"SUBSCRIBE","framework_id":{"value":"`+id+`"},"subscribe":{"framework_info":{"id":{"value":"`+id+`"},"user":"root","name":"conformance"}}}`)
		e := again.next(t, mesos.Event_ERROR, mesos.Event_SUBSCRIBED)
		again.close()
		if e.GetType() == mesos.Event_ERROR && e.GetError().GetMessage() == "Framework has been removed" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("framework with failover_timeout 0 was not removed after disconnecting: %v", e)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTwoFrameworksShareFairlyWithoutOverlap: two frameworks that decline
// everything at once both keep getting offers (dominant resource fairness
// alternates agents between them), and no agent is ever offered to both.
func TestTwoFrameworksShareFairlyWithoutOverlap(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	clients := map[string]*testClient{"a": newClient(t, base, "", nil), "b": newClient(t, base, "", nil)}
	for _, c := range clients {
		c.next(t, mesos.Event_SUBSCRIBED)
	}
	holder := map[string]string{} // agent id -> the framework holding its offer
	got := map[string]int{}
	deadline := time.After(5 * time.Second)
	for got["a"] < 3 || got["b"] < 3 {
		var e *mesos.Event
		var who string
		select {
		case e = <-clients["a"].events:
			who = "a"
		case e = <-clients["b"].events:
			who = "b"
		case <-deadline:
			t.Fatalf("offers per framework = %v, want both to keep getting offers", got)
		}
		for _, o := range e.GetOffers().GetOffers() {
			agent := o.GetAgentId().GetValue()
			if h, held := holder[agent]; held {
				t.Fatalf("agent %s offered to %s while %s holds it", o.GetHostname(), who, h)
			}
			holder[agent] = who
			got[who]++
			// DECLINE is applied before the master answers, so once it
			// returns the agent is free for whoever is next.
			if err := clients[who].Call(t.Context(), &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{
				OfferIds: []*mesos.OfferID{o.GetId()}, Filters: &mesos.Filters{RefuseSeconds: proto.Float64(0)}}}); err != nil {
				t.Fatal(err)
			}
			delete(holder, agent)
		}
	}
}

func TestRemoveAgent(t *testing.T) {
	m, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", nil)
	o := c.nextOffer(t, "agent-3.demo")
	c.launch(t, o, commandTask("doomed", "sleep 60"), &mesos.Filters{RefuseSeconds: proto.Float64(0)})
	for st := c.nextUpdate(t, "doomed"); ; st = c.nextUpdate(t, "doomed") {
		c.ack(t, st)
		if st.GetState() == mesos.TaskState_TASK_RUNNING {
			break
		}
	}
	held := c.nextOffer(t, "agent-3.demo") // the rest of the agent, offered again
	if err := m.RemoveAgent(o.GetAgentId().GetValue()); err != nil {
		t.Fatal(err)
	}
	seen := map[mesos.Event_Type]bool{}
	for !(seen[mesos.Event_RESCIND] && seen[mesos.Event_UPDATE] && seen[mesos.Event_FAILURE]) {
		e := c.next(t, mesos.Event_RESCIND, mesos.Event_UPDATE, mesos.Event_FAILURE)
		seen[e.GetType()] = true
		switch e.GetType() {
		case mesos.Event_RESCIND:
			if e.GetRescind().GetOfferId().GetValue() != held.GetId().GetValue() {
				t.Errorf("RESCIND of %v, want %v", e.GetRescind().GetOfferId(), held.GetId())
			}
		case mesos.Event_UPDATE:
			st := e.GetUpdate().GetStatus()
			if st.GetState() != mesos.TaskState_TASK_LOST || st.GetReason() != mesos.TaskStatus_REASON_AGENT_REMOVED {
				t.Errorf("task update after agent removal = %v %v", st.GetState(), st.GetReason())
			}
		case mesos.Event_FAILURE:
			if e.GetFailure().GetAgentId().GetValue() != o.GetAgentId().GetValue() {
				t.Errorf("FAILURE for %v", e.GetFailure().GetAgentId())
			}
		}
	}
}

func TestStepDownRedirectsClient(t *testing.T) {
	follower, fbase := startMaster(t, local.Config{})
	_, lbase := startMaster(t, local.Config{})
	follower.StepDown(strings.TrimPrefix(lbase, "http://"))
	c := newClientAt(t, []string{fbase, lbase}, "", nil)
	c.next(t, mesos.Event_SUBSCRIBED)
	if got := c.Status().Master; got != lbase {
		t.Errorf("subscribed to %s, want the leader %s", got, lbase)
	}
	resp, err := http.Get(fbase + "/master/state")
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func TestCutStreamMidRecordAndRestart(t *testing.T) {
	m, base := startMaster(t, local.Config{})
	c := newClient(t, base, "", func(fi *mesos.FrameworkInfo) { fi.FailoverTimeout = proto.Float64(60) })
	c.next(t, mesos.Event_SUBSCRIBED)
	id := c.Status().FrameworkID
	if n := m.CutStreams(true); n != 1 {
		t.Fatalf("CutStreams = %d, want 1", n)
	}
	if got := c.next(t, mesos.Event_SUBSCRIBED).GetSubscribed().GetFrameworkId().GetValue(); got != id {
		t.Errorf("after a cut the client re-subscribed as %q, want %q", got, id)
	}
	old := m.ID()
	m.Restart()
	e := c.next(t, mesos.Event_SUBSCRIBED)
	if got := e.GetSubscribed().GetFrameworkId().GetValue(); got != id {
		t.Errorf("after a master restart the client re-subscribed as %q, want %q", got, id)
	}
	if e.GetSubscribed().GetMasterInfo().GetId() == old {
		t.Errorf("restarted master kept its id")
	}
}

func TestOfferTimeoutRescinds(t *testing.T) {
	_, base := startMaster(t, local.Config{OfferTimeout: 100 * time.Millisecond})
	c := newClient(t, base, "", nil)
	o := c.nextOffer(t, "")
	for {
		e := c.next(t, mesos.Event_RESCIND)
		if e.GetRescind().GetOfferId().GetValue() == o.GetId().GetValue() {
			return
		}
	}
}
