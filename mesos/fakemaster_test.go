package mesos_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/recordio"
)

// fakeMaster is a scriptable master for client tests: every SUBSCRIBE
// becomes a stream the test writes to, and every other call is recorded and
// answered with the status the test chose.
type fakeMaster struct {
	t   *testing.T
	srv *httptest.Server

	// subscribeStatus, when not zero, answers SUBSCRIBE with this status
	// and subscribeBody instead of a stream; location goes into Location.
	mu              sync.Mutex
	subscribeStatus int
	subscribeBody   string
	location        string
	callStatus      int
	callBody        string
	calls           []received
	// holdAcks, when not nil, keeps every ACKNOWLEDGE unanswered until it
	// is closed.
	holdAcks chan struct{}
	// onAck, when set, sees every ACKNOWLEDGE first and may answer it
	// itself (true), with a status or by cutting the connection.
	onAck func(rec received, w http.ResponseWriter) bool
	idle  map[net.Conn]bool // see track

	streams chan *stream
}

// received is one request as the master saw it.
type received struct {
	call       *mesos.Call
	header     http.Header
	remoteAddr string
}

// stream is one open SUBSCRIBE response.
type stream struct {
	req        received
	mediaType  string
	out        chan []byte
	closed     chan struct{}
	closeOnce  sync.Once
	clientGone <-chan struct{}
}

func newFakeMaster(t *testing.T) *fakeMaster {
	t.Helper()
	m := &fakeMaster{t: t, streams: make(chan *stream, 16), callStatus: http.StatusAccepted}
	m.srv = httptest.NewUnstartedServer(http.HandlerFunc(m.serve))
	m.srv.Config.ConnState = m.track
	m.srv.Start()
	t.Cleanup(m.srv.Close)
	return m
}

// track keeps the connections idle between requests, for closeIdle.
func (m *fakeMaster) track(c net.Conn, cs http.ConnState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.idle == nil {
		m.idle = map[net.Conn]bool{}
	}
	if cs == http.StateIdle {
		m.idle[c] = true
	} else {
		delete(m.idle, c)
	}
}

// closeIdle closes the connections idle between requests, as a master
// does with kept-alive connections; streams stay open.
func (m *fakeMaster) closeIdle() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.idle {
		c.Close()
	}
}

func (m *fakeMaster) URL() string { return m.srv.URL }

func (m *fakeMaster) set(f func(m *fakeMaster)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

func (m *fakeMaster) receivedCalls() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.calls...)
}

func (m *fakeMaster) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != mesos.SchedulerPath || r.Method != http.MethodPost {
		http.Error(w, "unexpected request", http.StatusNotFound)
		return
	}
	ct := r.Header.Get("Content-Type")
	body, _ := io.ReadAll(r.Body)
	call := new(mesos.Call)
	if err := mesos.Unmarshal(ct, body, call); err != nil {
		http.Error(w, "Failed to parse body: "+err.Error(), http.StatusBadRequest)
		return
	}
	rec := received{call: call, header: r.Header.Clone(), remoteAddr: r.RemoteAddr}
	if call.GetType() != mesos.Call_SUBSCRIBE {
		m.mu.Lock()
		m.calls = append(m.calls, rec)
		status, msg, hold, onAck := m.callStatus, m.callBody, m.holdAcks, m.onAck
		m.mu.Unlock()
		if onAck != nil && call.GetType() == mesos.Call_ACKNOWLEDGE && onAck(rec, w) {
			return
		}
		if hold != nil && call.GetType() == mesos.Call_ACKNOWLEDGE {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		w.WriteHeader(status)
		io.WriteString(w, msg)
		return
	}

	m.mu.Lock()
	status, msg, loc := m.subscribeStatus, m.subscribeBody, m.location
	m.mu.Unlock()
	if status != 0 {
		if loc != "" {
			w.Header().Set("Location", loc)
		}
		w.WriteHeader(status)
		io.WriteString(w, msg)
		return
	}
	s := &stream{req: rec, mediaType: ct, out: make(chan []byte, 64), closed: make(chan struct{}), clientGone: r.Context().Done()}
	w.Header().Set("Content-Type", r.Header.Get("Accept"))
	w.Header().Set("Mesos-Stream-Id", "stream-"+time.Now().Format("150405.000000000"))
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	m.streams <- s
	for {
		select {
		case b := <-s.out:
			w.Write(b)
			w.(http.Flusher).Flush()
		case <-s.closed:
			// Write what was queued before close, so a test that sends
			// then closes sees its bytes on the wire in that order.
			for {
				select {
				case b := <-s.out:
					w.Write(b)
				default:
					return
				}
			}
		case <-r.Context().Done():
			return
		}
	}
}

// nextStream waits for the client's next SUBSCRIBE stream.
func (m *fakeMaster) nextStream(t *testing.T) *stream {
	t.Helper()
	select {
	case s := <-m.streams:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no SUBSCRIBE within 10s")
		return nil
	}
}

// send writes one event as a RecordIO record in the stream's media type.
func (s *stream) send(t *testing.T, e *mesos.Event) {
	t.Helper()
	b, err := mesos.Marshal(s.mediaType, e)
	if err != nil {
		t.Fatalf("encode event: %v", err)
	}
	s.raw(recordio.AppendRecord(nil, b))
}

// raw writes bytes to the stream as they are.
func (s *stream) raw(b []byte) {
	select {
	case s.out <- b:
	case <-s.closed:
	}
}

func (s *stream) close() { s.closeOnce.Do(func() { close(s.closed) }) }

// subscribed sends SUBSCRIBED with the given framework id and heartbeat.
func (s *stream) subscribed(t *testing.T, frameworkID string, heartbeat time.Duration) {
	t.Helper()
	s.send(t, &mesos.Event{
		Type: mesos.Event_SUBSCRIBED.Enum(),
		Subscribed: &mesos.Event_Subscribed{
			FrameworkId:              &mesos.FrameworkID{Value: proto.String(frameworkID)},
			HeartbeatIntervalSeconds: proto.Float64(heartbeat.Seconds()),
		},
	})
}

// events collects what a client's Run delivers.
type events struct {
	ch chan *mesos.Event
}

func newEvents() *events { return &events{ch: make(chan *mesos.Event, 256)} }

func (e *events) handle(_ context.Context, ev *mesos.Event) { e.ch <- ev }

// next waits for the next event of the given type, skipping others.
func (e *events) next(t *testing.T, typ mesos.Event_Type) *mesos.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-e.ch:
			if ev.GetType() == typ {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %v event within 10s", typ)
			return nil
		}
	}
}
