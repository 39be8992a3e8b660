package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// postForm posts a launch form without the client script and returns the
// status and the page answered.
func (st *stack) postForm(t *testing.T, path string, form url.Values) (int, *html.Node) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, st.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, parse(t, string(body))
}

// TestLaunchFormShowsEveryProblem: a form with several mistakes comes back
// as typed, with every problem listed and each field at fault marked.
func TestLaunchFormShowsEveryProblem(t *testing.T) {
	st := newStack(t)
	form := url.Values{"name": {"kept"}, "command": {"echo kept"}, "cpus": {"lots"}, "mem": {"0"}, "instances": {"0"},
		"constraints": {"rack====r2d2"}, "request_id": {"r1"}}
	status, doc := st.postForm(t, "/launch", form)
	if status != http.StatusUnprocessableEntity {
		t.Errorf("POST /launch = %d, want 422 with the form", status)
	}
	box := byID(doc, "launch-error")
	if box == nil {
		t.Fatal("no #launch-error on the refused form")
	}
	var items []string
	for _, li := range findAll(box, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "li" }) {
		items = append(items, text(li))
	}
	want := []string{
		`cpus must be a number, not "lots"`,
		"mem must be more than 0, not 0",
		"instances must be between 1 and 100, not 0",
		`constraint "rack====r2d2", character 7 (rack==‸==r2d2): a value may not start with "=": one operator per constraint`,
	}
	if strings.Join(items, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems listed:\n%s\nwant:\n%s", strings.Join(items, "\n"), strings.Join(want, "\n"))
	}
	if got := text(find(box, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "p" })); got != "The task spec has 4 problems:" {
		t.Errorf("heading = %q", got)
	}
	for _, id := range []string{"cpus", "mem", "instances", "constraints"} {
		if got := attr(byID(doc, id), "aria-invalid"); got != "true" {
			t.Errorf("#%s aria-invalid = %q, want true", id, got)
		}
	}
	if got := attr(byID(doc, "name"), "aria-invalid"); got != "false" {
		t.Errorf("#name aria-invalid = %q, want false", got)
	}
	for id, typed := range map[string]string{"name": "kept", "cpus": "lots", "constraints": "rack====r2d2"} {
		if got := attr(byID(doc, id), "value"); got != typed {
			t.Errorf("#%s = %q, want %q as typed", id, got, typed)
		}
	}
}

// TestLaunchFormRefusesWhatNoAgentCanRun: without the client script, a
// spec too big for every agent comes back with the reason and the wait
// box pointed at; ticking it queues the spec.
func TestLaunchFormRefusesWhatNoAgentCanRun(t *testing.T) {
	st := newStack(t)
	st.page(t, "/agents", "agent-3.demo")
	form := url.Values{"name": {"huge"}, "command": {"true"}, "cpus": {"1"}, "mem": {"5000"}, "request_id": {"r1"}}
	status, doc := st.postForm(t, "/launch", form)
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("POST /launch mem 5000 = %d, want 422", status)
	}
	if got := text(byID(doc, "launch-error")); !strings.Contains(got, "No agent has 5000 MB; the largest has 992 MB") &&
		!strings.Contains(got, "no agent has 5000 MB; the largest has 992 MB") {
		t.Errorf("launch error = %q, want the largest agent named", got)
	}
	if w := byID(doc, "wait"); w == nil || !strings.Contains(attr(w.Parent, "class"), "attention") {
		t.Errorf("the wait box is not pointed at")
	}
	form.Set("wait", "on")
	form.Set("request_id", "r2")
	status, _ = st.postForm(t, "/launch", form)
	if status != http.StatusSeeOther {
		t.Fatalf("POST /launch mem 5000 with wait = %d, want 303 (queued)", status)
	}
	doc, _, _ = st.page(t, "/launch", "huge")
	if len(findAll(doc, func(n *html.Node) bool { return hasClass(n, "queued") })) != 1 {
		t.Errorf("the spec that waits for a bigger agent is not in the queue")
	}
}

// TestAcceptOfAGoneOfferWaitsForTheAgent: Accept… sent after its offer
// left (declined here; expired or rescinded alike) queues the task pinned
// to the offer's agent instead of failing, and the form said how long the
// offer was held.
func TestAcceptOfAGoneOfferWaitsForTheAgent(t *testing.T) {
	st := newStack(t)
	doc, _, _ := st.page(t, "/offers", "agent-2.demo")
	var offerID string
	for _, sec := range findAll(doc, func(n *html.Node) bool { return hasClass(n, "agent") }) {
		if strings.Contains(text(sec), "agent-2.demo") {
			if ids := offerIDs(sec); len(ids) > 0 {
				offerID = ids[0]
			}
		}
	}
	if offerID == "" {
		t.Fatal("no offer of agent-2.demo")
	}
	form, _, _ := st.page(t, "/launch?offer="+url.QueryEscape(offerID), "agent-2.demo")
	agent := attr(find(form, func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == "agent" }), "value")
	if agent == "" {
		t.Fatal("the accept form carries no agent id")
	}
	if hold := byID(form, "offer-hold"); hold == nil || find(hold, func(n *html.Node) bool { return n.Data == "time" }) == nil {
		t.Error("the accept form does not say until when the offer is held")
	}
	if resp := st.post(t, "/offers/"+url.PathEscape(offerID)+"/decline", url.Values{"refuse": {"1h"}, "request_id": {"d1"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("decline = %d", resp.StatusCode)
	}
	req := url.Values{"name": {"pinned"}, "command": {"sleep 600"}, "cpus": {"0.1"}, "mem": {"32"}, "offer": {offerID}, "agent": {agent}, "request_id": {"a1"}}
	resp := st.post(t, "/offers/"+url.PathEscape(offerID)+"/accept", req, http.Header{"Accept": {"application/json"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("accept of a gone offer = %d, want 200 (queued)", resp.StatusCode)
	}
	doc, _, _ = st.page(t, "/launch", "waiting for agent-2.demo")
	q := find(doc, func(n *html.Node) bool { return hasClass(n, "queued") })
	if q == nil || !strings.Contains(text(q), "waiting for agent-2.demo's next offer") {
		t.Errorf("queue does not say the task waits for agent-2.demo's next offer")
	}
}
