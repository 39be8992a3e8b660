package master_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/local/localtest"
	"github.com/offerdeck/offerdeck/mesos/master"
	"github.com/offerdeck/offerdeck/mesos/recordio"
)

var mediaTypes = []string{mesos.MediaTypeJSON, mesos.MediaTypeProtobuf}

// operator runs a master.Client's stream for a test and collects its
// events.
type operator struct {
	*master.Client
	events chan *master.Event
	cancel context.CancelFunc
	done   chan error
}

func runOperator(t *testing.T, cfg master.Config) *operator {
	t.Helper()
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 100*time.Millisecond
	}
	c, err := master.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	op := &operator{Client: c, events: make(chan *master.Event, 4096), cancel: cancel, done: make(chan error, 1)}
	go func() {
		op.done <- c.Run(ctx, func(_ context.Context, e *master.Event) {
			select {
			case op.events <- e:
			default:
				t.Errorf("operator event buffer full; dropped %v", e.GetType())
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-op.done:
		case <-time.After(10 * time.Second):
			t.Error("operator client: Run did not return within 10s of cancel")
		}
	})
	return op
}

// next returns the next event of type typ, skipping others.
func (op *operator) next(t *testing.T, typ master.Event_Type) *master.Event {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case e := <-op.events:
			if e.GetType() == typ {
				return e
			}
		case <-deadline:
			t.Fatalf("no %v within 15s", typ)
		}
	}
}

// TestClientStream: the client delivers the whole cluster first, then
// another framework's tasks and the agents coming and going, typed, in
// both media types.
func TestClientStream(t *testing.T) {
	for _, mt := range mediaTypes {
		t.Run(mt, func(t *testing.T) {
			m, base := localtest.Start(t, local.Config{SimulateCommands: true})
			op := runOperator(t, master.Config{Masters: []string{base}, MediaType: mt})
			e := op.next(t, master.Event_SUBSCRIBED)
			if n := len(e.GetSubscribed().GetGetState().GetGetAgents().GetAgents()); n != 3 {
				t.Fatalf("SUBSCRIBED has %d agents, want 3", n)
			}
			if st := op.Status(); st.State != mesos.Subscribed || st.Master != base || st.HeartbeatInterval != 15*time.Second {
				t.Errorf("Status() = %+v, want subscribed to %s with a 15 s heartbeat", st, base)
			}

			localtest.Framework(t, base, "batch", "job-1")
			if fw := op.next(t, master.Event_FRAMEWORK_ADDED).GetFrameworkAdded().GetFramework(); fw.GetFrameworkInfo().GetName() != "batch" {
				t.Errorf("FRAMEWORK_ADDED = %v, want batch", fw)
			}
			if task := op.next(t, master.Event_TASK_ADDED).GetTaskAdded().GetTask(); task.GetTaskId().GetValue() != "job-1" {
				t.Errorf("TASK_ADDED = %v, want job-1", task)
			}
			for {
				u := op.next(t, master.Event_TASK_UPDATED).GetTaskUpdated()
				if u.GetStatus().GetTaskId().GetValue() != "job-1" {
					t.Fatalf("TASK_UPDATED of %v, want job-1", u.GetStatus().GetTaskId())
				}
				if u.GetState() == mesos.TaskState_TASK_RUNNING {
					break
				}
			}

			id, err := m.AddAgent(local.AgentConfig{Hostname: "agent-9.demo", CPUs: 2, Mem: 512, Disk: 100})
			if err != nil {
				t.Fatal(err)
			}
			if a := op.next(t, master.Event_AGENT_ADDED).GetAgentAdded().GetAgent(); a.GetAgentInfo().GetId().GetValue() != id {
				t.Errorf("AGENT_ADDED = %v, want %s", a, id)
			}
			if err := m.RemoveAgent(id); err != nil {
				t.Fatal(err)
			}
			if got := op.next(t, master.Event_AGENT_REMOVED).GetAgentRemoved().GetAgentId().GetValue(); got != id {
				t.Errorf("AGENT_REMOVED of %s, want %s", got, id)
			}
		})
	}
}

// TestClientReconnects: a stream cut in the middle is subscribed again,
// and the new subscription starts with a full SUBSCRIBED that holds what
// changed meanwhile.
func TestClientReconnects(t *testing.T) {
	m, base := localtest.Start(t, local.Config{SimulateCommands: true})
	op := runOperator(t, master.Config{Masters: []string{base}})
	op.next(t, master.Event_SUBSCRIBED)
	if n := m.CutOperatorStreams(); n != 1 {
		t.Fatalf("CutOperatorStreams() = %d, want 1", n)
	}
	// Added while the stream may be down: it must be in the next snapshot
	// or arrive as an event after it.
	id, err := m.AddAgent(local.AgentConfig{Hostname: "late.demo", CPUs: 1, Mem: 128, Disk: 10})
	if err != nil {
		t.Fatal(err)
	}
	e := op.next(t, master.Event_SUBSCRIBED)
	found := false
	for _, a := range e.GetSubscribed().GetGetState().GetGetAgents().GetAgents() {
		found = found || a.GetAgentInfo().GetId().GetValue() == id
	}
	if !found {
		op.next(t, master.Event_AGENT_ADDED)
	}
	if st := op.Status(); st.State != mesos.Subscribed {
		t.Errorf("Status().State = %v after reconnecting", st.State)
	}
}

