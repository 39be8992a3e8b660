package executor

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
)

// plan says how a task runs: as a real process or simulated.
type plan struct {
	simulated bool
	// noun starts the terminal messages: "Command" or "Container".
	noun string
	// message is the TASK_RUNNING message of a simulated task.
	message string
	// output goes to a simulated task's stdout.
	output string
	// runTime ends a simulated command task with TASK_FINISHED; 0 never does.
	runTime time.Duration
}

// planFor decides how t runs and rejects what Mesos would reject.
func (x *Executor) planFor(t Task) (plan, error) {
	if c := t.Container; c != nil {
		kind, image, err := containerImage(c)
		if err != nil {
			return plan{}, fmt.Errorf("%w: %v", ErrInvalidTask, err)
		}
		if image != "" {
			p := plan{
				simulated: true,
				noun:      "Container",
				message: fmt.Sprintf("Simulated %s container: image %s was not pulled and nothing runs",
					kind, image),
				output: fmt.Sprintf(
					"[simulated] %s container with image %s: no image was pulled and no process was started\n",
					kind, image),
			}
			if cmd := describeCommand(t.Command); cmd != "" {
				p.output += "[simulated] would run: " + cmd + "\n"
			}
			return p, nil
		}
	}
	if err := checkCommand(t.Command); err != nil {
		return plan{}, fmt.Errorf("%w: %v", ErrInvalidTask, err)
	}
	if x.cfg.SimulateCommands {
		return plan{
			simulated: true,
			noun:      "Command",
			message:   "Simulated command: no process was started",
			output:    "[simulated] would run: " + describeCommand(t.Command) + "\n",
			runTime:   x.cfg.SimulatedRunTime,
		}, nil
	}
	return plan{noun: "Command"}, nil
}

// containerImage returns the container's type and image name; the name is
// empty for a MESOS container without an image, which runs on the host.
func containerImage(c *mesos.ContainerInfo) (kind, image string, err error) {
	switch c.GetType() {
	case mesos.ContainerInfo_DOCKER:
		image = c.GetDocker().GetImage()
		if image == "" {
			return "", "", errors.New("DOCKER container without docker.image")
		}
		return "DOCKER", image, nil
	case mesos.ContainerInfo_MESOS:
		img := c.GetMesos().GetImage()
		if img == nil {
			return "MESOS", "", nil
		}
		image = img.GetDocker().GetName()
		if image == "" {
			image = img.GetAppc().GetName()
		}
		if image == "" {
			return "", "", errors.New("MESOS container image without a name")
		}
		return "MESOS", image, nil
	}
	return "", "", fmt.Errorf("container type %v is not supported", c.GetType())
}

func checkCommand(c *mesos.CommandInfo) error {
	switch {
	case c == nil:
		return errors.New("task has neither a command nor a container image")
	case c.GetShell() && c.GetValue() == "":
		return errors.New("shell command is empty")
	case !c.GetShell() && c.GetValue() == "":
		return errors.New("executable of the command is empty")
	}
	return nil
}

// describeCommand renders a command as a shell would read it.
func describeCommand(c *mesos.CommandInfo) string {
	if c == nil {
		return ""
	}
	if c.GetShell() {
		return c.GetValue()
	}
	args := c.GetArguments()
	if len(args) == 0 {
		args = []string{c.GetValue()}
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	return strings.Join(quoted, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[](){};&|<>~#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// startSimulated reports a simulated task as running, after writing its
// output to stdout unless its sandbox run is lazy and holds it already. It
// starts no goroutine: a waiting simulated task is at most a timer.
func (x *Executor) startSimulated(t *task, spec Task, stdout *os.File) error {
	if stdout != nil {
		if _, err := stdout.WriteString(t.plan.output); err != nil {
			x.abandon(t)
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		x.forget(t)
		return ErrClosed
	}
	x.emit(t, mesos.TaskState_TASK_STARTING, nil, "")
	x.running(t, t.plan.message, spec.MaxCompletionTime)
	return nil
}
