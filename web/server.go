package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offerdeck/offerdeck/hub"
	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/cluster"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/static"
	"github.com/offerdeck/offerdeck/ui"
)

// Config is what the web layer needs from the program that wires it. The
// zero value of every field but Scheduler is a documented default.
type Config struct {
	// Logger receives request errors and lifecycle events; nil discards.
	Logger *slog.Logger
	// Scheduler is the framework the pages show and the actions drive.
	Scheduler *scheduler.Scheduler
	// Master describes the master for the header, e.g. a URL.
	Master string
	// Embedded reports that the master is the embedded stand-in, and
	// Simulated that it simulates command tasks.
	Embedded, Simulated bool
	// Metrics, when set, is served on /metrics with the web layer's own
	// metrics added.
	Metrics *prometheus.Registry
	// Users, when set, are the only ones let in (see ParseUsers); nil
	// means a local dashboard where everyone is an operator.
	Users *Users
	// TLS reports that the dashboard is served over TLS, so cookies are
	// marked Secure.
	TLS bool
	// Banner is a warning every page shows, e.g. that the dashboard is
	// exposed without authentication.
	Banner string
	// TokenLogin lets a browser log in by visiting /login?token=<a
	// bearer token of Users>: for the one-time operator token the
	// dashboard makes when it is exposed without users.
	TokenLogin bool
	// Limits bound connections, live streams and request times; zero
	// fields take their defaults.
	Limits Limits
	// Cluster, when set, is the whole cluster's view (every framework,
	// agent and task) that the Cluster and Frameworks pages show; Run
	// reads its changes, and the caller runs it. Nil: those pages say
	// the view is off.
	Cluster *cluster.Watcher
}

// Server holds the dashboard's HTTP handlers. Create it with New, feed it
// the scheduler's changes with Run; it is safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	sched    *scheduler.Scheduler
	assets   *static.Assets
	hub      *hub.Hub
	sessions *sessions
	// streams are the live streams' goroutines, which outlive their
	// requests; Run waits for them after closing the hub.
	streams  streamGroup
	feed     feedStats
	interest interest
	live     *live

	limits       Limits
	streamCounts *streamCounts
	apiStreams   tokenStreams // the API's event streams per token user
	logins       *loginGuard
	// stopStreams is done once CloseStreams is called: every live stream
	// ends, even one in the middle of a write.
	stopStreams  context.Context
	closeStreams context.CancelFunc
}

// New validates cfg and builds the server. It starts nothing.
func New(cfg Config) (*Server, error) {
	if cfg.Scheduler == nil {
		return nil, errors.New("web: a scheduler is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	assets, err := static.New("/static/")
	if err != nil {
		return nil, fmt.Errorf("web: index static files: %w", err)
	}
	h, err := hub.New(hub.Config{})
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s := &Server{cfg: cfg, log: log, sched: cfg.Scheduler, assets: assets, hub: h, sessions: newSessions(),
		limits: cfg.Limits.withDefaults(), streamCounts: newStreamCounts()}
	s.logins = newLoginGuard(s.limits)
	s.stopStreams, s.closeStreams = context.WithCancel(context.Background())
	s.live = newLive(s)
	if cfg.Metrics != nil {
		if err := s.registerMetrics(cfg.Metrics); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// layout fills the parts of the page frame every page shares.
func (s *Server) layout(title, active string, conn scheduler.Connection) ui.Layout {
	return ui.Layout{
		Title:  title,
		Active: active,
		CSS:    s.assets.URL("app.css"),
		JS:     s.assets.URL("app.js"),
		Icon:   s.assets.URL("icon.svg"),
		Conn:   connectionView(conn, s.cfg.Master),
		Banner: s.cfg.Banner,
	}
}

// Handler returns the root handler with every route and middleware.
func (s *Server) Handler() http.Handler { return s.routes() }

// CloseStreams ends every live stream at once (http.Server.Shutdown does
// not wait for them: they are hijacked) and waits until their goroutines
// have returned or ctx is done. Streams opened afterwards end at once.
func (s *Server) CloseStreams(ctx context.Context) error {
	s.closeStreams()
	done := make(chan struct{})
	// This goroutine ends with the last stream, which the cancellation
	// above has already told to stop: none of them waits on a client.
	go func() {
		s.streams.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("web: live streams still open: %w", ctx.Err())
	}
}

// readyz reports whether the dashboard is subscribed to a master and can
// save its state: 200 when it is, 503 with the reason when it is not.
// With configured users, anonymous callers (load balancers, probes) learn
// only that and the connection state; the framework id and the error
// texts, which can name hosts, paths and ids, are for users.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	detail := s.cfg.Users == nil
	if !detail {
		_, _, detail = s.identify(r)
	}
	snap, err := s.sched.Snapshot(r.Context())
	switch {
	case errors.Is(err, scheduler.ErrStopped):
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "not ready: shutting down\n")
	case err != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "not ready: request ended\n")
	case snap.Conn.StorageErr != "" && detail:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s\n", snap.Conn.StorageErr)
	case snap.Conn.StorageErr != "":
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "not ready: cannot save its state\n")
	case snap.Conn.State != mesos.Subscribed && detail:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s; %s\n", snap.Conn.State, snap.Conn.Err)
	case snap.Conn.State != mesos.Subscribed:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s\n", snap.Conn.State)
	case detail:
		fmt.Fprintf(w, "ready: subscribed as %s\n", snap.Conn.FrameworkID)
	default:
		fmt.Fprint(w, "ready: subscribed\n")
	}
}
