package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/offerdeck/offerdeck/hub"
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
}

// Server holds the dashboard's HTTP handlers. Create it with New, feed it
// the scheduler's changes with Run; it is safe for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	sched  *scheduler.Scheduler
	assets *static.Assets
	hub    *hub.Hub
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
	return &Server{cfg: cfg, log: log, sched: cfg.Scheduler, assets: assets, hub: h}, nil
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
	}
}

// Handler returns the root handler with every route and middleware.
func (s *Server) Handler() http.Handler { return s.routes() }
