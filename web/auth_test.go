package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
	"golang.org/x/net/html"

	"github.com/offerdeck/offerdeck/web"
)

const (
	operatorPassword = "operator password 1"
	viewerPassword   = "viewer password 1"
	apiToken         = "a-long-random-api-token"
)

// secured is the stack with users: ann (operator), vic (viewer) and a
// bearer token for a script (operator).
type secured struct {
	srv    *httptest.Server
	router http.Handler
}

func newSecured(t *testing.T) *secured {
	t.Helper()
	op, err := web.HashPassword(operatorPassword)
	if err != nil {
		t.Fatal(err)
	}
	vw, _ := web.HashPassword(viewerPassword)
	sum := sha256.Sum256([]byte(apiToken))
	users, err := web.ParseUsers("# users\nann operator " + op + "\nvic viewer " + vw + "\nbot operator sha256:" + hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	st := newStackWith(t, web.Config{Users: users})
	return &secured{srv: st.srv, router: st.handler}
}

// client returns an HTTP client with a cookie jar, logged in as name when
// a password is given.
func (s *secured) client(t *testing.T, name, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if password == "" {
		return c
	}
	resp, err := c.PostForm(s.srv.URL+"/login", url.Values{"user": {name}, "password": {password}, "next": {"/offers"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/offers" {
		t.Fatalf("login as %s = %d to %q", name, resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "offerdeck_session" && (!ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode) {
			t.Errorf("session cookie %+v: want HttpOnly and SameSite=Strict", ck)
		}
	}
	return c
}

func status(t *testing.T, c *http.Client, method, u string, form url.Values, header http.Header) int {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestLoginAndRoles(t *testing.T) {
	s := newSecured(t)
	anon := s.client(t, "", "")
	if got := status(t, anon, "GET", s.srv.URL+"/offers", nil, nil); got != http.StatusSeeOther {
		t.Errorf("anonymous GET /offers = %d, want 303 to the login page", got)
	}
	if got := status(t, anon, "POST", s.srv.URL+"/login", url.Values{"user": {"ann"}, "password": {"wrong password"}}, nil); got != http.StatusUnauthorized {
		t.Errorf("login with a wrong password = %d, want 401", got)
	}
	if got := status(t, anon, "GET", s.srv.URL+"/healthz", nil, nil); got != http.StatusOK {
		t.Errorf("/healthz needs no login, got %d", got)
	}

	viewer := s.client(t, "vic", viewerPassword)
	if got := status(t, viewer, "GET", s.srv.URL+"/tasks", nil, nil); got != http.StatusOK {
		t.Errorf("viewer GET /tasks = %d", got)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.srv.URL+"/tasks", nil)
	resp, _ := viewer.Do(req)
	doc := parseBody(t, resp)
	if n := len(findAll(doc, func(n *html.Node) bool { return hasClass(n, "act") })); n != 0 {
		t.Errorf("the viewer's page shows %d action elements", n)
	}
	if got := status(t, viewer, "POST", s.srv.URL+"/reconcile", url.Values{}, nil); got != http.StatusForbidden {
		t.Errorf("viewer POST /reconcile = %d, want 403", got)
	}

	operator := s.client(t, "ann", operatorPassword)
	if got := status(t, operator, "POST", s.srv.URL+"/reconcile", url.Values{"back": {"/tasks"}}, nil); got != http.StatusSeeOther {
		t.Errorf("operator POST /reconcile = %d, want 303", got)
	}
	if got := status(t, anon, "POST", s.srv.URL+"/reconcile", url.Values{}, http.Header{"Authorization": {"Bearer " + apiToken}, "Accept": {"application/json"}}); got != http.StatusOK {
		t.Errorf("token POST /reconcile = %d, want 200", got)
	}
	if got := status(t, anon, "POST", s.srv.URL+"/reconcile", url.Values{}, http.Header{"Authorization": {"Bearer nope"}}); got != http.StatusUnauthorized {
		t.Errorf("bad token POST /reconcile = %d, want 401", got)
	}
}

// TestEveryActionRouteIsGuarded enumerates the router's routes, so a new
// action cannot escape the rules: every route that is not GET needs a
// user, an operator (but for a viewer's own logout and presenter mode),
// and a same-origin request.
func TestEveryActionRouteIsGuarded(t *testing.T) {
	s := newSecured(t)
	routes, ok := s.router.(chi.Routes)
	if !ok {
		t.Fatal("the handler is not a chi router")
	}
	anon := s.client(t, "", "")
	viewer := s.client(t, "vic", viewerPassword)
	operator := s.client(t, "ann", operatorPassword)
	checked := 0
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method == http.MethodGet || method == http.MethodHead || route == "/login" {
			return nil
		}
		checked++
		u := s.srv.URL + strings.ReplaceAll(route, "{id}", "x")
		if got := status(t, anon, method, u, url.Values{}, nil); got != http.StatusUnauthorized {
			t.Errorf("%s %s without a user = %d, want 401", method, route, got)
		}
		if route != "/logout" && route != "/presenter" { // a viewer's own session and presentation
			if got := status(t, viewer, method, u, url.Values{}, nil); got != http.StatusForbidden {
				t.Errorf("%s %s as a viewer = %d, want 403", method, route, got)
			}
		}
		if got := status(t, operator, method, u, url.Values{}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); got != http.StatusForbidden {
			t.Errorf("%s %s cross-site as an operator = %d, want 403", method, route, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 8 {
		t.Errorf("only %d action routes found; the walk missed some", checked)
	}
}

// TestLogoutClosesLiveStream: a WebSocket lives no longer than the session
// that opened it, and needs one to open.
func TestLogoutClosesLiveStream(t *testing.T) {
	s := newSecured(t)
	operator := s.client(t, "ann", operatorPassword)
	u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws?since=header:0&epoch=x"
	if _, _, err := websocket.Dial(t.Context(), u, nil); err == nil {
		t.Fatal("a WebSocket without a session was accepted")
	}
	c, _, err := websocket.Dial(t.Context(), u, &websocket.DialOptions{HTTPClient: operator})
	if err != nil {
		t.Fatalf("dial with a session: %v", err)
	}
	defer c.CloseNow()
	// The first message asks for a resync (another epoch); read past it
	// only if the socket stays open, then log out.
	if got := status(t, operator, "POST", s.srv.URL+"/logout", url.Values{}, nil); got != http.StatusSeeOther {
		t.Fatalf("logout = %d", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the socket stayed open after logout")
			}
			return
		}
	}
}

func parseBody(t *testing.T, resp *http.Response) *html.Node {
	t.Helper()
	defer resp.Body.Close()
	doc, err := html.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
