package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/web"
)

// loginAs posts the login form and returns the status, Retry-After and body.
func loginAs(t *testing.T, base, name, password string, header http.Header) (int, string, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	code, body, _ := doWith(t, c, http.MethodPost, base+"/login", url.Values{"user": {name}, "password": {password}}.Encode(), header)
	return code, body, ""
}

// doWith is do that also returns the Retry-After header, in the body's
// place when asked; kept apart so do stays simple.
func doWith(t *testing.T, c *http.Client, method, u, body string, header http.Header) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		return resp.StatusCode, "Retry-After: " + ra + "\n" + b.String(), ""
	}
	return resp.StatusCode, b.String(), ""
}

// TestLoginGuessesAreLimited: wrong passwords use up a bucket per name and
// per address; then the login page says when to try again (429 with
// Retry-After), in HTML or JSON. Correct logins cost nothing.
func TestLoginGuessesAreLimited(t *testing.T) {
	// Two failures per name, four per address, and no refill during the
	// test (bcrypt under -race takes a while).
	s := newSecuredWith(t, web.Config{Limits: web.Limits{LoginFailures: 2, LoginRefill: time.Hour}})
	base := s.srv.URL

	// A user who types well is never held up: more logins than the
	// address's bucket holds.
	for i := range 5 {
		if code, body, _ := loginAs(t, base, "vic", viewerPassword, nil); code != http.StatusSeeOther {
			t.Fatalf("correct login %d = %d %s", i+1, code, firstLine(body))
		}
	}
	// Two wrong guesses for ann, then her bucket is empty.
	for i := range 2 {
		if code, _, _ := loginAs(t, base, "ann", "guess "+strconv.Itoa(i), nil); code != http.StatusUnauthorized {
			t.Fatalf("wrong guess %d = %d, want 401", i+1, code)
		}
	}
	code, body, _ := loginAs(t, base, "ann", operatorPassword, nil)
	if code != http.StatusTooManyRequests || !strings.HasPrefix(body, "Retry-After: ") || !strings.Contains(body, "Too many attempts; try again in ") ||
		!strings.Contains(body, `id="login-error"`) {
		t.Fatalf("third try for ann = %d %.300q, want 429 with Retry-After on the login page", code, body)
	}
	code, body, _ = loginAs(t, base, "ann", "guess 4", http.Header{"Accept": {"application/json"}})
	var answer struct {
		OK         bool   `json:"ok"`
		Error      string `json:"error"`
		RetryAfter int    `json:"retry_after"`
	}
	_, js, _ := strings.Cut(body, "\n")
	if code != http.StatusTooManyRequests || json.Unmarshal([]byte(js), &answer) != nil || answer.OK || answer.RetryAfter < 1 ||
		!strings.HasPrefix(answer.Error, "Too many attempts; try again in ") {
		t.Fatalf("try asking for JSON = %d %q, want 429 JSON with retry_after", code, body)
	}
	// Two wrong ones for vic: the address has now failed four times, so
	// even a name with a full bucket is refused from it.
	for range 2 {
		loginAs(t, base, "vic", "wrong", nil)
	}
	if code, body, _ := loginAs(t, base, "nobody", "x", nil); code != http.StatusTooManyRequests {
		t.Fatalf("a fifth failure from one address = %d %s, want 429", code, firstLine(body))
	}
}

// TestLoginFloodSpendsLittleCPU replays the incident: eight clients guess
// as fast as they can for two seconds while a viewer loads pages. Nearly
// every guess is refused before bcrypt runs, so the viewer's pages stay
// fast.
func TestLoginFloodSpendsLittleCPU(t *testing.T) {
	s := newSecuredWith(t, web.Config{})
	viewer := s.client(t, "vic", viewerPassword)
	waitReady(t, s.srv)
	page := func() time.Duration {
		start := time.Now()
		if code, _, _ := do(t, viewer, http.MethodGet, s.srv.URL+"/offers", "", nil); code != http.StatusOK {
			t.Fatalf("viewer's page = %d", code)
		}
		return time.Since(start)
	}
	var statuses sync.Map
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for i := 0; !stop.Load(); i++ {
				code, _, _ := doWith(t, c, http.MethodPost, s.srv.URL+"/login", url.Values{"user": {"ann"}, "password": {strconv.Itoa(w*100000 + i)}}.Encode(), nil)
				n, _ := statuses.LoadOrStore(code, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		})
	}
	var took []time.Duration
	end := time.Now().Add(2 * time.Second)
	for time.Now().Before(end) {
		took = append(took, page())
	}
	stop.Store(true)
	wg.Wait()
	count := func(code int) int64 {
		if n, ok := statuses.Load(code); ok {
			return n.(*atomic.Int64).Load()
		}
		return 0
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	p90 := took[len(took)*9/10]
	t.Logf("2 s of guessing: %d checked (401), %d refused (429); viewer: %d pages, median %v, p90 %v",
		count(http.StatusUnauthorized), count(http.StatusTooManyRequests), len(took), took[len(took)/2], p90)
	if n := count(http.StatusUnauthorized); n > web.DefaultLoginFailures+1 {
		t.Errorf("%d guesses reached bcrypt in 2 s; the name's bucket allows %d and one more per %v", n, web.DefaultLoginFailures, web.DefaultLoginRefill)
	}
	if count(http.StatusTooManyRequests) == 0 {
		t.Error("no guess was refused")
	}
}
