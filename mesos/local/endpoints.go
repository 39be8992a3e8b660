package local

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/internal/answer"
)

// The read-only endpoints beyond /master/state, in the shapes of
// src/master/readonly_handler.cpp (and src/master/http.cpp for the routes).
// Each reads the master under its lock and answers with writeJSON, so
// ?jsonp= works on all of them as on a real master.

// frameworks is GET /master/frameworks (ReadOnlyHandler::frameworks),
// with ?framework_id= to pick one.
func (m *Master) frameworksEndpoint(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query().Get("framework_id")
	pick := func(f *framework) bool { return want == "" || f.id == want }
	m.mu.Lock()
	var live, completed []map[string]any
	for _, f := range m.sortedFrameworks() {
		if pick(f) {
			live = append(live, stateFramework(f))
		}
	}
	for _, f := range m.completedFrameworks {
		if pick(f) {
			completed = append(completed, stateFramework(f))
		}
	}
	m.mu.Unlock()
	answer.JSON(w, r, map[string]any{
		"frameworks": nonNil(live), "completed_frameworks": nonNil(completed), "unregistered_frameworks": []any{},
	})
}

// slaves is GET /master/slaves (SlavesWriter), with ?slave_id= to pick
// one, and the full protobuf form of each agent's resources.
func (m *Master) slavesEndpoint(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query().Get("slave_id")
	m.mu.Lock()
	var agents []map[string]any
	for _, a := range m.agentOrder {
		if a.gone || a.partitioned || (want != "" && a.id != want) {
			continue
		}
		s := m.stateAgent(a)
		used, offered := m.agentUsage(a)
		full := map[string]any{}
		for _, role := range a.total.roles() {
			if role != "*" {
				full[role] = resourcesJSON(a.total.forRoles(role))
			}
		}
		s["reserved_resources_full"] = full
		s["unreserved_resources_full"] = resourcesJSON(a.total.forRoles("*"))
		s["used_resources_full"] = resourcesJSON(used)
		s["offered_resources_full"] = resourcesJSON(offered)
		agents = append(agents, s)
	}
	m.mu.Unlock()
	answer.JSON(w, r, map[string]any{"slaves": nonNil(agents), "recovered_slaves": []any{}})
}

// resourcesJSON is a pool as a list of Resource messages in JSON, the form
// the *_full fields carry.
func resourcesJSON(p pool) []any {
	out := []any{}
	for _, res := range p.resources("") {
		if b, err := mesos.MarshalJSON(res); err == nil {
			out = append(out, json.RawMessage(b))
		}
	}
	return out
}

// taskStates are the per-state counts /master/state-summary writes, in
// its order (TaskStateSummary).
var taskStates = []mesos.TaskState{
	mesos.TaskState_TASK_STAGING, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING,
	mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_FINISHED, mesos.TaskState_TASK_KILLED,
	mesos.TaskState_TASK_FAILED, mesos.TaskState_TASK_LOST, mesos.TaskState_TASK_ERROR,
	mesos.TaskState_TASK_UNREACHABLE,
}

