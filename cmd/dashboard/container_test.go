package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// dockerfileCMD reads the exec-form CMD of the repository's Dockerfile.
func dockerfileCMD(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "CMD "); ok {
			if err := json.Unmarshal([]byte(rest), &args); err != nil {
				t.Fatalf("CMD %s is not in exec form: %v", rest, err)
			}
		}
	}
	if len(args) == 0 {
		t.Fatal("the Dockerfile has no CMD")
	}
	return args
}

// lineWriter hands each line written to it to a channel, and keeps all.
type lineWriter struct {
	mu    sync.Mutex
	all   bytes.Buffer
	lines chan string
	part  string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.part += string(p)
	for {
		line, rest, ok := strings.Cut(w.part, "\n")
		if !ok {
			break
		}
		w.part = rest
		select {
		case w.lines <- line:
		default: // nobody waits for more
		}
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

// TestContainerCMDServesWithLoginLink runs the real binary with the
// image's exact CMD (there is no Docker engine here): with no users it
// used to exit 2 at once; now it serves, logs a one-time login link, and
// the link logs a browser in as operator.
func TestContainerCMDServesWithLoginLink(t *testing.T) {
	args := dockerfileCMD(t)
	t.Logf("Dockerfile CMD: %q", args)
	// The image's port, unless something on this machine has it: then the
	// same address on a free port.
	for i, a := range args {
		if host, port, err := net.SplitHostPort(a); err == nil && i > 0 && args[i-1] == "--listen" {
			if ln, err := net.Listen("tcp", a); err == nil {
				ln.Close()
			} else {
				ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
				if err != nil {
					t.Fatal(err)
				}
				args[i] = ln.Addr().String()
				ln.Close()
				t.Logf("port %s is taken here; using %s", port, args[i])
			}
		}
	}
	cmd := exec.Command(os.Args[0], args...) // TestMain runs main for OFFERDECK_RUN_MAIN=1
	// The image's environment, with its state folder in a temporary one.
	cmd.Env = append(os.Environ(), "OFFERDECK_RUN_MAIN=1", "OFFERDECK_STATE_DIR="+t.TempDir(), "OFFERDECK_AUTH_FILE=", "OFFERDECK_USERS=")
	out := &lineWriter{lines: make(chan string, 64)}
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("dashboard exited with %v after SIGTERM", err)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Errorf("dashboard did not stop within 15s of SIGTERM")
		}
	}()

	var link string
	linkRE := regexp.MustCompile(`or="?(http://127\.0\.0\.1:\d+/login\?token=[0-9a-f]+)`)
	timeout := time.After(15 * time.Second)
	for link == "" {
		select {
		case line := <-out.lines:
			if m := linkRE.FindStringSubmatch(line); m != nil {
				link = m[1]
			}
		case err := <-exited:
			exited <- err
			t.Fatalf("the image's CMD exited at once (%v):\n%s", err, out.String())
		case <-timeout:
			t.Fatalf("no login link logged within 15s:\n%s", out.String())
		}
	}
	base := link[:strings.Index(link, "/login")]
	token := link[strings.Index(link, "token=")+len("token="):]

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(c *http.Client, u string, header http.Header) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(bufio.NewReader(resp.Body))
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	if code, loc, _ := get(browser, base+"/", nil); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("GET / without logging in = %d to %q, want the login page", code, loc)
	}
	if code, _, _ := get(browser, base+"/login?token=0123"+token[4:], nil); code != http.StatusUnauthorized {
		t.Errorf("a wrong token = %d, want 401", code)
	}
	if code, loc, _ := get(browser, link, nil); code != http.StatusSeeOther || loc != "/" {
		t.Fatalf("the login link = %d to %q, want 303 to /", code, loc)
	}
	if code, _, body := get(browser, base+"/", nil); code != http.StatusOK || !strings.Contains(body, "Overview") || !strings.Contains(body, `data-role="operator"`) {
		t.Fatalf("GET / after the link = %d, want the overview for an operator", code)
	}
	// The token also works as a bearer token, for scripts, until restart.
	if code, _, _ := get(&http.Client{}, base+"/metrics", http.Header{"Authorization": {"Bearer " + token}}); code != http.StatusOK {
		t.Errorf("/metrics with the token = %d, want 200", code)
	}
	if strings.Count(out.String(), token) != 2 { // the two links of the one line
		t.Errorf("the token appears %d times in the log, want only in the login line", strings.Count(out.String(), token))
	}
}
