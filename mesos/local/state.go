package local

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/offerdeck/offerdeck/mesos"
)

// state serves the legacy GET /master/state view, with the v0 field names a
// real master uses (slaves, slave_id, leader_info, ...).
func (m *Master) state(w http.ResponseWriter, r *http.Request) {
	if m.answerAsFollower(w, r) {
		return
	}
	m.mu.Lock()
	leaderInfo, _ := mesos.MarshalJSON(m.masterInfo())
	out := map[string]any{
		"version":            Version,
		"id":                 m.id,
		"pid":                "master@" + m.addr,
		"hostname":           m.cfg.Hostname,
		"start_time":         timestamp(m.started),
		"elected_time":       timestamp(m.started),
		"leader":             "master@" + m.addr,
		"leader_info":        json.RawMessage(leaderInfo),
		"activated_slaves":   0,
		"deactivated_slaves": 0,
		"flags": map[string]string{
			"allocation_interval":          m.cfg.AllocationInterval.String(),
			"authenticate_http_frameworks": fmt.Sprint(len(m.cfg.Credentials) > 0),
			"offer_timeout":                m.cfg.OfferTimeout.String(),
		},
		"completed_frameworks":    []any{},
		"unregistered_frameworks": []any{},
	}
	var slaves []map[string]any
	active := 0
	for _, a := range m.agentOrder {
		if a.gone {
			continue
		}
		active++
		used := a.total.sub(a.free)
		attrs := map[string]any{}
		for _, at := range a.attributes {
			attrs[at.GetName()] = mesos.AttributeText(at)
		}
		slaves = append(slaves, map[string]any{
			"id":             a.id,
			"pid":            "slave(1)@" + m.addr,
			"hostname":       a.hostname,
			"port":           5051,
			"active":         true,
			"version":        Version,
			"attributes":     attrs,
			"resources":      stateResources(a.total),
			"used_resources": stateResources(used),
		})
	}
	out["activated_slaves"] = active
	out["slaves"] = nonNil(slaves)

	var frameworks []map[string]any
	ids := make([]string, 0, len(m.frameworks))
	for id := range m.frameworks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		f := m.frameworks[id]
		var tasks, completed, offers []map[string]any
		for _, t := range f.tasks {
			tasks = append(tasks, stateTask(f, t))
		}
		for _, t := range f.completed {
			completed = append(completed, stateTask(f, t))
		}
		for _, o := range f.offers {
			offers = append(offers, map[string]any{
				"id": o.id, "framework_id": f.id, "slave_id": o.agent.id, "resources": stateResources(o.res),
			})
		}
		frameworks = append(frameworks, map[string]any{
			"id":               f.id,
			"name":             f.info.GetName(),
			"user":             f.info.GetUser(),
			"hostname":         f.info.GetHostname(),
			"webui_url":        f.info.GetWebuiUrl(),
			"principal":        f.info.GetPrincipal(),
			"roles":            f.roles,
			"active":           f.connected(),
			"connected":        f.connected(),
			"recovered":        false,
			"checkpoint":       f.info.GetCheckpoint(),
			"failover_timeout": f.info.GetFailoverTimeout(),
			"registered_time":  timestamp(f.registered),
			"tasks":            nonNil(tasks),
			"completed_tasks":  nonNil(completed),
			"offers":           nonNil(offers),
		})
	}
	out["frameworks"] = nonNil(frameworks)
	m.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func nonNil(s []map[string]any) []map[string]any {
	if s == nil {
		return []map[string]any{}
	}
	return s
}

func stateTask(f *framework, t *task) map[string]any {
	var statuses []map[string]any
	for _, s := range t.statuses {
		statuses = append(statuses, map[string]any{"state": s.GetState().String(), "timestamp": s.GetTimestamp()})
	}
	return map[string]any{
		"id":           t.id,
		"name":         t.info.GetName(),
		"framework_id": f.id,
		"executor_id":  "",
		"slave_id":     t.agent.id,
		"state":        t.state.String(),
		"resources":    stateResources(t.res),
		"statuses":     nonNil(statuses),
	}
}

// stateResources flattens resources the way /state prints them:
// {"cpus":2.0,"mem":496.0,"ports":"[9000-10000]"}.
func stateResources(p pool) map[string]any {
	out := map[string]any{}
	for _, r := range p.resources("") {
		switch r.GetType() {
		case mesos.Value_SCALAR:
			v, _ := out[r.GetName()].(float64)
			out[r.GetName()] = v + r.GetScalar().GetValue()
		case mesos.Value_RANGES:
			var rs []string
			for _, rg := range r.GetRanges().GetRange() {
				rs = append(rs, fmt.Sprintf("%d-%d", rg.GetBegin(), rg.GetEnd()))
			}
			out[r.GetName()] = "[" + strings.Join(rs, ", ") + "]"
		case mesos.Value_SET:
			out[r.GetName()] = "{" + strings.Join(r.GetSet().GetItem(), ", ") + "}"
		}
	}
	return out
}

// redirect is GET /master/redirect: 307 to the leader's base URL.
func (m *Master) redirect(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	leader := m.addr
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
