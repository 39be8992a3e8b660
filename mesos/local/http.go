package local

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// routes serves the master's endpoints and the agents' sandbox files. The
// bare and /master/ paths both work, as on a real master.
func (m *Master) routes() http.Handler {
	mux := http.NewServeMux()
	for _, prefix := range []string{"", "/master"} {
		// The scheduler endpoint authenticates itself: it needs the
		// principal for its own checks.
		mux.HandleFunc(prefix+"/api/v1/scheduler", m.scheduler)
		// So does the operator API: its realm is the read-write one.
		mux.HandleFunc(prefix+"/api/v1", m.operatorAPI)
		mux.Handle(prefix+"/state", m.guard(realmReadOnly, m.state))
		mux.Handle(prefix+"/redirect", m.guard(realmReadOnly, m.redirect))
		mux.Handle(prefix+"/frameworks", m.guard(realmReadOnly, m.leaderOnly(m.frameworksEndpoint)))
		mux.Handle(prefix+"/slaves", m.guard(realmReadOnly, m.leaderOnly(m.slavesEndpoint)))
		mux.Handle(prefix+"/state-summary", m.guard(realmReadOnly, m.leaderOnly(m.stateSummary)))
		mux.Handle(prefix+"/tasks", m.guard(realmReadOnly, m.leaderOnly(m.tasksEndpoint)))
		mux.Handle(prefix+"/roles", m.guard(realmReadOnly, m.leaderOnly(m.rolesEndpoint)))
		mux.Handle(prefix+"/flags", m.guard(realmReadOnly, m.flagsEndpoint))
		mux.Handle(prefix+"/maintenance/schedule", m.guard(realmReadOnly, m.leaderOnly(m.maintenanceSchedule)))
		mux.HandleFunc(prefix+"/health", func(w http.ResponseWriter, r *http.Request) {})
		mux.HandleFunc(prefix+"/version", m.version)
	}
	mux.Handle("/metrics/snapshot", m.guard(realmReadOnly, m.metricsSnapshot))
	// Sandboxes hold what tasks print and their environment: with
	// credentials configured, they are read only with them.
	files := m.guard(realmAgentReadOnly, m.files)
	mux.Handle("/files/", files)
	if m.cfg.FaultAPI {
		mux.HandleFunc(faultPrefix, m.faultAPI)
	}
	// Anything else is answered 404, but only to those who may know what
	// is here.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/slave(") {
			m.guard(realmAgentReadOnly, m.agentEndpoints).ServeHTTP(w, r)
			return
		}
		m.guard(realmReadOnly, http.NotFound).ServeHTTP(w, r)
	})
	return normalizePath(mux)
}

// normalizePath routes a request as libprocess does
// (3rdparty/libprocess/src/process.cpp): the path is split at every '/'
// with empty parts dropped, so "//api/v1/scheduler" and
// "/api/v1/scheduler/" reach the same endpoint as "/api/v1/scheduler",
// where Go's ServeMux would answer a redirect or 404.
func normalizePath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.Contains(p, "//") || (len(p) > 1 && strings.HasSuffix(p, "/") && !strings.HasSuffix(p, "/files/")) {
			parts := strings.FieldsFunc(p, func(c rune) bool { return c == '/' })
			r2 := *r
			u := *r.URL
			u.Path, u.RawPath = "/"+strings.Join(parts, "/"), ""
			r2.URL = &u
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

// The realms a 401 names, as Mesos's master and agent name theirs.
const (
	realmScheduler     = "mesos-master-scheduler"
	realmReadOnly      = "mesos-master-readonly"
	realmAgentReadOnly = "mesos-agent-readonly"
)

// leaderOnly answers as a follower would (307 to the leader) when the
// master has stepped down, as the leader-only endpoints do on a real
// master.
func (m *Master) leaderOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !m.answerAsFollower(w, r) {
			h(w, r)
		}
	}
}

// guard answers 401 before h runs unless the request carries valid
// credentials, when the master has any. Only /health and /version are left
// open, as liveness probes need them.
func (m *Master) guard(realm string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := m.authenticate(w, r, realm); ok {
			h(w, r)
		}
	})
}

// sandboxPath picks the framework and executor out of a virtual sandbox
// path, /frameworks/<fid>/executors/<eid>/runs/...
var sandboxPath = regexp.MustCompile(`^/frameworks/([^/]+)/executors/([^/]+)/`)

// files serves the agents' /files endpoints. Every simulated agent lives on
// the master's port, so the request goes to the agent that holds the
// sandbox named in its path.
func (m *Master) files(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	agents := make([]string, 0, len(m.agentOrder))
	for _, a := range m.agentOrder {
		agents = append(agents, a.id)
	}
	m.mu.Unlock()
	if len(agents) == 0 {
		http.NotFound(w, r)
		return
	}
	owner := agents[0]
	if sm := sandboxPath.FindStringSubmatch(r.URL.Query().Get("path")); sm != nil {
		if id, ok := m.exec.SandboxOwner(agents, sm[1], sm[2]); ok {
			owner = id
		}
	}
	m.exec.FilesHandler(owner).ServeHTTP(w, r)
}

