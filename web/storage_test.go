package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/local/localtest"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/web"
)

// TestFullDiskIsAnsweredAndNotReady puts the state on a full 3 MB tmpfs:
// a launch is answered 503 with the disk's own error, /readyz says why
// the dashboard is not ready, and both recover once space is freed. It
// needs root to mount the tmpfs.
func TestFullDiskIsAnsweredAndNotReady(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a tmpfs needs root; scheduler's TestFullDiskLosesNoLaunch covers the scheduler's side")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	_, master := localtest.Start(t, local.Config{SimulateCommands: true})
	sched, err := scheduler.New(scheduler.Config{
		Client:   mesos.Config{Masters: []string{master}, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
		StateDir: dir,
		HoldTime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.New(web.Config{Scheduler: sched, Master: master, Embedded: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { sched.Run(ctx) })
	wg.Go(func() { s.Run(ctx) })
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		wg.Wait()
	})
	waitReady(t, srv)

	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for chunk := make([]byte, 64<<10); ; {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()

	pad := strings.Repeat("x", 60<<10)
	var status int
	var answer struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	for i := 0; i < 50 && status != http.StatusServiceUnavailable; i++ {
		form := url.Values{"name": {fmt.Sprint("full-", i)}, "command": {"sleep 600 # " + pad}, "cpus": {"0.01"}, "mem": {"1"},
			"request_id": {fmt.Sprint("full-", i)}}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/launch", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		status = resp.StatusCode
		answer.Error = ""
		json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
	}
	if status != http.StatusServiceUnavailable || answer.OK || !strings.Contains(answer.Error, "no space left on device") {
		t.Fatalf("launch on a full disk = %d %+v, want 503 naming the full disk", status, answer)
	}
	resp, body := get(t, http.MethodGet, srv.URL+"/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "no space left on device") {
		t.Errorf("GET /readyz on a full disk = %d %q, want 503 with the reason", resp.StatusCode, body)
	}
	// Every page says so, in its header, while the disk is full.
	banner := func() string {
		resp, body := get(t, http.MethodGet, srv.URL+"/tasks")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /tasks on a full disk = %d", resp.StatusCode)
		}
		return text(byID(parse(t, body), "storage-banner"))
	}
	// The pages follow the scheduler's changes, a moment after its answer.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := banner()
		if strings.Contains(got, "Cannot save the dashboard's state") && strings.Contains(got, "no space left on device") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the storage banner on a full disk = %q, want the reason", got)
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitReady(t, srv)
	// The pages follow the scheduler's changes, a moment after /readyz.
	for deadline := time.Now().Add(10 * time.Second); strings.TrimSpace(banner()) != ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the storage banner after space was freed = %q, want none", banner())
		}
	}
}
