package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/offerdeck/offerdeck/mesos/cluster"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/local/localtest"
	"github.com/offerdeck/offerdeck/mesos/master"
	"github.com/offerdeck/offerdeck/web"
)

// newClusterStack is the stack with the whole cluster's view, on a
// stand-in that simulates command tasks; masterURL, when set, is where
// the view reads the cluster instead of the stand-in itself.
func newClusterStack(t *testing.T, viewOf func(base string) string) *stack {
	t.Helper()
	m, base := localtest.Start(t, local.Config{SimulateCommands: true})
	target := base
	if viewOf != nil {
		target = viewOf(base)
	}
	view, err := cluster.New(cluster.Config{
		Client:    master.Config{Masters: []string{target}, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		PollEvery: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	st := startStack(t, m, base, web.Config{}, view)
	waitReady(t, st.srv)
	return st
}

// changesUntil reads the stream until every wanted element id has been
// put with HTML that matches its pattern, and returns the last HTML of
// each.
func changesUntil(t *testing.T, st *stack, since, epoch string, want map[string]string) map[string]string {
	t.Helper()
	c, err := st.dial(t, since, epoch, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]string{}
	done := func() bool {
		for id, pattern := range want {
			if !regexp.MustCompile(pattern).MatchString(last[id]) {
				return false
			}
		}
		return true
	}
	for !done() {
		m, err := read(t, c)
		if err != nil {
			t.Fatalf("live changes until %v: last %v, then: %v", want, last, err)
		}
		for _, ch := range m.Changes {
			if ch.Op == "put" {
				last[ch.ID] = ch.HTML
			}
		}
	}
	return last
}

// TestClusterPagesFollowAnotherFramework: another framework's tasks reach
// the Cluster, Frameworks, Agents and its Tasks pages live, and a reload
// of each shows the same; its teardown leaves them, read-only throughout.
func TestClusterPagesFollowAnotherFramework(t *testing.T) {
	st := newClusterStack(t, nil)
	st.page(t, "/cluster", "3 active")
	// The dashboard holds its offers for an hour: decline them, so the
	// master offers the agents to the other framework.
	offers, _, _ := st.page(t, "/offers", "agent-3.demo")
	_, since, epoch := st.page(t, "/frameworks", "this dashboard")
	_, csince, cepoch := st.page(t, "/cluster", "3 active")
	for _, id := range offerIDs(offers) {
		st.post(t, "/offers/"+id+"/decline", url.Values{"refuse": {"1h"}}, nil)
	}
	id, err := st.master.StartNeighbour(t.Context(), local.NeighbourConfig{Name: "batch", Tasks: 2, CPUs: 0.5, Mem: 100, Command: "sleep 3600"})
	if err != nil {
		t.Fatal(err)
	}

	got := changesUntil(t, st, since, epoch, map[string]string{"frameworks-table": ">2 live<"})
	if !strings.Contains(got["frameworks-table"], "batch") || !strings.Contains(got["frameworks-table"], "cpus 1, mem 200 MB") {
		t.Errorf("frameworks table live: %q, want batch with its 2 tasks' cpus 1 and mem 200 MB", got["frameworks-table"])
	}
	got = changesUntil(t, st, csince, cepoch, map[string]string{"cluster-counts": `running</span>\s*<strong>2</strong>`})
	if res := got["cluster-resources"]; !strings.Contains(res, "cpus: 0 of 8 used by us, 1 by others") {
		t.Errorf("cluster resources live: %q, want 1 cpu used by others", res)
	}

	// Reloads say the same.
	doc, _, _ := st.page(t, "/frameworks", ">2 live<")
	if table := text(byID(doc, "frameworks-table")); !strings.Contains(table, "batch") || !strings.Contains(table, "nobody") {
		t.Errorf("frameworks page: %q, want batch run by nobody", table)
	}
	doc, _, _ = st.page(t, "/cluster", "1 by others")
	if s := text(byID(doc, "cluster-counts")); !strings.Contains(s, "2 active") {
		t.Errorf("cluster counts: %q, want 2 frameworks active", s)
	}
	doc, _, _ = st.page(t, "/tasks?framework="+url.QueryEscape(id), "batch-2")
	rows := findAll(doc, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "tr" && strings.HasPrefix(attr(n, "id"), "ctask-")
	})
	if len(rows) != 2 || !strings.Contains(text(rows[0]), "batch-2") || !strings.Contains(text(rows[0]), "running") {
		t.Fatalf("batch's tasks page rows %d, first %q: want batch-2 then batch-1, running", len(rows), text(rows[0]))
	}
	if f := find(doc, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "form" && strings.Contains(attr(n, "action"), "/kill")
	}); f != nil {
		t.Error("another framework's tasks page offers a kill: actions stay with the framework that launched them")
	}
	// The JSON API says the same of the cluster.
	var api struct {
		Status struct {
			On     bool   `json:"on"`
			Source string `json:"source"`
		} `json:"status"`
		Used       struct{ CPUs float64 } `json:"used"`
		Frameworks []struct {
			ID    string
			Name  string
			Ours  bool
			Tasks int
			Used  struct{ CPUs, Mem float64 }
		} `json:"frameworks"`
		TasksByState map[string]int `json:"tasks_by_state"`
	}
	resp, body := get(t, http.MethodGet, st.srv.URL+"/offerdeck/api/v1/cluster")
	if err := json.Unmarshal([]byte(body), &api); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /offerdeck/api/v1/cluster = %d %v: %s", resp.StatusCode, err, body)
	}
	if !api.Status.On || api.Status.Source != "stream" || api.Used.CPUs != 1 || api.TasksByState["TASK_RUNNING"] != 2 || len(api.Frameworks) != 2 {
		t.Errorf("API cluster: %s", body)
	}
	for _, f := range api.Frameworks {
		if f.ID == id && (f.Name != "batch" || f.Ours || f.Tasks != 2 || f.Used.CPUs != 1 || f.Used.Mem != 200) {
			t.Errorf("API's batch: %+v", f)
		}
	}

	// The board's agent bars count the other framework's use too.
	st.page(t, "/board", "by others")
	_, boardBody := get(t, http.MethodGet, st.srv.URL+"/board")
	others := 0.0
	for _, m := range regexp.MustCompile(`rect class="others"(?: x="[0-9.]+%")? width="([0-9.]+)%"`).FindAllStringSubmatch(boardBody, -1) {
		w, _ := strconv.ParseFloat(m[1], 64)
		others += w
	}
	if others == 0 || !strings.Contains(boardBody, "by others") {
		t.Errorf("the board's agent bars draw nothing used by other frameworks")
	}

	doc, _, _ = st.page(t, "/agents", "2 live")
	if agents := findAll(doc, func(n *html.Node) bool { return strings.HasPrefix(attr(n, "id"), "cagent-") }); len(agents) != 3 {
		t.Errorf("every agent of the cluster: %d rows, want 3", len(agents))
	}

	// Torn down, it leaves, live and on reload.
	_, since, epoch = st.page(t, "/frameworks", "batch")
	if err := st.master.StopNeighbour(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	c, err := st.dial(t, since, epoch, nil)
	if err != nil {
		t.Fatal(err)
	}
	for gone := false; !gone; {
		m, err := read(t, c)
		if err != nil {
			t.Fatalf("no frameworks table without batch: %v", err)
		}
		for _, ch := range m.Changes {
			gone = gone || ch.ID == "frameworks-table" && !strings.Contains(ch.HTML, "batch")
		}
	}
	if resp, body := get(t, http.MethodGet, st.srv.URL+"/tasks?framework="+url.QueryEscape(id)); resp.StatusCode != http.StatusOK || !strings.Contains(body, "is registered with the master") {
		t.Errorf("tasks of a removed framework = %d, want the page saying it is not registered", resp.StatusCode)
	}
}

// TestClusterViewFallsBackToState: a master that refuses the operator API
// is said so on the Cluster page, and the cluster is read from
// /master/state at the stated interval instead.
func TestClusterViewFallsBackToState(t *testing.T) {
	st := newClusterStack(t, func(base string) string {
		target, _ := url.Parse(base)
		proxy := httputil.NewSingleHostReverseProxy(target)
		old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1" {
				http.Error(w, "Forbidden", http.StatusForbidden)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(old.Close)
		return old.URL
	})
	doc, _, _ := st.page(t, "/cluster", "Last read")
	status := text(byID(doc, "cluster-status"))
	if !strings.Contains(status, "refused its operator API") || !strings.Contains(status, "403") || !strings.Contains(status, "every 100ms") {
		t.Errorf("cluster status %q: want the refusal (403) and the polling interval", status)
	}
	if counts := text(byID(doc, "cluster-counts")); !strings.Contains(counts, "3 active") {
		t.Errorf("cluster counts from /master/state: %q, want 3 agents active", counts)
	}
}
