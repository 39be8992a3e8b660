package local_test

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
)

// TestStatusCodes drives the scheduler endpoint with raw HTTP through the
// checks of mesos-api.md §1.4, in their order.
func TestStatusCodes(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := subscribeRaw(t, base, subscribeBody)
	sub := s.next(t, mesos.Event_SUBSCRIBED)
	id := sub.GetSubscribed().GetFrameworkId().GetValue()
	revive := `{"framework_id":{"value":"` + id + `"},"type":"REVIVE"}`
	json := mesos.MediaTypeJSON

	tests := []struct {
		name                   string
		method, ct, accept, id string
		body                   string
		want                   int
		wantBody               string // prefix
	}{
		{name: "GET", method: "GET", want: 405, wantBody: "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."},
		{name: "no content type", method: "POST", body: revive, want: 400, wantBody: "Expecting 'Content-Type' to be present"},
		{name: "content type with charset", method: "POST", ct: "application/json; charset=utf-8", body: revive, want: 415, wantBody: "Expecting 'Content-Type' of application/json or application/x-protobuf"},
		{name: "syntax error", method: "POST", ct: json, body: `{"type":`, want: 400, wantBody: "Failed to parse body into JSON: "},
		{name: "framework_id as string", method: "POST", ct: json, body: `{"type":"REVIVE","framework_id":"abc"}`, want: 400, wantBody: "Failed to convert JSON into Call protobuf: Not expecting a JSON string for field 'framework_id'"},
		{name: "camelCase framework info", method: "POST", ct: json, body: `{"type":"SUBSCRIBE","subscribe":{"frameworkInfo":{"user":"u","name":"n"}}}`, want: 400, wantBody: "Failed to convert JSON into Call protobuf: Missing required fields: subscribe.framework_info"},
		{name: "protobuf garbage", method: "POST", ct: mesos.MediaTypeProtobuf, body: "\xff\xff\xff", want: 400, wantBody: "Failed to parse body into Call protobuf"},
		{name: "no type", method: "POST", ct: json, body: `{"framework_id":{"value":"x"}}`, want: 400, wantBody: "Failed to validate scheduler::Call: Expecting 'type' to be present"},
		{name: "unknown type name", method: "POST", ct: json, body: `{"framework_id":{"value":"x"},"type":"FROBNICATE"}`, want: 400, wantBody: "Failed to validate scheduler::Call: Expecting 'type' to be present"},
		{name: "implicit reconcile without sub-message", method: "POST", ct: json, id: s.streamID, body: `{"framework_id":{"value":"` + id + `"},"type":"RECONCILE"}`, want: 400, wantBody: "Failed to validate scheduler::Call: Expecting 'reconcile' to be present"},
		{name: "no framework id", method: "POST", ct: json, body: `{"type":"REVIVE"}`, want: 400, wantBody: "Failed to validate scheduler::Call: Expecting 'framework_id' to be present"},
		{name: "bad ack uuid", method: "POST", ct: json, id: s.streamID, body: `{"framework_id":{"value":"` + id + `"},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"AAAA"}}`, want: 400, wantBody: "Failed to validate scheduler::Call: Not a valid UUID"},
		{name: "ids differ on subscribe", method: "POST", ct: json, body: `{"type":"SUBSCRIBE","framework_id":{"value":"a"},"subscribe":{"framework_info":{"user":"u","name":"n"}}}`, want: 400, wantBody: "Failed to validate scheduler::Call: 'framework_id' differs from 'subscribe.framework_info.id'"},
		{name: "subscribe not acceptable", method: "POST", ct: json, accept: "text/html", body: subscribeBody, want: 406, wantBody: "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"},
		{name: "subscribe with stream id", method: "POST", ct: json, id: "abc", body: subscribeBody, want: 400, wantBody: "Subscribe calls should not include the 'Mesos-Stream-Id' header"},
		{name: "unknown framework", method: "POST", ct: json, id: s.streamID, body: `{"framework_id":{"value":"nope"},"type":"REVIVE"}`, want: 400, wantBody: "Framework cannot be found"},
		{name: "no stream id", method: "POST", ct: json, body: revive, want: 400, wantBody: "All non-subscribe calls should include the 'Mesos-Stream-Id' header"},
		{name: "stale stream id", method: "POST", ct: json, id: "0e4f2c4e-0000-4000-8000-000000000000", body: revive, want: 400, wantBody: "The stream ID '0e4f2c4e-0000-4000-8000-000000000000' included in this request didn't match the stream ID currently associated with framework ID " + id},
		{name: "UNKNOWN type", method: "POST", ct: json, id: s.streamID, body: `{"framework_id":{"value":"` + id + `"},"type":"UNKNOWN"}`, want: 501, wantBody: "501 Not Implemented."},
		{name: "accepted", method: "POST", ct: json, id: s.streamID, body: revive, want: 202},
		{name: "huge body", method: "POST", ct: json, body: `{"type":"REVIVE","x":"` + strings.Repeat("a", 17<<20) + `"}`, want: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, base, tc.method, tc.ct, tc.accept, tc.id, []byte(tc.body))
			if r.status != tc.want || !strings.HasPrefix(r.body, tc.wantBody) {
				t.Errorf("%s = %d %q, want %d %q", tc.name, r.status, r.body, tc.want, tc.wantBody)
			}
			if tc.want == 405 && r.header.Get("Allow") != "POST" {
				t.Errorf("405 without Allow: POST")
			}
			if tc.want == 202 && (r.body != "" || r.header.Get("Content-Length") != "0") {
				t.Errorf("202 with body %q, Content-Length %q", r.body, r.header.Get("Content-Length"))
			}
			if tc.want >= 400 && tc.want != 413 && r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("error Content-Type = %q", r.header.Get("Content-Type"))
			}
		})
	}
	// The master kept serving the good subscription through all of this.
	if r := s.call(t, base, &mesos.Call{FrameworkId: fid(id), Type: mesos.Call_SUPPRESS.Enum()}); r.status != 202 {
		t.Errorf("SUPPRESS after the bad requests = %d %s", r.status, r.body)
	}
}

