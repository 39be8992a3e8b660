package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/html"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/web"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newSite runs the real stack (see newStackWith) and returns its server.
func newSite(t *testing.T, cfg web.Config) *httptest.Server {
	t.Helper()
	return newStackWith(t, cfg).srv
}

// waitReady polls /readyz until the scheduler is subscribed.
func waitReady(t *testing.T, srv *httptest.Server) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, body := get(t, http.MethodGet, srv.URL+"/readyz")
		if resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// byID finds the element with the given id in a parsed document.
func byID(doc *html.Node, id string) *html.Node {
	if doc.Type == html.ElementNode {
		for _, a := range doc.Attr {
			if a.Key == "id" && a.Val == id {
				return doc
			}
		}
	}
	for c := doc.FirstChild; c != nil; c = c.NextSibling {
		if n := byID(c, id); n != nil {
			return n
		}
	}
	return nil
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func parse(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

// TestOverviewShowsSubscription renders the overview from the real
// scheduler subscribed to the stand-in: live, with ids and offers.
func TestOverviewShowsSubscription(t *testing.T) {
	srv := newSite(t, web.Config{Simulated: false})
	waitReady(t, srv)
	var doc *html.Node
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body := get(t, http.MethodGet, srv.URL+"/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET / = %d, want 200", resp.StatusCode)
		}
		doc = parse(t, body)
		if text(byID(doc, "offer-count")) == "3 offers" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := text(byID(doc, "offer-count")); got != "3 offers" {
		t.Errorf("#offer-count = %q, want 3 (the demo agents)", got)
	}
	conn := byID(doc, "conn")
	if conn == nil || attr(conn, "data-state") != "live" || attr(conn, "role") != "status" {
		t.Errorf("#conn = %v, want a status element in state live", conn)
	}
	if got := text(byID(doc, "master-status")); strings.Contains(got, "Waiting") {
		t.Errorf("the waiting notice is shown although subscribed: %q", got)
	}
	if got := attr(find(byID(doc, "framework-id"), func(n *html.Node) bool { return hasClass(n, "ellipsis") }), "title"); !strings.HasSuffix(got, "-0000") {
		t.Errorf("#framework-id = %q", got)
	}
	if got := text(byID(doc, "master-mode")); !strings.Contains(got, "embedded stand-in") {
		t.Errorf("#master-mode = %q", got)
	}
	if got := text(byID(doc, "recent-events")); !strings.Contains(got, "SUBSCRIBED") || !strings.Contains(got, "agent-1.demo") {
		t.Errorf("#recent-events = %q, want the SUBSCRIBED and OFFERS events", got)
	}
}

func TestWaitingForUnreachableMaster(t *testing.T) {
	sched, err := scheduler.New(scheduler.Config{
		Client:   mesos.Config{Masters: []string{"http://127.0.0.1:1"}, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
		StateDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.New(web.Config{Scheduler: sched, Master: `http://127.0.0.1:1/<script>alert(1)</script>`})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { sched.Run(ctx) })
	wg.Go(func() { s.Run(ctx) })
	srv := httptest.NewServer(s.Handler())
	defer func() { srv.Close(); cancel(); wg.Wait() }()

	resp, body := get(t, http.MethodGet, srv.URL+"/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "not ready") {
		t.Errorf("/readyz = %d %q, want 503 not ready", resp.StatusCode, body)
	}
	_, body = get(t, http.MethodGet, srv.URL+"/")
	doc := parse(t, body)
	if got := text(byID(doc, "master-status-title")); got != "Waiting for a Mesos master" {
		t.Errorf("#master-status-title = %q", got)
	}
	if strings.Contains(body, "<script>alert(1)") {
		t.Fatalf("master name rendered unescaped:\n%s", body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	srv := newSite(t, web.Config{})
	for _, path := range []string{"/", "/nope", "/healthz"} {
		resp, _ := get(t, http.MethodGet, srv.URL+path)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s CSP = %q, want %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s CSP allows inline code: %q", path, csp)
		}
		for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("GET %s %s = %q, want %q", path, h, got, want)
			}
		}
	}
}

func TestNoInlineScript(t *testing.T) {
	srv := newSite(t, web.Config{})
	_, body := get(t, http.MethodGet, srv.URL+"/")
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "script" {
			if attr(n, "src") == "" || text(n) != "" {
				t.Errorf("inline script found: %v", n.Attr)
			}
		}
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("inline event handler %s on <%s>", a.Key, n.Data)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(parse(t, body))
}

func TestErrorsAreAnsweredWithPages(t *testing.T) {
	srv := newSite(t, web.Config{})
	resp, body := get(t, http.MethodGet, srv.URL+"/no/such/page")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /no/such/page = %d, want 404", resp.StatusCode)
	}
	if got := text(byID(parse(t, body), "problem-message")); got == "" {
		t.Errorf("404 page has no #problem-message")
	}

	resp, body = get(t, http.MethodPost, srv.URL+"/")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", resp.StatusCode)
	}
	if got := resp.Header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("POST / Allow = %q, want %q", got, "GET, HEAD")
	}
	if byID(parse(t, body), "problem-message") == nil {
		t.Errorf("405 page has no #problem-message")
	}

	resp, body = get(t, http.MethodHead, srv.URL+"/")
	if resp.StatusCode != http.StatusOK || body != "" {
		t.Errorf("HEAD / = %d with %d body bytes, want 200 and none", resp.StatusCode, len(body))
	}
}

