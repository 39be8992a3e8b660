package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// Role is what a user may do.
type Role int

// The roles: a viewer sees everything and acts on nothing; an operator may
// also accept, decline, launch and kill.
const (
	RoleViewer Role = iota + 1
	RoleOperator
)

// String names the role as the users file spells it.
func (r Role) String() string {
	switch r {
	case RoleViewer:
		return "viewer"
	case RoleOperator:
		return "operator"
	}
	return "none"
}

// user is who makes a request.
type user struct {
	Name string
	Role Role
}

// credential is how one user proves who they are.
type credential struct {
	user
	bcryptHash []byte   // password login
	tokenHash  [32]byte // bearer token, stored as its SHA-256
	isToken    bool
}

// Users are the people and programs allowed in. Build it with ParseUsers;
// it is read-only afterwards and safe for concurrent use.
type Users struct {
	byName  map[string]credential
	byToken map[[32]byte]credential
	// dummy is compared against for unknown names, so a login costs the
	// same whether the name exists or not.
	dummy []byte
}

// ParseUsers reads users, one a line (or separated by ";"), as
//
//	<name> <viewer|operator> <credential>
//
// where the credential is a bcrypt hash of a password ($2a$..., made with
// "dashboard hash-password") or "sha256:<hex>" of a bearer token. Blank
// lines and lines starting with # are skipped. Errors name the line.
func ParseUsers(text string) (*Users, error) {
	u := &Users{byName: map[string]credential{}, byToken: map[[32]byte]credential{}}
	lines := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ';' })
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("users line %d: want <name> <viewer|operator> <bcrypt hash or sha256:hex token>", i+1)
		}
		c := credential{user: user{Name: f[0]}}
		switch f[1] {
		case "viewer":
			c.Role = RoleViewer
		case "operator":
			c.Role = RoleOperator
		default:
			return nil, fmt.Errorf("users line %d: role %q: want viewer or operator", i+1, f[1])
		}
		switch {
		case strings.HasPrefix(f[2], "sha256:"):
			b, err := hex.DecodeString(strings.TrimPrefix(f[2], "sha256:"))
			if err != nil || len(b) != 32 {
				return nil, fmt.Errorf("users line %d: token hash must be sha256: and 64 hex digits", i+1)
			}
			c.isToken = true
			copy(c.tokenHash[:], b)
			u.byToken[c.tokenHash] = c
		case strings.HasPrefix(f[2], "$2"):
			if _, err := bcrypt.Cost([]byte(f[2])); err != nil {
				return nil, fmt.Errorf("users line %d: not a bcrypt hash: %v", i+1, err)
			}
			c.bcryptHash = []byte(f[2])
			if _, dup := u.byName[c.Name]; dup {
				return nil, fmt.Errorf("users line %d: %s appears twice", i+1, c.Name)
			}
			u.byName[c.Name] = c
		default:
			return nil, fmt.Errorf("users line %d: credential must be a bcrypt hash ($2a$...) or sha256:<hex> of a token; never a plain password", i+1)
		}
	}
	if len(u.byName)+len(u.byToken) == 0 {
		return nil, errors.New("users: no user defined")
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("no such user"), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	u.dummy = dummy
	return u, nil
}

// HashPassword returns the bcrypt hash of a password for the users file.
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", errors.New("password: use at least 8 characters")
	}
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(b), err
}

// checkPassword reports the user whose password this is.
func (u *Users) checkPassword(name, password string) (user, bool) {
	c, ok := u.byName[name]
	if !ok {
		// Spend the same time as a real check, so names cannot be probed.
		bcrypt.CompareHashAndPassword(u.dummy, []byte(password))
		return user{}, false
	}
	return c.user, bcrypt.CompareHashAndPassword(c.bcryptHash, []byte(password)) == nil
}

// checkToken reports the user a bearer token belongs to.
func (u *Users) checkToken(token string) (user, bool) {
	sum := sha256.Sum256([]byte(token))
	for k, c := range u.byToken {
		if subtle.ConstantTimeCompare(k[:], sum[:]) == 1 {
			return c.user, true
		}
	}
	return user{}, false
}

// sessionCookie names the session cookie.
const sessionCookie = "offerdeck_session"

// sessionLifetime bounds a login; the user logs in again after it.
const sessionLifetime = 12 * time.Hour

// sessions are the logged-in browsers, in memory: a restart logs everyone
// out, which is the safe direction.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
}

type session struct {
	user    user
	expires time.Time
	// ended is done when the session ends (logout, expiry), which closes
	// its WebSockets; end ends it.
	ended context.Context
	end   context.CancelFunc
}

func newSession(u user, expires time.Time) *session {
	ctx, cancel := context.WithCancel(context.Background())
	return &session{user: u, expires: expires, ended: ctx, end: cancel}
}

func newSessions() *sessions { return &sessions{byID: map[string]*session{}} }

