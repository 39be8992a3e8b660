package local

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// subscribe answers a valid SUBSCRIBE: 200 and the stream at once, then the
// master's checks, whose failures arrive as an ERROR event before the
// stream closes, as on a real master (§3.1).
func (m *Master) subscribe(w http.ResponseWriter, r *http.Request, call *mesos.Call, mediaType, principal string) {
	sub := newSubscription(mediaType, func(msg string, args ...any) { m.log.Warn(msg, args...) })
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Mesos-Stream-Id", sub.streamID)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	http.NewResponseController(w).Flush()

	m.mu.Lock()
	f, refusal := m.registerLocked(call, sub, principal)
	if refusal != "" {
		m.log.Info("subscription refused", "reason", logText(refusal))
		sub.send(&mesos.Event{Type: mesos.Event_ERROR.Enum(), Error: &mesos.Event_Error{Message: proto.String(refusal)}})
		sub.close()
	}
	m.mu.Unlock()
	if f != nil {
		m.triggerAllocation()
	}
	m.stream(w, r, sub, f)
}

// stream writes the subscription's events until it is closed by the master
// or the client goes away, and sends heartbeats meanwhile.
func (m *Master) stream(w http.ResponseWriter, r *http.Request, sub *subscription, f *framework) {
	rc := http.NewResponseController(w)
	sub.setAbortWrite(func() { rc.SetWriteDeadline(time.Now()) })
	defer sub.setAbortWrite(nil)
	heartbeat := time.NewTicker(m.cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	flush := func() bool {
		if b := sub.take(); len(b) > 0 {
			if _, err := w.Write(b); err != nil {
				return false
			}
			if rc.Flush() != nil {
				return false
			}
		}
		return !sub.aborted()
	}
	for {
		if !flush() {
			m.disconnected(f, sub)
			panic(http.ErrAbortHandler) // break the connection, no chunk terminator
		}
		select {
		case <-sub.notify:
		case <-heartbeat.C:
			if !m.heartbeatsStopped() {
				sub.heartbeat()
			}
		case <-sub.closed:
			if !flush() {
				panic(http.ErrAbortHandler)
			}
			return
		case <-r.Context().Done():
			m.disconnected(f, sub)
			return
		}
	}
}

// registerLocked runs the master's subscription checks and registers or
// fails over the framework. It returns the refusal message instead when a
// check fails. m.mu must be held.
func (m *Master) registerLocked(call *mesos.Call, sub *subscription, principal string) (*framework, string) {
	info := proto.CloneOf(call.GetSubscribe().GetFrameworkInfo())
	if msg := validateFrameworkInfo(info, call.GetSubscribe().GetSuppressedRoles()); msg != "" {
		return nil, msg
	}
	if info.Principal == nil && principal != "" {
		info.Principal = proto.String(principal)
	}
	id := info.GetId().GetValue()
	if id != "" && m.removedFrameworks[id] {
		return nil, "Framework has been removed"
	}

	f := m.frameworks[id]
	added := f == nil
	switch {
	case f != nil:
		if f.info.GetPrincipal() != info.GetPrincipal() {
			return nil, "Changing framework's principal is not allowed."
		}
		// Failover: the old stream is told and closed; outstanding offers
		// go back to the allocator without RESCIND events.
		if f.sub != nil {
			f.sub.send(&mesos.Event{Type: mesos.Event_ERROR.Enum(), Error: &mesos.Event_Error{Message: proto.String("Framework failed over")}})
			f.sub.close()
		}
		for _, o := range f.offers {
			m.discardOfferLocked(o)
		}
		// user and checkpoint cannot change: a re-subscribe keeps the old
		// values silently.
		info.User, info.Checkpoint = f.info.User, f.info.Checkpoint
		f.reregistered = time.Now()
		m.log.Info("framework failed over", "framework_id", id)
	case id != "":
		// Unknown but not removed: what a master sees after its own
		// failover. It re-creates the framework with that id.
		f = &framework{id: id, tasks: map[string]*task{}, offers: map[string]*offer{}, registered: time.Now()}
		m.frameworks[id] = f
		m.log.Info("framework re-registered", "framework_id", id)
	default:
		id = fmt.Sprintf("%s-%04d", m.id, m.nextFramework)
		m.nextFramework++
		info.Id = &mesos.FrameworkID{Value: proto.String(id)}
		f = &framework{id: id, tasks: map[string]*task{}, offers: map[string]*offer{}, registered: time.Now()}
		m.frameworks[id] = f
		m.log.Info("framework registered", "framework_id", id, "name", logText(info.GetName()))
	}
	if f.failoverTimer != nil {
		f.failoverTimer.Stop()
		f.failoverTimer = nil
	}
	f.info, f.principal, f.roles, f.sub = info, info.GetPrincipal(), rolesOf(info), sub
	f.suppressed = map[string]bool{}
	for _, r := range call.GetSubscribe().GetSuppressedRoles() {
		f.suppressed[r] = true
	}
	m.publishFrameworkLocked(f, added)

	sub.send(&mesos.Event{
		Type: mesos.Event_SUBSCRIBED.Enum(),
		Subscribed: &mesos.Event_Subscribed{
			FrameworkId:              &mesos.FrameworkID{Value: proto.String(id)},
			HeartbeatIntervalSeconds: proto.Float64(m.cfg.HeartbeatInterval.Seconds()),
			MasterInfo:               m.masterInfo(),
		},
	})
	sub.send(&mesos.Event{Type: mesos.Event_HEARTBEAT.Enum()})
	m.adoptRecoveredLocked(f)
	return f, ""
}

// validateFrameworkInfo checks what the master checks after answering 200
// (§3.1); it returns the ERROR message, or "".
func validateFrameworkInfo(info *mesos.FrameworkInfo, suppressed []string) string {
	multi := false
	for _, c := range info.GetCapabilities() {
		if c.GetType() == mesos.FrameworkInfo_Capability_MULTI_ROLE {
			multi = true
		}
	}
	if multi {
		if info.Role != nil {
			return "'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable"
		}
		seen := map[string]bool{}
		for _, r := range info.GetRoles() {
			if seen[r] {
				return "'FrameworkInfo.roles' contains duplicate role '" + r + "'"
			}
			seen[r] = true
			if msg := validateRole(r); msg != "" {
				return "'FrameworkInfo.roles' contains invalid role: " + msg
			}
		}
	} else {
		if len(info.GetRoles()) > 0 {
			return "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable"
		}
		if msg := validateRole(info.GetRole()); msg != "" {
			return "'FrameworkInfo.role' is not a valid role: " + msg
		}
	}
	if info.Id != nil {
		if msg := validateID(info.GetId().GetValue()); msg != "" {
			return "'FrameworkInfo.id' is not valid: " + msg
		}
	}
	if ft := info.GetFailoverTimeout(); math.IsNaN(ft) || math.IsInf(ft, 0) || ft < 0 || ft > math.MaxInt64/1e9 {
		return fmt.Sprintf("The framework failover_timeout (%v) is invalid", ft)
	}
	roles := rolesOf(info)
	var outside []string
	for _, r := range suppressed {
		if !slices.Contains(roles, r) {
			outside = append(outside, r)
		}
	}
	if len(outside) > 0 {
		return "Suppressed roles { " + strings.Join(outside, ", ") + " } are not contained in the set of roles"
	}
	return ""
}

// validateRole applies Mesos's role-name rules (src/common/roles.cpp).
func validateRole(role string) string {
	if role == "*" {
		return ""
	}
	if role == "" {
		return "role name cannot be empty"
	}
	if strings.HasPrefix(role, "/") || strings.HasSuffix(role, "/") || strings.Contains(role, "//") {
		return "role '" + role + "' cannot start or end with '/' or contain '//'"
	}
	for _, c := range strings.Split(role, "/") {
		switch {
		case c == "." || c == ".." || c == "*":
			return "role '" + role + "' cannot contain '" + c + "' as a component"
		case strings.HasPrefix(c, "-"):
			return "role '" + role + "' cannot have a component starting with '-'"
		case strings.ContainsAny(c, " \t\n\r\f\v\x7f"):
			return "role '" + role + "' cannot contain whitespace or DEL"
		}
	}
	return ""
}

// validateID applies Mesos's id rules (src/common/validation.cpp).
func validateID(id string) string {
	switch {
	case id == "":
		return "ID must not be empty"
	case len(id) > 255:
		return "ID must not be greater than 255 characters"
	case id == "." || id == "..":
		return "'" + id + "' is disallowed"
	}
	for _, c := range id {
		if c < 0x20 || c == 0x7f || c == '/' || c == '\\' {
			return "'" + id + "' contains invalid characters"
		}
	}
	return ""
}

// disconnected handles a subscription whose client went away: offers are
// rescinded (the events go nowhere) and the failover timer starts; with a
// failover_timeout of 0, the default, the framework is removed at once.
func (m *Master) disconnected(f *framework, sub *subscription) {
	if f == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || f.sub != sub {
		return // shutting down, or already failed over to a new stream
	}
	f.sub = nil
	for _, o := range f.offers {
		m.discardOfferLocked(o)
	}
	timeout := time.Duration(f.info.GetFailoverTimeout() * float64(time.Second))
	m.log.Info("framework disconnected", "framework_id", f.id, "failover_timeout", timeout)
	if timeout <= 0 {
		m.removeFrameworkLocked(f, "failover timeout 0")
		return
	}
	f.failoverTimer = time.AfterFunc(timeout, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.closed || f.sub != nil || m.frameworks[f.id] != f {
			return
		}
		m.removeFrameworkLocked(f, "failover timeout expired")
	})
}