func TestHealth(t *testing.T) {
	srv := newSite(t, web.Config{})
	if resp, _ := get(t, http.MethodGet, srv.URL+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200", resp.StatusCode)
	}
	waitReady(t, srv)
	if _, body := get(t, http.MethodGet, srv.URL+"/readyz"); !strings.HasPrefix(body, "ready: subscribed as ") {
		t.Errorf("GET /readyz = %q", body)
	}
	resp, body := get(t, http.MethodGet, srv.URL+"/metrics")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without a registry = %d %q, want 404", resp.StatusCode, body)
	}
}

// TestStaticAssets checks that the page links content-hashed assets that are
// cacheable forever, and that a stale or missing hash is revalidated.
func TestStaticAssets(t *testing.T) {
	srv := newSite(t, web.Config{})
	_, body := get(t, http.MethodGet, srv.URL+"/")
	doc := parse(t, body)
	var css, js string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "link" && attr(n, "rel") == "stylesheet" {
			css = attr(n, "href")
		}
		if n.Type == html.ElementNode && n.Data == "script" {
			js = attr(n, "src")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, tc := range []struct{ url, ctype string }{{css, "text/css"}, {js, "javascript"}} {
		if !strings.Contains(tc.url, "?v=") {
			t.Fatalf("asset URL %q has no content hash", tc.url)
		}
		resp, content := get(t, http.MethodGet, srv.URL+tc.url)
		if resp.StatusCode != http.StatusOK || len(content) == 0 {
			t.Fatalf("GET %s = %d (%d bytes)", tc.url, resp.StatusCode, len(content))
		}
		if got := resp.Header.Get("Content-Type"); !strings.Contains(got, tc.ctype) {
			t.Errorf("GET %s Content-Type = %q, want %q", tc.url, got, tc.ctype)
		}
		if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") {
			t.Errorf("GET %s Cache-Control = %q, want immutable", tc.url, got)
		}
		stale := tc.url[:strings.Index(tc.url, "?")] + "?v=old"
		if resp, _ := get(t, http.MethodGet, srv.URL+stale); resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s Cache-Control = %q, want no-cache", stale, resp.Header.Get("Cache-Control"))
		}
	}
	if resp, _ := get(t, http.MethodGet, srv.URL+"/static/../go.mod"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /static/../go.mod = %d, want 404", resp.StatusCode)
	}
}

// TestEventsPageShowsRawJSON checks that each event row carries the event
// as Mesos's JSON, encoded when the page asks for it.
func TestEventsPageShowsRawJSON(t *testing.T) {
	srv := newSite(t, web.Config{})
	waitReady(t, srv)
	// The pages follow the scheduler's changes a moment after it is ready.
	var subscribed string
	for deadline := time.Now().Add(10 * time.Second); subscribed == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, body := get(t, http.MethodGet, srv.URL+"/events")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /events = %d, want 200", resp.StatusCode)
		}
		list := byID(parse(t, body), "events-list")
		if list == nil {
			t.Fatal("no #events-list")
		}
		for li := list.FirstChild; li != nil; li = li.NextSibling {
			if li.Type == html.ElementNode && attr(li, "data-type") == "SUBSCRIBED" {
				subscribed = text(li)
			}
		}
	}
	for _, want := range []string{`"type": "SUBSCRIBED"`, `"framework_id"`, `"heartbeat_interval_seconds"`} {
		if !strings.Contains(subscribed, want) {
			t.Errorf("SUBSCRIBED row = %q, want it to contain %s", subscribed, want)
		}
	}
}
