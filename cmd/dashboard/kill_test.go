package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/local/localtest"
)

// startDashboard runs the real program (this test binary as main) against
// master with the given state folder; the caller stops it.
func startDashboard(t *testing.T, master, stateDir string) (*exec.Cmd, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "OFFERDECK_RUN_MAIN=1", "OFFERDECK_LISTEN="+addr, "OFFERDECK_STATE_DIR="+stateDir,
		"OFFERDECK_MASTER="+master, "OFFERDECK_LOG_LEVEL=debug")
	var logs bytes.Buffer
	cmd.Stderr = &syncBuffer{b: &logs}
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
	return cmd, "http://" + addr
}

// firstOffer returns an offer id from the offers page.
func firstOffer(t *testing.T, base string) string {
	t.Helper()
	offer := regexp.MustCompile(`/launch\?offer=([^"]+)"`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/offers")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if mm := offer.FindSubmatch(b); mm != nil {
				return string(mm[1])
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no offer on the offers page")
	return ""
}

// accept posts the accept form for one task and returns the answer.
func accept(base, offerID, name string) (map[string]any, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/offers/"+offerID+"/accept", strings.NewReader(url.Values{
		"name": {name}, "command": {"sleep 600"}, "cpus": {"0.1"}, "mem": {"32"}, "request_id": {"req-" + name}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var answer map[string]any
	return answer, json.NewDecoder(resp.Body).Decode(&answer)
}

// waitTasksPage polls the tasks page until ok holds for it.
func waitTasksPage(t *testing.T, base, what string, ok func(page string) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/tasks")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ok(string(b)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tasks page never showed %s:\n%s", what, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// masterTasks counts the master's tasks named name, and how many run.
func masterTasks(t *testing.T, master, name string) (all, running int) {
	t.Helper()
	resp, err := http.Get(master + "/master/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Frameworks []struct {
			Tasks []struct {
				Name  string `json:"name"`
				State string `json:"state"`
			} `json:"tasks"`
		} `json:"frameworks"`
	}
	json.NewDecoder(resp.Body).Decode(&st)
	for _, f := range st.Frameworks {
		for _, tk := range f.Tasks {
			if tk.Name == name {
				all++
				if tk.State == "TASK_RUNNING" {
					running++
				}
			}
		}
	}
	return all, running
}

// TestKilledMidLaunch: the dashboard is SIGKILLed during a launch and
// restarted on the same state folder. Either way nothing is launched
// twice or lost. The failover timeout (a week by default) is what keeps
// the task alive meanwhile: with 0 the master would tear the framework
// and its tasks down the moment the connection died.
func TestKilledMidLaunch(t *testing.T) {
	t.Run("after the master took the ACCEPT: re-adopted running", func(t *testing.T) {
		// The unacknowledged update is resent after StatusRetry (10 s on a
		// real agent); short here so the test is quick.
		_, master := localtest.Start(t, local.Config{SimulateCommands: true, StatusRetry: 200 * time.Millisecond})
		state := t.TempDir()
		dash, base := startDashboard(t, master, state)
		answer, err := accept(base, firstOffer(t, base), "once")
		if err != nil || answer["ok"] != true {
			t.Fatalf("accept = %v, %v", answer, err)
		}
		// Killed before the first update is through: the task is only
		// known as a launch intent in the state folder.
		dash.Process.Signal(syscall.SIGKILL)
		dash.Wait()

		_, base = startDashboard(t, master, state)
		waitTasksPage(t, base, "the task running once, re-adopted", func(page string) bool {
			return strings.Count(page, ">once<") == 1 && strings.Contains(page, "st-running") && !strings.Contains(page, ">orphan<")
		})
		if all, running := masterTasks(t, master, "once"); all != 1 || running != 1 {
			t.Errorf("the master has %d tasks named once (%d running), want exactly 1 running", all, running)
		}
	})

	t.Run("while the ACCEPT was in flight: refused, shown as never launched", func(t *testing.T) {
		m, master := localtest.Start(t, local.Config{SimulateCommands: true})
		state := t.TempDir()
		dash, base := startDashboard(t, master, state)
		id := firstOffer(t, base)
		m.SetResponseDelay(time.Second) // the ACCEPT is held in flight for a second
		go accept(base, id, "inflight")
		time.Sleep(300 * time.Millisecond)
		dash.Process.Signal(syscall.SIGKILL)
		dash.Wait()
		time.Sleep(time.Second) // the master answers the call of a framework no longer subscribed: 403
		m.SetResponseDelay(0)

		_, base = startDashboard(t, master, state)
		waitTasksPage(t, base, "the launch settled as never taken effect", func(page string) bool {
			return strings.Count(page, ">inflight<") == 1 && strings.Contains(page, "launch never took effect")
		})
		if all, _ := masterTasks(t, master, "inflight"); all != 0 {
			t.Errorf("the master has %d tasks named inflight, want none", all)
		}
	})
}

// launch posts the launch form with a request id and returns the answer.
func launch(base, name, requestID string, instances int) (map[string]any, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/launch", strings.NewReader(url.Values{
		"name": {name}, "command": {"sleep 600"}, "cpus": {"0.05"}, "mem": {"4"}, "instances": {strconv.Itoa(instances)},
		"request_id": {requestID}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var answer map[string]any
	return answer, json.NewDecoder(resp.Body).Decode(&answer)
}

// TestResentLaunchesAfterSIGKILL: launches answered, the dashboard
// SIGKILLed and restarted, the same requests sent again (a browser
// retrying its form): nothing is launched twice.
func TestResentLaunchesAfterSIGKILL(t *testing.T) {
	_, master := localtest.Start(t, local.Config{SimulateCommands: true})
	state := t.TempDir()
	dash, base := startDashboard(t, master, state)
	firstOffer(t, base)
	const launches, instances = 5, 4
	names := make([]string, launches)
	for i := range launches {
		names[i] = fmt.Sprintf("again%d", i)
		if answer, err := launch(base, names[i], "resend-"+names[i], instances); err != nil || answer["ok"] != true {
			t.Fatalf("launch %s = %v, %v", names[i], answer, err)
		}
	}
	running := func() (all, run int) {
		for _, name := range names {
			a, r := masterTasks(t, master, name)
			all, run = all+a, run+r
		}
		return all, run
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, run := running(); run == launches*instances {
			break
		}
		if time.Now().After(deadline) {
			all, run := running()
			t.Fatalf("the master has %d tasks (%d running), want %d running", all, run, launches*instances)
		}
	}
	dash.Process.Signal(syscall.SIGKILL)
	dash.Wait()

	_, base = startDashboard(t, master, state)
	for _, name := range names {
		if answer, err := launch(base, name, "resend-"+name, instances); err != nil || answer["ok"] != true {
			t.Fatalf("resent launch %s = %v, %v", name, answer, err)
		}
	}
	// A launch carried out again would be on the tasks page (or its
	// queue) once answered; the master must still hold each task once.
	resp, err := http.Get(base + "/tasks")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range names {
		if n := strings.Count(string(page), ">"+name+"<"); n != instances {
			t.Errorf("the tasks page shows %s %d times, want %d", name, n, instances)
		}
	}
	if all, _ := running(); all != launches*instances {
		t.Errorf("the master has %d tasks, want %d: duplicates after the restart", all, launches*instances)
	}
}
