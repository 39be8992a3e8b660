package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

var (
	errNotFound         = errors.New("no such page")
	errMethodNotAllowed = errors.New("method not allowed here")
)

// statusOf is the one place that maps an error to the HTTP status and the
// message a user is shown. Expected errors show their reason; anything else
// shows a generic message and is logged once with the request id.
func statusOf(err error) (status int, message string, expected bool) {
	switch {
	case errors.Is(err, errNotFound):
		return http.StatusNotFound, "There is no page at this address.", true
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed, "This address does not accept that method.", true
	default:
		return http.StatusInternalServerError, "Something went wrong on our side; the error has been logged.", false
	}
}

// handle adapts a handler that returns an error into an http.HandlerFunc,
// answering errors through statusOf.
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, message, expected := statusOf(err)
	if !expected {
		s.log.ErrorContext(r.Context(), "request failed",
			"method", r.Method, "path", r.URL.Path,
			"request_id", middleware.GetReqID(r.Context()), "err", err)
	}
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", allowedMethods(r))
	}
	page := ui.ProblemPage(ui.Problem{
		Layout:  s.layout(http.StatusText(status), "", scheduler.Connection{}),
		Status:  status,
		Message: message,
	})
	if err := render(w, r, status, page); err != nil {
		http.Error(w, message, status)
	}
}

// allowedMethods names the methods the router accepts for the request's
// path, for the Allow header of a 405.
func allowedMethods(r *http.Request) string {
	rctx := chi.RouteContext(r.Context())
	if rctx == nil {
		return ""
	}
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if rctx.Routes.Match(chi.NewRouteContext(), m, r.URL.Path) {
			allowed = append(allowed, m)
			if m == http.MethodGet {
				allowed = append(allowed, http.MethodHead) // served by middleware.GetHead
			}
		}
	}
	return strings.Join(allowed, ", ")
}
