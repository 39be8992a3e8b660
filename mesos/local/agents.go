package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// AgentConfig describes one simulated agent. It reads from JSON with the
// field names below in lower case ("hostname", "cpus", "ports": [[31000,
// 32000]], "attributes": "rack:r1"), for agent files.
type AgentConfig struct {
	// Hostname is what offers name the agent by.
	Hostname string `json:"hostname"`
	// CPUs, Mem (MB) and Disk (MB) are the agent's scalar resources.
	CPUs float64 `json:"cpus"`
	Mem  float64 `json:"mem"`
	Disk float64 `json:"disk"`
	// Ports are inclusive port ranges offered as the "ports" resource.
	Ports [][2]uint64 `json:"ports"`
	// Sets are SET resources, e.g. {"gpu_ids": ["0", "1"]}.
	Sets map[string][]string `json:"sets,omitempty"`
	// Attributes use the agent's --attributes syntax:
	// "rack:r2d2;pod:demo,dev;gen:3;zone:[1-3]". A value that parses as a
	// number becomes SCALAR, [a-b] becomes RANGES, anything else TEXT.
	Attributes string `json:"attributes"`
	// Role, when set, statically reserves all the agent's resources for
	// that role; empty means unreserved ("*").
	Role string `json:"role,omitempty"`
}

// ReadAgents reads agent configurations from JSON: an array of objects as
// AgentConfig describes.
func ReadAgents(data []byte) ([]AgentConfig, error) {
	var agents []AgentConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&agents); err != nil {
		return nil, fmt.Errorf("read agents: %w", err)
	}
	if len(agents) == 0 {
		return nil, errors.New("read agents: the list is empty")
	}
	for i, a := range agents {
		if a.Hostname == "" {
			return nil, fmt.Errorf("read agents: agent %d has no hostname", i+1)
		}
	}
	return agents, nil
}

// DemoAgents returns the default demo cluster: three agents like the ones
// in the Mesos tutorials, on different racks.
func DemoAgents() []AgentConfig {
	ports := [][2]uint64{{9000, 10000}}
	return []AgentConfig{
		{Hostname: "agent-1.demo", CPUs: 2, Mem: 496, Disk: 4930, Ports: ports, Attributes: "rack:r2d2;pod:demo,dev"},
		{Hostname: "agent-2.demo", CPUs: 2, Mem: 496, Disk: 4930, Ports: ports, Attributes: "rack:c3po;pod:demo"},
		{Hostname: "agent-3.demo", CPUs: 4, Mem: 992, Disk: 9860, Ports: ports, Attributes: "rack:bb8;pod:dev;gen:3"},
	}
}

// ParseAttributes turns the agent --attributes syntax into attributes, in
// order. It is lenient only where Mesos is: whitespace around names and
// values is kept out.
func ParseAttributes(s string) ([]*mesos.Attribute, error) {
	var out []*mesos.Attribute
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ";") {
		name, value, ok := strings.Cut(part, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, fmt.Errorf("attribute %q: want name:value", part)
		}
		a := &mesos.Attribute{Name: proto.String(name)}
		switch {
		case strings.HasPrefix(value, "[") && strings.HasSuffix(value, "]"):
			rs := &mesos.Value_Ranges{}
			for _, rg := range strings.Split(value[1:len(value)-1], ",") {
				b, e, ok := strings.Cut(strings.TrimSpace(rg), "-")
				begin, err1 := strconv.ParseUint(b, 10, 64)
				end, err2 := strconv.ParseUint(e, 10, 64)
				if !ok || err1 != nil || err2 != nil || begin > end {
					return nil, fmt.Errorf("attribute %s: bad range %q", name, rg)
				}
				rs.Range = append(rs.Range, &mesos.Value_Range{Begin: proto.Uint64(begin), End: proto.Uint64(end)})
			}
			a.Type, a.Ranges = mesos.Value_RANGES.Enum(), rs
		default:
			if f, err := strconv.ParseFloat(value, 64); err == nil {
				a.Type, a.Scalar = mesos.Value_SCALAR.Enum(), &mesos.Value_Scalar{Value: proto.Float64(f)}
			} else {
				a.Type, a.Text = mesos.Value_TEXT.Enum(), &mesos.Value_Text{Value: proto.String(value)}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// agent is a simulated agent as the master tracks it.
type agent struct {
	id         string
	hostname   string
	attributes []*mesos.Attribute
	total      pool
	free       pool // total less what is offered or used by tasks
	tasks      map[taskKey]*task
	seq        int // registration order, for /master/state and the UI
	registered time.Time
	// gone marks an agent removed by fault injection: it keeps no
	// resources and appears in no offer.
	gone bool
	// partitioned marks an agent cut off by a partition: unreachable,
	// offered to nobody, its tasks still running.
	partitioned bool
}

// taskKey identifies a task: task ids are unique per framework only.
type taskKey struct{ framework, task string }

func newAgent(id string, seq int, cfg AgentConfig) (*agent, error) {
	if cfg.Hostname == "" {
		return nil, fmt.Errorf("agent %d: hostname is required", seq)
	}
	attrs, err := ParseAttributes(cfg.Attributes)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", cfg.Hostname, err)
	}
	role := cfg.Role
	if role == "" {
		role = "*"
	}
	var rs []*mesos.Resource
	for _, s := range []struct {
		name string
		v    float64
	}{{"cpus", cfg.CPUs}, {"mem", cfg.Mem}, {"disk", cfg.Disk}} {
		if s.v > 0 {
			rs = append(rs, mesos.Scalar(s.name, s.v))
		}
	}
	names := make([]string, 0, len(cfg.Sets))
	for name := range cfg.Sets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rs = append(rs, &mesos.Resource{Name: proto.String(name), Type: mesos.Value_SET.Enum(), Set: &mesos.Value_Set{Item: cfg.Sets[name]}})
	}
	if len(cfg.Ports) > 0 {
		r := &mesos.Resource{Name: proto.String("ports"), Type: mesos.Value_RANGES.Enum(), Ranges: &mesos.Value_Ranges{}}
		for _, p := range cfg.Ports {
			r.Ranges.Range = append(r.Ranges.Range, &mesos.Value_Range{Begin: proto.Uint64(p[0]), End: proto.Uint64(p[1])})
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		r.Role = proto.String(role)
	}
	total, err := poolOf(rs)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %v", cfg.Hostname, err)
	}
	return &agent{id: id, hostname: cfg.Hostname, attributes: attrs, total: total, free: total.clone(), tasks: map[taskKey]*task{}, seq: seq}, nil
}

// info returns the agent as AgentInfo.
func (a *agent) info() *mesos.AgentInfo {
	return &mesos.AgentInfo{
		Hostname:   proto.String(a.hostname),
		Id:         &mesos.AgentID{Value: proto.String(a.id)},
		Resources:  a.total.resources(""),
		Attributes: a.attributes,
	}
}

// ScaleAgents returns n generated agents for scale runs: hostnames
// agent-00001.scale and so on, spread over 40 racks and 4 pods, each with
// 8 cpus, 32 GB of memory, 500 GB of disk and ports 31000-32000.
func ScaleAgents(n int) []AgentConfig {
	out := make([]AgentConfig, n)
	for i := range out {
		out[i] = AgentConfig{
			Hostname:   fmt.Sprintf("agent-%05d.scale", i+1),
			CPUs:       8,
			Mem:        32768,
			Disk:       512000,
			Ports:      [][2]uint64{{31000, 32000}},
			Attributes: fmt.Sprintf("rack:r%02d;pod:p%d", i%40, i%4),
		}
	}
	return out
}
