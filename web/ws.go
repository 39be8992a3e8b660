package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/offerdeck/offerdeck/hub"
)

const (
	// wsWriteTimeout is how long one write may take; a viewer that cannot
	// take a message in that time is disconnected and resyncs when it
	// comes back, and never holds anyone else up.
	wsWriteTimeout = 10 * time.Second
	// statusResync closes a socket whose viewer must re-render regions
	// before it resumes; the client refetches and reconnects.
	statusResync websocket.StatusCode = 4000
	// maxTopics bounds how many topics one socket follows.
	maxTopics = 8
)

// knownTopics are the topics a page may follow (besides the board's
// groupings, which the model learns).
var knownTopics = func() map[string]bool {
	known := map[string]bool{}
	for _, t := range append([]string{topicHeader, topicOverview, topicOffers, topicTasks, topicQueue, topicAgents,
		topicEvents, topicAudit, topicBoard, topicCalls, topicCluster, topicFrameworks, topicClusterTasks}, tasksTopics()...) {
		known[t] = true
	}
	return known
}()

// positions reads the hub positions of topics, as "topic:seq,..." for the
// page to carry. Read them BEFORE taking the snapshot the page renders:
// then the page holds at least everything published up to them, and the
// stream resumes from them, so nothing is missed; anything published in
// between arrives twice, which the idempotent changes make harmless.
func (s *Server) positions(topics ...string) string {
	parts := make([]string, 0, len(topics))
	for _, t := range topics {
		parts = append(parts, t+":"+strconv.FormatUint(s.hub.Seq(t), 10))
	}
	return strings.Join(parts, ",")
}

func (s *Server) epoch() string { return strconv.FormatUint(s.hub.Epoch(), 36) }

// parsePositions reads "topic:seq,..." as sent back by the client; known
// says which topic names are allowed.
func parsePositions(v string, known func(string) bool) (map[string]uint64, error) {
	since := map[string]uint64{}
	for _, part := range strings.Split(v, ",") {
		if part == "" {
			continue
		}
		name, seq, ok := strings.Cut(part, ":")
		n, err := strconv.ParseUint(seq, 10, 64)
		if !ok || err != nil || !known(name) {
			return nil, badInput("since must list topic:sequence pairs of known topics")
		}
		since[name] = n
	}
	if len(since) == 0 || len(since) > maxTopics {
		return nil, badInput("since must name between 1 and 8 topics")
	}
	return since, nil
}

// ws is GET /ws: the live stream, server to browser only. The browser
// sends the positions its page was rendered at; every batch of changes
// after them goes out as one message. The default origin check of
// websocket.Accept refuses other origins. A session and an address hold
// a bounded number of streams (Limits); one more is answered 429, and the
// page's script retries later.
func (s *Server) ws(w http.ResponseWriter, r *http.Request) error {
	ended := context.Background() // never done: no sessions
	sess, _ := r.Context().Value(keySession).(*session)
	if sess != nil {
		ended = sess.ended // the socket lives no longer than the session
	}
	release, why := s.streamCounts.acquire(sess, requestAddr(r), s.limits)
	if release == nil {
		s.tooMany(w, r, why, streamRetry)
		return nil
	}
	return serveStream(w, r, s.hub, &s.streams, s.stopStreams, ended, func(t string) bool { return knownTopics[t] || s.live.isGroupingTopic(t) }, release)
}

// streamRetry is when a client refused a stream is told to try again.
const streamRetry = 10 * time.Second

// Streams serves the live stream of a hub exactly as the dashboard's /ws
// does, without authentication or limits: for tools and benchmarks that
// feed a hub of their own. Each stream goes on after its request
// returns, until its viewer leaves, the hub is closed, or Close is called;
// Streams owns their goroutines.
type Streams struct {
	h      *hub.Hub
	group  streamGroup
	stop   context.Context
	cancel context.CancelFunc
}

// streamGroup owns the stream goroutines: a WaitGroup that refuses new
// goroutines once Wait has begun. A stream's request is hijacked before
// its goroutine starts, so neither http.Server.Shutdown nor anything
// else orders that start before a Wait; the mutex does, and a stream that
// comes too late is closed instead of started. It also knows every open
// stream, since an idle one has no goroutine to wait for: Wait ends them.
type streamGroup struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	open   map[*wsStream]struct{}
}

