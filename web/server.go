package web

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/offerdeck/offerdeck/static"
	"github.com/offerdeck/offerdeck/ui"
)

// Config is what the web layer needs from the program that wires it. The
// zero value of every field is a documented default.
type Config struct {
	// Logger receives request errors and lifecycle events; nil discards.
	Logger *slog.Logger
	// Master is the configured master URL; empty means the embedded
	// stand-in.
	Master string
}

// Server holds the dashboard's HTTP handlers. Create it with New; it is
// safe for concurrent use.
type Server struct {
	log    *slog.Logger
	master string
	assets *static.Assets
}

// New validates cfg and builds the server. It starts nothing.
func New(cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	assets, err := static.New("/static/")
	if err != nil {
		return nil, errors.Join(errors.New("index static files"), err)
	}
	return &Server{log: log, master: cfg.Master, assets: assets}, nil
}

// layout fills the parts of the page frame every page shares.
func (s *Server) layout(title, active string) ui.Layout {
	master := s.master
	if master == "" {
		master = "embedded stand-in"
	}
	return ui.Layout{
		Title:  title,
		Active: active,
		CSS:    s.assets.URL("app.css"),
		JS:     s.assets.URL("app.js"),
		Icon:   s.assets.URL("icon.svg"),
		Conn:   ui.Connection{State: "waiting", Label: "waiting for master", Master: master},
	}
}

// Handler returns the root handler with every route and middleware.
func (s *Server) Handler() http.Handler { return s.routes() }
