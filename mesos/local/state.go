package local

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/internal/answer"
)

// The read-only endpoints below answer in the shapes of a real master's:
// src/master/readonly_handler.cpp writes each object, and
// src/common/http.cpp the shared pieces (resources, attributes, tasks,
// statuses, offers, MasterInfo). docs/stand-in.md lists each
// field with its source.

// state serves GET /master/state (src/master/readonly_handler.cpp,
// ReadOnlyHandler::state), with the v0 field names a real master uses
// (slaves, slave_id, leader_info, ...).
func (m *Master) state(w http.ResponseWriter, r *http.Request) {
	if m.answerAsFollower(w, r) {
		return
	}
	m.mu.Lock()
	out := map[string]any{
		"version":                 Version,
		"build_date":              buildDate,
		"build_time":              timestamp(buildTime),
		"build_user":              buildUser,
		"start_time":              timestamp(m.started),
		"elected_time":            timestamp(m.started),
		"id":                      m.id,
		"pid":                     "master@" + m.addr,
		"hostname":                m.cfg.Hostname,
		"capabilities":            masterCapabilities(m.masterInfo()),
		"leader":                  "master@" + m.addr,
		"leader_info":             leaderInfo(m.masterInfo()),
		"flags":                   m.flags(),
		"recovered_slaves":        []any{},
		"orphan_tasks":            []any{},
		"unregistered_frameworks": []any{},
	}
	active, unreachable := 0, 0
	var slaves []map[string]any
	for _, a := range m.agentOrder {
		switch {
		case a.gone:
			continue
		case a.partitioned:
			unreachable++
			continue
		}
		active++
		slaves = append(slaves, m.stateAgent(a))
	}
	out["activated_slaves"], out["deactivated_slaves"], out["unreachable_slaves"] = active, 0, unreachable
	out["slaves"] = nonNil(slaves)
	var frameworks []map[string]any
	for _, f := range m.sortedFrameworks() {
		frameworks = append(frameworks, stateFramework(f))
	}
	out["frameworks"] = nonNil(frameworks)
	var completed []map[string]any
	for _, f := range m.completedFrameworks {
		completed = append(completed, stateFramework(f))
	}
	out["completed_frameworks"] = nonNil(completed)
	m.mu.Unlock()
	answer.JSON(w, r, out)
}

// The build a real master reports; the stand-in's are fixed.
const (
	buildDate = "2026-01-01 00:00:00"
	buildUser = "offerdeck"
)

var buildTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// flags are the master flags the stand-in has an equivalent of.
func (m *Master) flags() map[string]string {
	return map[string]string{
		"allocation_interval":               m.cfg.AllocationInterval.String(),
		"authenticate_http_frameworks":      strconv.FormatBool(len(m.cfg.Credentials) > 0),
		"authenticate_http_readonly":        strconv.FormatBool(len(m.cfg.Credentials) > 0),
		"hostname":                          m.cfg.Hostname,
		"max_completed_frameworks":          strconv.Itoa(completedFrameworksKept),
		"max_completed_tasks_per_framework": strconv.Itoa(completedTasksKept),
		"offer_timeout":                     m.cfg.OfferTimeout.String(),
		"port":                              portOf(m.addr),
		"version":                           Version,
	}
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// masterCapabilities lists MasterInfo's capabilities by name, as
// json(StringWriter, MasterInfo::Capability) writes them.
func masterCapabilities(mi *mesos.MasterInfo) []string {
	out := []string{}
	for _, c := range mi.GetCapabilities() {
		out = append(out, c.GetType().String())
	}
	return out
}

// leaderInfo is json(ObjectWriter, MasterInfo) of src/common/http.cpp: id,
// pid, port and hostname only.
func leaderInfo(mi *mesos.MasterInfo) map[string]any {
	return map[string]any{"id": mi.GetId(), "pid": mi.GetPid(), "port": mi.GetPort(), "hostname": mi.GetHostname()}
}

// stateAgent is SlaveWriter (readonly_handler.cpp) over json(SlaveInfo).
// used_resources counts the agent's tasks only; what is offered is
// offered_resources, as on a real master.
func (m *Master) stateAgent(a *agent) map[string]any {
	used, offered := m.agentUsage(a)
	reserved := map[string]any{}
	unreserved := pool{}
	for _, role := range a.total.roles() {
		if role == "*" {
			unreserved = a.total.forRoles("*")
			continue
		}
		reserved[role] = stateResources(a.total.forRoles(role))
	}
	return map[string]any{
		"id":                   a.id,
		"hostname":             a.hostname,
		"port":                 5051,
		"attributes":           stateAttributes(a.attributes),
		"pid":                  a.processID() + "@" + m.addr,
		"registered_time":      timestamp(a.registered),
		"resources":            stateResources(a.total),
		"used_resources":       stateResources(used),
		"offered_resources":    stateResources(offered),
		"reserved_resources":   reserved,
		"unreserved_resources": stateResources(unreserved),
		"active":               true,
		"deactivated":          false,
		"version":              Version,
		"capabilities":         agentCapabilityNames(),
	}
}

// agentUsage is what an agent's live tasks use and what is offered of it.
func (m *Master) agentUsage(a *agent) (used, offered pool) {
	for _, t := range a.tasks {
		if !t.released {
			used = used.add(t.res)
		}
	}
	for _, f := range m.frameworks {
		for _, o := range f.offers {
			if o.agent == a {
				offered = offered.add(o.res)
			}
		}
	}
	return used, offered
}

// stateFramework is FullFrameworkWriter over json(Summary<Framework>)
// (readonly_handler.cpp). HTTP frameworks have no pid; principal only
// when set; "roles" for MULTI_ROLE frameworks, "role" otherwise.
func stateFramework(f *framework) map[string]any {
	var used, offered pool
	var tasks, unreachable, completed, offers []map[string]any
	for _, t := range sortedTasks(f) {
		if !t.released {
			used = used.add(t.res)
		}
		if t.unreachable {
			unreachable = append(unreachable, stateTask(f, t))
		} else {
			tasks = append(tasks, stateTask(f, t))
		}
	}
	for _, t := range f.completed {
		completed = append(completed, stateTask(f, t))
	}
	for _, o := range sortedOffers(f.offers) {
		offered = offered.add(o.res)
		offers = append(offers, map[string]any{
			"id": o.id, "framework_id": f.id, "slave_id": o.agent.id,
			"allocation_info": map[string]any{"role": o.role},
			"resources":       stateResources(o.res),
		})
	}
	caps := []string{}
	for _, c := range f.info.GetCapabilities() {
		caps = append(caps, c.GetType().String())
	}
	out := map[string]any{
		"id":                f.id,
		"name":              f.info.GetName(),
		"used_resources":    stateResources(used),
		"offered_resources": stateResources(offered),
		"capabilities":      caps,
		"hostname":          f.info.GetHostname(),
		"webui_url":         f.info.GetWebuiUrl(),
		"active":            f.connected(),
		"connected":         f.connected(),
		"recovered":         false,
		"user":              f.info.GetUser(),
		"failover_timeout":  f.info.GetFailoverTimeout(),
		"checkpoint":        f.info.GetCheckpoint(),
		"registered_time":   timestamp(f.registered),
		"unregistered_time": timestamp(f.unregistered),
		"resources":         stateResources(used.add(offered)),
		"tasks":             nonNil(tasks),
		"unreachable_tasks": nonNil(unreachable),
		"completed_tasks":   nonNil(completed),
		"offers":            nonNil(offers),
		"executors":         []any{},
		"offer_constraints": map[string]any{},
	}
	frameworkIdentity(out, f)
	if f.info.GetLabels() != nil {
		out["labels"] = labelsJSON(f.info.GetLabels())
	}
	return out
}

// frameworkIdentity adds what master and agent write of a framework's
// principal and roles alike: principal only when set, roles for a
// MULTI_ROLE framework and role otherwise.
func frameworkIdentity(out map[string]any, f *framework) {
	if f.info.Principal != nil {
		out["principal"] = f.info.GetPrincipal()
	}
	if f.capable(mesos.FrameworkInfo_Capability_MULTI_ROLE) {
		out["roles"] = f.roles
	} else {
		out["role"] = f.info.GetRole()
	}
}

// agentCapabilityNames are the agents' capabilities by name, as the
// read-only endpoints write them.
func agentCapabilityNames() []string {
	var out []string
	for _, c := range agentCapabilities() {
		out = append(out, c.GetType().String())
	}
	return out
}

func labelsJSON(ls *mesos.Labels) []map[string]string {
	out := []map[string]string{}
	for _, l := range ls.GetLabels() {
		e := map[string]string{"key": l.GetKey()}
		if l.Value != nil {
			e["value"] = l.GetValue()
		}
		out = append(out, e)
	}
	return out
}

func sortedOffers(os map[string]*offer) []*offer {
	out := make([]*offer, 0, len(os))
	for _, o := range os {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b *offer) int { return strings.Compare(a.id, b.id) })
	return out
}

func nonNil(s []map[string]any) []map[string]any {
	if s == nil {
		return []map[string]any{}
	}
	return s
}

// stateTask is json(ObjectWriter, Task) of src/common/http.cpp.
func stateTask(f *framework, t *task) map[string]any {
	statuses := []map[string]any{}
	for _, s := range t.statuses {
		st := map[string]any{"state": s.GetState().String(), "timestamp": s.GetTimestamp()}
		if s.Healthy != nil {
			st["healthy"] = s.GetHealthy()
		}
		if id := s.GetContainerStatus().GetContainerId().GetValue(); id != "" {
			st["container_status"] = map[string]any{"container_id": map[string]any{"value": id}}
		}
		statuses = append(statuses, st)
	}
	role := "*"
	if rs := t.res.resources(""); len(rs) > 0 {
		role = rs[0].GetRole()
		if f.capable(mesos.FrameworkInfo_Capability_MULTI_ROLE) && len(f.roles) > 0 {
			role = f.roles[0]
		}
	}
	out := map[string]any{
		"id":           t.id,
		"name":         t.info.GetName(),
		"framework_id": f.id,
		"executor_id":  t.info.GetExecutor().GetExecutorId().GetValue(),
		"slave_id":     t.agent.id,
		"state":        t.state.String(),
		"resources":    stateResources(t.res),
		"role":         role,
		"statuses":     statuses,
	}
	if t.info.GetLabels() != nil {
		out["labels"] = labelsJSON(t.info.GetLabels())
	}
	return out
}

