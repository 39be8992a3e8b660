package web_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// TestAPIReads reads every list as a viewer's token and checks what the
// stand-in's three demo agents offer, and the filters.
func TestAPIReads(t *testing.T) {
	st := newAPIStack(t)

	var status struct {
		Connection struct {
			State, FrameworkID string
		}
		Offers, Agents int
	}
	st.call(t, viewerToken, "GET", "/status", nil).json(t, &status)
	if status.Connection.State != "subscribed" || status.Offers != 3 || status.Agents != 3 {
		t.Errorf("GET /status = %+v, want subscribed with 3 offers of 3 agents", status)
	}

	var offers struct {
		Offers []struct {
			ID, Hostname string
			AgentID      string `json:"agent_id"`
			Attributes   map[string]string
			Resources    struct {
				CPUs  float64
				Mem   float64
				Ports [][2]uint64
			}
		}
	}
	st.call(t, viewerToken, "GET", "/offers?attribute=rack:r2d2", nil).json(t, &offers)
	if len(offers.Offers) != 1 || offers.Offers[0].Hostname != "agent-1.demo" {
		t.Fatalf("offers with rack:r2d2 = %+v, want agent-1.demo's alone", offers)
	}
	o := offers.Offers[0]
	if o.Resources.CPUs != 2 || o.Resources.Mem != 496 || len(o.Resources.Ports) != 1 || o.Resources.Ports[0] != [2]uint64{9000, 10000} || o.Attributes["pod"] != "demo,dev" {
		t.Errorf("agent-1.demo's offer = %+v, want 2 cpus, 496 MB, ports 9000-10000, pod demo,dev", o)
	}
	for q, want := range map[string]int{
		"": 3, "?agent=agent-1": 1, "?agent=" + o.AgentID: 1, "?agent=nowhere": 0, "?attribute=rack": 3,
		"?attribute=rack:r2d2&attribute=pod:demo,dev": 1, "?attribute=rack:r2d2&attribute=pod:other": 0,
	} {
		st.call(t, viewerToken, "GET", "/offers"+q, nil).json(t, &offers)
		if len(offers.Offers) != want {
			t.Errorf("GET /offers%s = %d offers, want %d", q, len(offers.Offers), want)
		}
	}

	var agents struct {
		Agents []struct {
			Hostname string
			Offers   int
		}
	}
	st.call(t, viewerToken, "GET", "/agents", nil).json(t, &agents)
	if len(agents.Agents) != 3 || agents.Agents[0].Hostname != "agent-1.demo" || agents.Agents[0].Offers != 1 {
		t.Errorf("GET /agents = %+v, want the three demo agents in order, one offer each", agents)
	}

	var tasks struct {
		Tasks []any
		Total int
	}
	st.call(t, viewerToken, "GET", "/tasks", nil).json(t, &tasks)
	if tasks.Total != 0 || tasks.Tasks == nil {
		t.Errorf("GET /tasks = %+v, want an empty list", tasks)
	}
	var queue struct{ Queue []any }
	st.call(t, viewerToken, "GET", "/queue", nil).json(t, &queue)
	if queue.Queue == nil || len(queue.Queue) != 0 {
		t.Errorf("GET /queue = %+v, want an empty list", queue)
	}
}

// TestAPIQueryErrors: every wrong parameter is listed, each by name.
func TestAPIQueryErrors(t *testing.T) {
	st := newAPIStack(t)
	for _, tc := range []struct {
		path string
		want []string // the parameters named, in order
	}{
		{"/tasks?state=RUNNING&limit=0&offset=-1&colour=red", []string{"colour", "limit", "offset", "state"}},
		{"/tasks?limit=1&limit=2", []string{"limit"}},
		{"/audit?before=x&limit=5000", []string{"before", "limit"}},
		{"/tasks/x/output?file=core&length=0", []string{"file", "length"}},
		{"/events?types=task,nope", []string{"types"}},
		{"/offers?attribute=", []string{"attribute"}},
		{"/status?verbose=1", []string{"verbose"}},
	} {
		a := st.call(t, viewerToken, "GET", tc.path, nil)
		if a.status != http.StatusBadRequest {
			t.Errorf("GET %s = %d %s, want 400", tc.path, a.status, a.body)
			continue
		}
		p := a.problem(t)
		var names []string
		for _, e := range p.Errors {
			if e.In != "query" || e.Detail == "" {
				t.Errorf("GET %s: error %+v, want a query parameter's with a detail", tc.path, e)
			}
			names = append(names, e.Name)
		}
		if problemName(p) != "invalid-request" || !slices.Equal(names, tc.want) {
			t.Errorf("GET %s = %s naming %v, want invalid-request naming %v", tc.path, problemName(p), names, tc.want)
		}
	}
}

