package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The shape of /master/state that the view reads, as the master writes it
// (src/master/readonly_handler.cpp, and src/common/http.cpp for resources
// and attributes): only the fields used here.
type stateJSON struct {
	Slaves []struct {
		ID             string         `json:"id"`
		Hostname       string         `json:"hostname"`
		Resources      map[string]any `json:"resources"`
		Attributes     map[string]any `json:"attributes"`
		Active         bool           `json:"active"`
		Deactivated    bool           `json:"deactivated"`
		Version        string         `json:"version"`
		RegisteredTime float64        `json:"registered_time"`
	} `json:"slaves"`
	UnreachableSlaves int `json:"unreachable_slaves"` // a count (readonly_handler.cpp)
	Frameworks        []struct {
		ID               string         `json:"id"`
		Name             string         `json:"name"`
		User             string         `json:"user"`
		Principal        string         `json:"principal"`
		Hostname         string         `json:"hostname"`
		WebUIURL         string         `json:"webui_url"`
		Role             string         `json:"role"`
		Roles            []string       `json:"roles"`
		Active           bool           `json:"active"`
		Connected        bool           `json:"connected"`
		RegisteredTime   float64        `json:"registered_time"`
		OfferedResources map[string]any `json:"offered_resources"`
		Tasks            []taskJSON     `json:"tasks"`
		UnreachableTasks []taskJSON     `json:"unreachable_tasks"`
		CompletedTasks   []taskJSON     `json:"completed_tasks"`
	} `json:"frameworks"`
}

type taskJSON struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	FrameworkID string         `json:"framework_id"`
	AgentID     string         `json:"slave_id"`
	State       string         `json:"state"`
	Role        string         `json:"role"`
	Resources   map[string]any `json:"resources"`
	Statuses    []struct {
		Timestamp float64 `json:"timestamp"`
	} `json:"statuses"`
}

// parseState reads a /master/state answer into the view's values and the
// number of unreachable agents.
func parseState(r io.Reader, now time.Time) (agents []*Agent, fws []*Framework, tasks []*Task, unreachable int, err error) {
	var st stateJSON
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return nil, nil, nil, 0, fmt.Errorf("read /master/state: %w", err)
	}
	for _, s := range st.Slaves {
		a := &Agent{
			ID: s.ID, Hostname: s.Hostname, Active: s.Active, Deactivated: s.Deactivated, Version: s.Version,
			Total: resourcesJSON(s.Resources), Registered: secondsTime(s.RegisteredTime),
		}
		for _, name := range slices.Sorted(maps.Keys(s.Attributes)) {
			a.Attributes = append(a.Attributes, name+":"+attributeJSON(s.Attributes[name]))
		}
		agents = append(agents, a)
	}
	for _, f := range st.Frameworks {
		fw := &Framework{
			ID: f.ID, Name: f.Name, User: f.User, Principal: f.Principal, Hostname: f.Hostname, WebUI: f.WebUIURL,
			Roles: f.Roles, Active: f.Active, Connected: f.Connected, Registered: secondsTime(f.RegisteredTime),
			Offered: resourcesJSON(f.OfferedResources), OfferedAt: now,
		}
		if len(fw.Roles) == 0 {
			fw.Roles = []string{cmpOr(f.Role, "*")}
		}
		fws = append(fws, fw)
		for _, list := range [][]taskJSON{f.CompletedTasks, f.UnreachableTasks, f.Tasks} {
			for _, t := range list {
				task := &Task{
					FrameworkID: cmpOr(t.FrameworkID, f.ID), ID: t.ID, Name: t.Name, AgentID: t.AgentID,
					State: t.State, Resources: resourcesJSON(t.Resources), Role: cmpOr(t.Role, fw.Roles[0]), Updated: now,
				}
				var newest float64
				for _, s := range t.Statuses {
					newest = max(newest, s.Timestamp)
				}
				if newest > 0 {
					task.Updated = secondsTime(newest)
				}
				tasks = append(tasks, task)
			}
		}
	}
	return agents, fws, tasks, st.UnreachableSlaves, nil
}

// resourcesJSON reads the master's JSON of resources: scalars by name,
// and ranges as text such as "[31000-32000, 33000-33001]".
func resourcesJSON(m map[string]any) Resources {
	num := func(name string) float64 {
		f, _ := m[name].(float64)
		return f
	}
	r := Resources{CPUs: num("cpus"), Mem: num("mem"), Disk: num("disk"), GPUs: num("gpus")}
	if s, ok := m["ports"].(string); ok {
		r.Ports = rangeCount(s)
	}
	return r
}

// rangeCount counts the values in ranges written as "[a-b, c-d]"; text it
// cannot read counts nothing.
func rangeCount(s string) uint64 {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "["), "]")
	var n uint64
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, ok := strings.Cut(strings.TrimSpace(part), "-")
		if !ok {
			continue
		}
		b, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		e, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
		if err1 == nil && err2 == nil && e >= b {
			n += e - b + 1
		}
	}
	return n
}

// attributeJSON writes an attribute's JSON value as its text: the master
// writes text and ranges and sets as strings, scalars as numbers.
func attributeJSON(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', 15, 64)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