func TestAuthentication(t *testing.T) {
	_, base := startMaster(t, local.Config{Credentials: map[string]string{"dash": "s3cret"}})
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"missing", "", 401},
		{"wrong secret", "Basic " + base64.StdEncoding.EncodeToString([]byte("dash:nope")), 401},
		{"malformed", "Basic !!!", 401},
		{"bearer", "Bearer abc", 401},
		{"good", "Basic " + base64.StdEncoding.EncodeToString([]byte("dash:s3cret")), 400}, // past auth: no Content-Type
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+mesos.SchedulerPath, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if tc.want == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="mesos-master-scheduler"` {
			t.Errorf("%s: WWW-Authenticate = %q", tc.name, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

// TestEveryEndpointNeedsCredentials: with credentials configured, nothing
// but /health and /version answers an anonymous client or a wrong secret,
// neither the master's views nor the agents' sandboxes (which hold tasks'
// output and environment); a secret with colons logs in.
func TestEveryEndpointNeedsCredentials(t *testing.T) {
	_, base := startMaster(t, local.Config{Credentials: map[string]string{"dash": "s3:cr:et"}})
	sandbox := "/frameworks/f/executors/e/runs/latest/stdout"
	paths := []struct{ method, path, realm string }{
		{"POST", "/api/v1/scheduler", "mesos-master-scheduler"},
		{"POST", "/master/api/v1/scheduler", "mesos-master-scheduler"},
		{"POST", "/api/v1", "mesos-master-readwrite"},
		{"POST", "/master/api/v1", "mesos-master-readwrite"},
		{"GET", "/state", "mesos-master-readonly"},
		{"GET", "/master/state", "mesos-master-readonly"},
		{"GET", "/redirect", "mesos-master-readonly"},
		{"GET", "/master/redirect", "mesos-master-readonly"},
		{"GET", "/master/frameworks", "mesos-master-readonly"},
		{"GET", "/master/slaves", "mesos-master-readonly"},
		{"GET", "/master/state-summary", "mesos-master-readonly"},
		{"GET", "/master/tasks", "mesos-master-readonly"},
		{"GET", "/master/roles", "mesos-master-readonly"},
		{"GET", "/master/flags", "mesos-master-readonly"},
		{"GET", "/master/maintenance/schedule", "mesos-master-readonly"},
		{"GET", "/metrics/snapshot", "mesos-master-readonly"},
		{"GET", "/files/read?offset=0&path=" + sandbox, "mesos-agent-readonly"},
		{"GET", "/files/browse?path=/frameworks", "mesos-agent-readonly"},
		{"GET", "/files/download?path=" + sandbox, "mesos-agent-readonly"},
		{"GET", "/slave(1)/files/read?offset=0&path=" + sandbox, "mesos-agent-readonly"},
		{"GET", "/nowhere", "mesos-master-readonly"},
	}
	basic := func(userPass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
	}
	do := func(method, path, auth string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, base+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		// Redirects are not followed: /redirect points at the master's
		// hostname, another origin, where a client drops credentials.
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, p := range paths {
		for _, auth := range []string{"", basic("dash:s3"), basic("dash:s3:cr"), basic("dash:s3:cr:et:"), basic("s3:cr:et"), "Bearer s3:cr:et"} {
			resp := do(p.method, p.path, auth)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with %q = %d, want 401", p.method, p.path, auth, resp.StatusCode)
			}
			if got, want := resp.Header.Get("WWW-Authenticate"), `Basic realm="`+p.realm+`"`; resp.StatusCode == 401 && got != want {
				t.Errorf("%s %s: WWW-Authenticate = %q, want %q", p.method, p.path, got, want)
			}
		}
		if resp := do(p.method, p.path, basic("dash:s3:cr:et")); resp.StatusCode == http.StatusUnauthorized {
			t.Errorf("%s %s with the right secret = 401", p.method, p.path)
		}
	}
	for _, path := range []string{"/health", "/master/health", "/version", "/master/version"} {
		if resp := do("GET", path, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s anonymously = %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestCredentialsMustBeUsable(t *testing.T) {
	for _, creds := range []map[string]string{{"da:sh": "x"}, {"": "x"}, {"dash": ""}} {
		if _, err := local.New(local.Config{SandboxRoot: t.TempDir(), Credentials: creds}); err == nil {
			t.Errorf("New with credentials %q = nil error, want one", creds)
		}
	}
}

// TestSubscribeStream checks the stream a tutorial's curl session sees:
// headers, SUBSCRIBED, an immediate HEARTBEAT, then offers from the demo
// agents with their attributes and resources.
func TestSubscribeStream(t *testing.T) {
	m, base := startMaster(t, local.Config{})
	s := subscribeRaw(t, base, subscribeBody)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(s.streamID) {
		t.Errorf("Mesos-Stream-Id = %q, want a UUID", s.streamID)
	}
	if ct := s.header.Get("Content-Type"); ct != mesos.MediaTypeJSON {
		t.Errorf("stream Content-Type = %q", ct)
	}
	first := <-s.events
	if first.GetType() != mesos.Event_SUBSCRIBED {
		t.Fatalf("first event = %v, want SUBSCRIBED", first.GetType())
	}
	sub := first.GetSubscribed()
	if want := m.ID() + "-0000"; sub.GetFrameworkId().GetValue() != want {
		t.Errorf("framework id = %q, want %q", sub.GetFrameworkId().GetValue(), want)
	}
	if sub.GetHeartbeatIntervalSeconds() != 15 || sub.GetMasterInfo().GetVersion() != local.Version || sub.GetMasterInfo().GetAddress().GetPort() == 0 {
		t.Errorf("SUBSCRIBED = %v", sub)
	}
	if second := <-s.events; second.GetType() != mesos.Event_HEARTBEAT {
		t.Errorf("second event = %v, want HEARTBEAT at once", second.GetType())
	}

	byHost := map[string]*mesos.Offer{}
	for len(byHost) < 3 {
		for _, o := range s.next(t, mesos.Event_OFFERS).GetOffers().GetOffers() {
			if byHost[o.GetHostname()] != nil {
				t.Fatalf("two offers for %s before any was declined", o.GetHostname())
			}
			byHost[o.GetHostname()] = o
		}
	}
	o := byHost["agent-1.demo"]
	if o == nil {
		t.Fatalf("no offer from agent-1.demo: %v", byHost)
	}
	rs := o.GetResources()
	if mesos.ScalarSum(rs, "cpus") != 2 || mesos.ScalarSum(rs, "mem") != 496 || mesos.ScalarSum(rs, "disk") != 4930 {
		t.Errorf("agent-1 resources = %v", rs)
	}
	if got := mesos.Ranges(rs, "ports"); len(got) != 1 || got[0] != [2]uint64{9000, 10000} {
		t.Errorf("agent-1 ports = %v", got)
	}
	for _, r := range rs {
		if r.Role == nil || r.GetRole() != "*" || r.AllocationInfo != nil {
			t.Errorf("resource %v: want role * and no allocation_info for a framework without MULTI_ROLE", r)
		}
	}
	attrs := map[string]string{}
	for _, a := range o.GetAttributes() {
		attrs[a.GetName()] = mesos.AttributeText(a)
	}
	if attrs["rack"] != "r2d2" || attrs["pod"] != "demo,dev" {
		t.Errorf("agent-1 attributes = %v", attrs)
	}
	if o.GetUrl().GetPath() != "/slave(1)" || o.GetUrl().GetScheme() != "http" {
		t.Errorf("offer url = %v", o.GetUrl())
	}
	if !strings.HasPrefix(o.GetId().GetValue(), m.ID()+"-O") || !strings.HasPrefix(o.GetAgentId().GetValue(), m.ID()+"-S") {
		t.Errorf("offer ids = %v / %v", o.GetId(), o.GetAgentId())
	}
}

func TestMultiRoleOffersCarryAllocationInfo(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	s := subscribeRaw(t, base, `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"mr","roles":["dash"],"capabilities":[{"type":"MULTI_ROLE"}]}}}`)
	o := s.next(t, mesos.Event_OFFERS).GetOffers().GetOffers()[0]
	if o.GetAllocationInfo().GetRole() != "dash" {
		t.Errorf("offer allocation_info = %v, want role dash", o.GetAllocationInfo())
	}
	for _, r := range o.GetResources() {
		if r.GetAllocationInfo().GetRole() != "dash" || r.GetRole() != "*" {
			t.Errorf("resource %v: want allocation_info dash and role *", r)
		}
	}
}

func TestSubscribeRefusals(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	for _, tc := range []struct{ name, body, want string }{
		{"role with MULTI_ROLE", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","role":"a","capabilities":[{"type":"MULTI_ROLE"}]}}}`, "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"},
		{"invalid role", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","roles":["a//b"],"capabilities":[{"type":"MULTI_ROLE"}]}}}`, "'FrameworkInfo.roles' contains invalid role"},
		{"bad failover timeout", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","failover_timeout":"Infinity"}}}`, "The framework failover_timeout (+Inf) is invalid"},
		{"suppressed outside roles", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"},"suppressed_roles":["x"]}}`, "Suppressed roles { x } are not contained in the set of roles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := subscribeRaw(t, base, tc.body)
			e := s.next(t, mesos.Event_ERROR, mesos.Event_SUBSCRIBED)
			if e.GetType() != mesos.Event_ERROR || !strings.HasPrefix(e.GetError().GetMessage(), tc.want) {
				t.Fatalf("event = %v, want ERROR %q", e, tc.want)
			}
			if !s.ended(5e9) {
				t.Errorf("stream stayed open after the ERROR")
			}
		})
	}
}

