package scheduler

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

// Limits on a task spec, so a hostile form fails cleanly.
const (
	maxCommand   = 64 << 10
	maxName      = 64
	maxInstances = 100
	maxEnv       = 64
	// maxAmount bounds cpus, mem and disk far above any agent; a spec
	// above what every known agent has is refused for that (see Launch).
	maxAmount = 1e12
)

// ErrBadSpec is wrapped by every task spec validation error; the message
// says what is wrong, in words for the user.
var ErrBadSpec = errors.New("invalid task spec")

// Problem is one thing wrong with a task spec: the field at fault ("name",
// "command", "cpus", "mem", "disk", "ports", "instances", "env",
// "constraints", "kill_grace") and what is wrong, in words for the user.
type Problem struct {
	Field   string
	Message string
}

// SpecError lists every problem of a task spec at once, in the order of
// the form's fields. It wraps ErrBadSpec.
type SpecError struct {
	Problems []Problem
}

// Error says "invalid task spec: " and every problem, joined by "; ".
func (e *SpecError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Message
	}
	return ErrBadSpec.Error() + ": " + strings.Join(msgs, "; ")
}

// Unwrap returns ErrBadSpec.
func (e *SpecError) Unwrap() error { return ErrBadSpec }

// TaskSpec is what a user asks to run: the launch form's contents.
type TaskSpec struct {
	// Name names the task; ids are the name plus a short suffix.
	Name string `json:"name"`
	// Command runs with /bin/sh -c; Argv, when set instead, runs as is.
	Command string   `json:"command,omitempty"`
	Argv    []string `json:"argv,omitempty"`
	// Image, when set, runs the task in a Docker container of that image.
	Image string `json:"image,omitempty"`
	// CPUs, Mem (MB), Disk (MB) and Ports are one instance's needs.
	CPUs  float64 `json:"cpus"`
	Mem   float64 `json:"mem"`
	Disk  float64 `json:"disk,omitempty"`
	Ports int     `json:"ports,omitempty"`
	// Env is added to the task's environment; PORT0.. name its ports.
	Env map[string]string `json:"env,omitempty"`
	// Instances is how many tasks to run (default 1).
	Instances int `json:"instances,omitempty"`
	// Constraints are attribute constraints, e.g. "rack==r2d2; pod~demo;
	// hostname unique".
	Constraints string `json:"constraints,omitempty"`
	// KillGrace is the kill policy's grace period; zero leaves Mesos's.
	KillGrace time.Duration `json:"kill_grace,omitempty"`
	// Wait queues a spec that no agent seen so far could run, to wait for
	// a bigger agent (or one with the attributes asked for); without it,
	// Launch refuses such a spec and says why.
	Wait bool `json:"wait,omitempty"`
	// Agent, when set, pins the spec to the agent of that id: it is placed
	// only on that agent's offers, as Accept… of an offer that expired
	// under its form asks.
	Agent string `json:"agent,omitempty"`
}

// Validate reports whether the spec could be launched, with the reason in
// words for the user (wrapping ErrBadSpec) when it could not.
func (s TaskSpec) Validate() error {
	_, err := compile(s)
	return err
}

// compiled is a validated spec with its parsed constraints.
type compiled struct {
	spec        TaskSpec
	need        placement.Need
	constraints []placement.Constraint
}

