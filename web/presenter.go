package web

import (
	"net/http"
)

// Presenter mode (larger type, new items highlighted longer) is the
// viewer's choice, kept in a cookie so that the server knows it: pages are
// rendered in it without the client script, and a presenter who opens the
// dashboard lands on the board.

// presenterCookie holds "on" while presenter mode is on. The client script
// sets it too, so it is not HttpOnly; it carries nothing secret.
const presenterCookie = "offerdeck-presenter"

// presenterOn reports whether the request comes from a browser in
// presenter mode.
func presenterOn(r *http.Request) bool {
	c, err := r.Cookie(presenterCookie)
	return err == nil && c.Value == "on"
}

// setPresenter turns presenter mode on or off for this browser and goes
// back to the page the form was on: the header's toggle without the
// client script.
func (s *Server) setPresenter(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	c := &http.Cookie{Name: presenterCookie, Value: "on", Path: "/", SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600,
		Secure: r.TLS != nil}
	if r.PostFormValue("presenter") != "on" {
		c.Value, c.MaxAge = "", -1
	}
	http.SetCookie(w, c)
	http.Redirect(w, r, backOf(r), http.StatusSeeOther)
	return nil
}

// landsOnBoard reports whether a request for the overview is a presenter
// arriving (a URL typed or a bookmark, which browsers mark as
// Sec-Fetch-Site none): their landing page is the board. The Overview tab
// and links within the dashboard still show the overview.
func landsOnBoard(r *http.Request) bool {
	return presenterOn(r) && r.Header.Get("Sec-Fetch-Site") == "none" && r.URL.RawQuery == ""
}
