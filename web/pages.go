package web

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/ui"
)

func (s *Server) overview(w http.ResponseWriter, r *http.Request) error {
	snap, err := s.sched.Snapshot(r.Context())
	if err != nil {
		return err
	}
	layout := s.layout("Overview", "/", snap.Conn)
	return render(w, r, http.StatusOK, ui.OverviewPage(overviewView(snap, layout, s.cfg, time.Now())))
}

// render writes a component only once it rendered completely, so a failed
// render becomes a clean error page instead of half a page.
func render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz reports whether the dashboard is subscribed to a master: 200
// when it is, 503 with the reason when it is not.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	snap, err := s.sched.Snapshot(r.Context())
	switch {
	case err != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %v\n", err)
	case snap.Conn.State != mesos.Subscribed:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s; %s\n", snap.Conn.State, snap.Conn.Err)
	default:
		fmt.Fprintf(w, "ready: subscribed as %s\n", snap.Conn.FrameworkID)
	}
}
