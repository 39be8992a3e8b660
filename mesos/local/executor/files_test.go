package executor_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/executor"
)

// sandboxScript fills a sandbox with the shapes the /files tests need.
const sandboxScript = `printf 'hello world\n'
printf 'oops\n' >&2
mkdir sub && printf 'in sub\n' > sub/file
ln -s /etc etclink
ln -s ../../../../../../../../.. up
ln -s stdout alias
head -c 70000 /dev/zero | tr '\0' a > big
printf 'a\377b' > binary
printf 'h\303\251llo' > utf8`

// filesFixture runs sandboxScript as a task and returns the handler's server
// and the sandbox's virtual path.
func filesFixture(t *testing.T) (*executor.Executor, *files, string) {
	t.Helper()
	x := newExecutor(t, executor.Config{})
	r := newRecorder(t)
	launch(t, x, r, commandTask("files", shell(sandboxScript)))
	if us := r.waitTerminal("files"); us[len(us)-1].State != mesos.TaskState_TASK_FINISHED {
		t.Fatalf("fixture task: %s", states(us))
	}
	dir, ok := x.Sandbox(agentID, frameworkID, "files")
	if !ok {
		t.Fatal("Sandbox(files) not found")
	}
	return x, newFiles(t, x), dir
}

func TestFilesRead(t *testing.T) {
	_, f, dir := filesFixture(t)
	tests := []struct {
		name       string
		path       string
		offset     string // "" leaves it out
		length     string
		wantData   string
		wantLen    int // checked instead of wantData when > 0
		wantOffset int64
	}{
		{"from start", "/stdout", "0", "", "hello world\n", 0, 0},
		{"no offset gives the size", "/stdout", "", "", "", 0, 12},
		{"offset -1 gives the size", "/stdout", "-1", "", "", 0, 12},
		{"offset and length", "/stdout", "6", "5", "world", 0, 6},
		{"length -1 reads to EOF", "/stdout", "6", "-1", "world\n", 0, 6},
		{"length 0", "/stdout", "3", "0", "", 0, 3},
		{"offset at EOF", "/stdout", "12", "", "", 0, 12},
		{"offset past EOF", "/stdout", "100", "", "", 0, 100},
		{"stderr", "/stderr", "0", "", "oops\n", 0, 0},
		{"sub folder", "/sub/file", "0", "", "in sub\n", 0, 0},
		{"dot-dot staying inside", "/sub/../stdout", "0", "", "hello world\n", 0, 0},
		{"symlink inside", "/alias", "0", "", "hello world\n", 0, 0},
		{"trailing slash", "/stdout/", "0", "", "hello world\n", 0, 0},
		{"capped at 64 KiB", "/big", "0", "", "", 65536, 0},
		{"length above cap", "/big", "0", "100000", "", 65536, 0},
		{"rest after cap", "/big", "65536", "", "", 70000 - 65536, 65536},
		{"invalid UTF-8 byte", "/binary", "0", "", "a?b", 0, 0},
		{"split character held back", "/utf8", "0", "2", "h", 0, 0},
		{"rest of split character", "/utf8", "1", "", "éllo", 0, 1},
		{"lone partial character", "/utf8", "1", "1", "?", 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"path": {dir + tc.path}}
			if tc.offset != "" {
				q.Set("offset", tc.offset)
			}
			if tc.length != "" {
				q.Set("length", tc.length)
			}
			got := f.read(q)
			if tc.wantLen > 0 {
				if len(got.Data) != tc.wantLen || got.Offset != tc.wantOffset {
					t.Errorf("read %v = %d bytes at %d, want %d at %d", q, len(got.Data), got.Offset, tc.wantLen, tc.wantOffset)
				}
				return
			}
			if got.Data != tc.wantData || got.Offset != tc.wantOffset {
				t.Errorf("read %v = %+v, want {%q %d}", q, got, tc.wantData, tc.wantOffset)
			}
		})
	}
}

