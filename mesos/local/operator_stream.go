package local

import (
	"net/http"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/master"
)

// operatorHeartbeat is the operator stream's HEARTBEAT; its type number
// differs from the scheduler stream's.
var operatorHeartbeat = &master.Event{Type: master.Event_HEARTBEAT.Enum()}

// operatorSubscribe answers an operator SUBSCRIBE: 200 with the stream's
// media type and no Mesos-Stream-Id, SUBSCRIBED with the whole cluster,
// a HEARTBEAT at once, then every change as it happens
// (ReadOnlyHandler::subscribe in src/master/readonly_handler.cpp).
func (m *Master) operatorSubscribe(w http.ResponseWriter, r *http.Request, mediaType string) {
	sub := newSubscription(mediaType, func(msg string, args ...any) { m.log.Warn(msg, args...) })
	sub.operator = true

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		textError(w, http.StatusServiceUnavailable, "Master is shutting down")
		return
	}
	// Encoded under the lock: the snapshot shares the master's messages,
	// which change once it is released.
	b, err := mesos.Marshal(mediaType, &master.Event{
		Type: master.Event_SUBSCRIBED.Enum(),
		Subscribed: &master.Event_Subscribed{
			GetState:                 m.getStateLocked(),
			HeartbeatIntervalSeconds: proto.Float64(m.cfg.HeartbeatInterval.Seconds()),
		},
	})
	if err != nil {
		m.mu.Unlock()
		textError(w, http.StatusInternalServerError, "Failed to encode SUBSCRIBED: "+err.Error())
		return
	}
	sub.queueRecord(b, 0)
	sub.heartbeat()
	evicted := m.operators.add(sub)
	m.mu.Unlock()
	if evicted != nil {
		m.log.Info("operator stream limit reached; closing the oldest", "limit", maxOperatorSubscribers)
		evicted.close()
	}
	defer func() {
		m.mu.Lock()
		m.operators.remove(sub)
		m.mu.Unlock()
	}()
	m.log.Info("operator subscribed", "media_type", mediaType)

	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	m.stream(w, r, sub, nil)
}

// CutOperatorStreams breaks every operator API stream's connection without
// the chunked terminator, as a network failure would, and returns how many
// it cut.
func (m *Master) CutOperatorStreams() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.operators.subs {
		s.cut(false)
	}
	return len(m.operators.subs)
}
