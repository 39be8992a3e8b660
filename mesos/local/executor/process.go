package executor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/offerdeck/offerdeck/mesos"
)

// startProcess starts a command task in its own process group, with the
// sandbox as working directory and its stdout and stderr files, and hands the
// process to a waiter goroutine.
func (x *Executor) startProcess(t *task, spec Task, stdout, stderr *os.File) error {
	c := spec.Command
	noteUnsupported(stderr, c)
	env := environment(t, spec, stderr)

	exe, argv := "/bin/sh", []string{"sh", "-c", c.GetValue()}
	if !c.GetShell() {
		exe, argv = c.GetValue(), c.GetArguments()
		if len(argv) == 0 {
			argv = []string{exe}
		}
	}
	var cmd *exec.Cmd
	path, err := lookPath(exe, envValue(env, "PATH"), t.dir)
	if err == nil {
		cmd = &exec.Cmd{
			Path:   path,
			Args:   argv,
			Env:    env,
			Dir:    t.dir,
			Stdout: stdout,
			Stderr: stderr,
			// Signals to the group reach the task's children too.
			SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
		}
		err = cmd.Start()
	}
	if err != nil {
		// The Mesos launcher execs in the child it forked; when that fails
		// it says why on stderr and exits 1.
		_, _ = fmt.Fprintf(stderr, "Failed to execute '%s': %s\n", exe, errnoText(err))
	}

	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		x.forget(t)
		if cmd != nil && cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait() // SIGKILL makes this quick
		}
		return ErrClosed
	}
	x.emit(t, mesos.TaskState_TASK_STARTING, nil, "")
	if err != nil {
		t.pendingKill = false
		x.running(t, "", 0)
		x.finish(t, mesos.TaskState_TASK_FAILED, nil, "Command exited with status 1")
		return nil
	}
	t.pid = cmd.Process.Pid
	x.writeRecord(t, t.pid)
	x.wg.Go(func() { x.wait(t, cmd) })
	x.running(t, "", spec.MaxCompletionTime)
	return nil
}

// wait reaps a task's process and reports how it ended, with the state and
// message Mesos's command executor would send.
func (x *Executor) wait(t *task, cmd *exec.Cmd) {
	_ = cmd.Wait() // the exit status is in ProcessState
	x.removeRecord(t)
	message := "Failed to get exit status for Command"
	exitedZero := false
	if ps := cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			message = "Command " + waitText(ws)
			exitedZero = ws.Exited() && ws.ExitStatus() == 0
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var reason *mesos.TaskStatus_Reason
	state := mesos.TaskState_TASK_FAILED
	switch {
	case t.byMaxTime:
		reason = mesos.TaskStatus_REASON_MAX_COMPLETION_TIME_REACHED.Enum()
	case t.killed:
		state = mesos.TaskState_TASK_KILLED
	case exitedZero:
		state = mesos.TaskState_TASK_FINISHED
	}
	x.finish(t, state, reason, message)
}

// waitText renders a wait status as stout's WSTRINGIFY does.
func waitText(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "terminated with signal " + strsignal(ws.Signal())
	}
	return "exited with status " + strconv.Itoa(ws.ExitStatus())
}

// strsignal returns glibc's description of a signal, such as "Terminated"
// or "Killed": Go's names with the first letter in upper case.
func strsignal(s syscall.Signal) string {
	if s >= 34 && s <= 64 {
		return fmt.Sprintf("Real-time signal %d", int(s)-34)
	}
	text := s.String()
	if text == "signal "+strconv.Itoa(int(s)) {
		return "Unknown signal " + strconv.Itoa(int(s))
	}
	return upperFirst(text)
}

// errnoText describes why an exec failed, as strerror would.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return upperFirst(errno.Error())
	}
	return err.Error()
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func envValue(env []string, name string) string {
	prefix := name + "="
	for _, kv := range env {
		if len(kv) >= len(prefix) && kv[:len(prefix)] == prefix {
			return kv[len(prefix):]
		}
	}
	return ""
}