func TestFilesErrors(t *testing.T) {
	_, f, dir := filesFixture(t)
	tests := []struct {
		name       string
		endpoint   string
		query      url.Values
		wantStatus int
		wantBody   string // exact when not empty
	}{
		{"read without path", "/files/read", nil, 400, "Expecting 'path=value' in query.\n"},
		{"read with empty path", "/files/read", url.Values{"path": {""}}, 400, "Expecting 'path=value' in query.\n"},
		{"browse without path", "/files/browse", nil, 400, "Expecting 'path=value' in query.\n"},
		{"download without path", "/files/download", nil, 400, "Expecting 'path=value' in query.\n"},
		{"offset not a number", "/files/read", url.Values{"path": {dir + "/stdout"}, "offset": {"abc"}}, 400, ""},
		{"negative offset", "/files/read", url.Values{"path": {dir + "/stdout"}, "offset": {"-2"}}, 400, "Negative offset provided: -2.\n"},
		{"negative length", "/files/read", url.Values{"path": {dir + "/stdout"}, "offset": {"0"}, "length": {"-5"}}, 400, "Negative length provided: -5.\n"},
		{"read a directory", "/files/read", url.Values{"path": {dir}, "offset": {"0"}}, 400, "Cannot read a directory.\n"},
		{"download a directory", "/files/download", url.Values{"path": {dir + "/sub"}}, 400, "Cannot download a directory.\n"},
		{"unknown file", "/files/read", url.Values{"path": {dir + "/nope"}, "offset": {"0"}}, 404, ""},
		{"unknown executor", "/files/read", url.Values{"path": {"/frameworks/fw-1/executors/nope/runs/latest/stdout"}, "offset": {"0"}}, 404, ""},
		{"run by container id", "/files/browse", url.Values{"path": {"/frameworks/fw-1/executors/files/runs"}}, 404, ""},
		{"unknown endpoint", "/files/debug", nil, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.get(tc.endpoint, tc.query)
			if status != tc.wantStatus || (tc.wantBody != "" && string(body) != tc.wantBody) {
				t.Errorf("GET %s?%s = %d %q, want %d %q", tc.endpoint, tc.query.Encode(), status, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

// TestFilesStayInSandbox checks that no path leads out of a sandbox.
func TestFilesStayInSandbox(t *testing.T) {
	x, f, dir := filesFixture(t)
	paths := []string{
		dir + "/../../../../etc/passwd",
		dir + "/../../../../../../../../../../etc/passwd",
		dir + "/sub/../../files/runs/latest/stdout",
		"/etc/passwd",
		"/frameworks/../../etc/passwd",
		dir + "/etclink/passwd",
		dir + "/etclink",
		dir + "/up/etc/passwd",
		dir + "//etc/passwd",
	}
	for _, p := range paths {
		for _, endpoint := range []string{"/files/read", "/files/browse", "/files/download"} {
			status, body := f.get(endpoint, url.Values{"path": {p}, "offset": {"0"}})
			if status != http.StatusBadRequest && status != http.StatusNotFound {
				t.Errorf("GET %s path=%s = %d %q, want 400 or 404", endpoint, p, status, body)
			}
			if strings.Contains(string(body), "root:") {
				t.Errorf("GET %s path=%s served /etc/passwd", endpoint, p)
			}
		}
	}

	// Each agent serves only its own sandboxes.
	other := httptest.NewServer(x.FilesHandler("agent-2"))
	defer other.Close()
	resp, err := other.Client().Get(other.URL + "/files/read?" + url.Values{"path": {dir + "/stdout"}, "offset": {"0"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("another agent's read of the sandbox = %d, want 404", resp.StatusCode)
	}
}

type browseEntry struct {
	Path  string  `json:"path"`
	Nlink int     `json:"nlink"`
	Size  int64   `json:"size"`
	Mtime float64 `json:"mtime"`
	Mode  string  `json:"mode"`
	UID   string  `json:"uid"`
	GID   string  `json:"gid"`
}

func (f *files) browse(path string) []browseEntry {
	f.t.Helper()
	status, body := f.get("/files/browse", url.Values{"path": {path}})
	if status != http.StatusOK {
		f.t.Fatalf("browse %s = %d %q, want 200", path, status, body)
	}
	var entries []browseEntry
	if err := json.Unmarshal(body, &entries); err != nil {
		f.t.Fatalf("browse %s: decode %q: %v", path, body, err)
	}
	return entries
}

func TestFilesBrowse(t *testing.T) {
	_, f, dir := filesFixture(t)
	entries := f.browse(dir)
	// ?jsonp= wraps the same answer in a call, as libprocess does.
	if status, body := f.get("/files/browse", url.Values{"path": {dir}, "jsonp": {"show"}}); status != http.StatusOK ||
		!strings.HasPrefix(string(body), "show([") || !strings.HasSuffix(string(body), "])") {
		t.Errorf("browse with jsonp = %d %.60q", status, body)
	}
	var paths []string
	byName := make(map[string]browseEntry)
	for _, e := range entries {
		paths = append(paths, e.Path)
		byName[strings.TrimPrefix(e.Path, dir+"/")] = e
	}
	want := []string{"alias", "big", "binary", "etclink", "stderr", "stdout", "sub", "up", "utf8"}
	for i := range want {
		want[i] = dir + "/" + want[i]
	}
	if !slices.Equal(paths, want) {
		t.Errorf("browse paths = %q, want %q", paths, want)
	}
	tests := []struct {
		name       string
		wantMode   string // a prefix
		wantSize   int64  // checked when >= 0
		wantNlinks int    // checked when > 0
	}{
		{"stdout", "-rw-r--r--", 12, 1},
		{"stderr", "-rw-r--r--", 5, 1},
		{"big", "-", 70000, 1},
		{"sub", "d", -1, 2},
		{"alias", "-rw-r--r--", 12, 1}, // followed: it stays inside
		{"etclink", "l", -1, 1},        // described as the link: it leads out
		{"up", "l", -1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, ok := byName[tc.name]
			if !ok {
				t.Fatalf("browse has no %s", tc.name)
			}
			if !strings.HasPrefix(e.Mode, tc.wantMode) || len(e.Mode) != 10 {
				t.Errorf("%s mode = %q, want %q…", tc.name, e.Mode, tc.wantMode)
			}
			if tc.wantSize >= 0 && e.Size != tc.wantSize {
				t.Errorf("%s size = %d, want %d", tc.name, e.Size, tc.wantSize)
			}
			if tc.wantNlinks > 0 && e.Nlink != tc.wantNlinks {
				t.Errorf("%s nlink = %d, want %d", tc.name, e.Nlink, tc.wantNlinks)
			}
			if e.Mtime < 1e9 || e.UID == "" || e.GID == "" {
				t.Errorf("%s = %+v, want an mtime in seconds and owner names", tc.name, e)
			}
		})
	}

	if sub := f.browse(dir + "/sub/"); len(sub) != 1 || sub[0].Path != dir+"/sub/file" {
		t.Errorf("browse sub/ = %+v, want only %s/sub/file", sub, dir)
	}
	if file := f.browse(dir + "/stdout"); len(file) != 0 {
		t.Errorf("browse of a file = %+v, want [] as Mesos answers", file)
	}
}

func TestFilesDownload(t *testing.T) {
	_, f, dir := filesFixture(t)
	tests := []struct{ path, want string }{
		{"/stdout", "hello world\n"},
		{"/binary", "a\377b"},
	}
	for _, tc := range tests {
		status, body := f.get("/files/download", url.Values{"path": {dir + tc.path}})
		if status != http.StatusOK || string(body) != tc.want {
			t.Errorf("download %s = %d %q, want 200 %q", tc.path, status, body, tc.want)
		}
	}
}

func TestFilesMethod(t *testing.T) {
	_, f, dir := filesFixture(t)
	resp, err := f.srv.Client().Post(f.srv.URL+"/files/read?"+url.Values{"path": {dir + "/stdout"}}.Encode(), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /files/read = %d, want 405", resp.StatusCode)
	}
}

// TestSimulatedSandboxServed checks a simulated task's sandbox through the
// handler: it looks like any other, and tasks of one executor share it.
func TestSimulatedSandboxServed(t *testing.T) {
	x := newExecutor(t, executor.Config{SimulateCommands: true})
	f := newFiles(t, x)
	r := newRecorder(t)
	for _, id := range []string{"one", "two"} {
		task := commandTask(id, shell("echo "+id))
		task.ExecutorID = "shared"
		launch(t, x, r, task)
		r.waitFor(id, mesos.TaskState_TASK_RUNNING)
	}
	dir, ok := x.Sandbox(agentID, frameworkID, "shared")
	if !ok {
		t.Fatal("Sandbox(shared) not found")
	}
	var names []string
	for _, e := range f.browse(dir) {
		names = append(names, strings.TrimPrefix(e.Path, dir+"/"))
	}
	if want := []string{"stderr", "stdout"}; !slices.Equal(names, want) {
		t.Errorf("browse = %q, want %q", names, want)
	}
	want := "[simulated] would run: echo one\n[simulated] would run: echo two\n"
	if got := f.read(url.Values{"path": {dir + "/stdout"}, "offset": {"0"}}).Data; got != want {
		t.Errorf("shared stdout = %q, want %q", got, want)
	}

	// A third task joins the run now on disk.
	third := commandTask("three", shell("echo three"))
	third.ExecutorID = "shared"
	launch(t, x, r, third)
	r.waitFor("three", mesos.TaskState_TASK_RUNNING)
	want += "[simulated] would run: echo three\n"
	if got := f.read(url.Values{"path": {dir + "/stdout"}, "offset": {"0"}}).Data; got != want {
		t.Errorf("shared stdout = %q, want %q", got, want)
	}
}
