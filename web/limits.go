package web

import (
	"cmp"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound what clients may hold of the dashboard: connections, live
// streams, and the time a request may take to arrive or its answer to
// leave. Zero fields take the defaults below.
type Limits struct {
	// MaxConns bounds the connections held at once. A connection beyond
	// it takes the place of the longest-idle one (a keep-alive waiting
	// for its next request, or one that has sent nothing for a second),
	// or is closed at once when none is idle: a flood of idle connections
	// cannot keep anyone out, and file descriptors stay bounded.
	MaxConns int
	// MaxConnsPerAddr bounds the connections of one remote address, so
	// that one address cannot take the whole of MaxConns.
	MaxConnsPerAddr int
	// MaxStreamsPerSession and MaxStreamsPerAddr bound the live
	// WebSocket streams of one session and of one remote address; one
	// more is answered 429 with the reason.
	MaxStreamsPerSession int
	MaxStreamsPerAddr    int
	// ReadHeaderTimeout bounds reading a request's headers, ReadTimeout
	// its headers and body (a slow body is cut), WriteTimeout writing the
	// answer, IdleTimeout a keep-alive connection waiting for its next
	// request. Live streams are hijacked, so none of them applies there.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// LoginFailures is how many failed logins one user name may have in
	// a row, and twice that one address; then one more is allowed every
	// LoginRefill for a name and every half of it for an address, and
	// attempts beyond are answered 429 without checking a password.
	LoginFailures int
	LoginRefill   time.Duration
}

// The defaults of Limits: a page is a handful of connections and one
// stream per tab, so these leave an operator ample room while bounding
// what one client can take.
const (
	DefaultMaxConns             = 4096
	DefaultMaxConnsPerAddr      = 512
	DefaultMaxStreamsPerSession = 32
	DefaultMaxStreamsPerAddr    = 256
	DefaultReadHeaderTimeout    = 10 * time.Second
	DefaultReadTimeout          = 30 * time.Second
	DefaultWriteTimeout         = time.Minute
	DefaultIdleTimeout          = 2 * time.Minute
	DefaultLoginFailures        = 5
	DefaultLoginRefill          = 12 * time.Second
)

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	l.MaxConns = cmp.Or(l.MaxConns, DefaultMaxConns)
	l.MaxConnsPerAddr = cmp.Or(l.MaxConnsPerAddr, DefaultMaxConnsPerAddr)
	l.MaxStreamsPerSession = cmp.Or(l.MaxStreamsPerSession, DefaultMaxStreamsPerSession)
	l.MaxStreamsPerAddr = cmp.Or(l.MaxStreamsPerAddr, DefaultMaxStreamsPerAddr)
	l.ReadHeaderTimeout = cmp.Or(l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	l.ReadTimeout = cmp.Or(l.ReadTimeout, DefaultReadTimeout)
	l.WriteTimeout = cmp.Or(l.WriteTimeout, DefaultWriteTimeout)
	l.IdleTimeout = cmp.Or(l.IdleTimeout, DefaultIdleTimeout)
	l.LoginFailures = cmp.Or(l.LoginFailures, DefaultLoginFailures)
	l.LoginRefill = cmp.Or(l.LoginRefill, DefaultLoginRefill)
	return l
}

// NewHTTPServer returns an http.Server for h with the timeouts of l, and
// ln wrapped in a ConnLimiter with its caps, whose ConnState the server
// reports to. Serve the server on the returned listener.
func NewHTTPServer(h http.Handler, ln net.Listener, l Limits) (*http.Server, *ConnLimiter) {
	l = l.withDefaults()
	cl := NewConnLimiter(ln, l.MaxConns, l.MaxConnsPerAddr)
	cl.evictIdle = true // the server reports each connection's state
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		ConnState:         cl.ConnState,
	}, cl
}

// newConnGrace is how long a new connection may send nothing before it
// may be closed to make room for another.
const newConnGrace = time.Second

// ConnLimiter is a net.Listener that holds at most max connections, and at
// most perAddr of one remote address. Unlike netutil.LimitListener it never
// stops accepting: a connection beyond a cap is accepted and closed at
// once (or, when the server reports connection states to ConnState, takes
// an idle connection's place, see Limits.MaxConns), so the kernel's
// backlog never fills and a new client is answered or refused without
// waiting. It is safe for concurrent use.
type ConnLimiter struct {
	net.Listener
	max, perAddr int
	// evictIdle makes room for a new connection by closing the
	// longest-idle one; only when ConnState is wired to the server, which
	// NewHTTPServer does. Otherwise a connection beyond max is closed.
	evictIdle bool

	mu     sync.Mutex
	byAddr map[netip.Addr]int
	conns  map[*limitedConn]struct{}

	refusedFull, refusedAddr, evicted atomic.Uint64
}

// NewConnLimiter wraps ln; max and perAddr must be positive.
func NewConnLimiter(ln net.Listener, max, perAddr int) *ConnLimiter {
	return &ConnLimiter{Listener: ln, max: max, perAddr: perAddr,
		byAddr: map[netip.Addr]int{}, conns: map[*limitedConn]struct{}{}}
}

