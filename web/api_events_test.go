package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/web"
)

// sseEvent is one event of a text/event-stream.
type sseEvent struct {
	ID, Type, Data string
}

// seq is the sequence number in the event's id.
func (e sseEvent) seq(t *testing.T) uint64 {
	t.Helper()
	_, s, _ := strings.Cut(e.ID, "-")
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("event id %q: %v", e.ID, err)
	}
	return n
}

// sseClient reads an event stream.
type sseClient struct {
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

// openEvents opens the event stream at path with the operator's token and
// Last-Event-ID last (none when empty).
func (st *apiStack) openEvents(t *testing.T, path, last string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	req, _ := http.NewRequestWithContext(ctx, "GET", st.srv.URL+apiBase+path, nil)
	req.Header.Set("Authorization", "Bearer "+operatorToken)
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	c := &sseClient{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(c.close)
	return c
}

func (c *sseClient) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next reads the next event; io.EOF when the stream ended.
func (c *sseClient) next() (sseEvent, error) {
	var e sseEvent
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return e, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if e.Type != "" {
				return e, nil
			}
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry: "):
		case strings.HasPrefix(line, "id: "):
			e.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			e.Type = line[7:]
		case strings.HasPrefix(line, "data: "):
			e.Data += line[6:]
		}
	}
}

// until reads events until ok holds for one, and returns them all.
func (c *sseClient) until(t *testing.T, what string, ok func(sseEvent) bool) []sseEvent {
	t.Helper()
	var got []sseEvent
	for {
		e, err := c.next()
		if err != nil {
			t.Fatalf("stream ended (%v) before %s; got %d events", err, what, len(got))
		}
		got = append(got, e)
		if ok(e) {
			return got
		}
	}
}

// taskIn reports whether e says task id is in state.
func taskIn(id, state string) func(sseEvent) bool {
	return func(e sseEvent) bool {
		var task struct{ ID, State string }
		return e.Type == "task" && json.Unmarshal([]byte(e.Data), &task) == nil && task.ID == id && task.State == state
	}
}

// TestAPIEventsResume follows the stream, drops it mid-way, acts while it
// is away, and resumes with Last-Event-ID: the events' sequence numbers go
// on one by one across the break, none missed and none twice.
func TestAPIEventsResume(t *testing.T) {
	st := newAPIStack(t)
	c := st.openEvents(t, "/events", "")
	var res result
	st.call(t, operatorToken, "POST", "/launch", map[string]any{"name": "nap", "command": "sleep 600", "cpus": 0.1, "mem": 16}).json(t, &res)
	nap := res.TaskIDs[0]
	before := c.until(t, "the sleep running", taskIn(nap, "TASK_RUNNING"))
	c.close() // mid-stream: more events are on their way

	st.call(t, operatorToken, "POST", "/tasks/"+nap+"/kill", nil)
	st.waitTask(t, nap, "TASK_KILLED")
	last := before[len(before)-1].ID
	c = st.openEvents(t, "/events", last)
	after := c.until(t, "the sleep killed", taskIn(nap, "TASK_KILLED"))

	all := append(before, after...)
	for i, e := range all {
		if e.Type == "resync" {
			t.Fatalf("event %d is a resync: the stream lost its place", i)
		}
		if i > 0 && e.seq(t) != all[i-1].seq(t)+1 {
			t.Errorf("event %d (%s) has id %s after %s: want the next number, no gap and no repeat", i, e.Type, e.ID, all[i-1].ID)
		}
	}
	types := map[string]bool{}
	for _, e := range all {
		types[e.Type] = true
	}
	for _, want := range []string{"task", "offer-removed", "queue", "audit", "master-event"} {
		if !types[want] {
			t.Errorf("no %s event among %d", want, len(all))
		}
	}
}

// TestAPIEventsResync: a Last-Event-ID of another run (or one no longer
// kept) is answered with a resync, after which the stream goes on.
func TestAPIEventsResync(t *testing.T) {
	st := newAPIStack(t)
	c := st.openEvents(t, "/events", "otherrun-5")
	e, err := c.next()
	if err != nil || e.Type != "resync" || !strings.Contains(e.Data, "read afresh") {
		t.Fatalf("first event = %+v, %v; want a resync", e, err)
	}
	st.call(t, operatorToken, "POST", "/suppress", nil)
	got := c.until(t, "the suppression", func(e sseEvent) bool { return e.Type == "connection" && strings.Contains(e.Data, `"suppressed":true`) })
	if got[0].seq(t) != e.seq(t)+1 {
		t.Errorf("after the resync at %s came %s, want the next number", e.ID, got[0].ID)
	}

	if a := st.call(t, operatorToken, "HEAD", "/events", nil); a.status != http.StatusOK || a.header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("HEAD /events = %d %s, want the stream's headers at once", a.status, a.header.Get("Content-Type"))
	}
	a := st.call(t, operatorToken, "GET", "/events", nil, "Last-Event-ID", "garbage")
	if a.status != http.StatusBadRequest || a.problem(t).Errors[0].Name != "Last-Event-ID" {
		t.Errorf("a bad Last-Event-ID = %d %s, want it named", a.status, a.body)
	}
}