// add records st as open, unless Wait has begun; it reports whether it did.
func (g *streamGroup) add(st *wsStream) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	if g.open == nil {
		g.open = make(map[*wsStream]struct{})
	}
	g.open[st] = struct{}{}
	return true
}

// remove forgets an ended stream.
func (g *streamGroup) remove(st *wsStream) {
	g.mu.Lock()
	delete(g.open, st)
	g.mu.Unlock()
}

// Go runs f on a goroutine the group owns, unless Wait has begun; it
// reports whether it did.
func (g *streamGroup) Go(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Go(f)
	return true
}

// Wait refuses new goroutines, ends the open streams and waits for the
// goroutines running. A stream that waits for a change ends here, on this
// goroutine (its ready finds the group closed); one that is writing ends
// on its own.
func (g *streamGroup) Wait() {
	g.mu.Lock()
	g.closed = true
	open := make([]*wsStream, 0, len(g.open))
	for st := range g.open {
		open = append(open, st)
	}
	g.mu.Unlock()
	for _, st := range open {
		st.sub.Close()
	}
	g.wg.Wait()
}

// StreamHandler returns the handler serving h's live streams.
func StreamHandler(h *hub.Hub) *Streams {
	stop, cancel := context.WithCancel(context.Background())
	return &Streams{h: h, stop: stop, cancel: cancel}
}

func (st *Streams) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	anyTopic := func(t string) bool { return t != "" && len(t) <= 64 }
	if err := serveStream(w, r, st.h, &st.group, st.stop, context.Background(), anyTopic, nil); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

// Close ends every stream and returns once their goroutines have.
func (st *Streams) Close() {
	st.cancel()
	st.group.Wait()
}

// serveStream upgrades the request and starts the goroutine, tracked by
// streams, that writes h's batches until the viewer leaves, the hub
// closes, or stop or ended is done; release, when not nil, is called once
// the stream has ended (or could not start).
//
// The request returns once the stream has started, so that its goroutine
// (with the stack it grew parsing the request) and net/http's buffers for
// the response are freed: an idle viewer then costs its connection, its
// subscription and two goroutines with small stacks, about 22 KB where
// it cost 29 KB (measured with 1,000 idle viewers).
func serveStream(w http.ResponseWriter, r *http.Request, h *hub.Hub, streams *streamGroup, stop, ended context.Context, known func(string) bool, release func()) error {
	if release == nil {
		release = func() {}
	}
	since, err := parsePositions(r.URL.Query().Get("since"), known)
	if err != nil {
		release()
		return err
	}
	epoch := strconv.FormatUint(h.Epoch(), 36)
	if r.URL.Query().Get("epoch") != epoch {
		// Another server instance numbered these positions: everything
		// must be re-rendered.
		for t := range since {
			since[t] = math.MaxUint64
		}
	}
	lean := &leanHijack{ResponseWriter: w}
	c, err := websocket.Accept(lean, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		release()
		return nil // Accept has answered the request
	}
	c.SetReadLimit(512)
	// The context ends when the viewer closes or breaks the connection
	// (the only reads are control frames), when the session ends, or at
	// shutdown. Its end closes the subscriber, which wakes the stream
	// wherever it is, and the socket, which cuts a write in progress.
	ctx, cancel := context.WithCancel(c.CloseRead(stop))
	st := &wsStream{ctx: ctx, cancel: cancel, c: c, lc: lean.conn, sub: h.Subscribe(since), epoch: epoch, streams: streams, release: release}
	if !streams.add(st) { // shutting down: no handshake to wait for
		st.end()
		return nil
	}
	st.stops = [2]func() bool{
		context.AfterFunc(ctx, func() {
			st.sub.Close()
			c.CloseNow()
		}),
		context.AfterFunc(ended, func() {
			c.Close(websocket.StatusPolicyViolation, "session ended")
			cancel()
		}),
	}
	st.ready()
	return nil
}

