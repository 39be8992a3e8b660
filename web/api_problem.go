package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// problemBase prefixes every problem type: the API's documentation, where
// each type has its section. Types are stable; titles and details are for
// people and may change.
const problemBase = "https://github.com/offerdeck/offerdeck/blob/main/docs/api.md#"

// Problem is an API error as RFC 9457 shapes it
// (application/problem+json), with the field errors of a bad request.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	// RequestID names the request in the dashboard's log.
	RequestID string `json:"request_id"`
	// Errors lists every field of the request that is wrong.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one wrong field of a request: where it is (body, query,
// header, path), its name, and what is wrong.
type FieldError struct {
	In     string `json:"in"`
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

// invalidRequest carries the field errors of a request.
type invalidRequest struct{ errs []FieldError }

func (e *invalidRequest) Error() string {
	parts := make([]string, len(e.errs))
	for i, f := range e.errs {
		parts[i] = strings.TrimSpace(f.Name + " " + f.Detail)
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

func invalid(errs ...FieldError) error { return &invalidRequest{errs: errs} }

// Errors the API's middleware answers with.
var (
	errUnauthorized     = errors.New("log in first: send Authorization: Bearer <token>")
	errViewer           = errors.New("viewers may read but not act")
	errCrossOrigin      = errors.New("cross-origin request refused: act from the dashboard's own pages or with a bearer token")
	errUnsupportedMedia = errors.New("send the body as application/json")
	errTooManyStreams   = errors.New("too many event streams")
)

// problemType is one stable kind of problem.
type problemType struct {
	name   string
	title  string
	status int
}

// problemTypes are every problem the API answers with, in the order the
// documentation lists them.
var problemTypes = []problemType{
	{"invalid-request", "The request has invalid fields", http.StatusBadRequest},
	{"unauthorized", "Authentication needed", http.StatusUnauthorized},
	{"forbidden", "Viewers may not act", http.StatusForbidden},
	{"cross-origin", "Cross-origin request refused", http.StatusForbidden},
	{"not-found", "No such resource", http.StatusNotFound},
	{"unknown-offer", "The offer is not held", http.StatusNotFound},
	{"unknown-task", "No such task", http.StatusNotFound},
	{"unknown-queued", "No such queued spec", http.StatusNotFound},
	{"method-not-allowed", "Method not allowed", http.StatusMethodNotAllowed},
	{"request-timeout", "The request took too long to arrive", http.StatusRequestTimeout},
	{"does-not-fit", "The tasks do not fit the offer", http.StatusConflict},
	{"never-fits", "No agent seen can run the spec", http.StatusUnprocessableEntity},
	{"task-finished", "The task has already finished", http.StatusConflict},
	{"task-unknown", "The master does not know the task", http.StatusConflict},
	{"body-too-large", "The body is too large", http.StatusRequestEntityTooLarge},
	{"unsupported-media-type", "The body must be JSON", http.StatusUnsupportedMediaType},
	{"too-many-streams", "Too many event streams", http.StatusTooManyRequests},
	{"internal", "Something went wrong on our side", http.StatusInternalServerError},
	{"master-refused", "The master refused", http.StatusBadGateway},
	{"output-unavailable", "The task's output is unavailable", http.StatusBadGateway},
	{"not-connected", "Not connected to a master", http.StatusServiceUnavailable},
	{"storage", "The dashboard's state could not be saved", http.StatusServiceUnavailable},
	{"stopped", "The dashboard is shutting down", http.StatusServiceUnavailable},
}

// problemNameOf names the problem an error is; statusOf decides its
// status and detail, as it does for the pages.
func problemNameOf(err error) string {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, new(*invalidRequest)), errors.Is(err, errBadInput), errors.Is(err, scheduler.ErrBadSpec),
		errors.As(err, new(url.EscapeError)):
		return "invalid-request"
	case errors.Is(err, errUnauthorized):
		return "unauthorized"
	case errors.Is(err, errViewer):
		return "forbidden"
	case errors.Is(err, errCrossOrigin):
		return "cross-origin"
	case errors.Is(err, errUnsupportedMedia):
		return "unsupported-media-type"
	case errors.Is(err, errTooManyStreams):
		return "too-many-streams"
	case errors.Is(err, errNotFound), errors.Is(err, errUnknownEvent):
		return "not-found"
	case errors.Is(err, errMethodNotAllowed):
		return "method-not-allowed"
	case errors.As(err, &tooBig):
		return "body-too-large"
	case isTimeout(err):
		return "request-timeout"
	case errors.Is(err, scheduler.ErrUnknownOffer):
		return "unknown-offer"
	case errors.Is(err, scheduler.ErrUnknownTask):
		return "unknown-task"
	case errors.Is(err, scheduler.ErrUnknownQueued):
		return "unknown-queued"
	case errors.Is(err, scheduler.ErrDoesNotFit):
		return "does-not-fit"
	case errors.Is(err, scheduler.ErrNeverFits):
		return "never-fits"
	case errors.Is(err, scheduler.ErrTaskUnknown):
		return "task-unknown"
	case errors.Is(err, scheduler.ErrTaskFinished):
		return "task-finished"
	case errors.Is(err, scheduler.ErrStorage):
		return "storage"
	case errors.Is(err, scheduler.ErrStopped):
		return "stopped"
	case errors.Is(err, scheduler.ErrNotConnected):
		return "not-connected"
	case errors.Is(err, scheduler.ErrOutputUnavailable):
		return "output-unavailable"
	case errors.As(err, new(*mesos.APIError)):
		return "master-refused"
	}
	return "internal"
}

// problemOf is the problem an error is answered with.
func problemOf(r *http.Request, err error) Problem {
	name := problemNameOf(err)
	i := slices.IndexFunc(problemTypes, func(p problemType) bool { return p.name == name })
	pt := problemTypes[i]
	p := Problem{Type: problemBase + pt.name, Title: pt.title, Status: pt.status, Instance: r.URL.Path,
		RequestID: middleware.GetReqID(r.Context())}
	var inv *invalidRequest
	switch {
	case errors.As(err, &inv):
		p.Errors = inv.errs
		p.Detail = "Fix the fields listed in errors."
	case slices.Contains([]string{"unauthorized", "forbidden", "cross-origin", "unsupported-media-type", "too-many-streams"}, name):
		p.Detail = sentence(err)
	default:
		_, p.Detail, _ = statusOf(err)
	}
	if p.Errors == nil && name == "invalid-request" {
		// One field-less error from the scheduler (a spec it refused):
		// its text says what to fix.
		p.Errors = []FieldError{{In: "body", Detail: strings.TrimPrefix(err.Error(), scheduler.ErrBadSpec.Error()+": ")}}
	}
	return p
}

// problem answers err as application/problem+json. Unexpected errors
// are logged once, with the request id.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(r, err)
	if p.Status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", p.RequestID, "err", err)
	}
	if p.Status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", allowedMethods(r))
	}
	b, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}
