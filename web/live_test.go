package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/cluster"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/local/localtest"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/web"
)

// stack is the real dashboard stack for a test: the stand-in master over
// HTTP, the scheduler subscribed to it, and the web server on httptest.
type stack struct {
	srv     *httptest.Server
	master  *local.Master
	handler http.Handler
}

// newStackWith starts the stack with the given web configuration (its
// Scheduler is filled in; an empty Master becomes the stand-in's URL).
func newStackWith(t *testing.T, cfg web.Config) *stack {
	t.Helper()
	m, master := localtest.Start(t, local.Config{})
	return startStack(t, m, master, cfg, nil)
}

// startStack runs the scheduler, the cluster view when given, and the web
// server against a running stand-in, until the test ends.
func startStack(t *testing.T, m *local.Master, master string, cfg web.Config, view *cluster.Watcher) *stack {
	t.Helper()
	sched, err := scheduler.New(scheduler.Config{
		Client:   mesos.Config{Masters: []string{master}, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		StateDir: t.TempDir(),
		HoldTime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scheduler = sched
	cfg.Cluster = view
	if cfg.Master == "" {
		cfg.Master, cfg.Embedded = master, true
	}
	s, err := web.New(cfg)
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { sched.Run(ctx) })
	wg.Go(func() { s.Run(ctx) })
	if view != nil {
		wg.Go(func() {
			if err := view.Run(ctx); err != nil {
				t.Errorf("cluster view: %v", err)
			}
		})
	}
	h := s.Handler()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		wg.Wait()
	})
	return &stack{srv: srv, master: m, handler: h}
}

// newStack starts the stack without users and waits until it is
// subscribed.
func newStack(t *testing.T) *stack {
	t.Helper()
	st := newStackWith(t, web.Config{})
	waitReady(t, st.srv)
	return st
}

// page loads a page and returns its document once it shows want (a
// string in the body), with its live positions.
func (st *stack) page(t *testing.T, path, want string) (*html.Node, string, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := get(t, http.MethodGet, st.srv.URL+path)
		if strings.Contains(body, want) || time.Now().After(deadline) {
			doc := parse(t, body)
			b := find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "body" })
			return doc, attr(b, "data-topics"), attr(b, "data-epoch")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func find(n *html.Node, ok func(*html.Node) bool) *html.Node {
	if ok(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, ok); f != nil {
			return f
		}
	}
	return nil
}

func findAll(n *html.Node, ok func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	if ok(n) {
		out = append(out, n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		out = append(out, findAll(c, ok)...)
	}
	return out
}

func hasClass(n *html.Node, class string) bool {
	return n.Type == html.ElementNode && strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")
}

// message is one live message.
type message struct {
	Epoch   string            `json:"epoch"`
	Seq     map[string]uint64 `json:"seq"`
	Resync  []string          `json:"resync"`
	Changes []struct {
		Op, ID, Parent, HTML, Text, Mark string
	} `json:"changes"`
}

func (st *stack) dial(t *testing.T, since, epoch string, header http.Header) (*websocket.Conn, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(st.srv.URL, "http") + "/ws?since=" + url.QueryEscape(since) + "&epoch=" + url.QueryEscape(epoch)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: header})
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, err
}

func read(t *testing.T, c *websocket.Conn) (message, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		return message{}, err
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("live message is not JSON: %v\n%s", err, b)
	}
	return m, nil
}

