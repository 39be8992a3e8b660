package web

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
	"github.com/offerdeck/offerdeck/ui"
)

// maxForm bounds an action's body; a launch form with a long command fits.
const maxForm = 128 << 10

// flashCookie carries an action's answer across the 303 to the next page,
// for browsers without JavaScript.
const flashCookie = "offerdeck_flash"

func newRequestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// actor says who acts, for the audit log and idempotency.
func actor(r *http.Request) scheduler.Actor {
	return scheduler.Actor{User: userOf(r).Name, Origin: r.RemoteAddr, RequestID: r.PostFormValue("request_id")}
}

// parseForm reads a bounded form body.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	return r.ParseForm()
}

// wantsJSON reports whether the client script sent the action and wants
// the answer in place rather than a redirect.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// answer replies to an action: JSON for the client script, otherwise a
// 303 back to the page with the answer as a flash.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, res scheduler.Result, err error, next string) error {
	if wantsJSON(r) {
		if err != nil {
			status, msg, expected := statusOf(err)
			if !expected {
				s.log.ErrorContext(r.Context(), "action failed", "path", r.URL.Path, "err", err)
			}
			w.Header().Set("Content-Type", "application/json") // before the status: headers after it are dropped
			w.WriteHeader(status)
			return writeJSON(w, map[string]any{"ok": false, "error": msg})
		}
		return writeJSON(w, map[string]any{"ok": true, "message": res.Message, "tasks": res.TaskIDs, "next": next})
	}
	f := ui.Flash{Kind: "ok", Message: res.Message}
	if err != nil {
		_, msg, expected := statusOf(err)
		if !expected {
			s.log.ErrorContext(r.Context(), "action failed", "path", r.URL.Path, "err", err)
		}
		f = ui.Flash{Kind: "error", Message: msg}
	}
	setFlash(w, f)
	if next == "" {
		next = backOf(r)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// safeBack keeps a return address on this site.
// backOf is where a browser without the client script returns after an
// action: the form's own return address, or, for a form of a live region
// (whose bytes every viewer shares), the page it was posted from.
func backOf(r *http.Request) string {
	if back := r.PostFormValue("back"); back != "" {
		return safeBack(back)
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host {
		return safeBack(ref.RequestURI())
	}
	return "/"
}

func safeBack(back string) string {
	u, err := url.Parse(back)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return u.RequestURI()
}

func setFlash(w http.ResponseWriter, f ui.Flash) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(f.Kind + ":" + f.Message), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: 60})
}

// takeFlash reads the flash the last action left, and clears it.
func takeFlash(w http.ResponseWriter, r *http.Request) ui.Flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ui.Flash{}
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	v, err := url.QueryUnescape(c.Value)
	if err != nil {
		return ui.Flash{}
	}
	kind, msg, _ := strings.Cut(v, ":")
	if kind != "ok" && kind != "error" {
		return ui.Flash{}
	}
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return ui.Flash{Kind: kind, Message: msg}
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

// fieldsOf reads the launch form.
func fieldsOf(r *http.Request) ui.LaunchFields {
	f := r.PostForm
	if r.Method == http.MethodGet {
		f = r.URL.Query()
	}
	return ui.LaunchFields{
		Name: f.Get("name"), Command: f.Get("command"), Image: f.Get("image"), CPUs: f.Get("cpus"), Mem: f.Get("mem"),
		Disk: f.Get("disk"), Ports: f.Get("ports"), Instances: f.Get("instances"), Env: f.Get("env"), Constraints: f.Get("constraints"),
		Wait: f.Get("wait") == "on",
	}
}

