package local

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/master"
)

// realmReadWrite is the realm of the operator API, /api/v1
// (READWRITE_HTTP_AUTHENTICATION_REALM in src/master/constants.hpp).
const realmReadWrite = "mesos-master-readwrite"

// operatorAPI is POST /api/v1, the v1 operator API. It checks a request in
// the order Master::Http::api (src/master/http.cpp) does; see
// docs/operator-api.md.
func (m *Master) operatorAPI(w http.ResponseWriter, r *http.Request) {
	if _, ok := m.authenticate(w, r, realmReadWrite); !ok {
		return
	}
	call := new(master.Call)
	if !m.readCall(w, r, call) {
		return
	}
	if reason := validateOperatorCall(call); reason != "" {
		textError(w, http.StatusBadRequest, "Failed to validate master::Call: "+reason)
		return
	}
	// Unlike the scheduler endpoint, Accept is checked for every call.
	accept, ok := negotiate(r.Header)
	if !ok {
		textError(w, http.StatusNotAcceptable, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'")
		return
	}

	typ := call.GetType()
	if typ == master.Call_SUBSCRIBE {
		m.operatorSubscribe(w, r, accept)
		return
	}
	if typ == master.Call_UNKNOWN {
		textError(w, http.StatusNotImplemented, "501 Not Implemented.")
		return
	}
	b, err := m.answerEncoded(call, accept)
	if errors.Is(err, errNotImplemented) {
		// Mesos implements every call it knows; the stand-in only what a
		// dashboard reads. Say so instead of pretending.
		textError(w, http.StatusNotImplemented, "The stand-in master does not implement "+typ.String())
		return
	}
	if err != nil {
		textError(w, http.StatusInternalServerError, "Failed to encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", accept)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// validateOperatorCall is validation::master::call::validate
// (src/master/validation.cpp) for the calls whose parameters our subset
// models; it returns the reason, or "" when the call is valid.
func validateOperatorCall(c *master.Call) string {
	if c.Type == nil {
		return "Expecting 'type' to be present"
	}
	need := func(present bool, field string) string {
		if present {
			return ""
		}
		return "Expecting '" + field + "' to be present"
	}
	switch c.GetType() {
	case master.Call_GET_METRICS:
		return need(c.GetMetrics != nil, "get_metrics")
	case master.Call_SET_LOGGING_LEVEL:
		return need(c.SetLoggingLevel != nil, "set_logging_level")
	case master.Call_LIST_FILES:
		return need(c.ListFiles != nil, "list_files")
	case master.Call_READ_FILE:
		return need(c.ReadFile != nil, "read_file")
	case master.Call_UPDATE_WEIGHTS:
		return need(c.UpdateWeights != nil, "update_weights")
	case master.Call_RESERVE_RESOURCES:
		return need(c.ReserveResources != nil, "reserve_resources")
	case master.Call_UNRESERVE_RESOURCES:
		return need(c.UnreserveResources != nil, "unreserve_resources")
	case master.Call_CREATE_VOLUMES:
		return need(c.CreateVolumes != nil, "create_volumes")
	case master.Call_DESTROY_VOLUMES:
		return need(c.DestroyVolumes != nil, "destroy_volumes")
	case master.Call_GROW_VOLUME:
		return need(c.GrowVolume != nil, "grow_volume")
	case master.Call_SHRINK_VOLUME:
		return need(c.ShrinkVolume != nil, "shrink_volume")
	case master.Call_DEACTIVATE_AGENT:
		return need(c.DeactivateAgent != nil, "deactivate_agent")
	case master.Call_REACTIVATE_AGENT:
		return need(c.ReactivateAgent != nil, "reactivate_agent")
	case master.Call_TEARDOWN:
		return need(c.Teardown != nil, "teardown")
	case master.Call_MARK_AGENT_GONE:
		return need(c.MarkAgentGone != nil, "mark_agent_gone")
	}
	return ""
}

// errNotImplemented is a call Mesos knows and the stand-in does not serve.
var errNotImplemented = errors.New("not implemented")

// answerEncoded answers a read call in the media type. It encodes under the
// master's lock: the answer shares messages the master changes later.
func (m *Master) answerEncoded(call *master.Call, mediaType string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	resp := m.answerLocked(call)
	if resp == nil {
		return nil, errNotImplemented
	}
	return mesos.Marshal(mediaType, resp)
}

// answerLocked builds the response to a read call, or nil for a call the
// stand-in does not implement. m.mu must be held.
func (m *Master) answerLocked(call *master.Call) *master.Response {
	switch call.GetType() {
	case master.Call_GET_HEALTH:
		return &master.Response{Type: master.Response_GET_HEALTH.Enum(),
			GetHealth: &master.Response_GetHealth{Healthy: proto.Bool(true)}}
	case master.Call_GET_FLAGS:
		return &master.Response{Type: master.Response_GET_FLAGS.Enum(),
			GetFlags: &master.Response_GetFlags{Flags: m.flagsLocked()}}
	case master.Call_GET_VERSION:
		return &master.Response{Type: master.Response_GET_VERSION.Enum(),
			GetVersion: &master.Response_GetVersion{VersionInfo: versionInfo()}}
	case master.Call_GET_METRICS:
		return &master.Response{Type: master.Response_GET_METRICS.Enum(),
			GetMetrics: &master.Response_GetMetrics{Metrics: m.metricsLocked()}}
	case master.Call_GET_STATE:
		return &master.Response{Type: master.Response_GET_STATE.Enum(), GetState: m.getStateLocked()}
	case master.Call_GET_AGENTS:
		return &master.Response{Type: master.Response_GET_AGENTS.Enum(), GetAgents: m.getAgentsLocked()}
	case master.Call_GET_FRAMEWORKS:
		return &master.Response{Type: master.Response_GET_FRAMEWORKS.Enum(), GetFrameworks: m.getFrameworksLocked()}
	case master.Call_GET_EXECUTORS:
		return &master.Response{Type: master.Response_GET_EXECUTORS.Enum(), GetExecutors: m.getExecutorsLocked()}
	case master.Call_GET_TASKS:
		return &master.Response{Type: master.Response_GET_TASKS.Enum(), GetTasks: m.getTasksLocked()}
	case master.Call_GET_ROLES:
		return &master.Response{Type: master.Response_GET_ROLES.Enum(), GetRoles: m.getRolesLocked()}
	case master.Call_GET_MASTER:
		return &master.Response{Type: master.Response_GET_MASTER.Enum(), GetMaster: &master.Response_GetMaster{
			MasterInfo:  m.masterInfo(),
			StartTime:   proto.Float64(timestamp(m.started)),
			ElectedTime: proto.Float64(timestamp(m.started)),
		}}
	}
	return nil
}

// versionInfo is what GET_VERSION reports.
func versionInfo() *mesos.VersionInfo {
	return &mesos.VersionInfo{
		Version:   proto.String(Version),
		BuildUser: proto.String("offerdeck"),
		GitSha:    proto.String("offerdeck-stand-in"),
		GitTag:    proto.String(Version),
	}
}

// flagsLocked lists the master flags the stand-in has an answer for, by
// name, with values written as Mesos writes them.
func (m *Master) flagsLocked() []*mesos.Flag {
	auth := strconv.FormatBool(len(m.cfg.Credentials) > 0)
	flags := map[string]string{
		"allocation_interval":                   stoutDuration(m.cfg.AllocationInterval),
		"authenticate_http_frameworks":          auth,
		"authenticate_http_readonly":            auth,
		"authenticate_http_readwrite":           auth,
		"hostname":                              m.cfg.Hostname,
		"max_completed_tasks_per_framework":     strconv.Itoa(completedTasksKept),
		"max_operator_event_stream_subscribers": strconv.Itoa(maxOperatorSubscribers),
		"version":                               "false",
	}
	if m.cfg.OfferTimeout > 0 {
		flags["offer_timeout"] = stoutDuration(m.cfg.OfferTimeout)
	}
	if m.cfg.ZooKeeper != "" {
		flags["zk"] = m.cfg.ZooKeeper
	}
	names := make([]string, 0, len(flags))
	for n := range flags {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]*mesos.Flag, 0, len(names))
	for _, n := range names {
		out = append(out, &mesos.Flag{Name: proto.String(n), Value: proto.String(flags[n])})
	}
	return out
}

// stoutDuration writes d as stout's Duration does: in the largest unit
// that is at least one, e.g. "1secs", "500ms", "2mins", "1.5hrs".
func stoutDuration(d time.Duration) string {
	units := []struct {
		name string
		size time.Duration
	}{{"weeks", 7 * 24 * time.Hour}, {"days", 24 * time.Hour}, {"hrs", time.Hour}, {"mins", time.Minute},
		{"secs", time.Second}, {"ms", time.Millisecond}, {"us", time.Microsecond}}
	for _, u := range units {
		if d >= u.size {
			return strconv.FormatFloat(float64(d)/float64(u.size), 'g', -1, 64) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// metricsLocked is a small part of the master's /metrics/snapshot, under
// the names Mesos uses (src/master/metrics.cpp), sorted by name.
func (m *Master) metricsLocked() []*mesos.Metric {
	vals := map[string]float64{
		"master/elected":                           1,
		"master/uptime_secs":                       time.Since(m.started).Seconds(),
		"master/operator_event_stream_subscribers": float64(len(m.operators.subs)),
		"master/outstanding_offers":                float64(len(m.offers)),
		"master/frameworks_active":                 0,
		"master/frameworks_connected":              0,
		"master/frameworks_disconnected":           0,
		"master/slaves_active":                     0,
		"master/slaves_connected":                  0,
		"master/slaves_unreachable":                0,
	}
	for _, f := range m.frameworks {
		if f.connected() {
			vals["master/frameworks_active"]++
			vals["master/frameworks_connected"]++
		} else {
			vals["master/frameworks_disconnected"]++
		}
		for _, t := range f.tasks {
			vals["master/tasks_"+taskMetricName(t.state)]++
		}
	}
	var total, used pool
	for _, a := range m.agentOrder {
		switch {
		case a.gone:
			continue
		case a.partitioned:
			vals["master/slaves_unreachable"]++
			continue
		}
		vals["master/slaves_active"]++
		vals["master/slaves_connected"]++
		total = total.add(a.total)
		for _, t := range a.tasks {
			if !t.released {
				used = used.add(t.res)
			}
		}
	}
	for _, r := range []string{"cpus", "mem", "disk", "gpus"} {
		vals["master/"+r+"_total"] = total.scalar(r)
		vals["master/"+r+"_used"] = used.scalar(r)
		pct := 0.0
		if t := total.scalar(r); t > 0 {
			pct = used.scalar(r) / t
		}
		vals["master/"+r+"_percent"] = pct
	}
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]*mesos.Metric, 0, len(names))
	for _, n := range names {
		out = append(out, &mesos.Metric{Name: proto.String(n), Value: proto.Float64(vals[n])})
	}
	return out
}

// taskMetricName is a task state as the master's task gauges name it:
// TASK_RUNNING is "running".
func taskMetricName(s mesos.TaskState) string {
	name := s.String()
	if len(name) > 5 {
		name = name[5:]
	}
	b := []byte(name)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
