package executor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/executor"
	"google.golang.org/protobuf/proto"
)

const (
	agentID     = "agent-1"
	frameworkID = "fw-1"
	// waitLimit bounds every wait for an update; tasks here take
	// milliseconds, so only a broken executor reaches it.
	waitLimit = 20 * time.Second
)

// newExecutor returns an Executor over a fresh Root, closed at cleanup.
func newExecutor(t *testing.T, cfg executor.Config) *executor.Executor {
	t.Helper()
	if cfg.Root == "" {
		cfg.Root = t.TempDir()
	}
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	x, err := executor.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v) = %v", cfg, err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// recorder collects the updates reported for tasks and checks that no task
// ever sees two report calls at once.
type recorder struct {
	t  *testing.T
	mu sync.Mutex
	// updates by task id, in the order reported.
	updates  map[string][]executor.Update
	inFlight map[string]bool
	changed  chan struct{} // closed and replaced on every update
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{
		t:        t,
		updates:  make(map[string][]executor.Update),
		inFlight: make(map[string]bool),
		changed:  make(chan struct{}),
	}
}

func (r *recorder) report(u executor.Update) {
	r.mu.Lock()
	if r.inFlight[u.TaskID] {
		r.t.Errorf("report for task %s called while another report for it runs", u.TaskID)
	}
	r.inFlight[u.TaskID] = true
	r.mu.Unlock()
	runtime.Gosched() // widen the window in which an overlap would show

	r.mu.Lock()
	defer r.mu.Unlock()
	r.inFlight[u.TaskID] = false
	r.updates[u.TaskID] = append(r.updates[u.TaskID], u)
	close(r.changed)
	r.changed = make(chan struct{})
}

// of returns the updates seen so far for a task.
func (r *recorder) of(taskID string) []executor.Update {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]executor.Update(nil), r.updates[taskID]...)
}

// waitFor waits until a task has reported state and returns its updates.
func (r *recorder) waitFor(taskID string, state mesos.TaskState) []executor.Update {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.t.Context(), waitLimit)
	defer cancel()
	for {
		r.mu.Lock()
		us := append([]executor.Update(nil), r.updates[taskID]...)
		changed := r.changed
		r.mu.Unlock()
		for _, u := range us {
			if u.State == state {
				return us
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			r.t.Fatalf("task %s: no %v update within %v; got %s", taskID, state, waitLimit, states(us))
		}
	}
}

// waitTerminal waits for a task's terminal update and returns all its updates.
func (r *recorder) waitTerminal(taskID string) []executor.Update {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.t.Context(), waitLimit)
	defer cancel()
	for {
		r.mu.Lock()
		us := append([]executor.Update(nil), r.updates[taskID]...)
		changed := r.changed
		r.mu.Unlock()
		if len(us) > 0 && mesos.IsTerminal(us[len(us)-1].State) {
			return us
		}
		select {
		case <-changed:
		case <-ctx.Done():
			r.t.Fatalf("task %s: no terminal update within %v; got %s", taskID, waitLimit, states(us))
		}
	}
}

