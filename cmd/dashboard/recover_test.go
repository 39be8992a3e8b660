package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processesRunning lists the pids whose command line is exactly argv.
func processesRunning(argv ...string) []int {
	want := []byte(strings.Join(argv, "\x00") + "\x00")
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Equal(b, want) {
			if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
				if i := bytes.LastIndexByte(st, ')'); i > 0 && len(st) > i+2 && st[i+2] == 'Z' {
					continue // a zombie has ended
				}
			}
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestKilledDashboardLeavesNoTaskBehind: the dashboard is killed with
// SIGKILL while its embedded stand-in runs a command task, and started again
// on the same state folder. The task's process, which outlived the
// dashboard, is killed, and the task is shown lost with a message saying
// so (not "unknown" forever, with a Kill that changes nothing); the output
// of every earlier task, running or finished, is read through the new
// stand-in, on its new port.
func TestKilledDashboardLeavesNoTaskBehind(t *testing.T) {
	state := t.TempDir()
	e := startEmbedded(t, state)
	hello := e.launch(t, "hello", "echo hello from the first run")
	e.waitOutput(t, hello, "hello from the first run")
	finished := regexp.MustCompile(`<tr id="task-` + regexp.QuoteMeta(hello) + `"[^>]*data-state="TASK_FINISHED"`)
	waitTasksPage(t, e.base, "hello finished", func(page string) bool { return finished.MatchString(page) })
	// A sleep nobody else runs, so the test finds its process.
	secs := strconv.Itoa(600 + rand.IntN(100000))
	sleeper := e.launch(t, "sleeper", "echo before the crash; exec sleep "+secs)
	e.waitOutput(t, sleeper, "before the crash")
	var pids []int
	deadline := time.Now().Add(10 * time.Second)
	for pids = processesRunning("sleep", secs); len(pids) != 1; pids = processesRunning("sleep", secs) {
		if time.Now().After(deadline) {
			t.Fatalf("sleep %s runs as %v, want one process", secs, pids)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() { syscall.Kill(pids[0], syscall.SIGKILL) })

	e.cmd.Process.Signal(syscall.SIGKILL)
	e.cmd.Wait()
	if got := processesRunning("sleep", secs); len(got) != 1 {
		t.Fatalf("after SIGKILL of the dashboard, sleep %s runs as %v: the test cannot show recovery", secs, got)
	}

	restart := time.Now()
	e2 := startEmbedded(t, state)
	if e2.standIn == e.standIn {
		t.Logf("the stand-in came back on the same address %s", e.standIn)
	}
	deadline = time.Now().Add(10 * time.Second)
	for len(processesRunning("sleep", secs)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sleep %s still runs after the restart", secs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	gone := time.Since(restart)
	row := regexp.MustCompile(`<tr id="task-` + regexp.QuoteMeta(sleeper) + `"[^>]*data-state="TASK_LOST"`)
	waitTasksPage(t, e2.base, "the sleeper lost", func(page string) bool { return row.MatchString(page) })
	t.Logf("from the restart: the leftover process gone after %v, the task shown lost after %v",
		gone.Round(time.Millisecond), time.Since(restart).Round(time.Millisecond))
	// Its timeline says why, with the process group that was killed.
	resp, err := http.Get(e2.base + "/tasks/" + sleeper)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	why := fmt.Sprintf("Agent restarted without the task&#39;s executor: the task&#39;s processes (process group %d) were still running and were killed", pids[0])
	if !strings.Contains(string(page), why) {
		t.Errorf("the sleeper's page lacks %q:\n%s", why, page)
	}
	e2.waitOutput(t, hello, "hello from the first run")
	e2.waitOutput(t, sleeper, "before the crash")
}
