package scheduler_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// masterTasks counts the tasks the master holds whose id starts with
// prefix.
func masterTasks(m *local.Master, frameworkID, prefix string) int {
	n := 0
	for _, tv := range m.FrameworkTasks(frameworkID) {
		if strings.HasPrefix(tv.ID, prefix) {
			n++
		}
	}
	return n
}

// TestFullDiskLosesNoLaunch: while the state cannot be written, launches
// and accepts fail with ErrStorage and the reason, nothing reaches the
// master, nothing stays launching, the dashboard says why; what was
// acknowledged meanwhile (a kill's updates) is saved once the disk takes
// writes again, and the same requests then go through, once.
func TestFullDiskLosesNoLaunch(t *testing.T) {
	m, base := startMaster(t, local.Config{SimulateCommands: true, StatusRetry: 50 * time.Millisecond})
	dir := t.TempDir()
	s := startScheduler(t, base, dir, nil)
	victim := launchOne(t, s, "victim", "sleep 600")
	snap := s.waitFor(t, "the victim running and three offers", func(s *scheduler.Snapshot) bool {
		return stateIs(victim, mesos.TaskState_TASK_RUNNING)(s) && len(s.Offers) == 3
	})
	fw := snap.Conn.FrameworkID

	full := &fs.PathError{Op: "write", Path: "offerdeck.db", Err: syscall.ENOSPC}
	scheduler.FailWrites(s.Scheduler, full)
	const launches, instances = 5, 4
	spec := func(i int) scheduler.TaskSpec {
		return scheduler.TaskSpec{Name: fmt.Sprintf("full-%d", i), Command: "sleep 600", CPUs: 0.05, Mem: 4, Instances: instances}
	}
	who := func(i int) scheduler.Actor {
		return scheduler.Actor{User: "ann", Origin: "test", RequestID: fmt.Sprintf("full-req-%d", i)}
	}
	for i := range launches {
		res, err := s.Launch(t.Context(), who(i), spec(i))
		if !errors.Is(err, scheduler.ErrStorage) || !strings.Contains(err.Error(), "no space left on device") {
			t.Fatalf("Launch(%d) on a full disk = %+v, %v; want ErrStorage saying why", i, res, err)
		}
	}
	snap = s.waitFor(t, "offers back", func(s *scheduler.Snapshot) bool { return len(s.Offers) > 0 })
	if _, err := s.Accept(t.Context(), operator, snap.Offers[0].ID, []scheduler.TaskSpec{{Name: "full-accept", Command: "true", CPUs: 0.1, Mem: 8}}); !errors.Is(err, scheduler.ErrStorage) {
		t.Fatalf("Accept on a full disk = %v, want ErrStorage", err)
	}
	// A kill goes out (it promises nothing durable); its updates cannot
	// be saved, so they stay unacknowledged until they can.
	if _, err := s.Kill(t.Context(), operator, victim, 0); !errors.Is(err, scheduler.ErrStorage) || !strings.Contains(err.Error(), "was sent to the master") {
		t.Fatalf("Kill on a full disk = %v, want it sent and ErrStorage", err)
	}
	snap = s.waitFor(t, "nothing launching, the reason shown", func(s *scheduler.Snapshot) bool {
		for _, tk := range s.Tasks {
			if strings.HasPrefix(tk.Name, "full-") && (tk.Launching || tk.State != mesos.TaskState_TASK_ERROR) {
				return false
			}
		}
		_, q := countNamed(s, "full-")
		return q == 0 && strings.Contains(s.Conn.StorageErr, "no space left on device")
	})
	if n := masterTasks(m, fw, "full-"); n != 0 {
		t.Fatalf("the master got %d tasks while the disk was full, want 0", n)
	}

	scheduler.FailWrites(s.Scheduler, nil)
	s.waitFor(t, "the reason cleared", func(s *scheduler.Snapshot) bool { return s.Conn.StorageErr == "" })
	// The same requests again: answered afresh, not with the failure.
	for i := range launches {
		if _, err := s.Launch(t.Context(), who(i), spec(i)); err != nil {
			t.Fatalf("Launch(%d) once the disk has room = %v", i, err)
		}
	}
	s.waitFor(t, "every instance running, the victim killed", func(snap *scheduler.Snapshot) bool {
		running := 0
		for _, tk := range snap.Tasks {
			if strings.HasPrefix(tk.Name, "full-") && tk.State == mesos.TaskState_TASK_RUNNING {
				running++
			}
		}
		return running == launches*instances && stateIs(victim, mesos.TaskState_TASK_KILLED)(snap)
	})
	s.stop()
	if n := masterTasks(m, fw, "full-"); n != launches*instances {
		t.Errorf("the master holds %d tasks, want %d: each launch once", n, launches*instances)
	}

	// After a restart: the kill's updates were saved, the failed
	// launches are audited as failed, the later ones as done.
	s2 := startScheduler(t, base, dir, nil)
	snap, err := s2.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tk := task(snap, victim); tk == nil || tk.State != mesos.TaskState_TASK_KILLED {
		t.Errorf("after a restart the victim is %+v, want TASK_KILLED as acknowledged", tk)
	}
	entries, err := s2.AuditLog(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	failed, ok := 0, 0
	for _, e := range entries {
		if e.Action != "launch" {
			continue
		}
		switch {
		case e.Result == "failed" && strings.Contains(e.Err, "no space left on device"):
			failed++
		case e.Err == "":
			ok++
		}
	}
	if failed != launches || ok != launches {
		t.Errorf("audit after a restart: %d failed and %d done launches, want %d each: %+v", failed, ok, launches, entries)
	}
}

// TestFullTmpfs fills a real 3 MB tmpfs under the state database: a
// launch that cannot be written fails with the disk's own error, the
// dashboard says why, and once space is freed it recovers by itself and
// a restart finds everything that was answered. It needs root to mount.
func TestFullTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a tmpfs needs root; TestFullDiskLosesNoLaunch covers the same with an injected failure")
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
	_, base := startMaster(t, local.Config{SimulateCommands: true})
	s := startScheduler(t, base, dir, nil)
	s.waitFor(t, "subscribed", func(s *scheduler.Snapshot) bool { return s.Conn.State == mesos.Subscribed })

	// Fill what is left of the tmpfs.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()

	// Launches with long commands make the database grow; one of them
	// must hit the full disk.
	pad := strings.Repeat("x", 60<<10)
	var answered []string
	var failure error
	for i := 0; i < 50 && failure == nil; i++ {
		sp := scheduler.TaskSpec{Name: fmt.Sprintf("tmpfs-%d", i), Command: "sleep 600 # " + pad, CPUs: 0.01, Mem: 1}
		_, err := s.Launch(t.Context(), scheduler.Actor{User: "ann", RequestID: fmt.Sprint("tmpfs-", i)}, sp)
		switch {
		case err == nil:
			answered = append(answered, sp.Name)
		case errors.Is(err, scheduler.ErrStorage):
			failure = err
		default:
			t.Fatalf("Launch(%d) = %v", i, err)
		}
	}
	if failure == nil || !strings.Contains(failure.Error(), "no space left on device") {
		t.Fatalf("no launch failed on a full tmpfs (%d answered); last error %v", len(answered), failure)
	}
	s.waitFor(t, "the reason shown", func(s *scheduler.Snapshot) bool {
		return strings.Contains(s.Conn.StorageErr, "no space left on device")
	})
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "recovered by itself", func(s *scheduler.Snapshot) bool { return s.Conn.StorageErr == "" })
	if _, err := s.Launch(t.Context(), scheduler.Actor{User: "ann", RequestID: "after"}, scheduler.TaskSpec{Name: "tmpfs-after", Command: "sleep 600", CPUs: 0.01, Mem: 1}); err != nil {
		t.Fatalf("Launch once space is freed = %v", err)
	}
	answered = append(answered, "tmpfs-after")
	s.stop()

	s2 := startScheduler(t, base, dir, nil)
	snap, err := s2.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, tk := range snap.Tasks {
		have[tk.Name] = true
	}
	for _, q := range snap.Queue {
		have[q.Spec.Name] = true
	}
	for _, name := range answered {
		if !have[name] {
			t.Errorf("answered launch %s is gone after a restart", name)
		}
	}
	t.Logf("%d launches answered before the disk was full, then: %v", len(answered)-1, failure)
}

