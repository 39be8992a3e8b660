package executor

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
)

// defaultPath is the PATH tasks get, the one Mesos uses when the agent has
// none (stout os::host_default_path). The Executor reads no environment.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

type sandboxKey struct{ agentID, frameworkID, executorID string }

// sandbox is the newest run folder of an executor.
type sandbox struct {
	dir string // real path of the run folder
	// live counts the non-terminal tasks using dir; a task of an executor
	// that has live tasks joins their run, as in Mesos.
	live int
	// onDisk is false for a run of simulated tasks that nobody has read
	// yet: its folder and files are written when first served, so that a
	// simulated launch does no disk I/O (about 1 ms a run on a VM disk).
	onDisk bool
	stdout []byte    // what a lazy run's stdout holds
	since  time.Time // when a lazy run began: its files' mtime
}

// newRun names a fresh run folder for an executor; nothing is created.
func (x *Executor) newRun(k sandboxKey) *sandbox {
	return &sandbox{
		dir: filepath.Join(x.root, "slaves", k.agentID, "frameworks", k.frameworkID,
			"executors", k.executorID, "runs", newContainerID()),
		since: time.Now(),
	}
}

// materialize writes a run to disk if it is not there yet: the folder, the
// runs/latest symlink, stdout and stderr. Called with x.mu held, which keeps
// concurrent launches of one executor from racing for runs/latest.
func (sb *sandbox) materialize() error {
	if sb.onDisk {
		return nil
	}
	if err := os.MkdirAll(sb.dir, 0o755); err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	// A relative link keeps Root relocatable; the rename replaces an older
	// latest atomically, so readers never miss it.
	runs, id := filepath.Split(sb.dir)
	tmp := filepath.Join(runs, ".latest-"+id)
	if err := os.Symlink(id, tmp); err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(runs, "latest")); err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	for name, data := range map[string][]byte{"stdout": sb.stdout, "stderr": nil} {
		path := filepath.Join(sb.dir, name)
		if err := appendFile(path, data); err != nil {
			return fmt.Errorf("create sandbox: %w", err)
		}
		if len(sb.stdout) > 0 {
			_ = os.Chtimes(path, sb.since, sb.since) // cosmetic
		}
	}
	sb.onDisk = true
	sb.stdout = nil
	return nil
}

func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// sandboxDir returns the real path of an executor's newest run folder,
// writing it to disk first if it is lazy.
func (x *Executor) sandboxDir(agentID, frameworkID, executorID string) (dir string, ok bool, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	k := sandboxKey{agentID, frameworkID, executorID}
	sb, ok := x.sandboxes[k]
	if !ok {
		if sb = x.onDiskRunLocked(k); sb == nil {
			return "", false, nil
		}
	}
	return sb.dir, true, sb.materialize()
}

// newContainerID returns a random version 4 UUID, like Mesos's container ids.
func newContainerID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails on Linux
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// openOutputs opens the run's stdout and stderr for appending, creating
// them; tasks of one executor that overlap share them.
func openOutputs(dir string) (stdout, stderr *os.File, err error) {
	const flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	stdout, err = os.OpenFile(filepath.Join(dir, "stdout"), flags, 0o644)
	if err != nil {
		return nil, nil, err
	}
	stderr, err = os.OpenFile(filepath.Join(dir, "stderr"), flags, 0o644)
	if err != nil {
		stdout.Close()
		return nil, nil, err
	}
	return stdout, stderr, nil
}

// environment builds a command task's environment, lowest precedence first:
// PATH and HOME (the sandbox), the agent's Task.Env, the MESOS_* variables,
// then the command's own VALUE variables, as the Mesos command executor
// merges them. SECRET variables cannot be resolved here: they are left out
// with a note on the task's stderr.
func environment(t *task, spec Task, notes io.Writer) []string {
	env := map[string]string{"PATH": defaultPath, "HOME": t.dir}
	for k, v := range spec.Env {
		env[k] = v
	}
	for k, v := range map[string]string{
		"MESOS_SANDBOX":      t.dir,
		"MESOS_DIRECTORY":    t.dir,
		"MESOS_FRAMEWORK_ID": t.key.frameworkID,
		"MESOS_EXECUTOR_ID":  t.executorID,
		"MESOS_AGENT_ID":     t.agentID,
		"MESOS_SLAVE_ID":     t.agentID,
		"MESOS_TASK_ID":      t.key.taskID,
	} {
		env[k] = v
	}
	for _, v := range spec.Command.GetEnvironment().GetVariables() {
		name := v.GetName()
		switch {
		case v.GetType() == mesos.Environment_Variable_SECRET:
			note(notes, "secret environment variable %s is not supported here; it is unset", name)
		case name == "" || strings.ContainsAny(name, "=\x00") || strings.ContainsRune(v.GetValue(), 0):
			note(notes, "environment variable %q cannot be set; it is skipped", name)
		default:
			env[name] = v.GetValue()
		}
	}
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return list
}

// note writes one line about the Executor's own choices to a task's stderr,
// where Mesos's executors log too.
func note(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, "[offerdeck] "+format+"\n", args...)
}

// noteUnsupported tells the task what of its CommandInfo was ignored.
func noteUnsupported(w io.Writer, c *mesos.CommandInfo) {
	for _, u := range c.GetUris() {
		note(w, "fetcher not simulated: %s was not fetched", u.GetValue())
	}
	if u := c.GetUser(); u != "" {
		note(w, "user %s ignored: tasks run as the agent's user", u)
	}
}

// lookPath finds an argv-mode executable as execvp would, with the task's
// PATH; relative entries are relative to the sandbox, the working directory.
func lookPath(file, path, dir string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, file)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", syscall.ENOENT
}
