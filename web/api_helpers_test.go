package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/web"
)

const (
	apiBase       = "/offerdeck/api/v1"
	operatorToken = "operator-token-for-scripts-1"
	viewerToken   = "viewer-token-for-scripts-1"
)

// apiStack is the real stack with users: tokens for bot (operator) and
// eye (viewer), and passwords for ann (operator) and vic (viewer).
type apiStack struct {
	*stack
}

func newAPIStack(t *testing.T) *apiStack {
	t.Helper()
	return newAPIStackWith(t, web.Limits{})
}

// newAPIStackWith starts the API stack with limits.
func newAPIStackWith(t *testing.T, limits web.Limits) *apiStack {
	t.Helper()
	op, err := web.HashPassword(operatorPassword)
	if err != nil {
		t.Fatal(err)
	}
	vw, _ := web.HashPassword(viewerPassword)
	hash := func(token string) string {
		sum := sha256.Sum256([]byte(token))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	users, err := web.ParseUsers("ann operator " + op + "\nvic viewer " + vw + "\nbot operator " + hash(operatorToken) + "\neye viewer " + hash(viewerToken))
	if err != nil {
		t.Fatal(err)
	}
	st := &apiStack{newStackWith(t, web.Config{Users: users, Limits: limits})}
	st.waitOffers(t, 3)
	return st
}

// apiResponse is an answer of the API.
type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v.
func (a apiResponse) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

// problem decodes a problem answer, checking its media type and shape.
func (a apiResponse) problem(t *testing.T) web.Problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, a.body)
	}
	var p web.Problem
	a.json(t, &p)
	if p.Status != a.status || !strings.HasPrefix(p.Type, "https://") || p.Title == "" || p.Detail == "" {
		t.Fatalf("problem %+v of a %d answer: want type, title, detail and the status", p, a.status)
	}
	return p
}

// problemName is the last part of a problem's type.
func problemName(p web.Problem) string {
	return p.Type[strings.LastIndex(p.Type, "#")+1:]
}

// call sends an API request with token (none when empty) and a JSON body
// (none when nil; a string is sent as it is).
func (st *apiStack) call(t *testing.T, token, method, path string, body any, header ...string) apiResponse {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, st.srv.URL+apiBase+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

// waitOffers waits until the API lists n offers.
func (st *apiStack) waitOffers(t *testing.T, n int) []map[string]any {
	t.Helper()
	var got struct {
		Offers []map[string]any `json:"offers"`
	}
	waitFor(t, "offers", func() bool {
		a := st.call(t, viewerToken, "GET", "/offers", nil)
		a.json(t, &got)
		return len(got.Offers) == n
	})
	return got.Offers
}

// waitTask waits until the task's state is want and returns it.
func (st *apiStack) waitTask(t *testing.T, id, want string) map[string]any {
	t.Helper()
	var task map[string]any
	waitFor(t, "task "+id+" in "+want, func() bool {
		a := st.call(t, viewerToken, "GET", "/tasks/"+id, nil)
		if a.status != http.StatusOK {
			t.Fatalf("GET /tasks/%s = %d %s", id, a.status, a.body)
		}
		task = nil
		a.json(t, &task)
		return task["state"] == want
	})
	return task
}

// waitFor polls ok until it holds, for at most 20 s.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
