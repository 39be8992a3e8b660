package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// embedded is a dashboard binary running its embedded stand-in master.
type embedded struct {
	cmd     *exec.Cmd
	base    string // the dashboard
	standIn string // the stand-in master, from the log
	logs    *syncBuffer
}

// String returns what was written so far.
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var standInURL = regexp.MustCompile(`msg="stand-in master serving".* url=(http://\S+)`)

// startEmbedded runs the real program (this test binary as main) with no
// --master, so with its embedded stand-in, on stateDir; extra is more
// environment. The test's cleanup kills it if it still runs.
func startEmbedded(t *testing.T, stateDir string, extra ...string) *embedded {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "OFFERDECK_RUN_MAIN=1", "OFFERDECK_LISTEN="+addr, "OFFERDECK_STATE_DIR="+stateDir,
		"OFFERDECK_MASTER=", "OFFERDECK_LOG_LEVEL=debug")
	cmd.Env = append(cmd.Env, extra...)
	logs := &syncBuffer{b: new(bytes.Buffer)}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("dashboard logs:\n%s", logs.String())
		}
	})
	waitReady(t, "http://"+addr)
	m := standInURL.FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no stand-in URL in the log:\n%s", logs.String())
	}
	return &embedded{cmd: cmd, base: "http://" + addr, standIn: m[1], logs: logs}
}

// launch accepts an offer on the dashboard for one task running command
// and returns the task's id.
func (e *embedded) launch(t *testing.T, name, command string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+"/offers/"+firstOffer(t, e.base)+"/accept", strings.NewReader(url.Values{
		"name": {name}, "command": {command}, "cpus": {"0.1"}, "mem": {"32"}, "request_id": {"req-" + name}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		OK    bool     `json:"ok"`
		Tasks []string `json:"tasks"`
		Error string   `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || !answer.OK || len(answer.Tasks) != 1 {
		t.Fatalf("accept %s = %+v, %v", name, answer, err)
	}
	return answer.Tasks[0]
}

// waitOutput polls the dashboard's output of a task until it holds want.
func (e *embedded) waitOutput(t *testing.T, taskID, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for {
		resp, err := http.Get(e.base + "/tasks/" + url.PathEscape(taskID) + "/output?file=stdout&offset=0")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = resp.Status + " " + string(b)
		if resp.StatusCode == http.StatusOK && strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s's output never held %q; last answer: %s", taskID, want, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEmbeddedMasterOnlyServesTheDashboard: the embedded stand-in listens
// on loopback, where any local process reaches it. Without the credentials
// only the dashboard holds, none of its endpoints (the scheduler API, a
// failover SUBSCRIBE with the dashboard's framework id, the state with that
// id, the sandboxes, the redirect) serves anyone; the dashboard itself runs
// a task and reads its output end to end.
func TestEmbeddedMasterOnlyServesTheDashboard(t *testing.T) {
	e := startEmbedded(t, t.TempDir())
	id := e.launch(t, "secret", "echo DB_PASSWORD=hunter2")
	e.waitOutput(t, id, "DB_PASSWORD=hunter2")

	fwID := regexp.MustCompile(`framework_id=([0-9a-f-]{36}-\d{4})`).FindStringSubmatch(e.logs.String())[1]
	subscribe := `{"type":"SUBSCRIBE","framework_id":{"value":"` + fwID + `"},"subscribe":{"framework_info":{"id":{"value":"` + fwID + `"},"user":"me","name":"thief","failover_timeout":1}}}`
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/v1/scheduler", subscribe},
		{"POST", "/master/api/v1/scheduler", `{"type":"KILL","framework_id":{"value":"` + fwID + `"},"kill":{"task_id":{"value":"` + id + `"}}}`},
		{"GET", "/master/state", ""},
		{"GET", "/state", ""},
		{"GET", "/master/redirect", ""},
		{"GET", "/files/read?offset=0&path=/frameworks/" + fwID + "/executors/" + id + "/runs/latest/stdout", ""},
		{"GET", "/files/browse?path=/frameworks/" + fwID, ""},
		{"GET", "/slave(1)/files/download?path=/frameworks/" + fwID + "/executors/" + id + "/runs/latest/stdout", ""},
	} {
		// A SUBSCRIBE that got in would stream forever: read for a while.
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, tc.method, e.standIn+tc.path, strings.NewReader(tc.body))
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(b), "hunter2") {
			t.Errorf("anonymous %s %s = %d %.80q, want 401", tc.method, tc.path, resp.StatusCode, b)
		}
	}
	if resp, err := http.Get(e.standIn + "/health"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /health = %v, %v; want 200 (liveness stays open)", resp, err)
	}
	// The dashboard is still the framework: nobody failed it over.
	waitTasksPage(t, e.base, "the task finished, not failed over", func(page string) bool {
		return strings.Contains(page, ">secret<") && strings.Contains(page, "st-finished")
	})
	if strings.Contains(e.logs.String(), "failed over") {
		t.Errorf("the framework was failed over:\n%s", e.logs.String())
	}
}
