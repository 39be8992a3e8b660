package web

import (
	"bytes"
	"net/http"

	"github.com/a-h/templ"

	"github.com/offerdeck/offerdeck/ui"
)

func (s *Server) overview(w http.ResponseWriter, r *http.Request) error {
	return render(w, r, http.StatusOK, ui.OverviewPage(ui.Overview{
		Layout:   s.layout("Overview", "/"),
		Embedded: s.master == "",
		Master:   s.master,
	}))
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

// readyz reports whether the dashboard can serve its pages. Until the
// scheduler exists it is ready as soon as it serves.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
}
