package local

import (
	"fmt"
	"net/http"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// handleCall runs the checks a call meets after validation (§1.4 steps 14
// to 22) and then the call itself. It returns the HTTP status and, for
// errors, the message.
func (m *Master) handleCall(call *mesos.Call, principal, streamID string) (int, string) {
	if d := m.responseDelay(); d > 0 {
		sleep(d)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id := call.GetFrameworkId().GetValue()
	f := m.frameworks[id]
	switch {
	case f == nil:
		return http.StatusBadRequest, "Framework cannot be found"
	case principal != "" && f.principal != principal:
		return http.StatusBadRequest, fmt.Sprintf("Authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`", principal, f.principal)
	case f.sub == nil:
		return http.StatusForbidden, "Framework is not subscribed"
	case streamID == "":
		return http.StatusBadRequest, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
	case streamID != f.sub.streamID:
		return http.StatusBadRequest, fmt.Sprintf("The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s", streamID, id)
	}

	if m.dropLocked(call.GetType()) {
		return http.StatusAccepted, ""
	}
	switch call.GetType() {
	case mesos.Call_UNKNOWN:
		return http.StatusNotImplemented, "501 Not Implemented."
	case mesos.Call_TEARDOWN:
		m.removeFrameworkLocked(f, "teardown")
	case mesos.Call_ACCEPT:
		m.acceptLocked(f, call.GetAccept())
	case mesos.Call_DECLINE:
		m.declineLocked(f, call.GetDecline())
	case mesos.Call_REVIVE:
		m.reviveLocked(f, call.GetRevive().GetRoles())
	case mesos.Call_SUPPRESS:
		m.suppressLocked(f, call.GetSuppress().GetRoles())
	case mesos.Call_KILL:
		m.killLocked(f, call.GetKill())
	case mesos.Call_ACKNOWLEDGE:
		m.acknowledgeLocked(f, call.GetAcknowledge())
	case mesos.Call_RECONCILE:
		m.reconcileLocked(f, call.GetReconcile())
	case mesos.Call_UPDATE_FRAMEWORK:
		m.updateFrameworkLocked(f, call.GetUpdateFramework())
		return http.StatusOK, ""
	default:
		// SHUTDOWN, MESSAGE, REQUEST, inverse offers and operation
		// feedback: accepted, and nothing in the stand-in acts on them.
		m.log.Debug("call accepted without effect", "type", call.GetType().String(), "framework_id", id)
	}
	return http.StatusAccepted, ""
}

// updateFrameworkLocked applies UPDATE_FRAMEWORK's mutable fields; offers of
// roles that were dropped are rescinded.
func (m *Master) updateFrameworkLocked(f *framework, u *mesos.Call_UpdateFramework) {
	info := u.GetFrameworkInfo()
	info.User, info.Checkpoint, info.Principal = f.info.User, f.info.Checkpoint, f.info.Principal
	changed := !proto.Equal(info, f.info)
	f.info, f.roles = info, rolesOf(info)
	if changed {
		m.publishFrameworkLocked(f, false)
	}
	f.suppressed = map[string]bool{}
	for _, r := range u.GetSuppressedRoles() {
		f.suppressed[r] = true
	}
	for _, o := range f.offers {
		if !m.knownRoles(f, []string{o.role}) {
			m.rescindOfferLocked(o)
		}
	}
}