// removeFrameworkLocked removes a framework as TEARDOWN does: its tasks are
// killed without updates, its offers dropped without RESCIND, its stream
// closed, and its id can never subscribe again. m.mu must be held.
func (m *Master) removeFrameworkLocked(f *framework, why string) {
	f.stopTimers()
	for _, o := range f.offers {
		m.discardOfferLocked(o)
	}
	for _, t := range sortedTasks(f) {
		if !mesos.IsTerminal(t.state) {
			if err := m.exec.Kill(f.id, t.id, 0); err != nil {
				m.log.Debug("kill task of removed framework", "task_id", t.id, "err", err)
			}
			t.state = mesos.TaskState_TASK_KILLED
			m.masterReceivedLocked(t, frameworkRemovedTaskStatus(f, t))
		}
		m.releaseTaskLocked(t)
	}
	if f.sub != nil {
		f.sub.close()
		f.sub = nil
	}
	delete(m.frameworks, f.id)
	f.unregistered = time.Now()
	m.completedFrameworks = append(m.completedFrameworks, f)
	if len(m.completedFrameworks) > completedFrameworksKept {
		m.completedFrameworks = slices.Delete(m.completedFrameworks, 0, len(m.completedFrameworks)-completedFrameworksKept)
	}
	m.removedFrameworks[f.id] = true
	m.publishFrameworkRemovedLocked(f)
	m.log.Info("framework removed", "framework_id", f.id, "reason", why)
}

// maxLogText bounds a client's string in a log line: a framework may name
// itself with megabytes, and the log would carry them all.
const maxLogText = 256

// logText is s for a log line, cut to maxLogText bytes (on a rune
// boundary) with its length said.
func logText(s string) string {
	if len(s) <= maxLogText {
		return s
	}
	cut := maxLogText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}