// textError answers with a plain-text body, as libprocess does.
func textError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(status)
	io.WriteString(w, msg)
}

// authenticate checks HTTP basic credentials when authentication is on and
// returns the principal ("" when off). A false ok means 401 was answered,
// naming realm.
//
// The decoded "principal:secret" is split at its first colon. Mesos's basic
// authenticator splits at every colon and wants exactly two parts, so a
// secret with a colon can never log in there; principals cannot contain a
// colon (New refuses them), so the first colon is always the separator
// and a secret with colons works here.
func (m *Master) authenticate(w http.ResponseWriter, r *http.Request, realm string) (principal string, ok bool) {
	if len(m.cfg.Credentials) == 0 {
		return "", true
	}
	scheme, payload, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if found && scheme == "Basic" {
		if raw, err := base64.StdEncoding.DecodeString(payload); err == nil {
			if name, given, found := strings.Cut(string(raw), ":"); found {
				if secret, known := m.cfg.Credentials[name]; known && subtle.ConstantTimeCompare([]byte(secret), []byte(given)) == 1 {
					return name, true
				}
			}
		}
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
	textError(w, http.StatusUnauthorized, "401 Unauthorized.")
	return "", false
}

// scheduler is POST /api/v1/scheduler. It checks a request in the order the
// real master does (mesos-api.md §1.4), so the first failing check picks
// the answer.
func (m *Master) scheduler(w http.ResponseWriter, r *http.Request) {
	principal, ok := m.authenticate(w, r, realmScheduler)
	if !ok {
		return
	}
	call := new(mesos.Call)
	if !m.readCall(w, r, call) {
		return
	}
	if reason := validateCall(call, principal); reason != "" {
		textError(w, http.StatusBadRequest, "Failed to validate scheduler::Call: "+reason)
		return
	}

	if call.GetType() == mesos.Call_SUBSCRIBE {
		accept, ok := negotiate(r.Header)
		if !ok {
			textError(w, http.StatusNotAcceptable, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'")
			return
		}
		if r.Header.Get("Mesos-Stream-Id") != "" {
			textError(w, http.StatusBadRequest, "Subscribe calls should not include the 'Mesos-Stream-Id' header")
			return
		}
		m.subscribe(w, r, call, accept, principal)
		return
	}
	if call.GetType() == mesos.Call_RECONCILE_OPERATIONS {
		if _, ok := negotiate(r.Header); !ok {
			textError(w, http.StatusNotAcceptable, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'")
			return
		}
	}
	status, msg := m.handleCall(call, principal, r.Header.Get("Mesos-Stream-Id"))
	if status != http.StatusAccepted && status != http.StatusOK {
		textError(w, status, msg)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

// validateCall is the master's semantic validation of a call (§1.4 step
// 10); it returns the reason, or "" when the call is valid.
func validateCall(c *mesos.Call, principal string) string {
	if c.Type == nil {
		return "Expecting 'type' to be present"
	}
	if c.GetType() == mesos.Call_SUBSCRIBE {
		if c.Subscribe == nil {
			return "Expecting 'subscribe' to be present"
		}
		fi := c.GetSubscribe().GetFrameworkInfo()
		if (c.FrameworkId == nil) != (fi.Id == nil) || (c.FrameworkId != nil && c.GetFrameworkId().GetValue() != fi.GetId().GetValue()) {
			return "'framework_id' differs from 'subscribe.framework_info.id'"
		}
		if principal != "" && fi.Principal != nil && fi.GetPrincipal() != principal {
			return fmt.Sprintf("Authenticated principal '%s' does not match principal '%s' set in `FrameworkInfo`", principal, fi.GetPrincipal())
		}
		return ""
	}
	if c.FrameworkId == nil {
		return "Expecting 'framework_id' to be present"
	}
	missing := func(present bool, field string) string {
		if present {
			return ""
		}
		return "Expecting '" + field + "' to be present"
	}
	switch c.GetType() {
	case mesos.Call_ACCEPT:
		return missing(c.Accept != nil, "accept")
	case mesos.Call_DECLINE:
		return missing(c.Decline != nil, "decline")
	case mesos.Call_ACCEPT_INVERSE_OFFERS:
		return missing(c.AcceptInverseOffers != nil, "accept_inverse_offers")
	case mesos.Call_DECLINE_INVERSE_OFFERS:
		return missing(c.DeclineInverseOffers != nil, "decline_inverse_offers")
	case mesos.Call_KILL:
		return missing(c.Kill != nil, "kill")
	case mesos.Call_SHUTDOWN:
		return missing(c.Shutdown != nil, "shutdown")
	case mesos.Call_ACKNOWLEDGE:
		if c.Acknowledge == nil {
			return "Expecting 'acknowledge' to be present"
		}
		if len(c.GetAcknowledge().GetUuid()) != 16 {
			return "Not a valid UUID"
		}
	case mesos.Call_ACKNOWLEDGE_OPERATION_STATUS:
		if c.AcknowledgeOperationStatus == nil {
			return "Expecting 'acknowledge_operation_status' to be present"
		}
		if len(c.GetAcknowledgeOperationStatus().GetUuid()) != 16 {
			return "Not a valid UUID"
		}
	case mesos.Call_RECONCILE:
		return missing(c.Reconcile != nil, "reconcile")
	case mesos.Call_RECONCILE_OPERATIONS:
		return missing(c.ReconcileOperations != nil, "reconcile_operations")
	case mesos.Call_MESSAGE:
		return missing(c.Message != nil, "message")
	case mesos.Call_REQUEST:
		return missing(c.Request != nil, "request")
	case mesos.Call_UPDATE_FRAMEWORK:
		if c.UpdateFramework == nil {
			return "Expecting 'update_framework' to be present"
		}
		if c.GetUpdateFramework().GetFrameworkInfo().GetId().GetValue() != c.GetFrameworkId().GetValue() {
			return "'framework_id' differs from 'update_framework.framework_info.id'"
		}
	}
	return ""
}

// negotiate picks the media type of a stream as the master does
// (src/master/http.cpp): JSON if the request accepts it, else protobuf,
// else none (406).
func negotiate(h http.Header) (string, bool) {
	switch {
	case acceptsMediaType(h, mesos.MediaTypeJSON):
		return mesos.MediaTypeJSON, true
	case acceptsMediaType(h, mesos.MediaTypeProtobuf):
		return mesos.MediaTypeProtobuf, true
	}
	return "", false
}

// acceptsMediaType follows libprocess's Request::_acceptsMediaType
// (3rdparty/libprocess/src/http.cpp): no Accept header accepts
// everything; otherwise the most specific entry that names the type
// decides (type/subtype, then type/*, then */*), and it accepts unless its
// q is zero or not a number. So "application/json;q=0, */*" wants
// protobuf, not JSON.
func acceptsMediaType(h http.Header, mediaType string) bool {
	values, present := h["Accept"]
	if !present {
		return true
	}
	major, _, ok := strings.Cut(mediaType, "/")
	if !ok {
		return false
	}
	accept := strings.Join(values, ",")
	accept = strings.NewReplacer(" ", "", "\t", "", "\n", "").Replace(accept)
	for _, candidate := range []string{mediaType, major + "/*", "*/*"} {
		for _, entry := range strings.Split(accept, ",") {
			params := strings.Split(entry, ";")
			if params[0] == "" || !strings.EqualFold(params[0], candidate) {
				continue
			}
			var qs []string
			for _, p := range params[1:] {
				if k, v, ok := strings.Cut(p, "="); ok && k == "q" && !strings.Contains(v, "=") {
					qs = append(qs, v)
				}
			}
			if len(qs) != 1 {
				return true // no q, or more than one: accepted
			}
			q, err := strconv.ParseFloat(qs[0], 64)
			return err == nil && q > 0
		}
	}
	return false
}

// readCall reads a POSTed call into msg in the order both of the master's
// APIs check a request (src/master/http.cpp): a follower answers for the
// leader, then the method, the Content-Type, the body's size and its
// decoding. It reports false when it answered the request instead.
func (m *Master) readCall(w http.ResponseWriter, r *http.Request, msg proto.Message) bool {
	if m.answerAsFollower(w, r) {
		return false
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		textError(w, http.StatusMethodNotAllowed, fmt.Sprintf("405 Method Not Allowed. Expecting one of { 'POST' }, but received '%s'.", r.Method))
		return false
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		textError(w, http.StatusBadRequest, "Expecting 'Content-Type' to be present")
		return false
	}
	if ct != mesos.MediaTypeJSON && ct != mesos.MediaTypeProtobuf {
		textError(w, http.StatusUnsupportedMediaType, "Expecting 'Content-Type' of application/json or application/x-protobuf")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			textError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body exceeds %d bytes", maxBody))
			return false
		}
		textError(w, http.StatusBadRequest, "Failed to read body: "+err.Error())
		return false
	}
	if err := mesos.Unmarshal(ct, body, msg); err != nil {
		var syntax *mesos.SyntaxError
		switch {
		case ct == mesos.MediaTypeProtobuf:
			textError(w, http.StatusBadRequest, "Failed to parse body into Call protobuf")
		case errors.As(err, &syntax):
			textError(w, http.StatusBadRequest, "Failed to parse body into JSON: "+syntax.Error())
		default:
			textError(w, http.StatusBadRequest, "Failed to convert JSON into Call protobuf: "+err.Error())
		}
		return false
	}
	return true
}