// TestClientHeartbeatWatchdog: a stream that goes silent is given up after
// HeartbeatMisses intervals and subscribed again.
func TestClientHeartbeatWatchdog(t *testing.T) {
	m, base := localtest.Start(t, local.Config{SimulateCommands: true, HeartbeatInterval: 100 * time.Millisecond})
	op := runOperator(t, master.Config{Masters: []string{base}, HeartbeatMisses: 2})
	op.next(t, master.Event_SUBSCRIBED)
	m.StopHeartbeats(true)
	op.next(t, master.Event_SUBSCRIBED)
	if err := op.Status().Err; err != nil && !errors.Is(err, mesos.ErrHeartbeatTimeout) {
		t.Errorf("Status().Err = %v, want nil or a heartbeat timeout", err)
	}
}

// TestClientFollowsLeader: a follower's 307 leads to the leader, when the
// leader is a configured master.
func TestClientFollowsLeader(t *testing.T) {
	_, leader := localtest.Start(t, local.Config{SimulateCommands: true})
	follower, fbase := localtest.Start(t, local.Config{SimulateCommands: true})
	follower.StepDown(strings.TrimPrefix(leader, "http://"))
	op := runOperator(t, master.Config{Masters: []string{fbase, leader}})
	op.next(t, master.Event_SUBSCRIBED)
	if got := op.Status().Master; got != leader {
		t.Errorf("Status().Master = %s, want the leader %s", got, leader)
	}
	resp, err := op.Call(t.Context(), &master.Call{Type: master.Call_GET_HEALTH.Enum()})
	if err != nil || !resp.GetGetHealth().GetHealthy() {
		t.Errorf("GET_HEALTH = %v, %v", resp, err)
	}
}

// TestClientRefused: wrong credentials end Run at once with ErrRefused and
// the master's answer; right ones subscribe.
func TestClientRefused(t *testing.T) {
	_, base := localtest.Start(t, local.Config{SimulateCommands: true, Credentials: map[string]string{"ops": "s3cret"}})
	c, err := master.NewClient(master.Config{Masters: []string{base}, Principal: "ops", Secret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err = c.Run(ctx, func(context.Context, *master.Event) {})
	var apiErr *mesos.APIError
	if !errors.Is(err, master.ErrRefused) || !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("Run with a wrong secret = %v, want ErrRefused with 401", err)
	}
	if _, err := c.Call(ctx, &master.Call{Type: master.Call_GET_STATE.Enum()}); !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Errorf("Call with a wrong secret = %v, want 401", err)
	}
	op := runOperator(t, master.Config{Masters: []string{base}, Principal: "ops", Secret: "s3cret"})
	op.next(t, master.Event_SUBSCRIBED)
}

// TestClientCalls: Call answers every read call in both media types, and
// refuses SUBSCRIBE, which only Run makes.
func TestClientCalls(t *testing.T) {
	_, base := localtest.Start(t, local.Config{SimulateCommands: true})
	op := runOperator(t, master.Config{Masters: []string{base}})
	op.next(t, master.Event_SUBSCRIBED) // before the task, so that it comes as an event
	localtest.Framework(t, base, "svc", "svc-1")
	op.next(t, master.Event_TASK_ADDED) // the framework's ACCEPT is through
	for _, mt := range mediaTypes {
		t.Run(mt, func(t *testing.T) {
			c, err := master.NewClient(master.Config{Masters: []string{base}, MediaType: mt})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Call(t.Context(), &master.Call{Type: master.Call_GET_TASKS.Enum()})
			if tasks := resp.GetGetTasks().GetTasks(); err != nil || len(tasks) != 1 || tasks[0].GetTaskId().GetValue() != "svc-1" {
				t.Fatalf("GET_TASKS = %v, %v; want svc-1", resp, err)
			}
			for _, typ := range []master.Call_Type{master.Call_GET_STATE, master.Call_GET_AGENTS, master.Call_GET_FRAMEWORKS,
				master.Call_GET_EXECUTORS, master.Call_GET_ROLES, master.Call_GET_VERSION, master.Call_GET_HEALTH,
				master.Call_GET_FLAGS, master.Call_GET_MASTER} {
				resp, err := c.Call(t.Context(), &master.Call{Type: typ.Enum()})
				if err != nil {
					t.Errorf("%v: %v", typ, err)
					continue
				}
				if resp.GetType().String() != typ.String() {
					t.Errorf("%v answered %v", typ, resp.GetType())
				}
			}
			if _, err := c.Call(t.Context(), &master.Call{Type: master.Call_SUBSCRIBE.Enum()}); err == nil {
				t.Error("Call(SUBSCRIBE) succeeded; only Run subscribes")
			}
		})
	}
}