// wsStream is one viewer's live stream. It has a goroutine only while it
// has something to write: run writes the subscriber's batches and, when
// there are no more and its topics are quiet, returns with the subscriber
// parked; the next change calls ready, which starts run again. So an idle
// viewer costs its socket, its subscriber and the library's reader
// goroutine, which notices a close. Exactly one of run, a pending ready and
// end holds the stream at a time; end runs once.
type wsStream struct {
	ctx     context.Context
	cancel  context.CancelFunc
	c       *websocket.Conn
	lc      *leanConn // c's connection, or nil if it is not lean
	sub     *hub.Subscriber
	epoch   string
	streams *streamGroup
	release func()
	stops   [2]func() bool
}

// ready starts the stream's writer, or ends the stream if the server is
// shutting down. It runs on a publisher's goroutine, so it never blocks.
func (st *wsStream) ready() {
	if !st.streams.Go(st.run) {
		st.end()
	}
}

// run writes batches, each as one message, until none is left, the
// viewer leaves, the hub closes, the session ends or the server shuts
// down; in all but the first case it ends the stream.
func (st *wsStream) run() {
	for {
		batch, err := st.sub.NextOrNotify(st.ctx, st.ready)
		switch {
		case errors.Is(err, hub.ErrParked):
			return // ready runs the next change
		case errors.Is(err, hub.ErrHubClosed):
			st.c.Close(websocket.StatusGoingAway, "server shutting down")
			st.end()
			return
		case err != nil:
			st.end() // the viewer left, the session ended, or shutdown
			return
		}
		if err := writeBatch(st.ctx, st.c, st.lc, st.epoch, batch); err != nil {
			st.end()
			return
		}
		if len(batch.Resync) > 0 {
			st.c.Close(statusResync, "resync")
			st.end()
			return
		}
	}
}

// end closes the stream's subscriber and socket and releases its place.
func (st *wsStream) end() {
	for _, stop := range st.stops {
		if stop != nil {
			stop()
		}
	}
	st.cancel()
	st.sub.Close()
	st.c.CloseNow()
	st.streams.remove(st)
	st.release()
}

// writeBatch writes batch to c as one message, in one write if lc is not
// nil, within wsWriteTimeout.
func writeBatch(ctx context.Context, c *websocket.Conn, lc *leanConn, epoch string, batch hub.Batch) error {
	msg, ok := framePool.Get().(*[]byte)
	if !ok {
		msg = new([]byte)
	}
	defer func() {
		if cap(*msg) <= maxPooledFrame {
			framePool.Put(msg)
		}
	}()
	*msg = appendMessage((*msg)[:0], epoch, batch)
	if lc == nil {
		wctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
		defer cancel()
		return c.Write(wctx, websocket.MessageText, *msg)
	}
	// Corked, the library's write only gathers the frame, and flush bounds
	// the one write to the socket by the deadline. So the library gets a
	// context that is never done: with one that can be, it arms a watch
	// on it for every message (a timer, a callback and their undoing),
	// which at rest, a message a change, was a fifth of a delivery's CPU.
	// It takes the frame's lock with it too, which only another bounded
	// write (a pong, a close) can hold.
	lc.cork(len(*msg) + 16) // a frame header is at most 14 bytes
	err := c.Write(context.Background(), websocket.MessageText, *msg)
	if ferr := lc.flush(wsWriteTimeout); err == nil {
		err = ferr
	}
	return err
}

// appendMessage frames a batch as one JSON message:
// {"epoch":"…","seq":{"offers":42},"resync":["tasks"],"changes":[…]}.
// The entries are already JSON, rendered once for every viewer, so the
// message is built by concatenation.
func appendMessage(b []byte, epoch string, batch hub.Batch) []byte {
	b = append(b, `{"epoch":"`...)
	b = append(b, epoch...)
	b = append(b, `","seq":{`...)
	for i, p := range batch.Seqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, p.Topic)
		b = append(b, ':')
		b = strconv.AppendUint(b, p.Seq, 10)
	}
	b = append(b, `},"resync":[`...)
	for i, t := range batch.Resync {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, t)
	}
	b = append(b, `],"changes":[`...)
	for i, e := range batch.Entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.Data...)
	}
	return append(b, "]}"...)
}