func (ss *sessions) create(u user) string {
	b := make([]byte, 32)
	rand.Read(b)
	id := hex.EncodeToString(b)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := time.Now()
	for k, s := range ss.byID { // drop expired ones on the way
		if now.After(s.expires) {
			s.end()
			delete(ss.byID, k)
		}
	}
	ss.byID[id] = newSession(u, now.Add(sessionLifetime))
	return id
}

func (ss *sessions) get(id string) (*session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[id]
	if !ok {
		return nil, false
	}
	if time.Now().After(s.expires) {
		s.end()
		delete(ss.byID, id)
		return nil, false
	}
	return s, true
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.byID[id]; ok {
		s.end()
		delete(ss.byID, id)
	}
}

type ctxKey int

const (
	keyUser ctxKey = iota
	keySession
)

// userOf returns who makes the request.
func userOf(r *http.Request) user {
	if u, ok := r.Context().Value(keyUser).(user); ok {
		return u
	}
	return user{}
}

func canAct(r *http.Request) bool { return userOf(r).Role == RoleOperator }

// authenticate finds the user of every request. Without configured users
// the dashboard is local and everyone is an operator (it then listens on
// loopback only, unless the operator opted out loudly). With users, a
// bearer token or a session cookie is needed: pages send the browser to
// the login page, everything else gets 401.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Users == nil {
			ctx := context.WithValue(r.Context(), keyUser, user{Name: "local", Role: RoleOperator})
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		if u, sess, ok := s.identify(r); ok {
			ctx := context.WithValue(r.Context(), keyUser, u)
			if sess != nil {
				ctx = context.WithValue(ctx, keySession, sess)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		if r.Method == http.MethodGet && !wantsJSON(r) && r.URL.Path != "/ws" {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="offerdeck"`)
		http.Error(w, "401 log in first", http.StatusUnauthorized)
	})
}

// identify finds the user of a request with configured users: by bearer
// token, or else by session cookie (then sess is the session). It answers
// nothing.
func (s *Server) identify(r *http.Request) (u user, sess *session, ok bool) {
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		u, ok := s.cfg.Users.checkToken(strings.TrimPrefix(auth, "Bearer "))
		return u, nil, ok
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if sess, ok := s.sessions.get(c.Value); ok {
			return sess.user, sess, true
		}
	}
	return user{}, nil, false
}

// requireScraper guards /metrics: with configured users, it needs a bearer
// token (as Prometheus sends) or an operator's session. Anonymous callers
// get 401, never a redirect a scraper would follow to the login page.
func (s *Server) requireScraper(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Users != nil {
			u, sess, ok := s.identify(r)
			if !ok || (sess != nil && u.Role != RoleOperator) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="offerdeck"`)
				http.Error(w, "401 /metrics needs a bearer token or an operator's session", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requireOperator refuses actions to viewers.
func requireOperator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !canAct(r) {
			http.Error(w, "403 viewers may look but not act", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Login limits (Limits.LoginFailures, LoginRefill): every failed login
// costs a token from its address's bucket and from its user name's; while
// either is empty, logins are answered 429 before any password is
// checked. A correct password costs nothing, so users who type well are
// never held up. Names not in the users file share one bucket, so
// guessing names cannot grow memory.
const (
	// loginAddrsKept bounds the addresses remembered; beyond it, those
	// whose buckets are full again are forgotten.
	loginAddrsKept = 4096
	// bcryptWait bounds how long a login waits for a free comparison.
	bcryptWait = 10 * time.Second
)

// loginGuard holds the login limits and the bcrypt semaphore.
type loginGuard struct {
	userBurst int           // failures for one name in a row...
	userEvery time.Duration // ...then one per this; an address has twice the burst, at twice the rate

	mu     sync.Mutex
	byAddr map[netip.Addr]*bucket
	byUser map[string]*bucket
	// bcrypt bounds the comparisons running at once: each takes a core
	// for tens of milliseconds, and a flood of guesses must leave the
	// pages' CPU alone.
	bcrypt chan struct{}
}

// bucket is a token bucket with the checks in progress that may yet take
// a token from it; both are guarded by loginGuard.mu.
type bucket struct {
	lim      *rate.Limiter
	checking int
}

func newLoginGuard(l Limits) *loginGuard {
	return &loginGuard{byAddr: map[netip.Addr]*bucket{}, byUser: map[string]*bucket{},
		userBurst: l.LoginFailures, userEvery: l.LoginRefill,
		bcrypt: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))}
}

// begin starts a password check from addr for name ("" for names not in
// the users file), unless a failure of every check in progress would
// leave a bucket without a token: then it returns how long until there
// is room. Call done with whether the check failed.
func (g *loginGuard) begin(addr netip.Addr, name string) (done func(failed bool), wait time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	a := g.byAddr[addr]
	if a == nil {
		if len(g.byAddr) >= loginAddrsKept {
			for k, b := range g.byAddr {
				if b.checking == 0 && b.lim.TokensAt(now) >= float64(2*g.userBurst) {
					delete(g.byAddr, k)
				}
			}
		}
		a = &bucket{lim: rate.NewLimiter(rate.Every(g.userEvery/2), 2*g.userBurst)}
		g.byAddr[addr] = a
	}
	u := g.byUser[name]
	if u == nil {
		u = &bucket{lim: rate.NewLimiter(rate.Every(g.userEvery), g.userBurst)}
		g.byUser[name] = u
	}
	for _, b := range []*bucket{a, u} {
		if missing := float64(b.checking) + 1 - b.lim.TokensAt(now); missing > 0 {
			wait = max(wait, time.Duration(missing/float64(b.lim.Limit())*float64(time.Second)))
		}
	}
	if wait > 0 {
		return nil, wait
	}
	a.checking++
	u.checking++
	return func(failed bool) {
		g.mu.Lock()
		defer g.mu.Unlock()
		a.checking--
		u.checking--
		if failed {
			now := time.Now()
			a.lim.AllowN(now, 1)
			u.lim.AllowN(now, 1)
		}
	}, 0
}

// limitLogins guards POST /login: it refuses an address or a name whose
// failures used up its bucket (429, Retry-After, the reason on the login
// page or in JSON), runs the password check under the bcrypt semaphore,
// and charges both buckets when the check fails.
func (s *Server) limitLogins(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Users == nil {
			next.ServeHTTP(w, r)
			return
		}
		if err := parseForm(w, r); err != nil {
			s.fail(w, r, err)
			return
		}
		name := r.PostFormValue("user")
		if _, known := s.cfg.Users.byName[name]; !known {
			name = ""
		}
		done, wait := s.logins.begin(requestAddr(r), name)
		if done == nil {
			s.log.WarnContext(r.Context(), "login refused: too many attempts", "user", r.PostFormValue("user"), "remote", r.RemoteAddr, "retry_in", wait.Round(time.Second))
			s.loginRefused(w, r, wait)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), bcryptWait)
		defer cancel()
		select {
		case s.logins.bcrypt <- struct{}{}:
		case <-ctx.Done():
			done(false)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "503 busy checking other logins; try again in 5 s", http.StatusServiceUnavailable)
			return
		}
		rec := &statusRecorder{ResponseWriter: w}
		func() {
			defer func() { <-s.logins.bcrypt }()
			next.ServeHTTP(rec, r)
		}()
		done(rec.status != http.StatusSeeOther) // a 303 is a login
	})
}

