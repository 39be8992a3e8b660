package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// apiBase is where the JSON API lives: a path no Mesos master serves, so a
// script pointed at the wrong host fails loudly instead of talking to the
// master's operator API (POST /api/v1).
const apiBase = "/offerdeck/api/v1"

// maxAPIBody bounds an API request's body: a launch spec with the longest
// command the scheduler accepts (64 KiB) fits with room.
const maxAPIBody = 128 << 10

// maxIdempotencyKey bounds an Idempotency-Key header.
const maxIdempotencyKey = 200

// apiCtxKey keys what the API's middleware records on a request.
type apiCtxKey struct{}

// apiCaller is how an API request proved who it is.
type apiCaller struct {
	// bearer: by a bearer token, which a browser never sends by itself,
	// so a cross-site page cannot act with it.
	bearer bool
	sess   *session
}

func callerOf(r *http.Request) apiCaller {
	c, _ := r.Context().Value(apiCtxKey{}).(apiCaller)
	return c
}

// apiAuthenticate finds the user as the pages do (bearer token or session
// cookie; everyone is the local operator without users) but answers a
// stranger 401 with a problem, never a redirect to the login page.
func (s *Server) apiAuthenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, c := user{Name: "local", Role: RoleOperator}, apiCaller{}
		if s.cfg.Users != nil {
			var ok bool
			var sess *session
			u, sess, ok = s.identify(r)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="offerdeck"`)
				s.problem(w, r, errUnauthorized)
				return
			}
			c = apiCaller{bearer: sess == nil, sess: sess}
		}
		ctx := context.WithValue(r.Context(), keyUser, u)
		if c.sess != nil {
			ctx = context.WithValue(ctx, keySession, c.sess)
		}
		ctx = context.WithValue(ctx, apiCtxKey{}, c)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// apiOperator refuses actions to viewers, and to requests a browser may
// have been made to send from another site: everything but a bearer
// token's requests passes the pages' cross-origin protection.
func (s *Server) apiOperator(next http.Handler) http.Handler {
	protect := http.NewCrossOriginProtection()
	protect.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.problem(w, r, errCrossOrigin)
	}))
	guarded := protect.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !canAct(r) {
			s.problem(w, r, errViewer)
			return
		}
		if callerOf(r).bearer {
			next.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// apiHandle adapts an API handler: its error is answered as a problem.
func (s *Server) apiHandle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		if err := h(w, r); err != nil {
			s.problem(w, r, err)
		}
		return nil
	})
}

// apiActor says who acts, for the audit log and idempotency: the
// Idempotency-Key header, when given, is the request id.
func apiActor(r *http.Request) (scheduler.Actor, error) {
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	// The header is a structured-field string; a bare token is taken too.
	if len(key) >= 2 && key[0] == '"' && key[len(key)-1] == '"' {
		key = key[1 : len(key)-1]
	}
	if len(r.Header.Values("Idempotency-Key")) > 1 {
		return scheduler.Actor{}, invalid(FieldError{In: "header", Name: "Idempotency-Key", Detail: "give one Idempotency-Key"})
	}
	if len(key) > maxIdempotencyKey || strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return scheduler.Actor{}, invalid(FieldError{In: "header", Name: "Idempotency-Key",
			Detail: "must be at most 200 visible ASCII characters, such as a UUID"})
	}
	return scheduler.Actor{User: userOf(r).Name, Origin: r.RemoteAddr + " (API)", RequestID: key}, nil
}

// readBody reads a bounded JSON body; an empty body reads as nil. Any
// other content type than JSON is refused, so a cross-site form cannot
// pass for a script.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, errUnsupportedMedia
	}
	return b, nil
}

// decodeObject decodes a JSON object body into fields by name, listing
// every field it does not know.
func decodeObject(b []byte, known ...string) (map[string]json.RawMessage, []FieldError) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		detail := "the body must be a JSON object"
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			detail += ": " + err.Error()
		}
		return nil, []FieldError{{In: "body", Name: "", Detail: detail}}
	}
	var errs []FieldError
	for name := range raw {
		if !slices.Contains(known, name) {
			errs = append(errs, FieldError{In: "body", Name: name, Detail: "unknown field; known: " + strings.Join(known, ", ")})
		}
	}
	return raw, errs
}

// writeAPI answers v as JSON with status.
func writeAPI(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
