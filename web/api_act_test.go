package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// result is an action's answer.
type result struct {
	Message string
	TaskIDs []string `json:"task_ids"`
}

// TestAPILaunchOutputKill runs the Cookbook's flow through the API: launch
// echo hello world, see it finish and read its output, launch a sleep and
// kill it; the audit log names the token's user.
func TestAPILaunchOutputKill(t *testing.T) {
	st := newAPIStack(t)
	a := st.call(t, operatorToken, "POST", "/launch", map[string]any{"name": "hello", "command": "echo hello world", "cpus": 0.1, "mem": 32})
	var res result
	a.json(t, &res)
	if a.status != http.StatusAccepted || len(res.TaskIDs) != 1 || a.header.Get("Location") != apiBase+"/tasks/"+res.TaskIDs[0] {
		t.Fatalf("POST /launch = %d %s Location %q, want 202 with one task and its address", a.status, a.body, a.header.Get("Location"))
	}
	hello := res.TaskIDs[0]
	task := st.waitTask(t, hello, "TASK_FINISHED")
	if task["terminal"] != true || task["command"] != "echo hello world" || task["hostname"] == "" {
		t.Errorf("finished task = %v", task)
	}
	var states []string
	for _, s := range task["timeline"].([]any) {
		states = append(states, s.(map[string]any)["state"].(string))
	}
	if !slices.Equal(states, []string{"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"}) {
		t.Errorf("timeline = %v, want starting, running, finished", states)
	}

	var out struct {
		Data         string
		Offset, Next int64
	}
	st.call(t, viewerToken, "GET", "/tasks/"+hello+"/output", nil).json(t, &out)
	if out.Data != "hello world\n" || out.Offset != 0 || out.Next != 12 {
		t.Errorf("output = %+v, want hello world from 0 to 12", out)
	}
	for q, want := range map[string]string{"?offset=6": "world\n", "?offset=0&length=5": "hello", "?offset=-6": "world\n", "?offset=12": ""} {
		st.call(t, viewerToken, "GET", "/tasks/"+hello+"/output"+q, nil).json(t, &out)
		if out.Data != want {
			t.Errorf("output%s = %q, want %q", q, out.Data, want)
		}
	}

	a = st.call(t, operatorToken, "POST", "/launch", map[string]any{"name": "nap", "command": "sleep 600", "cpus": 0.1, "mem": 32})
	a.json(t, &res)
	if len(res.TaskIDs) != 1 {
		t.Fatalf("POST /launch of sleep = %d %s", a.status, a.body)
	}
	nap := res.TaskIDs[0]
	st.waitTask(t, nap, "TASK_RUNNING")
	var list struct {
		Tasks []struct{ ID string }
		Total int
	}
	st.call(t, viewerToken, "GET", "/tasks?state=TASK_RUNNING", nil).json(t, &list)
	if list.Total != 1 || list.Tasks[0].ID != nap {
		t.Errorf("running tasks = %+v, want the sleep alone", list)
	}
	st.call(t, viewerToken, "GET", "/tasks?limit=1", nil).json(t, &list)
	if list.Total != 2 || len(list.Tasks) != 1 || list.Tasks[0].ID != nap {
		t.Errorf("tasks?limit=1 = %+v, want the newest of 2", list)
	}
	a = st.call(t, operatorToken, "POST", "/tasks/"+nap+"/kill", map[string]any{"grace_seconds": 1})
	if a.status != http.StatusAccepted {
		t.Fatalf("kill = %d %s", a.status, a.body)
	}
	st.waitTask(t, nap, "TASK_KILLED")
	a = st.call(t, operatorToken, "POST", "/tasks/"+nap+"/kill", nil)
	if a.status != http.StatusConflict || problemName(a.problem(t)) != "task-finished" {
		t.Errorf("kill again = %d %s, want task-finished", a.status, a.body)
	}

	var audit struct {
		Entries []struct{ User, Action, Target, Origin string }
	}
	st.call(t, viewerToken, "GET", "/audit?limit=3", nil).json(t, &audit)
	var got []string
	for _, e := range audit.Entries {
		got = append(got, e.User+" "+e.Action+" "+e.Target)
		if !strings.HasSuffix(e.Origin, "(API)") {
			t.Errorf("audit origin %q, want it to say the API", e.Origin)
		}
	}
	if want := []string{"bot kill " + nap, "bot kill " + nap, "bot launch nap"}; !slices.Equal(got, want) {
		t.Errorf("audit = %v, want %v", got, want)
	}
}

