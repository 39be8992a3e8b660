package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The fault API lets a test or a presenter outside the process break the
// stand-in the way clusters break, over HTTP: it is what the Go fault
// methods do, served under /faults/ when Config.FaultAPI is set. It is not
// part of Mesos's API and no real master has it. Every call is a POST with
// the master's credentials (when it has any) and answers JSON:
//
//	POST /faults/agents                  body: one AgentConfig; adds an agent  → {"agent_id": "..."}
//	POST /faults/agents/{id}/remove      the agent stops answering health checks → {"agent_id": "..."}
//	POST /faults/agents/{id}/partition   a network partition cuts the agent off
//	POST /faults/agents/{id}/heal        the partition ends
//	POST /faults/offers/rescind          every outstanding offer is rescinded   → {"rescinded": n}
//	POST /faults/streams/cut             every subscription's connection breaks → {"cut": n}
//	POST /faults/failover                the master fails over (new master id)
//	POST /faults/frameworks              body: one NeighbourConfig; starts another framework → {"framework_id": "..."}
//	POST /faults/frameworks/{id}/teardown  that framework tears itself down (TEARDOWN)
const (
	faultPrefix = "/faults/"
	// maxFaultBody bounds the one body the fault API reads: an agent's
	// configuration.
	maxFaultBody = 64 << 10
	realmFaults  = "offerdeck-local-faults"
)

// faults serves the fault API.
func (m *Master) faultAPI(w http.ResponseWriter, r *http.Request) {
	if _, ok := m.authenticate(w, r, realmFaults); !ok {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		textError(w, http.StatusMethodNotAllowed, "the fault API takes POST")
		return
	}
	// A browser that once logged in could be made to post here from
	// another site: only same-origin or non-browser callers are served.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		textError(w, http.StatusForbidden, "cross-site request refused")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, faultPrefix)
	var (
		out any
		err error
	)
	switch {
	case path == "agents":
		var ac AgentConfig
		if !decodeOne(w, r, &ac, "agent") {
			return
		}
		var id string
		if id, err = m.AddAgent(ac); err == nil {
			out = map[string]string{"agent_id": id}
		} else {
			err = fmt.Errorf("%w: %w", errBadFault, err)
		}
	case path == "frameworks":
		var nc NeighbourConfig
		if !decodeOne(w, r, &nc, "framework") {
			return
		}
		var id string
		if id, err = m.StartNeighbour(r.Context(), nc); err == nil {
			out = map[string]string{"framework_id": id}
		}
	case strings.HasPrefix(path, "frameworks/") && strings.HasSuffix(path, "/teardown"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "frameworks/"), "/teardown")
		if err = m.StopNeighbour(r.Context(), id); err == nil {
			out = map[string]string{"framework_id": id}
		}
	case path == "offers/rescind":
		out = map[string]int{"rescinded": m.RescindOffers()}
	case path == "streams/cut":
		out = map[string]int{"cut": m.CutStreams(false)}
	case path == "failover":
		m.Restart()
		out = map[string]bool{"ok": true}
	case strings.HasPrefix(path, "agents/"):
		id, verb, _ := strings.Cut(strings.TrimPrefix(path, "agents/"), "/")
		switch verb {
		case "remove":
			err = m.RemoveAgent(id)
		case "partition":
			err = m.PartitionAgent(id)
		case "heal":
			err = m.HealAgent(id)
		default:
			textError(w, http.StatusNotFound, "no such fault: "+r.URL.Path)
			return
		}
		out = map[string]string{"agent_id": id}
	default:
		textError(w, http.StatusNotFound, "no such fault: "+r.URL.Path)
		return
	}
	switch {
	case errors.Is(err, ErrUnknownAgent), errors.Is(err, ErrUnknownNeighbour):
		textError(w, http.StatusNotFound, err.Error())
	case err != nil:
		textError(w, http.StatusBadRequest, err.Error())
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	}
}

// decodeOne reads the request's body as exactly one JSON object of v's
// fields, or answers 400 and reports false.
func decodeOne(w http.ResponseWriter, r *http.Request, v any, what string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFaultBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		textError(w, http.StatusBadRequest, "invalid "+what+": "+err.Error())
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		textError(w, http.StatusBadRequest, "invalid "+what+": one JSON object expected")
		return false
	}
	return true
}

// errBadFault marks a fault the master refused as asked (a bad agent).
var errBadFault = errors.New("fault refused")