func states(us []executor.Update) string {
	s := make([]string, len(us))
	for i, u := range us {
		s[i] = u.State.String()
		if u.Message != "" {
			s[i] += " (" + u.Message + ")"
		}
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// wantStates fails unless us has exactly the given states, in order.
func wantStates(t *testing.T, us []executor.Update, want ...mesos.TaskState) {
	t.Helper()
	ok := len(us) == len(want)
	for i := 0; ok && i < len(us); i++ {
		ok = us[i].State == want[i]
	}
	if !ok {
		w := make([]executor.Update, len(want))
		for i, s := range want {
			w[i].State = s
		}
		t.Errorf("updates = %s, want %s", states(us), states(w))
	}
}

func shell(cmd string) *mesos.CommandInfo {
	return &mesos.CommandInfo{Value: proto.String(cmd)}
}

func argv(exe string, args ...string) *mesos.CommandInfo {
	return &mesos.CommandInfo{Shell: proto.Bool(false), Value: proto.String(exe), Arguments: args}
}

func commandTask(taskID string, cmd *mesos.CommandInfo) executor.Task {
	return executor.Task{AgentID: agentID, FrameworkID: frameworkID, TaskID: taskID, Command: cmd}
}

// launch launches a task and fails the test if Launch does.
func launch(t *testing.T, x *executor.Executor, r *recorder, task executor.Task) {
	t.Helper()
	if err := x.Launch(task, r.report); err != nil {
		t.Fatalf("Launch(%s) = %v", task.TaskID, err)
	}
}

// files serves an Executor's /files endpoints for agentID over real HTTP.
type files struct {
	t   *testing.T
	srv *httptest.Server
}

func newFiles(t *testing.T, x *executor.Executor) *files {
	srv := httptest.NewServer(x.FilesHandler(agentID))
	t.Cleanup(srv.Close)
	return &files{t: t, srv: srv}
}

// get requests endpoint with the query and returns the status and body.
func (f *files) get(endpoint string, query url.Values) (int, []byte) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.t.Context(), waitLimit)
	defer cancel()
	u := f.srv.URL + endpoint
	if query != nil {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("GET %s: read body: %v", u, err)
	}
	return resp.StatusCode, body
}

type readResult struct {
	Data   string `json:"data"`
	Offset int64  `json:"offset"`
}

// read calls /files/read and decodes a 200 answer.
func (f *files) read(query url.Values) readResult {
	f.t.Helper()
	status, body := f.get("/files/read", query)
	if status != http.StatusOK {
		f.t.Fatalf("read %v = %d %q, want 200", query, status, body)
	}
	var rr readResult
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rr); err != nil {
		f.t.Fatalf("read %v: decode %q: %v", query, body, err)
	}
	return rr
}

// stdout returns a task's whole stdout through /files/read.
func (f *files) stdout(x *executor.Executor, taskID string) string {
	f.t.Helper()
	dir, ok := x.Sandbox(agentID, frameworkID, taskID)
	if !ok {
		f.t.Fatalf("Sandbox(%s) not found", taskID)
	}
	return f.read(url.Values{"path": {dir + "/stdout"}, "offset": {"0"}}).Data
}

// groupGone reports whether no live process (zombies aside, which only
// their parent or init can reap) is left in process group pgid.
func groupGone(t *testing.T, pgid int) bool {
	t.Helper()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("list processes: %v", err)
	}
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", p.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 3 || fields[0] == "Z" {
			continue
		}
		if g, _ := strconv.Atoi(fields[2]); g == pgid {
			return false
		}
	}
	return true
}

// waitGroupGone waits until process group pgid has no live process. Orphans
// are signalled but reparented, so there is no event to wait on: it polls,
// within waitLimit.
func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitLimit)
	for !groupGone(t, pgid) {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("process group %d still has live processes after %v", pgid, waitLimit)
		}
	}
}

// processGone reports whether pid no longer exists (or is a zombie).
func processGone(pid int) bool {
	err := syscall.Kill(pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

// signal is a named pipe through which a task tells the test it has reached
// a point, such as "the trap is set", without the test polling a file.
type signal struct {
	t    *testing.T
	path string
	f    *os.File
}

func newSignal(t *testing.T) *signal {
	t.Helper()
	path := filepath.Join(t.TempDir(), "signal")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	// Read-write, so that opening never blocks and reads wait for a writer's
	// data rather than seeing EOF.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open fifo: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return &signal{t: t, path: path, f: f}
}

// line waits for the next line a task writes to the pipe.
func (s *signal) line() string {
	s.t.Helper()
	if err := s.f.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		s.t.Fatalf("fifo deadline: %v", err)
	}
	var b []byte
	one := make([]byte, 1)
	for {
		if _, err := s.f.Read(one); err != nil {
			s.t.Fatalf("read fifo after %q: %v", b, err)
		}
		if one[0] == '\n' {
			return string(b)
		}
		b = append(b, one[0])
	}
}
