package local

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local/internal/answer"
)

// The stand-in's agents all live on the master's port. A real agent's
// endpoints are those of its libprocess process, "slave(1)" on its own
// host; here each agent is a process of its own, slave(N) for the Nth to
// register, so a tool that reads an agent's pid (slave(2)@host:port) from
// /master/state and asks http://host:port/slave(2)/state reaches the right
// one, as the Mesos web UI does.

// processID is the agent's libprocess id, the part of its pid before '@'.
func (a *agent) processID() string { return "slave(" + strconv.Itoa(a.seq+1) + ")" }

var agentEndpointPath = regexp.MustCompile(`^/slave\(([0-9]{1,9})\)(/.*)$`)

// agentEndpoints serves /slave(N)/state, /slave(N)/monitor/statistics and
// /slave(N)/files/... for the agent with that process id.
func (m *Master) agentEndpoints(w http.ResponseWriter, r *http.Request) {
	sm := agentEndpointPath.FindStringSubmatch(r.URL.Path)
	if sm == nil {
		http.NotFound(w, r)
		return
	}
	m.mu.Lock()
	var a *agent
	for _, x := range m.agentOrder {
		if x.processID() == "slave("+sm[1]+")" && !x.gone {
			a = x
		}
	}
	if a == nil {
		m.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	switch rest := sm[2]; {
	case rest == "/state":
		out := m.agentState(a)
		m.mu.Unlock()
		answer.JSON(w, r, out)
	case rest == "/monitor/statistics":
		out := m.agentStatistics(a)
		m.mu.Unlock()
		answer.JSON(w, r, out)
	case strings.HasPrefix(rest, "/files/"):
		id := a.id
		m.mu.Unlock()
		http.StripPrefix("/"+a.processID(), m.exec.FilesHandler(id)).ServeHTTP(w, r)
	default:
		m.mu.Unlock()
		http.NotFound(w, r)
	}
}

// agentState is an agent's GET /state (src/slave/http.cpp, Http::state):
// its resources, attributes and flags, and per framework the executors
// that run its tasks (a command task runs in an executor of its own,
// named after it).
func (m *Master) agentState(a *agent) map[string]any {
	used, _ := m.agentUsage(a)
	reserved, reservedFull, reservedUsed := map[string]any{}, map[string]any{}, map[string]any{}
	for _, role := range a.total.roles() {
		if role != "*" {
			reserved[role] = stateResources(a.total.forRoles(role))
			reservedFull[role] = resourcesJSON(a.total.forRoles(role))
			reservedUsed[role] = stateResources(used.forRoles(role))
		}
	}
	var frameworks, completed []map[string]any
	for _, f := range m.sortedFrameworks() {
		if fw := agentFramework(a, f); fw != nil {
			frameworks = append(frameworks, fw)
		}
	}
	for _, f := range m.completedFrameworks {
		if fw := agentFramework(a, f); fw != nil {
			completed = append(completed, fw)
		}
	}
	return map[string]any{
		"version":                        Version,
		"build_date":                     buildDate,
		"build_time":                     timestamp(buildTime),
		"build_user":                     buildUser,
		"start_time":                     timestamp(a.registered),
		"id":                             a.id,
		"pid":                            a.processID() + "@" + m.addr,
		"hostname":                       a.hostname,
		"capabilities":                   agentCapabilityNames(),
		"resources":                      stateResources(a.total),
		"reserved_resources":             reserved,
		"unreserved_resources":           stateResources(a.total.forRoles("*")),
		"reserved_resources_full":        reservedFull,
		"unreserved_resources_full":      resourcesJSON(a.total.forRoles("*")),
		"reserved_resources_allocated":   reservedUsed,
		"unreserved_resources_allocated": stateResources(used.forRoles("*")),
		"resource_providers":             []any{},
		"attributes":                     stateAttributes(a.attributes),
		"master_hostname":                m.cfg.Hostname,
		"flags":                          map[string]string{"hostname": a.hostname, "port": "5051", "work_dir": "/frameworks"},
		"frameworks":                     nonNil(frameworks),
		"completed_frameworks":           nonNil(completed),
	}
}

// agentFramework is FrameworkWriter (src/slave/http.cpp) for the tasks f
// has on a; nil when it has none there.
func agentFramework(a *agent, f *framework) map[string]any {
	var executors, done []map[string]any
	for _, t := range sortedTasks(f) {
		if t.agent == a {
			executors = append(executors, agentExecutor(f, t))
		}
	}
	for _, t := range f.completed {
		if t.agent == a {
			done = append(done, agentExecutor(f, t))
		}
	}
	if executors == nil && done == nil {
		return nil
	}
	out := map[string]any{
		"id":                  f.id,
		"name":                f.info.GetName(),
		"user":                f.info.GetUser(),
		"failover_timeout":    f.info.GetFailoverTimeout(),
		"checkpoint":          f.info.GetCheckpoint(),
		"hostname":            f.info.GetHostname(),
		"executors":           nonNil(executors),
		"completed_executors": nonNil(done),
	}
	frameworkIdentity(out, f)
	return out
}

// agentExecutor is ExecutorWriter (src/slave/http.cpp) for the executor
// that runs t; its directory is the sandbox path /files serves.
func agentExecutor(f *framework, t *task) map[string]any {
	task := stateTask(f, t)
	var tasks, completed []map[string]any
	if mesos.IsTerminal(t.state) {
		completed = append(completed, task)
	} else {
		tasks = append(tasks, task)
	}
	return map[string]any{
		"id":              t.executorID,
		"name":            executorName(t),
		"source":          t.id,
		"container":       t.containerID,
		"directory":       "/frameworks/" + f.id + "/executors/" + t.executorID + "/runs/latest",
		"resources":       stateResources(t.res),
		"tasks":           nonNil(tasks),
		"queued_tasks":    []any{},
		"completed_tasks": nonNil(completed),
	}
}

// executorName is what an agent names a command task's executor
// (src/slave/slave.cpp, getExecutorInfo): the task id and the command, cut
// to 12 bytes and "..." beyond 15.
func executorName(t *task) string {
	if t.info.GetExecutor() != nil {
		return t.info.GetExecutor().GetName()
	}
	cut := func(s string) string {
		if len(s) > 15 {
			return s[:12] + "..."
		}
		return s
	}
	name := "Command Executor (Task: " + t.id + ") "
	cmd := t.info.GetCommand()
	switch {
	case cmd.GetShell() && cmd.Value == nil:
		name += "(Command: NO COMMAND)"
	case cmd.GetShell():
		name += "(Command: sh -c '" + cut(cmd.GetValue()) + "')"
	case cmd.Value == nil:
		name += "(Command: NO EXECUTABLE)"
	default:
		name += "(Command: [" + cut(cmd.GetValue()+", "+strings.Join(cmd.GetArguments(), ", ")) + "])"
	}
	return name
}

// agentStatistics is GET /monitor/statistics (Http::_statistics): per
// executor of a live task, its limits at this moment. The stand-in does
// not measure usage, so only the limits and the time are given.
func (m *Master) agentStatistics(a *agent) []map[string]any {
	out := []map[string]any{}
	now := timestamp(time.Now())
	for _, f := range m.sortedFrameworks() {
		for _, t := range sortedTasks(f) {
			if t.agent != a || mesos.IsTerminal(t.state) {
				continue
			}
			out = append(out, map[string]any{
				"framework_id":  f.id,
				"executor_id":   t.executorID,
				"executor_name": executorName(t),
				"source":        t.id,
				"statistics": map[string]any{
					"timestamp":       now,
					"cpus_limit":      t.res.scalar("cpus"),
					"mem_limit_bytes": uint64(t.res.scalar("mem")) << 20,
				},
			})
		}
	}
	return out
}
