package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"
	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/local/localtest"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/web"
)

// The principal and secret the stand-in demands in these tests: the
// secret must never reach a page.
const (
	callsPrincipal = "offerdeck"
	callsSecret    = "calls-known-s3cret-0123456789"
)

// newCredentialedStack runs the stack against a stand-in that demands
// credentials; framework, when not nil, is what the scheduler subscribes
// with.
func newCredentialedStack(t *testing.T, framework *mesos.FrameworkInfo) *stack {
	t.Helper()
	m, master := localtest.Start(t, local.Config{SimulateCommands: true, Credentials: map[string]string{callsPrincipal: callsSecret}})
	sched, err := scheduler.New(scheduler.Config{
		Client: mesos.Config{Masters: []string{master}, Principal: callsPrincipal, Secret: callsSecret, Framework: framework,
			MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		StateDir: t.TempDir(),
		HoldTime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.New(web.Config{Scheduler: sched, Master: master, Embedded: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { sched.Run(ctx) })
	wg.Go(func() { s.Run(ctx) })
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		wg.Wait()
	})
	return &stack{srv: srv, master: m}
}

// callRows are the rows of the calls list, by their call type.
func callRows(doc *html.Node) map[string][]*html.Node {
	out := map[string][]*html.Node{}
	list := byID(doc, "calls-list")
	if list == nil {
		return out
	}
	for _, li := range findAll(list, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "li" }) {
		out[attr(li, "data-type")] = append(out[attr(li, "data-type")], li)
	}
	return out
}

func byClass(n *html.Node, class string) *html.Node {
	return find(n, func(n *html.Node) bool { return hasClass(n, class) })
}

// TestCallsPageShowsEachCallWithItsCurl: a user's decline and accept show
// on the calls page with their bodies, answers, causes and links, and a
// curl line with the stream id and content type and the secret left to a
// shell variable; no page the dashboard serves carries the secret, and the
// curl line, run, is answered 202 by the master.
func TestCallsPageShowsEachCallWithItsCurl(t *testing.T) {
	st := newCredentialedStack(t, nil)
	waitReady(t, st.srv)
	doc, _, _ := st.page(t, "/offers", "agent-2.demo")
	ids := offerIDs(doc)
	if len(ids) < 2 {
		t.Fatalf("offers %v, want two", ids)
	}
	if resp := st.post(t, "/offers/"+ids[0]+"/decline", url.Values{"refuse": {"5s"}, "request_id": {"d1"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("decline = %d", resp.StatusCode)
	}
	if resp := st.post(t, "/offers/"+ids[1]+"/accept", url.Values{"name": {"hello"}, "command": {"echo hello world"}, "cpus": {"0.1"}, "mem": {"32"}, "request_id": {"a1"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept = %d", resp.StatusCode)
	}
	doc, _, _ = st.page(t, "/calls", `data-type="ACCEPT"`)
	rows := callRows(doc)
	if len(rows["DECLINE"]) != 1 || len(rows["ACCEPT"]) != 1 || len(rows["SUBSCRIBE"]) != 1 {
		t.Fatalf("calls page rows %v, want one DECLINE, one ACCEPT, one SUBSCRIBE", rows)
	}
	if len(rows["ACKNOWLEDGE"]) != 0 {
		t.Errorf("acknowledgements listed without being asked for")
	}
	decline := rows["DECLINE"][0]
	if got := text(byClass(decline, "call-status")); got != "202 Accepted" {
		t.Errorf("DECLINE status %q, want 202 Accepted", got)
	}
	if got := text(find(decline, func(n *html.Node) bool { return n.Data == "summary" })); !strings.Contains(got, "decline") {
		t.Errorf("DECLINE summary %q does not name the action that caused it", got)
	}
	if body := text(byClass(decline, "call-body")); !strings.Contains(body, `"type": "DECLINE"`) || !strings.Contains(body, ids[0]) || !strings.Contains(body, `"refuse_seconds": 5`) {
		t.Errorf("DECLINE body %s, want the pretty JSON with the offer and its filter", body)
	}
	links := text(byClass(decline, "call-links"))
	if !strings.Contains(links, "audit entry") || !strings.Contains(links, "offer") {
		t.Errorf("DECLINE links %q, want its offer and audit entry", links)
	}
	if got := attr(decline, "data-cause"); got != "user" {
		t.Errorf("DECLINE cause %q, want user", got)
	}
	curl := text(byClass(decline, "curl-line"))
	for _, want := range []string{"-H 'Content-Type: application/json'", "-H 'Mesos-Stream-Id: ", `-u 'offerdeck'":$MESOS_SECRET"`, "/api/v1/scheduler'", `"type":"DECLINE"`} {
		if !strings.Contains(curl, want) {
			t.Errorf("curl line %s lacks %s", curl, want)
		}
	}
	if accept := text(byClass(rows["ACCEPT"][0], "call-body")); !strings.Contains(accept, "echo hello world") {
		t.Errorf("ACCEPT body %s lacks the command", accept)
	}

	// The task's acknowledgements, on the page about the task.
	taskPath := ""
	for _, l := range findAll(rows["ACCEPT"][0], func(n *html.Node) bool { return n.Data == "a" }) {
		if strings.HasPrefix(attr(l, "href"), "/tasks/") {
			taskPath = attr(l, "href")
		}
	}
	if taskPath == "" {
		t.Fatal("ACCEPT does not link to its task")
	}
	taskDoc, _, _ := st.page(t, taskPath, "about this task")
	about := ""
	for _, l := range findAll(taskDoc, func(n *html.Node) bool { return n.Data == "a" && text(n) == "about this task" }) {
		about = attr(l, "href")
	}
	doc, _, _ = st.page(t, about, `data-type="ACKNOWLEDGE"`)
	rows = callRows(doc)
	if len(rows["ACCEPT"]) != 1 || len(rows["ACKNOWLEDGE"]) == 0 || len(rows["DECLINE"]) != 0 {
		t.Errorf("calls about the task %v, want its ACCEPT and acknowledgements only", rows)
	}

	// Nowhere the secret: every page, every filter.
	for _, path := range []string{"/", "/offers", "/tasks", taskPath, "/events", "/audit", "/calls", "/calls?type=ACKNOWLEDGE&type=SUBSCRIBE", about, "/readyz", "/metrics"} {
		_, body := get(t, http.MethodGet, st.srv.URL+path)
		if strings.Contains(body, callsSecret) {
			t.Errorf("GET %s carries the secret", path)
		}
	}

	// The curl line, run as a learner would, reaches the master: 202.
	if _, err := exec.LookPath("curl"); err != nil {
		t.Log("no curl here: the curl line is not run (the browser tests run it)")
		return
	}
	cmd := exec.CommandContext(t.Context(), "sh", "-c", curl)
	cmd.Env = append(os.Environ(), "MESOS_SECRET="+callsSecret)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "HTTP/1.1 202") {
		t.Errorf("the curl line answered %v:\n%s", err, out)
	}
}

// TestCallsPageShowsTheMastersRefusal: a SUBSCRIBE the master refuses
// with 400 is listed with the master's text.
func TestCallsPageShowsTheMastersRefusal(t *testing.T) {
	st := newCredentialedStack(t, &mesos.FrameworkInfo{Principal: proto.String("someone-else")})
	doc, _, _ := st.page(t, "/calls", "400 Bad Request")
	rows := callRows(doc)["SUBSCRIBE"]
	if len(rows) == 0 {
		t.Fatal("no SUBSCRIBE listed")
	}
	sub := rows[0]
	if got := text(byClass(sub, "call-status")); got != "400 Bad Request" {
		t.Errorf("SUBSCRIBE status %q, want 400 Bad Request", got)
	}
	if got, want := text(byClass(sub, "call-answer")), "Authenticated principal 'offerdeck' does not match principal 'someone-else'"; !strings.Contains(got, want) {
		t.Errorf("SUBSCRIBE answer %q, want the master's text %q", got, want)
	}
	if !hasClass(byClass(sub, "call-status"), "error") {
		t.Error("a refused call is not marked as an error")
	}
}

// TestCallsArriveLive: a call sent after the calls page was rendered
// arrives on its stream as a row of the list, and an acknowledgement
// moves the counter of the page that folds them.
func TestCallsArriveLive(t *testing.T) {
	st := newStack(t)
	doc, _, _ := st.page(t, "/offers", "agent-2.demo")
	ids := offerIDs(doc)
	_, since, epoch := st.page(t, "/calls", "SUBSCRIBE")
	if !strings.Contains(since, "calls:") {
		t.Fatalf("calls page positions %q follow no calls topic", since)
	}
	c, err := st.dial(t, since, epoch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp := st.post(t, "/offers/"+ids[0]+"/accept", url.Values{"name": {"live"}, "command": {"true"}, "cpus": {"0.1"}, "mem": {"16"}, "request_id": {"l1"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept = %d", resp.StatusCode)
	}
	var accept, acks bool
	for !accept || !acks {
		m, err := read(t, c)
		if err != nil {
			t.Fatalf("stream ended before the ACCEPT row (%v) and the acknowledgement count (%v): %v", accept, acks, err)
		}
		for _, ch := range m.Changes {
			switch {
			case ch.Op == "put" && ch.Parent == "calls-list" && strings.Contains(ch.HTML, `data-type="ACCEPT"`):
				accept = true
			case ch.Op == "put" && ch.ID == "ack-count" && strings.Contains(ch.HTML, "acknowledgement"):
				acks = true
			}
		}
	}
}