// loginRefused answers a login over its limits: the login page with the
// reason, or JSON for a client that asks for it.
func (s *Server) loginRefused(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	msg := fmt.Sprintf("Too many attempts; try again in %d s.", secs)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": msg, "retry_after": secs})
		return
	}
	l := s.layout("Log in", "", scheduler.Connection{})
	page := ui.LoginPage(ui.Login{Layout: l, Next: safeBack(r.PostFormValue("next")), Error: msg})
	if err := render(w, r, http.StatusTooManyRequests, page); err != nil {
		http.Error(w, msg, http.StatusTooManyRequests)
	}
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// tokenBucket is the login limits' name for token logins, apart from the
// bucket that names not in the users file share.
const tokenBucket = "\x00token"

// tokenLogin serves GET /login?token=...: with Config.TokenLogin, a valid
// bearer token starts a session as its user and sends the browser on
// without the token in its address. Wrong tokens count as failed logins.
func (s *Server) tokenLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		if token == "" || s.cfg.Users == nil || !s.cfg.TokenLogin {
			next.ServeHTTP(w, r)
			return
		}
		done, wait := s.logins.begin(requestAddr(r), tokenBucket)
		if done == nil {
			s.loginRefused(w, r, wait)
			return
		}
		u, ok := s.cfg.Users.checkToken(token)
		done(!ok)
		if !ok {
			s.log.Warn("login link with a wrong token", "remote", r.RemoteAddr)
			l := s.layout("Log in", "", scheduler.Connection{})
			page := ui.LoginPage(ui.Login{Layout: l, Next: "/", Error: "This login link is not valid: the dashboard makes a new one each time it starts (see its log)."})
			if err := render(w, r, http.StatusUnauthorized, page); err != nil {
				http.Error(w, "401 login link not valid", http.StatusUnauthorized)
			}
			return
		}
		s.startSession(w, u)
		s.log.Info("login by link", "user", u.Name, "role", u.Role.String(), "remote", r.RemoteAddr)
		http.Redirect(w, r, safeBack(r.URL.Query().Get("next")), http.StatusSeeOther)
	})
}

// startSession creates a session for u and sets its cookie.
func (s *Server) startSession(w http.ResponseWriter, u user) {
	id := s.sessions.create(u)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: s.cfg.TLS,
		SameSite: http.SameSiteStrictMode, MaxAge: int(sessionLifetime.Seconds())})
}