// TestStateEqualsGetState: a State built from the stream equals one built
// from a fresh GET_STATE once the cluster is quiet: the live view and a
// reload agree.
func TestStateEqualsGetState(t *testing.T) {
	m, base := localtest.Start(t, local.Config{SimulateCommands: true})
	op := runOperator(t, master.Config{Masters: []string{base}})
	var live master.State
	apply := func(e *master.Event) {
		t.Helper()
		if err := live.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	apply(op.next(t, master.Event_SUBSCRIBED))
	localtest.Framework(t, base, "web", "w-1", "w-2", "w-3")
	// until applies events until done says the wanted one came.
	until := func(done func(*master.Event) bool) {
		t.Helper()
		for {
			select {
			case e := <-op.events:
				apply(e)
				if done(e) {
					return
				}
			case <-time.After(15 * time.Second):
				t.Fatal("no wanted event within 15s")
			}
		}
	}
	running := map[string]bool{}
	until(func(e *master.Event) bool {
		if u := e.GetTaskUpdated(); u.GetState() == mesos.TaskState_TASK_RUNNING {
			running[u.GetStatus().GetTaskId().GetValue()] = true
		}
		return len(running) == 3
	})
	id, err := m.AddAgent(local.AgentConfig{Hostname: "extra.demo", CPUs: 1, Mem: 128, Disk: 10})
	if err != nil {
		t.Fatal(err)
	}
	until(func(e *master.Event) bool { return e.GetType() == master.Event_AGENT_ADDED })
	if err := m.RemoveAgent(id); err != nil {
		t.Fatal(err)
	}
	until(func(e *master.Event) bool { return e.GetType() == master.Event_AGENT_REMOVED })
	resp, err := op.Call(t.Context(), &master.Call{Type: master.Call_GET_STATE.Enum()})
	if err != nil {
		t.Fatal(err)
	}
	var reload master.State
	if err := reload.Apply(&master.Event{Type: master.Event_SUBSCRIBED.Enum(), Subscribed: &master.Event_Subscribed{GetState: resp.GetGetState()}}); err != nil {
		t.Fatal(err)
	}
	if got, want := keys(live.Agents), keys(reload.Agents); !slices.Equal(got, want) {
		t.Errorf("live agents %v, reload %v", got, want)
	}
	if got, want := keys(live.Frameworks), keys(reload.Frameworks); !slices.Equal(got, want) {
		t.Errorf("live frameworks %v, reload %v", got, want)
	}
	if len(live.Tasks) != 3 || len(reload.Tasks) != 3 {
		t.Fatalf("live has %d tasks, reload %d; want 3", len(live.Tasks), len(reload.Tasks))
	}
	for k, lt := range live.Tasks {
		rt := reload.Tasks[k]
		if rt == nil || rt.GetState() != lt.GetState() || rt.GetAgentId().GetValue() != lt.GetAgentId().GetValue() {
			t.Errorf("task %v: live %v, reload %v", k, lt, rt)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestClientAfterMasterRestart: a restarted master (a new id, every stream
// cut) is subscribed to again, and its SUBSCRIBED names its new agents.
func TestClientAfterMasterRestart(t *testing.T) {
	m, base := localtest.Start(t, local.Config{SimulateCommands: true})
	op := runOperator(t, master.Config{Masters: []string{base}})
	before := op.next(t, master.Event_SUBSCRIBED)
	m.Restart()
	after := op.next(t, master.Event_SUBSCRIBED)
	if n := len(after.GetSubscribed().GetGetState().GetGetAgents().GetAgents()); n != len(before.GetSubscribed().GetGetState().GetGetAgents().GetAgents()) {
		t.Errorf("SUBSCRIBED after the restart has %d agents", n)
	}
	resp, err := op.Call(t.Context(), &master.Call{Type: master.Call_GET_MASTER.Enum()})
	if err != nil || resp.GetGetMaster().GetMasterInfo().GetId() != m.ID() {
		t.Errorf("GET_MASTER = %v, %v; want the new id %s", resp, err, m.ID())
	}
}

// TestClientBoundsRecords: an event larger than MaxRecordSize ends the
// subscription with recordio.ErrTooLarge instead of being buffered, and
// the client keeps trying (it is not a refusal).
func TestClientBoundsRecords(t *testing.T) {
	_, base := localtest.Start(t, local.Config{SimulateCommands: true})
	errs := make(chan error, 64)
	c, err := master.NewClient(master.Config{Masters: []string{base}, MaxRecordSize: 512,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		OnStatus: func(s master.Status) {
			if s.Err != nil {
				select {
				case errs <- s.Err:
				default:
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, func(context.Context, *master.Event) { t.Error("an event was delivered") }) }()
	// Two failed attempts: the client retried.
	for i := range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, recordio.ErrTooLarge) {
				t.Errorf("attempt %d ended with %v, want recordio.ErrTooLarge", i+1, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("attempt %d did not fail within 10s", i+1)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
}
