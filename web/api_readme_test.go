package web_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReadmeAPISession runs the README's API session, exactly as written
// but for the dashboard's address, with curl and jq against the real
// stack, and checks what it prints.
func TestReadmeAPISession(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's session needs %s: %v", tool, err)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := bytes.Cut(readme, []byte("\n## API\n"))
	if !ok {
		t.Fatal("README.md has no API section")
	}
	section, _, _ = bytes.Cut(section, []byte("\n## "))
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllSubmatch(section, -1)
	if len(blocks) != 2 {
		t.Fatalf("the API section has %d sh blocks, want 2: the token, then the session", len(blocks))
	}
	session := string(blocks[1][1])
	if !strings.Contains(session, "http://127.0.0.1:8080/offerdeck/api/v1") {
		t.Fatalf("the session does not name the dashboard's default address:\n%s", session)
	}

	st := newAPIStack(t)
	session = strings.ReplaceAll(session, "http://127.0.0.1:8080", st.srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", session)
	cmd.Env = append(os.Environ(), "TOKEN="+operatorToken)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the README's session failed: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	// The hello task's states end with TASK_FINISHED, then its output,
	// the kill's answer and the sleep's last state.
	i := slices.Index(lines, "hello world")
	switch {
	case i < 1 || lines[i-1] != "TASK_FINISHED":
		t.Errorf("the session printed %q, want the hello task's states ending in TASK_FINISHED, then hello world", lines)
	case len(lines) != i+3 || !strings.HasPrefix(lines[i+1], "killing nap-") || lines[i+2] != "TASK_KILLED":
		t.Errorf("the session printed %q, want killing nap-... and TASK_KILLED after hello world", lines)
	}
	for _, l := range lines[:max(i, 0)] {
		if !strings.HasPrefix(l, "TASK_") && l != "LAUNCHING" {
			t.Errorf("the hello task's events printed %q, want states", l)
		}
	}
	var audit struct {
		Entries []struct{ User, Action string }
	}
	st.call(t, viewerToken, "GET", "/audit?limit=3", nil).json(t, &audit)
	for _, e := range audit.Entries {
		if e.User != "bot" {
			t.Errorf("audit entry %+v, want the token's user bot", e)
		}
	}
}
