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
		r.Get("/cluster", s.handle(s.cluster))
		r.Get("/frameworks", s.handle(s.frameworks))
		r.Get("/board", s.handle(s.board))
		r.Get("/events", s.handle(s.events))
		r.Get("/events/{seq}/json", s.handle(s.eventJSON))
		r.Get("/audit", s.handle(s.audit))
		r.Get("/calls", s.handle(s.calls))
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
		r.With(crossOriginProtection).Post("/presenter", s.handle(s.setPresenter)) // a viewer's own choice
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

// apiRoutes are the JSON API's routes, mounted at apiBase. Reads need a
// viewer; actions an operator, and, unless the caller proves itself with
// a bearer token, the same cross-origin protection the pages' forms have.
func (s *Server) apiRoutes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(s.apiHandle(func(w http.ResponseWriter, r *http.Request) error { return errNotFound }))
	r.MethodNotAllowed(s.apiHandle(func(w http.ResponseWriter, r *http.Request) error { return errMethodNotAllowed }))
	r.Get("/openapi.json", s.openAPI)
	r.Group(func(r chi.Router) {
		r.Use(s.apiAuthenticate)
		r.Get("/status", s.apiHandle(s.apiStatus))
		r.Get("/offers", s.apiHandle(s.apiOffers))
		r.Get("/agents", s.apiHandle(s.apiAgents))
		r.Get("/cluster", s.apiHandle(s.apiCluster))
		r.Get("/tasks", s.apiHandle(s.apiTasks))
		r.Get("/tasks/{id}", s.apiHandle(s.apiTask))
		r.Get("/tasks/{id}/output", s.apiHandle(s.apiTaskOutput))
		r.Get("/queue", s.apiHandle(s.apiQueue))
		r.Get("/audit", s.apiHandle(s.apiAudit))
		r.Get("/events", s.apiHandle(s.apiEvents))
		r.Group(func(r chi.Router) {
			r.Use(s.apiOperator)
			r.Post("/launch", s.apiHandle(s.apiLaunch))
			r.Post("/offers/{id}/accept", s.apiHandle(s.apiAccept))
			r.Post("/offers/{id}/decline", s.apiHandle(s.apiDecline))
			r.Post("/tasks/{id}/kill", s.apiHandle(s.apiKill))
			r.Delete("/queue/{id}", s.apiHandle(s.apiUnqueue))
			r.Post("/reconcile", s.apiHandle(s.apiSimple("reconcile", (*scheduler.Scheduler).Reconcile)))
			r.Post("/revive", s.apiHandle(s.apiSimple("revive", (*scheduler.Scheduler).Revive)))
			r.Post("/suppress", s.apiHandle(s.apiSimple("suppress", (*scheduler.Scheduler).Suppress)))
		})
	})
	return r
}
