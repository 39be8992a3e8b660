package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
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

	// Everything below needs a user when users are configured.
	r.Group(func(r chi.Router) {
		r.Use(s.authenticate)
		r.Get("/", s.handle(s.overview))
		r.Get("/offers", s.handle(s.offers))
		r.Get("/offers/{id}/json", s.handle(s.offerJSON))
		r.Get("/tasks", s.handle(s.tasks))
		r.Get("/tasks/{id}", s.handle(s.task))
		r.Get("/tasks/{id}/output", s.handle(s.taskOutput))
		r.Get("/launch", s.handle(s.launch))
		r.Get("/launch/preview", s.handle(s.launchPreview))
		r.Get("/agents", s.handle(s.agents))
		r.Get("/events", s.handle(s.events))
		r.Get("/events/{seq}/json", s.handle(s.eventJSON))
		r.Get("/audit", s.handle(s.audit))
		r.Get("/ws", s.handle(s.ws))

		// Actions change the cluster: every one is a POST for operators,
		// protected against cross-site requests, with a bounded body.
		r.Group(func(r chi.Router) {
			r.Use(crossOriginProtection, requireOperator)
			r.Post("/offers/{id}/accept", s.handle(s.acceptOffer))
			r.Post("/offers/{id}/decline", s.handle(s.declineOffer))
			r.Post("/launch", s.handle(s.launchSpec))
			r.Post("/tasks/{id}/kill", s.handle(s.killTask))
			r.Post("/queue/{id}/remove", s.handle(s.unqueue))
			r.Post("/reconcile", s.handle(s.simple(func(sc *scheduler.Scheduler, r *http.Request, a scheduler.Actor) (scheduler.Result, error) {
				return sc.Reconcile(r.Context(), a)
			})))
			r.Post("/revive", s.handle(s.simple(func(sc *scheduler.Scheduler, r *http.Request, a scheduler.Actor) (scheduler.Result, error) {
				return sc.Revive(r.Context(), a)
			})))
			r.Post("/suppress", s.handle(s.simple(func(sc *scheduler.Scheduler, r *http.Request, a scheduler.Actor) (scheduler.Result, error) {
				return sc.Suppress(r.Context(), a)
			})))
		})
		r.With(crossOriginProtection).Post("/logout", s.handle(s.logout))
	})
	r.Mount(apiBase, s.apiRoutes()) // the JSON API, with its own authentication and errors
	r.With(s.tokenLogin).Get("/login", s.handle(s.loginPage))
	r.With(crossOriginProtection, s.limitLogins).Post("/login", s.handle(s.login))
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Get("/static/*", http.StripPrefix("/static/", s.assets).ServeHTTP)
	if s.cfg.Metrics != nil {
		r.With(s.requireScraper).Get("/metrics", promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{Registry: s.cfg.Metrics}).ServeHTTP)
	}
	return r
}