// post sends an action as a non-browser client.
func (st *stack) post(t *testing.T, path string, form url.Values, header http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, st.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func offerIDs(doc *html.Node) []string {
	var ids []string
	for _, n := range findAll(doc, func(n *html.Node) bool { return hasClass(n, "offer") }) {
		ids = append(ids, strings.TrimPrefix(attr(n, "id"), "offer-"))
	}
	return ids
}

// TestLiveStreamResumesFromThePage: a change made after the page was
// rendered (but before the socket opened) still arrives, as a del of the
// declined offer; nothing is missed between page load and stream.
func TestLiveStreamResumesFromThePage(t *testing.T) {
	st := newStack(t)
	doc, since, epoch := st.page(t, "/offers", "agent-3.demo")
	if !strings.Contains(since, "header:") || !strings.Contains(since, "offers:") || epoch == "" {
		t.Fatalf("page positions = %q epoch %q", since, epoch)
	}
	groups := findAll(doc, func(n *html.Node) bool { return hasClass(n, "agent") })
	if len(groups) != 3 {
		t.Fatalf("%d agent groups, want 3", len(groups))
	}
	ids := offerIDs(doc)
	resp := st.post(t, "/offers/"+ids[0]+"/decline", url.Values{"refuse": {"1h"}, "request_id": {"r1"}, "back": {"/offers"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/offers" {
		t.Fatalf("decline = %d to %q, want 303 back to /offers", resp.StatusCode, resp.Header.Get("Location"))
	}

	c, err := st.dial(t, since, epoch, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The agent stays on the page: its card is re-rendered without the
	// offer, saying it was declined.
	for {
		m, err := read(t, c)
		if err != nil {
			t.Fatalf("no card without offer %s on the stream: %v", ids[0], err)
		}
		if m.Seq["offers"] == 0 {
			t.Errorf("message without an offers position: %+v", m)
		}
		for _, ch := range m.Changes {
			if ch.Op == "put" && strings.HasPrefix(ch.ID, "agent-") && strings.Contains(ch.HTML, "Declined") {
				if strings.Contains(ch.HTML, `id="offer-`) {
					t.Errorf("the card still shows the declined offer: %s", ch.HTML)
				}
				// It links to the DECLINE the offer's answer sent.
				if !strings.Contains(ch.HTML, `href="/calls?offer=`+url.QueryEscape(ids[0])+`"`) {
					t.Errorf("the card does not link to the declined offer's calls: %s", ch.HTML)
				}
				return
			}
			if ch.Op == "del" && strings.HasPrefix(ch.ID, "agent-") {
				t.Errorf("the agent's card was deleted: %+v", ch)
			}
		}
	}
}

func TestLiveStreamRejectsOtherOrigins(t *testing.T) {
	st := newStack(t)
	_, since, epoch := st.page(t, "/offers", "agent-1.demo")
	_, err := st.dial(t, since, epoch, http.Header{"Origin": {"http://evil.example"}})
	if err == nil {
		t.Fatal("a WebSocket from another origin was accepted")
	}
	if _, err := st.dial(t, "nonsense", epoch, nil); err == nil {
		t.Error("a WebSocket with malformed positions was accepted")
	}
}

// TestLiveStreamResyncsAfterRestart: positions from another server
// instance (another epoch) make the stream ask the page to resync.
func TestLiveStreamResyncsAfterRestart(t *testing.T) {
	st := newStack(t)
	_, since, _ := st.page(t, "/tasks", "Tasks")
	// The first pages follow their own rows; a filtered page, or one past
	// them, every task's.
	if !strings.Contains(since, "tasks-page-1:") {
		t.Errorf("/tasks follows %q, want the first page's topic", since)
	}
	if _, other, _ := st.page(t, "/tasks?page=2", "Tasks"); !strings.Contains(other, "tasks-page-2:") {
		t.Errorf("/tasks?page=2 follows %q, want its own topic", other)
	}
	for _, path := range []string{"/tasks?page=21", "/tasks?state=TASK_RUNNING", "/tasks?page=2&q=web"} {
		if _, other, _ := st.page(t, path, "Tasks"); !strings.Contains(other, "tasks:") || strings.Contains(other, "tasks-page") {
			t.Errorf("%s follows %q, want every task's topic", path, other)
		}
	}
	c, err := st.dial(t, since, "another-epoch", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := read(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Resync) != 2 {
		t.Errorf("resync = %v, want both topics", m.Resync)
	}
	_, err = read(t, c)
	if websocket.CloseStatus(err) != 4000 {
		t.Errorf("after a resync the socket closed with %v, want status 4000", err)
	}
}

func TestCrossSiteActionsAreRefused(t *testing.T) {
	st := newStack(t)
	doc, _, _ := st.page(t, "/offers", "agent-3.demo")
	id := offerIDs(doc)[0]
	for _, h := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Origin": {"http://evil.example"}},
	} {
		if resp := st.post(t, "/offers/"+id+"/decline", url.Values{"refuse": {"1h"}}, h); resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site decline with %v = %d, want 403", h, resp.StatusCode)
		}
	}
	doc, _, _ = st.page(t, "/offers", "agent-3.demo")
	if !strings.Contains(strings.Join(offerIDs(doc), " "), id) {
		t.Error("a refused cross-site decline declined the offer anyway")
	}
	if resp := st.post(t, "/reconcile", url.Values{"x": {strings.Repeat("a", 200<<10)}}, nil); resp.StatusCode != http.StatusRequestEntityTooLarge && resp.StatusCode != http.StatusSeeOther {
		t.Errorf("oversized form = %d", resp.StatusCode)
	}
	resp, _ := get(t, http.MethodGet, st.srv.URL+"/offers/"+id+"/decline")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET of an action = %d, want 405", resp.StatusCode)
	}
}

func TestActionsAnswerInPlaceAndForUnknownIDs(t *testing.T) {
	st := newStack(t)
	doc, _, _ := st.page(t, "/offers", "agent-2.demo")
	id := offerIDs(doc)[0]
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, st.srv.URL+"/offers/"+id+"/accept",
		strings.NewReader(url.Values{"name": {"hello"}, "command": {"echo hi"}, "cpus": {"0.1"}, "mem": {"32"}, "request_id": {"once"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		OK    bool     `json:"ok"`
		Tasks []string `json:"tasks"`
		Next  string   `json:"next"`
	}
	json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if !answer.OK || len(answer.Tasks) != 1 || !strings.HasPrefix(answer.Next, "/tasks/hello-") {
		t.Fatalf("accept answer = %+v", answer)
	}

	for _, tc := range []struct{ path, want string }{
		{"/offers/no-such-offer/decline", "not held"},
		{"/tasks/no-such-task/kill", "unknown task"},
		{"/queue/nope/remove", "no such queued spec"},
	} {
		resp := st.post(t, tc.path, url.Values{"back": {"/tasks"}}, nil)
		flash := ""
		for _, c := range resp.Cookies() {
			if c.Name == "offerdeck_flash" {
				flash, _ = url.QueryUnescape(c.Value)
			}
		}
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(flash, "error:") || !strings.Contains(strings.ToLower(flash), tc.want) {
			t.Errorf("POST %s = %d flash %q, want 303 with an error saying %q", tc.path, resp.StatusCode, flash, tc.want)
		}
	}
	if resp := st.post(t, "/launch", url.Values{"cpus": {"lots"}, "command": {"true"}}, http.Header{"Accept": {"application/json"}}); resp.StatusCode != http.StatusBadRequest ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("launch with cpus=lots = %d %q, want 400 in JSON", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp := st.post(t, "/offers/x/decline", url.Values{"back": {"https://evil.example/"}}, nil); resp.Header.Get("Location") != "/" {
		t.Errorf("redirect after an action to %q, want it kept on this site", resp.Header.Get("Location"))
	}
}

// TestHostileClusterStringsAreEscaped: an agent whose hostname and
// attributes carry markup shows them as text on every page.
func TestHostileClusterStringsAreEscaped(t *testing.T) {
	st := newStack(t)
	evil := `<img src=x onerror=alert(1)>`
	if _, err := st.master.AddAgent(local.AgentConfig{Hostname: "h" + evil, CPUs: 1, Mem: 64, Attributes: "rack:" + evil}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/offers", "/agents", "/events", "/launch"} {
		_, body := get(t, http.MethodGet, st.srv.URL+path)
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(body, "onerror") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			_, body = get(t, http.MethodGet, st.srv.URL+path)
		}
		if strings.Contains(body, "<img") {
			t.Errorf("%s renders the hostile string as markup", path)
		}
		if !strings.Contains(body, "&lt;img") {
			t.Errorf("%s does not show the hostile string as text", path)
		}
	}
}

// TestSlowViewerDoesNotHoldOthersUp: a socket that never reads does not
// stop another viewer from getting changes.
func TestSlowViewerDoesNotHoldOthersUp(t *testing.T) {
	st := newStack(t)
	_, since, epoch := st.page(t, "/audit", "Audit")
	if _, err := st.dial(t, since, epoch, nil); err != nil { // never read
		t.Fatal(err)
	}
	c, err := st.dial(t, since, epoch, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		st.post(t, "/reconcile", url.Values{"request_id": {"r" + string(rune('a'+i))}}, nil)
	}
	got := 0
	for got < 30 {
		m, err := read(t, c)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the reading viewer got %d changes, then nothing", got)
			}
			t.Fatal(err)
		}
		got += len(m.Changes)
	}
}

// TestOverviewFollowsOffers: the overview's counts and offered totals are
// live too.
func TestOverviewFollowsOffers(t *testing.T) {
	st := newStack(t)
	doc, _, _ := st.page(t, "/offers", "agent-3.demo")
	_, since, epoch := st.page(t, "/", "agent-3.demo")
	c, err := st.dial(t, since, epoch, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.post(t, "/offers/"+offerIDs(doc)[0]+"/decline", url.Values{"refuse": {"1h"}}, nil)
	// The page and its positions are read together, so the first change
	// the stream carries is the decline's.
	seen := map[string]bool{}
	card := ""
	for !(seen["nav-count-offers"] && strings.Contains(card, "2 offers</span> from 2 agents")) {
		m, err := read(t, c)
		if err != nil {
			t.Fatalf("overview changes seen %v, offers card last %q, then: %v", seen, card, err)
		}
		for _, ch := range m.Changes {
			seen[ch.ID] = true
			if ch.ID == "offers-card" {
				card = ch.HTML
			}
		}
	}
}

// TestLongListsArePaginated: a cluster of 250 agents shows its offers 100
// agents a page, with links to the rest, and a live insert beyond the
// page's size is left to the page that shows it.
func TestLongListsArePaginated(t *testing.T) {
	_, master := localtest.Start(t, local.Config{Agents: local.ScaleAgents(250)})
	sched, err := scheduler.New(scheduler.Config{Client: mesos.Config{Masters: []string{master}}, StateDir: t.TempDir(), HoldTime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.New(web.Config{Scheduler: sched, Master: master})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { sched.Run(ctx) })
	wg.Go(func() { s.Run(ctx) })
	srv := httptest.NewServer(s.Handler())
	defer func() { srv.Close(); cancel(); wg.Wait() }()
	st := &stack{srv: srv}
	waitReady(t, srv)
	doc, _, _ := st.page(t, "/offers", "of 250 agents")
	groups := findAll(doc, func(n *html.Node) bool { return hasClass(n, "agent") })
	if len(groups) != 100 {
		t.Errorf("first page shows %d agents, want 100", len(groups))
	}
	list := byID(doc, "offers-list")
	if attr(list, "data-paged") != "true" {
		t.Errorf("offers-list data-paged = %q, want true: a live insert there re-renders the page", attr(list, "data-paged"))
	}
	pager := find(doc, func(n *html.Node) bool { return hasClass(n, "pager") })
	if got := text(pager); !strings.Contains(got, "1–100 of 250 agents") || !strings.Contains(got, "Next") {
		t.Errorf("pager = %q", got)
	}
	doc, _, _ = st.page(t, "/offers?page=3", "of 250 agents")
	if n := len(findAll(doc, func(n *html.Node) bool { return hasClass(n, "agent") })); n != 50 {
		t.Errorf("third page shows %d agents, want 50", n)
	}
	// The board draws a bounded number of agents and says how many more
	// there are; each rack of several has its totals.
	doc, _, _ = st.page(t, "/board", "more agents")
	lanes := len(findAll(doc, func(n *html.Node) bool { return hasClass(n, "lane") }))
	cards := len(findAll(doc, func(n *html.Node) bool { return hasClass(n, "rack-agent") }))
	totals := len(findAll(doc, func(n *html.Node) bool { return hasClass(n, "rack-total") }))
	if lanes == 0 || lanes > 60 || cards == 0 || cards > 60 || totals == 0 {
		t.Errorf("board of 250 agents: %d lanes, %d agent cards, %d rack totals; want 1 to 60 of each and totals", lanes, cards, totals)
	}
	if !strings.Contains(text(doc), "and "+strconv.Itoa(250-cards)+" more agents") {
		t.Errorf("the board does not count the %d agents it leaves out", 250-cards)
	}
}

// TestEventJSON: a kept event is served whole as JSON; a number not kept
// is a 404 that says why, and no number a 400.
func TestEventJSON(t *testing.T) {
	st := newStack(t)
	st.page(t, "/events", "SUBSCRIBED")
	resp, body := get(t, http.MethodGet, st.srv.URL+"/events/1/json")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"type":"SUBSCRIBED"`) {
		t.Errorf("event 1: %d %s %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, body := get(t, http.MethodGet, st.srv.URL+"/events/99999999/json"); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not kept") {
		t.Errorf("event not kept: %d %.300s", resp.StatusCode, body)
	}
	if resp, _ := get(t, http.MethodGet, st.srv.URL+"/events/x/json"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("event x: %d, want 400", resp.StatusCode)
	}
}

// TestMetricsCountTheLiveSide: /metrics has the web layer's figures: the
// open streams, what the feed rendered and what the hub published and
// delivered.
func TestMetricsCountTheLiveSide(t *testing.T) {
	st := newStackWith(t, web.Config{Metrics: prometheus.NewRegistry()})
	waitReady(t, st.srv)
	doc, since, epoch := st.page(t, "/offers", "agent-3.demo")
	c, err := st.dial(t, since, epoch, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// A change the stream follows: the offer leaves the offers page.
	st.post(t, "/offers/"+offerIDs(doc)[0]+"/decline", url.Values{"refuse": {"1h"}}, nil)
	metric := func(body, name string) float64 {
		for line := range strings.Lines(body) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return f
			}
		}
		t.Fatalf("/metrics has no %s:\n%s", name, body)
		return 0
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := get(t, http.MethodGet, st.srv.URL+"/metrics")
		streams, rendered := metric(body, "offerdeck_live_streams"), metric(body, "offerdeck_feed_changes_rendered_total")
		published := metric(body, "offerdeck_hub_published_total")
		metric(body, "offerdeck_hub_delivered_total")
		metric(body, "offerdeck_feed_changes_coalesced_total")
		metric(body, "offerdeck_hub_skips_total")
		if streams == 1 && rendered > 0 && published > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("streams %v, rendered %v, published %v; want 1 open stream and some of the others", streams, rendered, published)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReorderingCharactersAreShown: a hostname hiding U+202E (which shows
// what follows backwards, so "gpj.exe" reads "exe.jpg") is shown with the
// character marked, never applied.
func TestReorderingCharactersAreShown(t *testing.T) {
	st := newStack(t)
	if _, err := st.master.AddAgent(local.AgentConfig{Hostname: "photo\u202Egpj.exe", CPUs: 1, Mem: 64, Attributes: "rack:\u2067r9"}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/offers", "/agents"} {
		_, body := get(t, http.MethodGet, st.srv.URL+path)
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(body, "gpj.exe") && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			_, body = get(t, http.MethodGet, st.srv.URL+path)
		}
		if strings.ContainsAny(body, "\u202E\u2067") {
			t.Errorf("%s carries a reordering character as it is", path)
		}
		if !strings.Contains(body, "photo⟦U+202E⟧gpj.exe") {
			t.Errorf("%s does not show the hostname with its U+202E marked", path)
		}
	}
}

// TestRefusedLaunchKeepsWhatWasTyped: without the client script, a launch
// refused for bad input answers with the form again, as it was typed and
// with the reason, not a redirect to a fresh form.
func TestRefusedLaunchKeepsWhatWasTyped(t *testing.T) {
	st := newStack(t)
	form := url.Values{"name": {"kept-name"}, "command": {"echo kept"}, "cpus": {"lots"}, "mem": {"32"}, "env": {"KEPT=1"}, "request_id": {"r1"}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, st.srv.URL+"/launch", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	doc := parse(t, string(body))
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("refused launch = %d, want 422 with the form", resp.StatusCode)
	}
	if got := attr(byID(doc, "name"), "value"); got != "kept-name" {
		t.Errorf("name field = %q, want what was typed", got)
	}
	if got := text(byID(doc, "env")); got != "KEPT=1" {
		t.Errorf("env field = %q, want what was typed", got)
	}
	if got := text(byID(doc, "launch-error")); !strings.Contains(got, "cpus") {
		t.Errorf("launch error = %q, want the reason naming cpus", got)
	}
}

// TestRemovedAgentSaysSo: when the master removes an agent, its card on
// the offers page and its row on the agents page say so, live and on a
// reload, instead of waiting for an offer that will not come.
func TestRemovedAgentSaysSo(t *testing.T) {
	st := newStack(t)
	doc, since, epoch := st.page(t, "/offers", "agent-2.demo")
	var agentID string
	for _, g := range findAll(doc, func(n *html.Node) bool { return hasClass(n, "agent") }) {
		if strings.Contains(text(g), "agent-2.demo") {
			agentID = attr(find(g, func(n *html.Node) bool { return hasClass(n, "agent-id") }), "title")
		}
	}
	agentID = strings.TrimPrefix(agentID, "agent id ")
	if agentID == "" {
		t.Fatal("no agent id on agent-2.demo's card")
	}
	c, err := st.dial(t, since, epoch, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.master.RemoveAgent(agentID); err != nil {
		t.Fatal(err)
	}
	const removed = "The master removed this agent"
	for found := false; !found; {
		m, err := read(t, c)
		if err != nil {
			t.Fatalf("the stream never said the agent was removed: %v", err)
		}
		for _, ch := range m.Changes {
			found = found || ch.Op == "put" && strings.Contains(ch.HTML, removed) && strings.Contains(ch.HTML, "agent-2.demo")
		}
	}
	if _, body := get(t, http.MethodGet, st.srv.URL+"/offers"); !strings.Contains(body, removed) {
		t.Errorf("a reload of /offers does not say the agent was removed")
	}
	doc, _, _ = st.page(t, "/agents", "removed")
	row := find(doc, func(n *html.Node) bool { return n.Data == "tr" && strings.Contains(text(n), "agent-2.demo") })
	if row == nil || !strings.Contains(text(row), "removed") {
		t.Errorf("the agents page's row of a removed agent does not say so")
	}
}

// TestBoardFollowsOffers: the board counts a declined offer and draws it
// in its agent's lane, live and on a reload; its chart moves on with its
// clock.
func TestBoardFollowsOffers(t *testing.T) {
	st := newStack(t)
	doc, _, _ := st.page(t, "/offers", "agent-3.demo")
	board, since, epoch := st.page(t, "/board", "agent-3.demo")
	if n := len(findAll(board, func(n *html.Node) bool { return hasClass(n, "lane") })); n != 3 {
		t.Fatalf("%d lanes, want one per agent", n)
	}
	c, err := st.dial(t, since, epoch, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.post(t, "/offers/"+offerIDs(doc)[0]+"/decline", url.Values{"refuse": {"1h"}}, nil)
	var flow, lanes, chart string
	for !strings.Contains(flow, `<span id="flow-declined-count" class="flow-count">1</span>`) || !strings.Contains(lanes, `rect class="how-declined"`) ||
		!strings.Contains(chart, "cpus: 0 used by our tasks") { // the chart at its clock's next step, within chartStep
		m, err := read(t, c)
		if err != nil {
			t.Fatalf("board changes: flow %q, lanes %q, then: %v", flow, lanes, err)
		}
		for _, ch := range m.Changes {
			switch {
			case ch.ID == "flow-declined-count":
				flow = ch.HTML
			case ch.ID == "board-lanes" || strings.HasPrefix(ch.ID, "lane-of-"): // the lanes, or one
				lanes += ch.HTML
			case ch.ID == "board-chart":
				chart = ch.HTML
			}
		}
	}
	_, body := get(t, http.MethodGet, st.srv.URL+"/board")
	if !strings.Contains(body, `rect class="how-declined"`) || !strings.Contains(body, "1 declined by a person") {
		t.Errorf("a reload of the board lacks the declined offer")
	}
}

// TestBoardGroupsByAPickedAttribute: the board's agent map grouped by an
// attribute the viewer picks follows the cluster on a topic of its own,
// equal to its reload; the default grouping's map never reaches that
// page, an attribute no agent has is said and grouped as usual, and a
// stream cannot follow a grouping the dashboard does not know.
func TestBoardGroupsByAPickedAttribute(t *testing.T) {
	st := newStack(t)
	doc, _, _ := st.page(t, "/offers", "agent-3.demo")
	board, since, epoch := st.page(t, "/board?group=pod", "agent-3.demo")
	region := find(board, func(n *html.Node) bool { return attr(n, "id") == "board-racks" })
	if region == nil || !strings.Contains(text(region), "Agents by pod") {
		t.Fatalf("the board grouped by pod does not say so")
	}
	var groups []string
	for _, n := range findAll(region, func(n *html.Node) bool { return hasClass(n, "rack-name") }) {
		groups = append(groups, strings.Join(strings.Fields(text(n)), " "))
	}
	if want := []string{"pod demo", "pod demo,dev", "pod dev"}; !slices.Equal(groups, want) {
		t.Errorf("groups %q, want %q", groups, want)
	}
	if sel := find(region, func(n *html.Node) bool { return n.Data == "option" && attr(n, "value") == "pod" }); sel == nil || !slices.ContainsFunc(sel.Attr, func(a html.Attribute) bool { return a.Key == "selected" }) {
		t.Errorf("the picker does not show pod as picked")
	}
	if strings.Contains(since, "board-map:") {
		t.Errorf("the page grouped by pod follows the default map too: %s", since)
	}

	c, err := st.dial(t, since, epoch, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The page as the stream changes it: the whole map, or cards of it.
	words := func(doc *html.Node) string {
		return strings.Join(strings.Fields(text(find(doc, func(n *html.Node) bool { return attr(n, "id") == "board-racks" }))), " ")
	}
	follow := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			fresh, _, _ := st.page(t, "/board?group=pod", "agent-3.demo")
			if words(board) == words(fresh) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s, the live map differs from its reload:\nlive:   %s\nreload: %s", what, words(board), words(fresh))
			}
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			_, b, err := c.Read(ctx)
			cancel()
			if err != nil {
				continue // nothing more yet: load the reload again
			}
			var m message
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for _, ch := range m.Changes {
				if ch.ID != "board-racks" && !strings.HasPrefix(ch.ID, "rack-") && !strings.HasPrefix(ch.ID, "rackagent-") {
					continue
				}
				if ch.ID == "board-racks" && !strings.Contains(ch.HTML, "Agents by pod") {
					t.Fatalf("a map of another grouping reached the page grouped by pod: %.200s", ch.HTML)
				}
				replaceByID(t, board, ch.ID, ch.HTML)
			}
		}
	}
	offers := offerIDs(doc)
	st.post(t, "/offers/"+offers[0]+"/decline", url.Values{"refuse": {"1h"}}, nil)
	follow("a decline")
	st.post(t, "/offers/"+offers[len(offers)-1]+"/decline", url.Values{"refuse": {"1h"}}, nil)
	follow("a second decline")

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(st.srv.URL + "/board?group=nosuch")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/board" || !strings.Contains(resp.Header.Get("Set-Cookie"), "nosuch") {
		t.Errorf("an unknown attribute answered %d to %q, cookie %q; want 303 to /board saying why", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Set-Cookie"))
	}
	for _, bad := range []string{"board-map-31", "board-map-01", "board-map--1", "board-map-x"} {
		if _, err := st.dial(t, "header:0,"+bad+":0", epoch, nil); err == nil {
			t.Errorf("a stream may follow %s, a grouping nobody has", bad)
		}
	}
}

// replaceByID replaces the element of doc with the id by the element
// html is, as the page's script applies a put.
func replaceByID(t *testing.T, doc *html.Node, id, fragment string) {
	t.Helper()
	old := find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && attr(n, "id") == id })
	if old == nil {
		t.Fatalf("the page has no element %q to replace", id)
	}
	nodes, err := html.ParseFragment(strings.NewReader(fragment), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil || len(nodes) == 0 {
		t.Fatalf("a change of %s is no HTML: %v", id, err)
	}
	old.Parent.InsertBefore(nodes[0], old)
	old.Parent.RemoveChild(old)
}
