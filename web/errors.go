package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/offerdeck/offerdeck/mesos"
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
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, errNotFound):
		return http.StatusNotFound, "There is no page at this address.", true
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed, "This address does not accept that method.", true
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "The form is too large.", true
	case isTimeout(err):
		// A request body that did not arrive within the read timeout
		// (a slow or stalled client); the connection is closed after.
		return http.StatusRequestTimeout, "The request took too long to arrive.", true
	case errors.As(err, new(url.EscapeError)):
		// A form body that is not URL encoding (r.ParseForm): the
		// client's mistake, not ours.
		return http.StatusBadRequest, "The form is not valid URL encoding: " + err.Error() + ".", true
	case errors.Is(err, errBadInput), errors.Is(err, scheduler.ErrBadSpec):
		return http.StatusBadRequest, sentence(err), true
	case errors.Is(err, scheduler.ErrUnknownOffer), errors.Is(err, scheduler.ErrUnknownTask), errors.Is(err, scheduler.ErrUnknownQueued), errors.Is(err, errUnknownEvent):
		return http.StatusNotFound, sentence(err), true
	case errors.Is(err, scheduler.ErrNeverFits):
		return http.StatusUnprocessableEntity, sentence(err) + ". Tick “Wait for a bigger agent” to queue it anyway.", true
	case errors.Is(err, scheduler.ErrDoesNotFit), errors.Is(err, scheduler.ErrTaskFinished), errors.Is(err, scheduler.ErrTaskUnknown):
		return http.StatusConflict, sentence(err), true
	case errors.Is(err, scheduler.ErrStorage):
		return http.StatusServiceUnavailable, sentence(err), true
	case errors.Is(err, scheduler.ErrStopped):
		return http.StatusServiceUnavailable, "The dashboard is shutting down; try again once it is back.", true
	case errors.Is(err, scheduler.ErrNotConnected):
		return http.StatusServiceUnavailable, "Not connected to the master right now; try again once the header says live.", true
	case errors.Is(err, scheduler.ErrOutputUnavailable):
		return http.StatusBadGateway, sentence(err), true
	case errors.As(err, new(*mesos.APIError)):
		return http.StatusBadGateway, "The master refused: " + err.Error(), true
	default:
		return http.StatusInternalServerError, "Something went wrong on our side; the error has been logged.", false
	}
}

// isTimeout reports a connection's deadline passing, such as a request
// body cut by the server's read timeout (not a context's deadline).
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// sentence makes an error's text readable as a message.
func sentence(err error) string {
	msg := err.Error()
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// handle adapts a handler that returns an error into an http.HandlerFunc,
// answering errors through statusOf.
//
// When the request's path was escaped in a way Go does not reproduce (for
// example /tasks/%C3%BCber(1)-x: Go would escape the parentheses), chi
// routes on r.URL.RawPath, so that an escaped "/" inside an id stays in
// it, and the parameters it captured are still escaped; handle unescapes
// them, so handlers always see ids as they are.
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rctx := chi.RouteContext(r.Context()); rctx != nil && r.URL.RawPath != "" {
			for i, v := range rctx.URLParams.Values {
				if u, err := url.PathUnescape(v); err == nil {
					rctx.URLParams.Values[i] = u
				}
			}
		}
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
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": message})
		return
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
