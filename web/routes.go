package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes is the one place every route of the dashboard is declared.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(s.recoverPanics)
	r.Use(securityHeaders)
	r.Use(s.logRequests)
	r.Use(middleware.GetHead)

	r.NotFound(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return errNotFound
	}))
	r.MethodNotAllowed(s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return errMethodNotAllowed
	}))

	r.Get("/", s.handle(s.overview))
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Handle("/static/*", http.StripPrefix("/static/", s.assets))
	if s.cfg.Metrics != nil {
		r.Handle("/metrics", promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{Registry: s.cfg.Metrics}))
	}
	return r
}