// TestAPIOffersAndQueue accepts and declines offers, queues what no offer
// takes (with the reasons), removes it, and runs the actions without
// arguments.
func TestAPIOffersAndQueue(t *testing.T) {
	st := newAPIStack(t)
	offers := st.waitOffers(t, 3)
	first, second := offers[0]["id"].(string), offers[1]["id"].(string)

	a := st.call(t, operatorToken, "POST", "/offers/"+first+"/accept", map[string]any{"command": "sleep 600", "cpus": 50, "mem": 32})
	if a.status != http.StatusConflict || problemName(a.problem(t)) != "does-not-fit" {
		t.Errorf("accept of too much = %d %s, want does-not-fit", a.status, a.body)
	}
	a = st.call(t, operatorToken, "POST", "/offers/"+first+"/accept", map[string]any{"name": "web", "command": "sleep 600", "cpus": 0.5, "mem": 64, "instances": 2})
	var res result
	a.json(t, &res)
	if a.status != http.StatusAccepted || len(res.TaskIDs) != 2 {
		t.Fatalf("accept = %d %s, want 2 tasks", a.status, a.body)
	}
	a = st.call(t, operatorToken, "POST", "/offers/"+second+"/decline", map[string]any{"refuse_seconds": 60})
	if a.status != http.StatusOK {
		t.Fatalf("decline = %d %s", a.status, a.body)
	}
	a.json(t, &res)
	if !strings.Contains(res.Message, "60s") {
		t.Errorf("decline answered %q, want it to name 60s", res.Message)
	}
	a = st.call(t, operatorToken, "POST", "/offers/"+second+"/decline", nil)
	if a.status != http.StatusNotFound || problemName(a.problem(t)) != "unknown-offer" {
		t.Errorf("decline again = %d %s, want unknown-offer", a.status, a.body)
	}
	a = st.call(t, operatorToken, "POST", "/offers/x/decline", map[string]any{"refuse_seconds": -1})
	if a.status != http.StatusBadRequest || a.problem(t).Errors[0].Name != "refuse_seconds" {
		t.Errorf("decline for -1 s = %d %s, want refuse_seconds named", a.status, a.body)
	}

	// No agent seen is that big: refused, saying so, unless asked to wait.
	a = st.call(t, operatorToken, "POST", "/launch", map[string]any{"name": "huge", "command": "true", "cpus": 64, "mem": 32})
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(string(a.body), "#never-fits") || !strings.Contains(string(a.body), "the largest has") {
		t.Fatalf("launch of huge without wait = %d %s, want a 422 never-fits problem", a.status, a.body)
	}
	a = st.call(t, operatorToken, "POST", "/launch", map[string]any{"name": "huge", "command": "true", "cpus": 64, "mem": 32, "wait": true})
	if a.status != http.StatusAccepted {
		t.Fatalf("launch of huge = %d %s", a.status, a.body)
	}
	var queue struct {
		Queue []struct {
			ID   string
			Left int
			Spec struct{ Name string }
			Why  []struct {
				Hostname string
				Reasons  []string
			}
		}
	}
	st.call(t, viewerToken, "GET", "/queue", nil).json(t, &queue)
	if len(queue.Queue) != 1 || queue.Queue[0].Spec.Name != "huge" || queue.Queue[0].Left != 1 || len(queue.Queue[0].Why) == 0 ||
		!strings.Contains(strings.Join(queue.Queue[0].Why[0].Reasons, " "), "cpus") {
		t.Fatalf("queue = %+v, want huge waiting, for want of cpus", queue)
	}
	id := queue.Queue[0].ID
	if a := st.call(t, operatorToken, "DELETE", "/queue/"+id, nil); a.status != http.StatusOK {
		t.Errorf("DELETE /queue/%s = %d %s", id, a.status, a.body)
	}
	if a := st.call(t, operatorToken, "DELETE", "/queue/"+id, nil); a.status != http.StatusNotFound || problemName(a.problem(t)) != "unknown-queued" {
		t.Errorf("DELETE /queue/%s again = %d %s, want unknown-queued", id, a.status, a.body)
	}

	for _, action := range []string{"suppress", "revive", "reconcile"} {
		a := st.call(t, operatorToken, "POST", "/"+action, nil)
		if a.status/100 != 2 {
			t.Errorf("POST /%s = %d %s", action, a.status, a.body)
		}
		a = st.call(t, operatorToken, "POST", "/"+action, map[string]any{"now": true})
		if a.status != http.StatusBadRequest || a.problem(t).Errors[0].Name != "now" {
			t.Errorf("POST /%s with an argument = %d %s, want it named", action, a.status, a.body)
		}
	}
	var status struct{ Connection struct{ Suppressed bool } }
	st.call(t, viewerToken, "GET", "/status", nil).json(t, &status)
	if status.Connection.Suppressed {
		t.Error("still suppressed after revive")
	}
}