// stateAttributes is json(ObjectWriter, Attributes): scalars as numbers,
// ranges as "[a-b, c-d]", sets as "{a, b}", text as is.
func stateAttributes(attrs []*mesos.Attribute) map[string]any {
	out := map[string]any{}
	for _, at := range attrs {
		switch at.GetType() {
		case mesos.Value_SCALAR:
			out[at.GetName()] = at.GetScalar().GetValue()
		default:
			out[at.GetName()] = mesos.AttributeText(at)
		}
	}
	return out
}

// stateResources flattens resources the way the read-only endpoints print
// them (json(ObjectWriter, Resources) of src/common/http.cpp): cpus,
// gpus, mem and disk always, zero when absent; ranges as "[9000-10000]",
// sets as "{a, b}", each summed over roles.
func stateResources(p pool) map[string]any {
	out := map[string]any{"cpus": 0.0, "gpus": 0.0, "mem": 0.0, "disk": 0.0}
	ranges := map[string][][2]uint64{}
	for _, r := range p.resources("") {
		switch r.GetType() {
		case mesos.Value_SCALAR:
			v, _ := out[r.GetName()].(float64)
			out[r.GetName()] = float64(milli(v)+milli(r.GetScalar().GetValue())) / 1000
		case mesos.Value_RANGES:
			for _, rg := range r.GetRanges().GetRange() {
				ranges[r.GetName()] = append(ranges[r.GetName()], [2]uint64{rg.GetBegin(), rg.GetEnd()})
			}
		case mesos.Value_SET:
			prev, _ := out[r.GetName()].(string)
			items := r.GetSet().GetItem()
			if prev != "" {
				items = append(strings.Split(strings.Trim(prev, "{}"), ", "), items...)
			}
			out[r.GetName()] = "{" + strings.Join(items, ", ") + "}"
		}
	}
	for name, rgs := range ranges {
		// Summed as Value::Ranges are: coalesced.
		slices.SortFunc(rgs, func(a, b [2]uint64) int { return cmp.Compare(a[0], b[0]) })
		var parts []string
		for i := 0; i < len(rgs); {
			lo, hi := rgs[i][0], rgs[i][1]
			for i++; i < len(rgs) && rgs[i][0] <= hi+1; i++ {
				hi = max(hi, rgs[i][1])
			}
			parts = append(parts, fmt.Sprintf("%d-%d", lo, hi))
		}
		out[name] = "[" + strings.Join(parts, ", ") + "]"
	}
	return out
}

// redirect is GET /master/redirect: 307 to the leader's base URL.
func (m *Master) redirect(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	// The leader's MasterInfo hostname, as Master::Http::redirect writes
	// it (src/master/http.cpp), not its bare address.
	leader := net.JoinHostPort(m.cfg.Hostname, portOf(m.addr))
	if m.faults.follower {
		leader = m.faults.leader
	}
	m.mu.Unlock()
	if leader == "" {
		textError(w, http.StatusServiceUnavailable, "No leader elected")
		return
	}
	w.Header().Set("Location", "//"+leader)
	w.WriteHeader(http.StatusTemporaryRedirect)
}

// version is GET /version.
func (m *Master) version(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"version":    Version,
		"build_user": "offerdeck",
		"git_sha":    "offerdeck-stand-in",
		"git_tag":    Version,
	})
}

// TaskView is a task as the master holds it, for tests and tools that
// compare a framework's view with the master's.
type TaskView struct {
	ID    string
	State mesos.TaskState
	// Pending counts status updates not yet acknowledged by the framework.
	Pending int
	// Completed reports a terminal task whose last update was acknowledged.
	Completed bool
}

// FrameworkTasks returns the tasks the master holds for a framework: live
// ones, terminal ones awaiting acknowledgement, and completed ones.
func (m *Master) FrameworkTasks(frameworkID string) []TaskView {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.frameworks[frameworkID]
	if f == nil {
		return nil
	}
	var out []TaskView
	for _, t := range f.tasks {
		out = append(out, TaskView{ID: t.id, State: t.state, Pending: len(t.pending)})
	}
	for _, t := range f.completed {
		out = append(out, TaskView{ID: t.id, State: t.state, Completed: true})
	}
	slices.SortFunc(out, func(a, b TaskView) int { return strings.Compare(a.ID, b.ID) })
	return out
}