func TestOtherEndpoints(t *testing.T) {
	m, base := startMaster(t, local.Config{})
	s := subscribeRaw(t, base, subscribeBody)
	s.next(t, mesos.Event_OFFERS)

	get := func(path string) *http.Response {
		t.Helper()
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if r := get("/health"); r.StatusCode != 200 {
		t.Errorf("/health = %d", r.StatusCode)
	}
	if r := get("/master/redirect"); r.StatusCode != 307 || r.Header.Get("Location") != "//localhost:"+base[strings.LastIndex(base, ":")+1:] {
		t.Errorf("/master/redirect = %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := get("/master/redirect/x"); r.StatusCode != 404 {
		t.Errorf("/master/redirect/x = %d, want 404", r.StatusCode)
	}
	var version map[string]string
	decodeJSON(t, get("/version"), &version)
	if version["version"] != local.Version {
		t.Errorf("/version = %v", version)
	}
	var state struct {
		ID         string `json:"id"`
		Leader     string `json:"leader"`
		LeaderInfo struct {
			ID string `json:"id"`
		} `json:"leader_info"`
		Slaves []struct {
			ID         string         `json:"id"`
			Hostname   string         `json:"hostname"`
			Attributes map[string]any `json:"attributes"`
			Resources  map[string]any `json:"resources"`
		} `json:"slaves"`
		Frameworks []struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Offers []struct {
				SlaveID string `json:"slave_id"`
			} `json:"offers"`
		} `json:"frameworks"`
	}
	decodeJSON(t, get("/master/state"), &state)
	if state.ID != m.ID() || state.LeaderInfo.ID != m.ID() || !strings.HasPrefix(state.Leader, "master@") {
		t.Errorf("/master/state master fields = %+v", state)
	}
	if len(state.Slaves) != 3 || state.Slaves[0].Hostname != "agent-1.demo" || state.Slaves[0].Attributes["rack"] != "r2d2" || state.Slaves[0].Resources["ports"] != "[9000-10000]" {
		t.Errorf("/master/state slaves = %+v", state.Slaves)
	}
	if len(state.Frameworks) != 1 || state.Frameworks[0].Name != "conformance" || len(state.Frameworks[0].Offers) == 0 {
		t.Errorf("/master/state frameworks = %+v", state.Frameworks)
	}
}

// TestProtobufStream subscribes and calls in application/x-protobuf, as Go
// frameworks built on mesos-go do by default.
func TestProtobufStream(t *testing.T) {
	_, base := startMaster(t, local.Config{})
	c := newClient(t, base, mesos.MediaTypeProtobuf, nil)
	o := c.nextOffer(t, "")
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{OfferIds: []*mesos.OfferID{o.GetId()}}}); err != nil {
		t.Fatalf("DECLINE over protobuf: %v", err)
	}
}
