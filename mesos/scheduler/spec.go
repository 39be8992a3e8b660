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
)

// ErrBadSpec is wrapped by every task spec validation error; the message
// says what is wrong, in words for the user.
var ErrBadSpec = errors.New("invalid task spec")

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

// compile validates a spec as the launch form's user needs to hear it.
func compile(s TaskSpec) (compiled, error) {
	bad := func(format string, args ...any) (compiled, error) {
		return compiled{}, fmt.Errorf("%w: %s", ErrBadSpec, fmt.Sprintf(format, args...))
	}
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" {
		s.Name = "task"
	}
	if len(s.Name) > maxName {
		return bad("name is longer than %d characters", maxName)
	}
	if strings.ContainsAny(s.Name, "/\\") || strings.ContainsFunc(s.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return bad("name %q may not contain slashes or control characters", s.Name)
	}
	if strings.TrimSpace(s.Command) == "" && len(s.Argv) == 0 && s.Image == "" {
		return bad("give a command to run or a container image")
	}
	if s.Command != "" && len(s.Argv) > 0 {
		return bad("give a shell command or an argument list, not both")
	}
	size := len(s.Command)
	for _, a := range s.Argv {
		size += len(a)
	}
	if size > maxCommand {
		return bad("command is %d bytes; the limit is %d", size, maxCommand)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"cpus", s.CPUs}, {"mem", s.Mem}, {"disk", s.Disk}} {
		if math.IsNaN(v.v) || math.IsInf(v.v, 0) || v.v < 0 {
			return bad("%s must be a positive number, not %v", v.name, v.v)
		}
	}
	if s.CPUs == 0 && s.Mem == 0 {
		return bad("ask for some cpus or mem")
	}
	if s.Ports < 0 || s.Ports > 100 {
		return bad("ports must be between 0 and 100")
	}
	if s.Instances == 0 {
		s.Instances = 1
	}
	if s.Instances < 0 || s.Instances > maxInstances {
		return bad("instances must be between 1 and %d", maxInstances)
	}
	if len(s.Env) > maxEnv {
		return bad("at most %d environment variables", maxEnv)
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "= \t\n\x00") {
			return bad("environment variable name %q is not valid", k)
		}
	}
	if s.KillGrace < 0 {
		return bad("kill grace period must not be negative")
	}
	cs, err := placement.ParseConstraints(s.Constraints)
	if err != nil {
		return bad("%v", err)
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