// TestQueuedLaunchSurvivesFullDisk: a launch answered "queued" before the
// disk filled is placed while it is full; that ACCEPT is held back, the
// instances go back to the queue, and once the disk takes writes they are
// placed again: each instance runs once, none is lost.
func TestQueuedLaunchSurvivesFullDisk(t *testing.T) {
	m, base := startMaster(t, local.Config{SimulateCommands: true})
	s := startScheduler(t, base, t.TempDir(), nil)
	snap := s.waitFor(t, "three offers", func(s *scheduler.Snapshot) bool { return len(s.Offers) == 3 })
	fw := snap.Conn.FrameworkID
	for _, o := range snap.Offers {
		if _, err := s.Decline(t.Context(), operator, o.ID, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.Launch(t.Context(), operator, scheduler.TaskSpec{Name: "patient", Command: "sleep 600", CPUs: 0.1, Mem: 8, Instances: 2})
	if err != nil || !strings.Contains(res.Message, "queued 2") {
		t.Fatalf("Launch with no offer = %+v, %v; want it queued", res, err)
	}

	scheduler.FailWrites(s.Scheduler, &fs.PathError{Op: "write", Path: "offerdeck.db", Err: syscall.ENOSPC})
	// Offers come again: the queued instances are placed, but the disk
	// cannot take the launch intents.
	if _, err := s.Revive(t.Context(), operator); !errors.Is(err, scheduler.ErrStorage) {
		t.Fatalf("Revive on a full disk = %v, want it sent and ErrStorage", err)
	}
	s.waitFor(t, "the placement held back and put back in the queue", func(s *scheduler.Snapshot) bool {
		tasks, launching := countNamedLaunching(s, "patient")
		return tasks >= 2 && launching == 0 && len(s.Queue) == 1 && s.Queue[0].Left == 2 && s.Conn.StorageErr != ""
	})
	if n := masterTasks(m, fw, "patient"); n != 0 {
		t.Fatalf("the master got %d tasks while the disk was full, want 0", n)
	}

	scheduler.FailWrites(s.Scheduler, nil)
	s.waitFor(t, "both instances running once the disk takes writes", func(s *scheduler.Snapshot) bool {
		running := 0
		for _, tk := range s.Tasks {
			if tk.Name == "patient" && tk.State == mesos.TaskState_TASK_RUNNING {
				running++
			}
		}
		return running == 2 && len(s.Queue) == 0 && s.Conn.StorageErr == ""
	})
	if n := masterTasks(m, fw, "patient"); n != 2 {
		t.Errorf("the master holds %d tasks, want 2", n)
	}
}
