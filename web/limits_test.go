package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/offerdeck/offerdeck/web"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newSecuredWith is newSecured with more of the configuration given.
func newSecuredWith(t *testing.T, cfg web.Config) *secured {
	t.Helper()
	// The cheapest bcrypt cost: these tests log in many times under -race.
	op, err := bcrypt.GenerateFromPassword([]byte(operatorPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	vw, _ := bcrypt.GenerateFromPassword([]byte(viewerPassword), bcrypt.MinCost)
	sum := sha256.Sum256([]byte(apiToken))
	cfg.Users, err = web.ParseUsers("ann operator " + string(op) + "\nvic viewer " + string(vw) + "\nbot operator sha256:" + hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	st := newStackWith(t, cfg)
	return &secured{srv: st.srv, router: st.handler}
}

// do sends one request and returns its status, Content-Type and body.
func do(t *testing.T, c *http.Client, method, u, body string, header http.Header) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestMetricsNeedTokenOrOperator: with users, /metrics answers a bearer
// token or an operator's session, and nobody else.
func TestMetricsNeedTokenOrOperator(t *testing.T) {
	s := newSecuredWith(t, web.Config{Metrics: prometheus.NewRegistry()})
	noRedirect := s.client(t, "", "")
	for _, tc := range []struct {
		name   string
		c      *http.Client
		header http.Header
		want   int
	}{
		{"anonymous", noRedirect, nil, http.StatusUnauthorized},
		{"bad token", noRedirect, http.Header{"Authorization": {"Bearer nope"}}, http.StatusUnauthorized},
		{"viewer session", s.client(t, "vic", viewerPassword), nil, http.StatusUnauthorized},
		{"operator session", s.client(t, "ann", operatorPassword), nil, http.StatusOK},
		{"token", noRedirect, http.Header{"Authorization": {"Bearer " + apiToken}}, http.StatusOK},
	} {
		code, _, body := do(t, tc.c, http.MethodGet, s.srv.URL+"/metrics", "", tc.header)
		if code != tc.want {
			t.Errorf("%s: GET /metrics = %d, want %d", tc.name, code, tc.want)
		}
		if code == http.StatusOK && !strings.Contains(body, "offerdeck_live_streams") {
			t.Errorf("%s: /metrics lacks the web layer's metrics", tc.name)
		}
	}
}

// TestReadyzShowsIDsOnlyToUsers: anonymous probes learn ready or not, and
// the framework id only with a token or a session.
func TestReadyzShowsIDsOnlyToUsers(t *testing.T) {
	s := newSecured(t)
	c := s.client(t, "", "")
	token := http.Header{"Authorization": {"Bearer " + apiToken}}
	var code int
	var body string
	for range 750 { // 15 s of 20 ms polls at most
		if code, _, body = do(t, c, http.MethodGet, s.srv.URL+"/readyz", "", token); code == http.StatusOK {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code != http.StatusOK || !strings.HasPrefix(body, "ready: subscribed as ") {
		t.Fatalf("/readyz with a token = %d %q, want the framework id", code, body)
	}
	id := strings.TrimSpace(strings.TrimPrefix(body, "ready: subscribed as "))
	code, _, body = do(t, c, http.MethodGet, s.srv.URL+"/readyz", "", nil)
	if code != http.StatusOK || body != "ready: subscribed\n" || strings.Contains(body, id) {
		t.Errorf("anonymous /readyz = %d %q, want 200 \"ready: subscribed\" without the id %s", code, body, id)
	}
}

// TestBadFormsAnswerPlainly: a form body that is not URL encoding is the
// client's 400, not an ERROR; a too-large form answers JSON to a client
// that asks for JSON.
func TestBadFormsAnswerPlainly(t *testing.T) {
	var logs lockedBuffer
	st := newSecuredWith(t, web.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c := st.client(t, "ann", operatorPassword)
	code, _, body := do(t, st.client(t, "", ""), http.MethodPost, st.srv.URL+"/login", "user=%zz&password=x", nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "not valid URL encoding") {
		t.Errorf("POST /login with %%zz = %d %q, want 400 saying the form is not URL encoding", code, body)
	}
	code, ctype, body := do(t, c, http.MethodPost, st.srv.URL+"/reconcile", "user=%zz", http.Header{"Accept": {"application/json"}})
	if code != http.StatusBadRequest || ctype != "application/json" {
		t.Errorf("POST /reconcile with %%zz as JSON = %d %s %q, want a 400 in JSON", code, ctype, body)
	}
	big := "x=" + strings.Repeat("a", 200<<10)
	code, ctype, body = do(t, c, http.MethodPost, st.srv.URL+"/reconcile", big, http.Header{"Accept": {"application/json"}})
	var answer struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if code != http.StatusRequestEntityTooLarge || ctype != "application/json" || json.Unmarshal([]byte(body), &answer) != nil || answer.OK || answer.Error == "" {
		t.Errorf("oversized form asking for JSON = %d %s %q, want a 413 in JSON", code, ctype, body)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("client mistakes were logged as errors:\n%s", logs.String())
	}
}

// browserPath escapes a path as a browser does: bytes outside ASCII are
// percent-encoded, parentheses are left as they are (Go would escape
// them, so the server sees a RawPath).
func browserPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c == ' ' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// TestTaskWithEscapedNameOpensAndKills: a task named über(1) can be opened
// and killed at the address a browser sends.
func TestTaskWithEscapedNameOpensAndKills(t *testing.T) {
	st := newStack(t)
	doc, _, _ := st.page(t, "/offers", "agent-2.demo")
	id := offerIDs(doc)[0]
	form := url.Values{"name": {"über(1)"}, "command": {"sleep 60"}, "cpus": {"0.1"}, "mem": {"32"}}
	json200 := http.Header{"Accept": {"application/json"}}
	code, _, body := do(t, http.DefaultClient, http.MethodPost, st.srv.URL+"/offers/"+id+"/accept", form.Encode(), json200)
	var answer struct {
		OK    bool     `json:"ok"`
		Tasks []string `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil || code != http.StatusOK || !answer.OK || len(answer.Tasks) != 1 {
		t.Fatalf("accept = %d %q", code, body)
	}
	path := "/tasks/" + browserPath(answer.Tasks[0])
	if !strings.Contains(path, "%C3%BCber(1)-") {
		t.Fatalf("path %s is not what a browser sends", path)
	}
	code, _, body = do(t, http.DefaultClient, http.MethodGet, st.srv.URL+path, "", nil)
	if code != http.StatusOK || !strings.Contains(body, "über(1)") {
		t.Errorf("GET %s = %d, want the task's page", path, code)
	}
	code, _, body = do(t, http.DefaultClient, http.MethodPost, st.srv.URL+path+"/kill", url.Values{}.Encode(), json200)
	if code != http.StatusOK || !strings.Contains(body, `"ok":true`) {
		t.Errorf("POST %s/kill = %d %q, want it killed", path, code, body)
	}
}