// TestAPIRoles walks the router: every API route answers a stranger 401,
// lets a viewer's token read and refuses it every action with 403, and
// lets an operator's token through (whatever the action then says).
func TestAPIRoles(t *testing.T) {
	st := newAPIStack(t)
	var routes [][2]string
	chi.Walk(st.handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, apiBase+"/") && method != http.MethodHead {
			routes = append(routes, [2]string{method, strings.TrimPrefix(route, apiBase)})
		}
		return nil
	})
	if len(routes) < 17 {
		t.Fatalf("found %d API routes: %v", len(routes), routes)
	}
	for _, rt := range routes {
		method, path := rt[0], strings.ReplaceAll(rt[1], "{id}", "no-such-thing")
		if path == "/events" {
			path += "?task=no-such-thing" // answers at once instead of streaming
		}
		public := path == "/openapi.json"
		a := st.call(t, "", method, path, nil)
		if public {
			if a.status != http.StatusOK {
				t.Errorf("anonymous %s %s = %d, want 200", method, path, a.status)
			}
			continue
		}
		if a.status != http.StatusUnauthorized || problemName(a.problem(t)) != "unauthorized" || a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("anonymous %s %s = %d %s, want 401 unauthorized with WWW-Authenticate", method, path, a.status, a.body)
		}
		a = st.call(t, "wrong-token", method, path, nil)
		if a.status != http.StatusUnauthorized {
			t.Errorf("a wrong token's %s %s = %d, want 401", method, path, a.status)
		}
		a = st.call(t, viewerToken, method, path, nil)
		switch {
		case method == http.MethodGet && (a.status == http.StatusUnauthorized || a.status == http.StatusForbidden):
			t.Errorf("viewer's %s %s = %d %s, want it read", method, path, a.status, a.body)
		case method != http.MethodGet && (a.status != http.StatusForbidden || problemName(a.problem(t)) != "forbidden"):
			t.Errorf("viewer's %s %s = %d %s, want 403 forbidden", method, path, a.status, a.body)
		}
		a = st.call(t, operatorToken, method, path, nil)
		if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden || a.status == http.StatusMethodNotAllowed {
			t.Errorf("operator's %s %s = %d %s", method, path, a.status, a.body)
		}
	}
}

// TestAPIErrorsAreProblems: the API's own 404 and 405 are problems too,
// and a session's action from another site is refused, while a token's
// is not (a browser never sends a token by itself).
func TestAPIErrorsAreProblems(t *testing.T) {
	st := newAPIStack(t)
	a := st.call(t, viewerToken, "GET", "/nothing-here", nil)
	if a.status != http.StatusNotFound || problemName(a.problem(t)) != "not-found" {
		t.Errorf("GET /nothing-here = %d %s, want a not-found problem", a.status, a.body)
	}
	a = st.call(t, operatorToken, "PUT", "/launch", nil)
	if a.status != http.StatusMethodNotAllowed || problemName(a.problem(t)) != "method-not-allowed" || a.header.Get("Allow") != "POST" {
		t.Errorf("PUT /launch = %d Allow %q %s, want a 405 problem allowing POST", a.status, a.header.Get("Allow"), a.body)
	}
	a = st.call(t, viewerToken, "GET", "/tasks/nope", nil)
	if a.status != http.StatusNotFound || problemName(a.problem(t)) != "unknown-task" {
		t.Errorf("GET /tasks/nope = %d %s, want unknown-task", a.status, a.body)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(st.srv.URL+"/login", url.Values{"user": {"ann"}, "password": {operatorPassword}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	post := func(c *http.Client, header ...string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", st.srv.URL+apiBase+"/revive", nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Content-Type")
	}
	if code, ct := post(browser, "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden || ct != "application/problem+json" {
		t.Errorf("a session's cross-site POST /revive = %d %s, want a 403 problem", code, ct)
	}
	if code, _ := post(browser, "Origin", "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("a session's POST /revive from another origin = %d, want 403", code)
	}
	if code, _ := post(browser, "Sec-Fetch-Site", "same-origin"); code != http.StatusOK {
		t.Errorf("a session's same-origin POST /revive = %d, want 200", code)
	}
	if code, _ := post(http.DefaultClient, "Authorization", "Bearer "+operatorToken, "Sec-Fetch-Site", "cross-site"); code != http.StatusOK {
		t.Errorf("a token's cross-site POST /revive = %d, want 200", code)
	}
	a = st.call(t, viewerToken, "GET", "/tasks", nil, "Authorization", "Basic eHg6eXk=")
	if a.status != http.StatusUnauthorized {
		t.Errorf("GET /tasks with basic credentials = %d, want 401", a.status)
	}
}

// TestAPIWithoutUsers: a dashboard without users (on loopback) lets
// everyone in as the operator "local", but its actions still pass the
// cross-origin protection: the network position is the only credential,
// and a page of another site must not use a visitor's browser to act.
func TestAPIWithoutUsers(t *testing.T) {
	st := &apiStack{newStack(t)}
	if a := st.call(t, "", "GET", "/status", nil); a.status != http.StatusOK {
		t.Errorf("GET /status = %d %s", a.status, a.body)
	}
	a := st.call(t, "", "POST", "/suppress", nil, "Sec-Fetch-Site", "cross-site")
	if a.status != http.StatusForbidden || problemName(a.problem(t)) != "cross-origin" {
		t.Errorf("a cross-site POST /suppress = %d %s, want a cross-origin problem", a.status, a.body)
	}
	if a := st.call(t, "", "POST", "/suppress", nil); a.status != http.StatusOK {
		t.Errorf("POST /suppress from curl = %d %s", a.status, a.body)
	}
	var audit struct {
		Entries []struct{ User, Action string }
	}
	st.call(t, "", "GET", "/audit", nil).json(t, &audit)
	if len(audit.Entries) != 1 || audit.Entries[0].User != "local" || audit.Entries[0].Action != "suppress" {
		t.Errorf("audit = %+v, want local's suppress alone", audit.Entries)
	}
}
