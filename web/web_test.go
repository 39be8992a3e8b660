package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/offerdeck/offerdeck/web"
)

func newSite(t *testing.T, cfg web.Config) *httptest.Server {
	t.Helper()
	s, err := web.New(cfg)
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
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

func TestOverviewWaitsForMaster(t *testing.T) {
	tests := []struct {
		name, master, wantMaster string
	}{
		{name: "embedded", master: "", wantMaster: "embedded stand-in"},
		{name: "configured", master: "http://m1:5050", wantMaster: "http://m1:5050"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSite(t, web.Config{Master: tc.master})
			resp, body := get(t, http.MethodGet, srv.URL+"/")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET / = %d, want 200", resp.StatusCode)
			}
			doc := parse(t, body)
			if got := text(byID(doc, "master-status-title")); got != "Waiting for a Mesos master" {
				t.Errorf("#master-status-title = %q", got)
			}
			if got := text(byID(doc, "master-name")); got != tc.wantMaster {
				t.Errorf("#master-name = %q, want %q", got, tc.wantMaster)
			}
			conn := byID(doc, "conn")
			if conn == nil || attr(conn, "data-state") != "waiting" || attr(conn, "role") != "status" {
				t.Errorf("#conn = %v, want a status element in state waiting", conn)
			}
		})
	}
}

func TestHostileMasterNameIsEscaped(t *testing.T) {
	srv := newSite(t, web.Config{Master: `http://m1:5050/<script>alert(1)</script>`})
	_, body := get(t, http.MethodGet, srv.URL+"/")
	if strings.Contains(body, "<script>alert(1)") {
		t.Fatalf("master name rendered unescaped:\n%s", body)
	}
	if got := text(byID(parse(t, body), "master-name")); !strings.Contains(got, "<script>") {
		t.Errorf("#master-name = %q, want the literal text shown", got)
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
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, _ := get(t, http.MethodGet, srv.URL+path); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
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