// stateSummary is GET /master/state-summary: each agent and framework in
// their summary forms with task counts by state and the ids of the
// frameworks on an agent (and agents of a framework).
func (m *Master) stateSummary(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	type counts map[mesos.TaskState]int
	byAgent, byFramework := map[string]counts{}, map[string]counts{}
	agentFrameworks, frameworkAgents := map[string][]string{}, map[string][]string{}
	for _, f := range m.sortedFrameworks() {
		byFramework[f.id] = counts{}
		all := append(sortedTasks(f), f.completed...)
		for _, t := range all {
			if byAgent[t.agent.id] == nil {
				byAgent[t.agent.id] = counts{}
			}
			byAgent[t.agent.id][t.state]++
			byFramework[f.id][t.state]++
			if !slices.Contains(agentFrameworks[t.agent.id], f.id) {
				agentFrameworks[t.agent.id] = append(agentFrameworks[t.agent.id], f.id)
				frameworkAgents[f.id] = append(frameworkAgents[f.id], t.agent.id)
			}
		}
	}
	addCounts := func(obj map[string]any, c counts) {
		for _, s := range taskStates {
			obj[s.String()] = c[s]
		}
	}
	var agents []map[string]any
	for _, a := range m.agentOrder {
		if a.gone || a.partitioned {
			continue
		}
		s := m.stateAgent(a)
		addCounts(s, byAgent[a.id])
		s["framework_ids"] = nonNilStrings(agentFrameworks[a.id])
		agents = append(agents, s)
	}
	var frameworks []map[string]any
	for _, f := range m.sortedFrameworks() {
		full := stateFramework(f)
		s := map[string]any{}
		for _, k := range []string{"id", "name", "used_resources", "offered_resources", "capabilities", "hostname", "webui_url", "active", "connected", "recovered"} {
			s[k] = full[k]
		}
		addCounts(s, byFramework[f.id])
		s["slave_ids"] = nonNilStrings(frameworkAgents[f.id])
		frameworks = append(frameworks, s)
	}
	out := map[string]any{"hostname": m.cfg.Hostname, "slaves": nonNil(agents), "frameworks": nonNil(frameworks)}
	m.mu.Unlock()
	answer.JSON(w, r, out)
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// taskLimit is how many tasks /master/tasks lists unless ?limit= says
// (TASK_LIMIT in src/master/constants.hpp).
const taskLimit = 100

// tasksEndpoint is GET /master/tasks (ReadOnlyHandler::tasks): the tasks of
// live and completed frameworks, live, unreachable and completed, sorted
// by their latest status time (?order=asc, else descending), from
// ?offset= and at most ?limit= of them, ?framework_id= and ?task_id= to
// pick.
func (m *Master) tasksEndpoint(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := taskLimit, 0
	if v, err := strconv.Atoi(q.Get("limit")); err == nil {
		limit = v
	}
	if v, err := strconv.Atoi(q.Get("offset")); err == nil {
		offset = v
	}
	wantFramework, wantTask := q.Get("framework_id"), q.Get("task_id")
	type entry struct {
		f    *framework
		t    *task
		when float64
	}
	m.mu.Lock()
	var all []entry
	frameworks := append(m.sortedFrameworks(), m.completedFrameworks...)
	for _, f := range frameworks {
		if wantFramework != "" && f.id != wantFramework {
			continue
		}
		for _, t := range append(sortedTasks(f), f.completed...) {
			if wantTask != "" && t.id != wantTask {
				continue
			}
			var when float64
			if n := len(t.statuses); n > 0 {
				when = t.statuses[n-1].GetTimestamp()
			}
			all = append(all, entry{f, t, when})
		}
	}
	slices.SortStableFunc(all, func(a, b entry) int {
		if q.Get("order") == "asc" {
			return cmpFloat(a.when, b.when)
		}
		return cmpFloat(b.when, a.when)
	})
	tasks := []map[string]any{}
	if offset >= 0 && limit > 0 {
		for i := offset; i < len(all) && i < offset+limit; i++ {
			tasks = append(tasks, stateTask(all[i].f, all[i].t))
		}
	}
	m.mu.Unlock()
	answer.JSON(w, r, map[string]any{"tasks": tasks})
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// flagsEndpoint is GET /master/flags: {"flags": {...}}.
func (m *Master) flagsEndpoint(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	flags := m.flags()
	m.mu.Unlock()
	answer.JSON(w, r, map[string]any{"flags": flags})
}

// rolesEndpoint is GET /master/roles (ReadOnlyHandler::roles): every role a
// framework subscribed to or an agent reserves for, with what is
// allocated to and offered in it, and its frameworks. The stand-in has no
// weights or quota: weight 1 and empty quota, as a real master without
// them answers.
func (m *Master) rolesEndpoint(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	type role struct {
		allocated, offered, reserved pool
		frameworks                   []string
	}
	roles := map[string]*role{}
	get := func(name string) *role {
		if roles[name] == nil {
			roles[name] = &role{}
		}
		return roles[name]
	}
	for _, f := range m.sortedFrameworks() {
		for _, name := range f.roles {
			get(name).frameworks = append(get(name).frameworks, f.id)
		}
		for _, t := range f.tasks {
			if !t.released && len(f.roles) > 0 {
				rl := get(f.roles[0])
				rl.allocated = rl.allocated.add(t.res)
			}
		}
		for _, o := range f.offers {
			rl := get(o.role)
			rl.offered = rl.offered.add(o.res)
		}
	}
	for _, a := range m.agentOrder {
		if a.gone {
			continue
		}
		for _, name := range a.total.roles() {
			if name != "*" {
				rl := get(name)
				rl.reserved = rl.reserved.add(a.total.forRoles(name))
			}
		}
	}
	names := make([]string, 0, len(roles))
	for name := range roles {
		names = append(names, name)
	}
	slices.Sort(names)
	out := []map[string]any{}
	for _, name := range names {
		rl := roles[name]
		out = append(out, map[string]any{
			"name":       name,
			"weight":     1.0,
			"quota":      map[string]any{"role": name, "guarantee": map[string]any{}, "limit": map[string]any{}, "consumed": quantities(rl.allocated.add(rl.reserved))},
			"resources":  quantities(rl.allocated.add(rl.offered)),
			"allocated":  quantities(rl.allocated),
			"offered":    quantities(rl.offered),
			"reserved":   quantities(rl.reserved),
			"frameworks": nonNilStrings(rl.frameworks),
		})
	}
	m.mu.Unlock()
	answer.JSON(w, r, map[string]any{"roles": out})
}

// quantities are a pool's scalars by name, as ResourceQuantities are
// written (json(ObjectWriter, ResourceQuantities)): no zero defaults,
// ranges and sets left out.
func quantities(p pool) map[string]any {
	out := map[string]any{}
	for k, v := range p.scalars {
		prev, _ := out[k.name].(float64)
		out[k.name] = float64(milli(prev)+v) / 1000
	}
	return out
}

// maintenanceSchedule is GET /master/maintenance/schedule: the stand-in
// never schedules maintenance, and an empty mesos.maintenance.Schedule is
// {} in JSON.
func (m *Master) maintenanceSchedule(w http.ResponseWriter, r *http.Request) {
	answer.JSON(w, r, map[string]any{})
}

// metricsSnapshot is GET /metrics/snapshot: the master's gauges and
// counters under their real names (src/master/metrics.cpp), for the ones
// the stand-in can tell.
func (m *Master) metricsSnapshot(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	var active, unreachable, frameworksActive, frameworksInactive int
	var total, used pool
	for _, a := range m.agentOrder {
		switch {
		case a.gone:
			continue
		case a.partitioned:
			unreachable++
			continue
		}
		active++
		total = total.add(a.total)
		u, o := m.agentUsage(a)
		used = used.add(u)
		_ = o
	}
	states := map[mesos.TaskState]int{}
	var outstanding int
	for _, f := range m.frameworks {
		if f.connected() {
			frameworksActive++
		} else {
			frameworksInactive++
		}
		outstanding += len(f.offers)
		for _, t := range f.tasks {
			states[t.state]++
		}
		for _, t := range f.completed {
			states[t.state]++
		}
	}
	out := map[string]float64{
		"master/elected":                 1,
		"master/uptime_secs":             time.Since(m.started).Seconds(),
		"master/slaves_active":           float64(active),
		"master/slaves_connected":        float64(active),
		"master/slaves_disconnected":     0,
		"master/slaves_inactive":         0,
		"master/slaves_unreachable":      float64(unreachable),
		"master/frameworks_active":       float64(frameworksActive),
		"master/frameworks_inactive":     float64(frameworksInactive),
		"master/frameworks_connected":    float64(frameworksActive),
		"master/frameworks_disconnected": float64(frameworksInactive),
		"master/outstanding_offers":      float64(outstanding),
	}
	for _, name := range []string{"cpus", "gpus", "mem", "disk"} {
		// Used is what tasks use, offers aside (Master::_resources_used).
		t, u := total.scalar(name), used.scalar(name)
		out["master/"+name+"_total"], out["master/"+name+"_used"] = t, u
		pct := 0.0
		if t > 0 {
			pct = u / t
		}
		out["master/"+name+"_percent"] = pct
	}
	for _, s := range []mesos.TaskState{mesos.TaskState_TASK_STAGING, mesos.TaskState_TASK_STARTING, mesos.TaskState_TASK_RUNNING,
		mesos.TaskState_TASK_KILLING, mesos.TaskState_TASK_FINISHED, mesos.TaskState_TASK_FAILED, mesos.TaskState_TASK_KILLED,
		mesos.TaskState_TASK_LOST, mesos.TaskState_TASK_ERROR, mesos.TaskState_TASK_DROPPED, mesos.TaskState_TASK_UNREACHABLE,
		mesos.TaskState_TASK_GONE, mesos.TaskState_TASK_GONE_BY_OPERATOR} {
		out["master/"+lowerState(s)] = float64(states[s])
	}
	m.mu.Unlock()
	answer.JSON(w, r, out)
}

// lowerState is "tasks_running" for TASK_RUNNING, the metric's name.
func lowerState(s mesos.TaskState) string {
	name := s.String()[len("TASK_"):]
	b := []byte("tasks_" + name)
	for i := range b {
		if b[i] >= 'A' && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}
