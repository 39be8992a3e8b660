package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/offerdeck/offerdeck/hub"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// topicAPI carries the scheduler's changes as the API's events: JSON, one
// entry per change, never coalesced, so a script that resumes after
// sequence number N gets every change after it. The feed encodes them
// only while a stream follows the topic (see live.follows).
const topicAPI = "api"

// The API's event types, as the stream's "event:" lines name them.
var apiEventTypes = []string{"connection", "offer", "offer-removed", "task", "task-archived", "queue", "master-event", "audit"}

// apiChange encodes a scheduler change for the API's stream; the feed
// calls it for every change, in order, under live.mu, before it merges a
// task's changes for the pages.
func (l *live) apiChange(c scheduler.Change) {
	if !l.follows(topicAPI) {
		return
	}
	var typ string
	var v any
	switch c.Kind {
	case scheduler.ConnectionChanged:
		typ, v = "connection", connectionJSON(*c.Conn, l.s.cfg.Master)
	case scheduler.OfferAdded:
		typ, v = "offer", offerJSON(*c.Offer)
	case scheduler.OfferRemoved:
		typ, v = "offer-removed", apiOfferGone{ID: c.OfferID, Why: c.Why, At: c.At, RefuseUntil: timeOrNil(c.Until)}
	case scheduler.TaskChanged:
		typ, v = "task", taskEventJSON(c.Task)
		if c.Archived {
			typ = "task-archived"
		}
	case scheduler.QueueChanged:
		typ, v = "queue", queuedJSON(*c.Queued)
	case scheduler.EventAdded:
		typ, v = "master-event", apiMasterEvent{Seq: c.Event.Seq, Time: c.Event.Time, Type: c.Event.Type, Summary: c.Event.Summary}
	case scheduler.AuditAdded:
		typ, v = "audit", auditJSON(*c.Audit)
	default:
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		l.s.log.Error("encode api event", "type", typ, "err", err)
		return
	}
	// The entry is the event's lines but its id, which is its position.
	data := make([]byte, 0, len(typ)+len(b)+16)
	data = append(append(append(data, "event: "...), typ...), "\ndata: "...)
	data = append(append(data, b...), '\n')
	l.pending[topicAPI] = append(l.pending[topicAPI], hub.Entry{Data: data})
}

// Event stream timing.
const (
	// sseKeepAlive is how often a quiet stream sends a comment, so that
	// proxies keep it open and a vanished client is noticed.
	sseKeepAlive = 15 * time.Second
	// sseWriteTimeout bounds one write, as for the pages' streams.
	sseWriteTimeout = wsWriteTimeout
)

// apiEvents is GET /events: the changes as text/event-stream. Each event's
// id is "<epoch>-<sequence number>"; a client that reconnects with
// Last-Event-ID gets exactly the events after it. When they are no longer
// all kept (it was away too long, or the dashboard restarted), it gets an
// event "resync" instead: it should read afresh what it follows, and the
// events after the resync's id follow. With task=<id>, only that task's
// events come, starting with its state now, and the stream ends after it
// ended. types=<a,b> keeps only those types.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, nil, "types", "task")
	var types []string
	if v := q.v.Get("types"); v != "" {
		for _, t := range strings.Split(v, ",") {
			if !slices.Contains(apiEventTypes, t) {
				q.fail("types", "must list event types among "+strings.Join(apiEventTypes, ", "))
				break
			}
			types = append(types, t)
		}
	}
	taskID := q.v.Get("task")
	var since uint64
	resume := false
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		epoch, seq, ok := strings.Cut(last, "-")
		n, err := strconv.ParseUint(seq, 10, 64)
		if !ok || err != nil {
			q.errs = append(q.errs, FieldError{In: "header", Name: "Last-Event-ID", Detail: "must be the id of an event of this stream, such as k2x9-42"})
		}
		since, resume = n, true
		if epoch != s.epoch() {
			since = ^uint64(0) // another run's position: resync
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	if taskID != "" {
		if _, err := s.findTask(r, taskID); err != nil {
			return err
		}
	}
	release, err := s.acquireAPIStream(r)
	if err != nil {
		return err
	}
	defer release()

	st := &sseStream{s: s, w: w, rc: http.NewResponseController(w), types: types, taskID: taskID}
	var start []byte
	if !resume {
		// From now on: the position is read together with the model (so
		// the task's state sent first is exactly the state at it).
		if since, start, err = st.now(r.Context()); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil // the headers say it all; a HEAD holds no stream
	}
	if err := st.write(append([]byte("retry: 2000\n\n"), start...)); err != nil {
		return nil
	}
	if st.done {
		return nil
	}
	sub := s.hub.Subscribe(map[string]uint64{topicAPI: since})
	defer sub.Close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.stopStreams, cancel)()
	if sess := callerOf(r).sess; sess != nil {
		defer context.AfterFunc(sess.ended, cancel)()
	}
	st.stream(ctx, sub, since)
	// The topic stays followed for a while, so that the client can
	// reconnect and resume without a gap.
	s.interest.want(topicAPI)
	return nil
}