// compile validates a spec as the launch form's user needs to hear it:
// every problem at once, as a *SpecError.
func compile(s TaskSpec) (compiled, error) {
	var problems []Problem
	bad := func(field, format string, args ...any) {
		problems = append(problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" {
		s.Name = "task"
	}
	if len(s.Name) > maxName {
		bad("name", "name is longer than %d characters", maxName)
	} else if strings.ContainsAny(s.Name, "/\\") || strings.ContainsFunc(s.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		bad("name", "name %q may not contain slashes or control characters", s.Name)
	}
	size := len(s.Command)
	for _, a := range s.Argv {
		size += len(a)
	}
	switch {
	case strings.TrimSpace(s.Command) == "" && len(s.Argv) == 0 && s.Image == "":
		bad("command", "give a command to run or a container image")
	case s.Command != "" && len(s.Argv) > 0:
		bad("command", "give a shell command or an argument list, not both")
	case size > maxCommand:
		bad("command", "command is %d bytes; the limit is %d", size, maxCommand)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"cpus", s.CPUs}, {"mem", s.Mem}} {
		if math.IsNaN(v.v) || math.IsInf(v.v, 0) || v.v <= 0 {
			bad(v.name, "%s must be more than 0, not %v", v.name, v.v)
		} else if v.v > maxAmount {
			bad(v.name, "%s must be at most %g, not %v", v.name, float64(maxAmount), v.v)
		}
	}
	if math.IsNaN(s.Disk) || math.IsInf(s.Disk, 0) || s.Disk < 0 || s.Disk > maxAmount {
		bad("disk", "disk must be 0 or more (and at most %g), not %v", float64(maxAmount), s.Disk)
	}
	if s.Ports < 0 || s.Ports > 100 {
		bad("ports", "ports must be between 0 and 100, not %d", s.Ports)
	}
	if s.Instances == 0 {
		s.Instances = 1
	}
	if s.Instances < 0 || s.Instances > maxInstances {
		bad("instances", "instances must be between 1 and %d, not %d", maxInstances, s.Instances)
	}
	if len(s.Env) > maxEnv {
		bad("env", "at most %d environment variables, not %d", maxEnv, len(s.Env))
	}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, "= \t\n\x00") {
			bad("env", "environment variable name %q is not valid", k)
		}
	}
	cs, err := placement.ParseConstraints(s.Constraints)
	if err != nil {
		bad("constraints", "%v", err)
	}
	if s.KillGrace < 0 {
		bad("kill_grace", "kill grace period must not be negative")
	}
	if len(s.Agent) > maxName*4 || strings.ContainsFunc(s.Agent, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		bad("agent", "agent id %q is not one an offer could have", clip(s.Agent, maxName))
	}
	if len(problems) > 0 {
		return compiled{}, &SpecError{Problems: problems}
	}
	return compiled{
		spec:        s,
		need:        placement.Need{CPUs: s.CPUs, Mem: s.Mem, Disk: s.Disk, Ports: s.Ports},
		constraints: cs,
	}, nil
}

// newTaskID returns a task id of the spec's name and a random suffix.
func newTaskID(name string) string {
	b := make([]byte, 3)
	rand.Read(b)
	clean := strings.Map(func(r rune) rune {
		if r == ' ' {
			return '-'
		}
		return r
	}, name)
	return clean + "-" + hex.EncodeToString(b)
}

// taskInfo builds the TaskInfo for one instance on an offer.
func (c compiled) taskInfo(id string, o *mesos.Offer, taken placement.Taken) *mesos.TaskInfo {
	s := c.spec
	env := &mesos.Environment{}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env.Variables = append(env.Variables, &mesos.Environment_Variable{Name: proto.String(k), Value: proto.String(s.Env[k])})
	}
	for i, p := range taken.Ports {
		env.Variables = append(env.Variables, &mesos.Environment_Variable{Name: proto.String("PORT" + strconv.Itoa(i)), Value: proto.String(strconv.FormatUint(p, 10))})
	}
	cmd := &mesos.CommandInfo{Environment: env}
	switch {
	case len(s.Argv) > 0:
		cmd.Shell = proto.Bool(false)
		cmd.Value = proto.String(s.Argv[0])
		cmd.Arguments = slices.Clone(s.Argv)
	case s.Command != "":
		cmd.Value = proto.String(s.Command)
	default:
		cmd.Shell = proto.Bool(false) // the image's own entrypoint
	}
	ti := &mesos.TaskInfo{
		Name:      proto.String(s.Name),
		TaskId:    &mesos.TaskID{Value: proto.String(id)},
		AgentId:   o.GetAgentId(),
		Resources: taken.Resources,
		Command:   cmd,
	}
	if s.Image != "" {
		ti.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum(), Docker: &mesos.ContainerInfo_DockerInfo{Image: proto.String(s.Image)}}
	}
	if s.KillGrace > 0 {
		ti.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: proto.Int64(int64(s.KillGrace))}}
	}
	return ti
}

// agentURL is the agent's base URL as an offer gives it.
func agentURL(o *mesos.Offer) string {
	a := o.GetUrl().GetAddress()
	host := a.GetIp()
	if host == "" {
		host = a.GetHostname()
	}
	if host == "" {
		host = o.GetHostname()
	}
	port := a.GetPort()
	if port == 0 {
		port = 5051
	}
	scheme := o.GetUrl().GetScheme()
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(int(port)))
}