// specOf turns the form into a task spec, checked: every problem of the
// form's text (a number that is not one) and of the spec (scheduler's
// rules) comes back at once, as a *scheduler.SpecError, in the form's
// order and one wording.
func specOf(f ui.LaunchFields) (scheduler.TaskSpec, error) {
	s := scheduler.TaskSpec{Name: f.Name, Command: strings.TrimSpace(f.Command), Image: strings.TrimSpace(f.Image), Constraints: f.Constraints, Wait: f.Wait}
	var problems []scheduler.Problem
	unparsed := map[string]bool{}
	bad := func(field, msg string) {
		problems = append(problems, scheduler.Problem{Field: field, Message: msg})
		unparsed[field] = true
	}
	num := func(name, v string, target *float64) {
		if strings.TrimSpace(v) == "" {
			return
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			bad(name, name+" must be a number, not "+strconv.Quote(v))
			return
		}
		*target = x
	}
	integer := func(name, v string, target *int) {
		if strings.TrimSpace(v) == "" {
			return
		}
		x, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			bad(name, name+" must be a whole number, not "+strconv.Quote(v))
			return
		}
		*target = x
	}
	num("cpus", f.CPUs, &s.CPUs)
	num("mem", f.Mem, &s.Mem)
	num("disk", f.Disk, &s.Disk)
	integer("ports", f.Ports, &s.Ports)
	integer("instances", f.Instances, &s.Instances)
	if strings.TrimSpace(f.Instances) != "" && s.Instances == 0 && !unparsed["instances"] {
		// An empty field means one; a typed 0 is a mistake, not a default.
		bad("instances", "instances must be between 1 and 100, not 0")
	}
	for _, line := range strings.Split(f.Env, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			bad("env", "environment line "+strconv.Quote(line)+" is not NAME=value")
			continue
		}
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		s.Env[strings.TrimSpace(k)] = v
	}
	var specErr *scheduler.SpecError
	if err := s.Validate(); errors.As(err, &specErr) {
		for _, p := range specErr.Problems {
			if !unparsed[p.Field] { // "cpus must be a number" says it already
				problems = append(problems, p)
			}
		}
	}
	if len(problems) == 0 {
		return s, nil
	}
	order := []string{"name", "command", "image", "cpus", "mem", "disk", "ports", "instances", "env", "constraints"}
	slices.SortStableFunc(problems, func(a, b scheduler.Problem) int {
		return cmp.Compare(fieldRank(order, a.Field), fieldRank(order, b.Field))
	})
	return s, &scheduler.SpecError{Problems: problems}
}

func fieldRank(order []string, field string) int {
	if i := slices.Index(order, field); i >= 0 {
		return i
	}
	return len(order)
}

// refusedSpec reports an error about the spec itself, which the form
// shows beside what was typed.
func refusedSpec(err error) bool {
	return errors.Is(err, scheduler.ErrBadSpec) || errors.Is(err, scheduler.ErrNeverFits)
}

// needOf is what one instance of the form's spec needs, for the preview.
func needOf(f ui.LaunchFields) placement.Need {
	s, _ := specOf(f)
	return placement.Need{CPUs: s.CPUs, Mem: s.Mem, Disk: s.Disk, Ports: s.Ports}
}

func (s *Server) acceptOffer(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	spec, err := specOf(fieldsOf(r))
	if err != nil {
		if !wantsJSON(r) {
			return s.launchPage(w, r, http.StatusUnprocessableEntity, fieldsOf(r), err)
		}
		return s.answer(w, r, scheduler.Result{}, err, "")
	}
	offerID := chi.URLParam(r, "id")
	res, err := s.sched.Accept(r.Context(), actor(r), offerID, []scheduler.TaskSpec{spec})
	if agent := r.PostFormValue("agent"); errors.Is(err, scheduler.ErrUnknownOffer) && agent != "" {
		// The offer expired (or was rescinded) under the form: the task
		// waits for the agent's next offer instead.
		spec.Agent = agent
		res, err = s.sched.Launch(r.Context(), actor(r), spec)
		if err == nil {
			res.Message = "offer " + offerID + " is gone; " + res.Message
		}
	}
	next := ""
	if err == nil {
		next = "/tasks"
		if len(res.TaskIDs) == 0 {
			next = "/launch" // queued: the queue says what it waits for
		}
		if len(res.TaskIDs) == 1 {
			next = "/tasks/" + url.PathEscape(res.TaskIDs[0])
		}
	}
	return s.answer(w, r, res, err, next)
}

func (s *Server) declineOffer(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	refuse := time.Duration(-1)
	if v := r.PostFormValue("refuse"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 365*24*time.Hour {
			return s.answer(w, r, scheduler.Result{}, badInput("refuse must be a duration such as 5s or 1h"), "")
		}
		refuse = d
	}
	res, err := s.sched.Decline(r.Context(), actor(r), chi.URLParam(r, "id"), refuse)
	return s.answer(w, r, res, err, "")
}