// ConnStats are a ConnLimiter's counts.
type ConnStats struct {
	// Open is the connections held now.
	Open int
	// RefusedFull counts connections closed because MaxConns were held
	// and none was idle; RefusedAddr those over their address's cap;
	// Evicted idle connections closed to make room.
	RefusedFull, RefusedAddr, Evicted uint64
}

// Stats returns the limiter's counts.
func (l *ConnLimiter) Stats() ConnStats {
	l.mu.Lock()
	open := len(l.conns)
	l.mu.Unlock()
	return ConnStats{Open: open, RefusedFull: l.refusedFull.Load(), RefusedAddr: l.refusedAddr.Load(), Evicted: l.evicted.Load()}
}

// Accept returns the next connection within the caps, closing those
// beyond them.
func (l *ConnLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc, victim := l.admit(c)
		if victim != nil {
			victim.Conn.Close()
		}
		if lc != nil {
			return lc, nil
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // refused: free it at once, no FIN handshake to wait for
		}
		c.Close()
	}
}

// admit counts c in, or returns nil when it is over a cap; victim, when
// not nil, is an idle connection to close to make room.
func (l *ConnLimiter) admit(c net.Conn) (lc, victim *limitedConn) {
	addr := remoteAddr(c.RemoteAddr())
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byAddr[addr] >= l.perAddr {
		l.refusedAddr.Add(1)
		return nil, nil
	}
	if len(l.conns) >= l.max {
		if l.evictIdle {
			victim = l.oldestIdleLocked(now)
		}
		if victim == nil {
			l.refusedFull.Add(1)
			return nil, nil
		}
		l.forgetLocked(victim)
		l.evicted.Add(1)
	}
	lc = &limitedConn{Conn: c, l: l, addr: addr, state: http.StateNew, since: now}
	l.conns[lc] = struct{}{}
	l.byAddr[addr]++
	return lc, victim
}

// oldestIdleLocked finds the connection that has waited longest without a
// request: an idle keep-alive, or a new one past its grace.
func (l *ConnLimiter) oldestIdleLocked(now time.Time) *limitedConn {
	var oldest *limitedConn
	for c := range l.conns {
		idle := c.state == http.StateIdle || (c.state == http.StateNew && now.Sub(c.since) >= newConnGrace)
		if idle && (oldest == nil || c.since.Before(oldest.since)) {
			oldest = c
		}
	}
	return oldest
}

// forgetLocked stops counting c; it is idempotent.
func (l *ConnLimiter) forgetLocked(c *limitedConn) {
	if _, ok := l.conns[c]; !ok {
		return
	}
	delete(l.conns, c)
	if l.byAddr[c.addr]--; l.byAddr[c.addr] <= 0 {
		delete(l.byAddr, c.addr)
	}
}

// ConnState records what each connection does, for http.Server.ConnState:
// only idle connections make room for new ones.
func (l *ConnLimiter) ConnState(c net.Conn, st http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	lc.state, lc.since = st, time.Now()
	l.mu.Unlock()
}

// limitedConn is a connection counted by its limiter until it closes.
type limitedConn struct {
	net.Conn
	l    *ConnLimiter
	addr netip.Addr
	// state and since are guarded by l.mu.
	state http.ConnState
	since time.Time
}

func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	c.l.forgetLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// remoteAddr is the IP of a remote address (IPv4 in IPv6 unmapped), or
// the zero Addr when it has none.
func remoteAddr(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// requestAddr is the IP a request came from.
func requestAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// streamCounts counts the live streams per session and per address.
type streamCounts struct {
	mu        sync.Mutex
	bySession map[*session]int
	byAddr    map[netip.Addr]int
}

func newStreamCounts() *streamCounts {
	return &streamCounts{bySession: map[*session]int{}, byAddr: map[netip.Addr]int{}}
}

// acquire counts one more stream of sess (nil without sessions) from
// addr, unless that passes a cap: then why says which, and release is
// nil. Call release once when the stream ends.
func (sc *streamCounts) acquire(sess *session, addr netip.Addr, l Limits) (release func(), why string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sess != nil && sc.bySession[sess] >= l.MaxStreamsPerSession {
		return nil, "too many live streams for this session; close some tabs"
	}
	if sc.byAddr[addr] >= l.MaxStreamsPerAddr {
		return nil, "too many live streams from this address"
	}
	if sess != nil {
		sc.bySession[sess]++
	}
	sc.byAddr[addr]++
	var once sync.Once
	return func() {
		once.Do(func() {
			sc.mu.Lock()
			defer sc.mu.Unlock()
			if sess != nil {
				if sc.bySession[sess]--; sc.bySession[sess] <= 0 {
					delete(sc.bySession, sess)
				}
			}
			if sc.byAddr[addr]--; sc.byAddr[addr] <= 0 {
				delete(sc.byAddr, addr)
			}
		})
	}, ""
}

// tooMany answers 429 with a reason and when to retry, in JSON when the
// client asks for it.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, why string, retry time.Duration) {
	secs := max(1, int((retry+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.log.DebugContext(r.Context(), "refused: too many", "path", r.URL.Path, "remote", r.RemoteAddr, "why", why)
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": why, "retry_after": secs})
		return
	}
	http.Error(w, "429 "+why+"; try again in "+strconv.Itoa(secs)+" s", http.StatusTooManyRequests)
}
