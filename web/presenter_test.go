package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPresenterLandsOnBoard: presenter mode is a cookie the toggle's form
// sets without the client script; pages are rendered in it, and a
// presenter arriving at the dashboard lands on the board, while the
// Overview tab still shows the overview.
func TestPresenterLandsOnBoard(t *testing.T) {
	st := newStack(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, body url.Values, header map[string]string) *http.Response {
		t.Helper()
		var req *http.Request
		if body != nil {
			req, _ = http.NewRequestWithContext(t.Context(), method, st.srv.URL+path, strings.NewReader(body.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req, _ = http.NewRequestWithContext(t.Context(), method, st.srv.URL+path, nil)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	resp := do("POST", "/presenter", url.Values{"presenter": {"on"}}, map[string]string{"Referer": st.srv.URL + "/tasks"})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tasks" {
		t.Fatalf("POST /presenter = %d to %q, want 303 back to /tasks", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "offerdeck-presenter" {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != "on" || cookie.MaxAge <= 0 {
		t.Fatalf("POST /presenter set %v, want offerdeck-presenter=on kept", cookie)
	}
	on := map[string]string{"Cookie": "offerdeck-presenter=on", "Sec-Fetch-Site": "none"}
	if resp := do("GET", "/", nil, on); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/board" {
		t.Errorf("a presenter arriving at / = %d to %q, want 303 to /board", resp.StatusCode, resp.Header.Get("Location"))
	}
	on["Sec-Fetch-Site"] = "same-origin" // the Overview tab
	resp = do("GET", "/", nil, on)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the Overview tab in presenter mode = %d, want the overview", resp.StatusCode)
	}
	var b strings.Builder
	_, _ = io.Copy(&b, resp.Body)
	if !strings.Contains(b.String(), `<html lang="en" data-presenter="on">`) {
		t.Error("a page in presenter mode is not rendered in it")
	}
	if resp := do("GET", "/", nil, map[string]string{"Sec-Fetch-Site": "none"}); resp.StatusCode != http.StatusOK {
		t.Errorf("GET / without presenter mode = %d, want the overview", resp.StatusCode)
	}

	resp = do("POST", "/presenter", url.Values{"presenter": {"off"}}, nil)
	for _, c := range resp.Cookies() {
		if c.Name == "offerdeck-presenter" && c.MaxAge >= 0 {
			t.Errorf("turning presenter mode off kept the cookie: %v", c)
		}
	}
	if resp.Header.Get("Location") != "/" {
		t.Errorf("POST /presenter without a referer goes to %q, want /", resp.Header.Get("Location"))
	}
	// Another site cannot switch it.
	if resp := do("POST", "/presenter", url.Values{"presenter": {"on"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site POST /presenter = %d, want 403", resp.StatusCode)
	}
}