// TestAPISpecErrors: a spec with many faults is answered with every one
// of them, each naming its field; the body's size and type are bounded.
func TestAPISpecErrors(t *testing.T) {
	st := newAPIStack(t)
	for _, tc := range []struct {
		name string
		body any
		want []string // field names, sorted
	}{
		{"every field wrong", map[string]any{"name": "a/b", "cpus": -1, "mem": "lots", "ports": 1000, "instances": 0,
			"env": map[string]any{"A=B": "x"}, "constraints": "rack=~r2", "kill_grace_seconds": 7200, "colour": "red"},
			[]string{"colour", "constraints", "cpus", "env", "instances", "kill_grace_seconds", "mem", "name", "ports"}},
		{"nothing to run", map[string]any{"cpus": 1}, []string{""}},
		{"command and argv", map[string]any{"command": "ls", "argv": []string{"ls"}, "cpus": 1}, []string{""}},
		{"not an object", `[1,2]`, []string{""}},
		{"not JSON", `{"command":`, []string{""}},
		{"no body", nil, []string{""}},
		{"bad key", map[string]any{"command": "true", "cpus": 1, "name": strings.Repeat("n", 65)}, []string{"name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a apiResponse
			if tc.body == nil {
				a = st.call(t, operatorToken, "POST", "/launch", nil)
			} else {
				a = st.call(t, operatorToken, "POST", "/launch", tc.body)
			}
			if a.status != http.StatusBadRequest {
				t.Fatalf("status %d %s, want 400", a.status, a.body)
			}
			p := a.problem(t)
			var names []string
			for _, e := range p.Errors {
				names = append(names, e.Name)
				if e.In != "body" || e.Detail == "" {
					t.Errorf("error %+v: want a body field's, with a detail", e)
				}
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("errors name %v, want %v: %s", names, tc.want, a.body)
			}
		})
	}
	a := st.call(t, operatorToken, "POST", "/launch", map[string]any{"cpus": 1}, "Idempotency-Key", "has space")
	if p := a.problem(t); len(p.Errors) != 2 || p.Errors[0].Name != "Idempotency-Key" {
		t.Errorf("a bad key and a bad spec = %s, want both listed", a.body)
	}
	a = st.call(t, operatorToken, "POST", "/launch", `name=x&command=true`, "Content-Type", "application/x-www-form-urlencoded")
	if a.status != http.StatusUnsupportedMediaType || problemName(a.problem(t)) != "unsupported-media-type" {
		t.Errorf("a form body = %d %s, want 415", a.status, a.body)
	}
	a = st.call(t, operatorToken, "POST", "/launch", `{"command":"`+strings.Repeat("x", 200<<10)+`"}`)
	if a.status != http.StatusRequestEntityTooLarge || problemName(a.problem(t)) != "body-too-large" {
		t.Errorf("a 200 KiB body = %d %s, want 413", a.status, a.body)
	}
}

// TestAPIIdempotencyKey: a repeat of a launch with the same key gets the
// first answer and launches nothing again; another key, or another user
// with the same key, launches anew.
func TestAPIIdempotencyKey(t *testing.T) {
	st := newAPIStack(t)
	spec := map[string]any{"name": "once", "command": "sleep 600", "cpus": 0.1, "mem": 16}
	launch := func(key string) []string {
		t.Helper()
		a := st.call(t, operatorToken, "POST", "/launch", spec, "Idempotency-Key", key)
		var res result
		a.json(t, &res)
		if a.status != http.StatusAccepted || len(res.TaskIDs) != 1 {
			t.Fatalf("launch with key %s = %d %s", key, a.status, a.body)
		}
		return res.TaskIDs
	}
	first := launch(`"8e03978e-40d5-43e8-bc93-6894a57f9324"`)
	if again := launch("8e03978e-40d5-43e8-bc93-6894a57f9324"); !slices.Equal(again, first) {
		t.Errorf("repeat = %v, want the first answer %v", again, first)
	}
	if other := launch("another-key"); slices.Equal(other, first) {
		t.Errorf("another key launched %v, the same as the first", other)
	}
	var list struct{ Total int }
	st.call(t, viewerToken, "GET", "/tasks", nil).json(t, &list)
	if list.Total != 2 {
		t.Errorf("%d tasks, want 2: the repeat launched again", list.Total)
	}
	var audit struct {
		Entries []struct{ Request string }
	}
	st.call(t, viewerToken, "GET", "/audit?limit=2", nil).json(t, &audit)
	if !strings.Contains(audit.Entries[1].Request, "replayed request 8e03978e") {
		t.Errorf("audit = %+v, want the repeat recorded as a replay", audit)
	}
}