// TestAPIEventsOneTask follows one task: its state now first, then its
// changes alone, and the stream ends when the task does.
func TestAPIEventsOneTask(t *testing.T) {
	st := newAPIStack(t)
	var res result
	st.call(t, operatorToken, "POST", "/launch", map[string]any{"name": "nap", "command": "sleep 600", "cpus": 0.1, "mem": 16}).json(t, &res)
	nap := res.TaskIDs[0]
	c := st.openEvents(t, "/events?task="+nap+"&types=task", "")
	first, err := c.next()
	if err != nil || first.Type != "task" || !strings.Contains(first.Data, nap) {
		t.Fatalf("first event = %+v, %v; want the task", first, err)
	}
	st.waitTask(t, nap, "TASK_RUNNING")
	st.call(t, operatorToken, "POST", "/tasks/"+nap+"/kill", nil)
	events := c.until(t, "the kill", taskIn(nap, "TASK_KILLED"))
	for _, e := range events {
		if e.Type != "task" || !strings.Contains(e.Data, `"id":"`+nap+`"`) {
			t.Errorf("event %+v is not the task's", e)
		}
	}
	if e, err := c.next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the task ended: %+v, %v; want the stream to end", e, err)
	}
	// A task that has ended: its state, and the end.
	c = st.openEvents(t, "/events?task="+nap, "")
	if e, err := c.next(); err != nil || !taskIn(nap, "TASK_KILLED")(e) {
		t.Errorf("following an ended task: %+v, %v", e, err)
	}
	if _, err := c.next(); !errors.Is(err, io.EOF) {
		t.Errorf("following an ended task: %v, want the end", err)
	}
}

// TestAPIEventsBounded: a token's user holds a bounded number of streams,
// as a session does; one more is answered 429, and a closed one frees its
// place.
func TestAPIEventsBounded(t *testing.T) {
	st := newAPIStackWith(t, web.Limits{MaxStreamsPerSession: 2})
	a := st.openEvents(t, "/events", "")
	st.openEvents(t, "/events", "")
	r := st.call(t, operatorToken, "GET", "/events", nil)
	if r.status != http.StatusTooManyRequests || problemName(r.problem(t)) != "too-many-streams" {
		t.Fatalf("a third stream = %d %s, want 429", r.status, r.body)
	}
	if r := st.call(t, viewerToken, "GET", "/events?task=none", nil); r.status != http.StatusNotFound {
		t.Errorf("another token's stream = %d %s, want its own count (404 for the unknown task)", r.status, r.body)
	}
	a.close()
	waitFor(t, "the closed stream's place", func() bool {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", st.srv.URL+apiBase+"/events", nil)
		req.Header.Set("Authorization", "Bearer "+operatorToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestAPIEventsOutliveTimeouts: a stream lives on past the server's read
// and write timeouts, which bound ordinary requests: each of its writes
// has a deadline of its own.
func TestAPIEventsOutliveTimeouts(t *testing.T) {
	limits := web.Limits{ReadTimeout: 300 * time.Millisecond, WriteTimeout: time.Second, ReadHeaderTimeout: 300 * time.Millisecond}
	base, _, _ := limitedStack(t, web.Config{Limits: limits})
	waitFor(t, "the subscription", func() bool {
		r, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode == http.StatusOK
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+apiBase+"/events?types=connection", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	c := &sseClient{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
	start := time.Now()
	for suppress := true; time.Since(start) < 3*limits.WriteTimeout; suppress = !suppress {
		action := map[bool]string{true: "/suppress", false: "/revive"}[suppress]
		post, _ := http.NewRequestWithContext(ctx, "POST", base+apiBase+action, nil)
		r, err := http.DefaultClient.Do(post)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Fatalf("POST %s = %d", action, r.StatusCode)
		}
		want := `"suppressed":` + strconv.FormatBool(suppress)
		c.until(t, action+" after "+time.Since(start).String(), func(e sseEvent) bool { return strings.Contains(e.Data, want) })
	}
}

// TestAPIEventsEndWithSession: logging out ends the session's streams.
func TestAPIEventsEndWithSession(t *testing.T) {
	st := newAPIStack(t)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(st.srv.URL+"/login", url.Values{"user": {"vic"}, "password": {viewerPassword}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", st.srv.URL+apiBase+"/events", nil)
	resp, err = browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a viewer's session GET /events = %d", resp.StatusCode)
	}
	logout, _ := http.NewRequestWithContext(ctx, "POST", st.srv.URL+"/logout", nil)
	logout.Header.Set("Sec-Fetch-Site", "same-origin")
	r, err := browser.Do(logout)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout = %d", r.StatusCode)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Errorf("the stream broke instead of ending: %v", err)
	}
	if ctx.Err() != nil {
		t.Error("the stream outlived its session")
	}
}
