package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
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

// knownTopics are the topics a page may follow.
var knownTopics = map[string]bool{
	topicHeader: true, topicOverview: true, topicOffers: true, topicTasks: true, topicTask: true,
	topicQueue: true, topicAgents: true, topicEvents: true, topicAudit: true,
}

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
// websocket.Accept refuses other origins.
func (s *Server) ws(w http.ResponseWriter, r *http.Request) error {
	var ended <-chan struct{}
	if sess, ok := r.Context().Value(keySession).(*session); ok {
		ended = sess.ended // the socket lives no longer than the session
	}
	return serveStream(w, r, s.hub, ended, func(t string) bool { return knownTopics[t] })
}

// StreamHandler serves the live stream of h exactly as the dashboard's /ws
// does, without authentication: for tools and benchmarks that feed a hub
// of their own.
func StreamHandler(h *hub.Hub) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		anyTopic := func(t string) bool { return t != "" && len(t) <= 64 }
		if err := serveStream(w, r, h, nil, anyTopic); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})
}

// serveStream upgrades the request and writes h's batches until the
// viewer leaves, the hub closes, or ended is closed.
func serveStream(w http.ResponseWriter, r *http.Request, h *hub.Hub, ended <-chan struct{}, known func(string) bool) error {
	since, err := parsePositions(r.URL.Query().Get("since"), known)
	if err != nil {
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
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil // Accept has answered the request
	}
	defer c.CloseNow()
	c.SetReadLimit(512)
	ctx := c.CloseRead(r.Context())
	if ended != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-ended:
				c.Close(websocket.StatusPolicyViolation, "session ended")
				cancel()
			case <-ctx.Done():
			}
		}()
	}

	sub := h.Subscribe(since)
	defer sub.Close()
	var msg []byte
	for {
		batch, err := sub.Next(ctx)
		switch {
		case errors.Is(err, hub.ErrHubClosed):
			c.Close(websocket.StatusGoingAway, "server shutting down")
			return nil
		case err != nil:
			return nil // the viewer left, or the server is stopping
		}
		msg = appendMessage(msg[:0], epoch, batch)
		wctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
		err = c.Write(wctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			return nil
		}
		if len(batch.Resync) > 0 {
			c.Close(statusResync, "resync")
			return nil
		}
	}
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