// sseStream writes one client's events.
type sseStream struct {
	s      *Server
	w      http.ResponseWriter
	rc     *http.ResponseController
	types  []string
	taskID string
	// done is set once the task followed has ended.
	done bool
	buf  []byte
}

// now reads the topic's position and, when one task is followed, its
// state at that position as the first event.
func (st *sseStream) now(ctx context.Context) (uint64, []byte, error) {
	var seq uint64
	var t *scheduler.Task
	_, err := st.s.live.read(ctx, []string{topicAPI}, func(m *model) {
		seq = st.s.hub.Seq(topicAPI)
		if st.taskID != "" {
			t = m.task(st.taskID)
		}
	})
	if err != nil || t == nil {
		return seq, nil, err
	}
	b, err := json.Marshal(taskEventJSON(t))
	if err != nil {
		return 0, nil, err
	}
	st.done = t.Terminal()
	return seq, st.frame(nil, seq, "task", b), nil
}

// stream writes the subscriber's events until the client leaves, ctx
// ends, the hub closes or the followed task ended.
func (st *sseStream) stream(ctx context.Context, sub *hub.Subscriber, pos uint64) {
	for !st.done {
		wait, cancel := context.WithTimeout(ctx, sseKeepAlive)
		batch, err := sub.Next(wait)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			if st.write([]byte(": keep-alive\n\n")) != nil {
				return
			}
			continue
		case err != nil:
			return
		}
		st.buf = st.buf[:0]
		for i, e := range batch.Entries {
			st.buf = st.event(st.buf, pos+uint64(i)+1, e.Data)
		}
		for _, p := range batch.Seqs {
			pos = p.Seq
		}
		if len(batch.Resync) > 0 {
			var start []byte
			pos, start, err = st.now(ctx)
			if err != nil {
				return
			}
			if err := sub.Resume(topicAPI, pos); err != nil {
				return
			}
			b, _ := json.Marshal(map[string]string{"reason": "the events since the last one received are no longer kept; read afresh what you follow"})
			st.buf = st.frame(st.buf, pos, "resync", b)
			st.buf = append(st.buf, start...)
		}
		if len(st.buf) > 0 && st.write(st.buf) != nil {
			return
		}
	}
}

// event appends an entry as an event with its id, unless a filter drops
// it; an entry of the followed task that is terminal ends the stream.
func (st *sseStream) event(b []byte, seq uint64, data []byte) []byte {
	typ, payload, _ := bytes.Cut(bytes.TrimPrefix(data, []byte("event: ")), []byte("\ndata: "))
	if st.done || len(st.types) > 0 && !slices.Contains(st.types, string(typ)) {
		return b
	}
	if st.taskID != "" {
		if string(typ) != "task" && string(typ) != "task-archived" {
			return b
		}
		var t struct {
			ID       string `json:"id"`
			Terminal bool   `json:"terminal"`
		}
		if json.Unmarshal(payload, &t) != nil || t.ID != st.taskID {
			return b
		}
		st.done = st.done || t.Terminal
	}
	b = st.id(b, seq)
	b = append(b, data...)
	return append(b, '\n')
}

func (st *sseStream) id(b []byte, seq uint64) []byte {
	b = append(b, "id: "...)
	b = append(b, st.s.epoch()...)
	b = append(b, '-')
	b = strconv.AppendUint(b, seq, 10)
	return append(b, '\n')
}

// frame appends an event of the stream's own (the task's state at the
// start, a resync).
func (st *sseStream) frame(b []byte, seq uint64, typ string, data []byte) []byte {
	b = st.id(b, seq)
	b = append(append(append(b, "event: "...), typ...), "\ndata: "...)
	return append(append(b, data...), "\n\n"...)
}

// write sends b within the write timeout.
func (st *sseStream) write(b []byte) error {
	st.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	if _, err := st.w.Write(b); err != nil {
		return err
	}
	return st.rc.Flush()
}

// acquireAPIStream counts one more event stream against the caller's
// bounds, as the pages' streams are counted: per session, per address,
// and per token user (with the per-session bound).
func (s *Server) acquireAPIStream(r *http.Request) (release func(), err error) {
	c := callerOf(r)
	tokenUser := ""
	if c.bearer {
		tokenUser = userOf(r).Name
		if !s.apiStreams.acquire(tokenUser, s.limits.MaxStreamsPerSession) {
			return nil, fmt.Errorf("%w for this token's user; close some", errTooManyStreams)
		}
	}
	counted, why := s.streamCounts.acquire(c.sess, requestAddr(r), s.limits)
	if counted == nil {
		s.apiStreams.release(tokenUser)
		return nil, fmt.Errorf("%w: %s", errTooManyStreams, why)
	}
	return func() { counted(); s.apiStreams.release(tokenUser) }, nil
}

// tokenStreams counts the event streams of each token user.
type tokenStreams struct {
	mu     sync.Mutex
	byUser map[string]int
}

func (t *tokenStreams) acquire(user string, limit int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byUser == nil {
		t.byUser = map[string]int{}
	}
	if t.byUser[user] >= limit {
		return false
	}
	t.byUser[user]++
	return true
}

func (t *tokenStreams) release(user string) {
	if user == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byUser[user]--; t.byUser[user] <= 0 {
		delete(t.byUser, user)
	}
}