func (s *Server) launchSpec(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	spec, err := specOf(fieldsOf(r))
	if err == nil {
		var res scheduler.Result
		res, err = s.sched.Launch(r.Context(), actor(r), spec)
		if err == nil || !refusedSpec(err) {
			return s.answer(w, r, res, err, "")
		}
	}
	if !wantsJSON(r) { // the form again, as typed, with the reasons
		return s.launchPage(w, r, http.StatusUnprocessableEntity, fieldsOf(r), err)
	}
	return s.answer(w, r, scheduler.Result{}, err, "")
}

// launchPreview renders the preview and the fit map for the form's
// current values, from the same model as the page: the Launch page swaps
// them in as the reader types, and a board open in the same browser takes
// its fit marks from the map.
func (s *Server) launchPreview(w http.ResponseWriter, r *http.Request) error {
	f := fieldsOf(r)
	id := r.URL.Query().Get("offer")
	var offers []scheduler.Offer
	var racks ui.BoardRacks
	if _, err := s.live.read(r.Context(), nil, func(m *model) {
		racks = boardRacks(m, "")
		if id == "" {
			offers = make([]scheduler.Offer, 0, len(m.offers))
			for _, a := range m.agentOrder {
				offers = append(offers, m.agentOffers(a)...)
			}
		} else if o, ok := m.offers[id]; ok {
			offers = m.agentOffers(o.AgentID) // the agent's whole share, as Accept takes it
		}
	}); err != nil {
		return err
	}
	cs, err := placement.ParseConstraints(f.Constraints)
	if err != nil {
		lines := []ui.PreviewLine{{Hostname: "constraints", Reasons: []string{err.Error()}}}
		return render(w, r, http.StatusOK, ui.PreviewAnswer(lines, ui.FitMap{Racks: racks, Summary: "Nothing is marked until the constraints read: " + err.Error()}))
	}
	need := needOf(f)
	return render(w, r, http.StatusOK, ui.PreviewAnswer(preview(offers, need, cs), markFits(racks, offers, need, cs)))
}

func (s *Server) killTask(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	var grace time.Duration
	if v := r.PostFormValue("grace"); v != "" && v != "0" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Hour {
			return s.answer(w, r, scheduler.Result{}, badInput("grace must be a duration such as 10s"), "")
		}
		grace = d
	}
	res, err := s.sched.Kill(r.Context(), actor(r), chi.URLParam(r, "id"), grace)
	return s.answer(w, r, res, err, "")
}

func (s *Server) unqueue(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	res, err := s.sched.Unqueue(r.Context(), actor(r), chi.URLParam(r, "id"))
	return s.answer(w, r, res, err, "")
}

// simple adapts the actions without arguments: reconcile, revive, suppress.
func (s *Server) simple(do func(*scheduler.Scheduler, *http.Request, scheduler.Actor) (scheduler.Result, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(w, r); err != nil {
			return err
		}
		res, err := do(s.sched, r, actor(r))
		return s.answer(w, r, res, err, "")
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Users == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	l := s.layout("Log in", "", scheduler.Connection{})
	l.Bare = true // nothing of the cluster before logging in
	return render(w, r, http.StatusOK, ui.LoginPage(ui.Login{Layout: l, Next: safeBack(r.URL.Query().Get("next"))}))
}

// login checks a name and password and starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Users == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	next := safeBack(r.PostFormValue("next"))
	u, ok := s.cfg.Users.checkPassword(r.PostFormValue("user"), r.PostFormValue("password"))
	if !ok {
		s.log.Warn("login failed", "user", r.PostFormValue("user"), "remote", r.RemoteAddr)
		l := s.layout("Log in", "", scheduler.Connection{})
		l.Bare = true
		return render(w, r, http.StatusUnauthorized, ui.LoginPage(ui.Login{Layout: l, Next: next, Error: "Wrong name or password."}))
	}
	id := s.sessions.create(u)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: s.cfg.TLS,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionLifetime.Seconds())})
	s.log.Info("login", "user", u.Name, "role", u.Role.String(), "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// logout ends the session and closes its live streams.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.cfg.TLS, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
