package web_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/net/html"

	"github.com/offerdeck/offerdeck/web"
)

// limitedStack serves the real stack with web.NewHTTPServer on loopback,
// as the dashboard does, and returns its base URL and limiter.
func limitedStack(t *testing.T, cfg web.Config) (string, *web.ConnLimiter, *stack) {
	t.Helper()
	st := newStackWith(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, limited := web.NewHTTPServer(st.handler, ln, cfg.Limits)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(limited)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "http://" + ln.Addr().String(), limited, st
}

// dialFrom connects to addr from a loopback source address of its own, so
// that one test can play several remote addresses.
func dialFrom(ctx context.Context, src, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return d.DialContext(ctx, "tcp", addr)
}

// idleConn makes one request on a new connection and keeps it open, idle,
// as a keep-alive client would: what the 20,400 connections of the
// incident did after one GET /healthz.
func idleConn(ctx context.Context, src, addr string) (net.Conn, error) {
	c, err := dialFrom(ctx, src, addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	c.SetDeadline(time.Time{})
	return c, nil
}

// TestIdleConnectionFloodLeavesRoomForOperator: 2,000 idle keep-alive
// connections from 8 addresses against a cap of 1,000 hold at most 1,000
// descriptors, and an operator from another address still loads a page,
// in the place of an idle connection.
func TestIdleConnectionFloodLeavesRoomForOperator(t *testing.T) {
	const flood, capConns, perAddr, sources = 2000, 1000, 300, 8
	base, limited, _ := limitedStack(t, web.Config{Limits: web.Limits{MaxConns: capConns, MaxConnsPerAddr: perAddr}})
	addr := strings.TrimPrefix(base, "http://")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	var mu sync.Mutex
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	var failed atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range jobs {
				c, err := idleConn(ctx, fmt.Sprintf("127.0.0.%d", 2+i%sources), addr)
				if err != nil {
					failed.Add(1)
					continue
				}
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			}
		})
	}
	for i := range flood {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	stats := limited.Stats()
	t.Logf("flood of %d idle connections: %d made their request, %d refused or cut; server holds %d, evicted %d, refused %d",
		flood, flood-int(failed.Load()), failed.Load(), stats.Open, stats.Evicted, stats.RefusedFull+stats.RefusedAddr)
	if stats.Open > capConns {
		t.Fatalf("the server holds %d connections, over the cap of %d", stats.Open, capConns)
	}
	if stats.Evicted == 0 {
		t.Errorf("no idle connection was evicted although %d were made against a cap of %d", flood, capConns)
	}

	// The operator, from an address of their own, loads the overview.
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, a string) (net.Conn, error) {
		return dialFrom(ctx, "127.0.0.100", a)
	}}}
	defer client.CloseIdleConnections()
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("the operator's page did not load during the flood: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Overview") {
		t.Fatalf("the operator's page = %d during the flood", resp.StatusCode)
	}
	t.Logf("operator's page loaded in %v with %d connections held", time.Since(start).Round(time.Millisecond), limited.Stats().Open)

	// One address cannot take more than its share.
	before := limited.Stats().RefusedAddr
	var extra []net.Conn
	for range perAddr + 5 {
		c, err := idleConn(ctx, "127.0.0.50", addr)
		if err == nil {
			extra = append(extra, c)
		}
	}
	for _, c := range extra {
		c.Close()
	}
	if len(extra) > perAddr || limited.Stats().RefusedAddr == before {
		t.Errorf("one address kept %d connections; the cap is %d", len(extra), perAddr)
	}
}

// TestSlowBodyIsCutAfterReadTimeout: a client that sends its body a byte
// at a time (slowloris) loses its connection after the read timeout, with
// a 408, and no ERROR.
func TestSlowBodyIsCutAfterReadTimeout(t *testing.T) {
	const readTimeout = 500 * time.Millisecond
	var logs lockedBuffer
	base, _, _ := limitedStack(t, web.Config{Limits: web.Limits{ReadTimeout: readTimeout}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprint(c, "POST /reconcile HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nx=")
	// Keep trickling until the server closes, for at most 10 s.
	closed := make(chan time.Duration, 1)
	var answer strings.Builder
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := c.Read(b)
			answer.Write(b[:n])
			if err != nil {
				closed <- time.Since(start)
				return
			}
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case took := <-closed:
			t.Logf("slow body cut after %v (read timeout %v): %q", took.Round(time.Millisecond), readTimeout, firstLine(answer.String()))
			if took < readTimeout/2 {
				t.Errorf("cut after %v, before the read timeout", took)
			}
			if !strings.HasPrefix(answer.String(), "HTTP/1.1 408") {
				t.Errorf("answer %q, want a 408", firstLine(answer.String()))
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("a slow client was logged as an error:\n%s", logs.String())
			}
			return
		case <-tick.C:
			c.Write([]byte("a"))
		case <-deadline:
			t.Fatal("a slow body still holds its connection after 10 s")
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// TestStreamsPerSessionAndAddressAreCapped: the stream one over the cap is
// answered 429 with the reason; closing one makes room again.
func TestStreamsPerSessionAndAddressAreCapped(t *testing.T) {
	const perSession = 3
	s := newSecuredWith(t, web.Config{Limits: web.Limits{MaxStreamsPerSession: perSession, MaxStreamsPerAddr: perSession + 2}})
	operator := s.client(t, "ann", operatorPassword)
	// The page's own positions, so that the streams stay open (another
	// epoch would make each one resync and close at once).
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.srv.URL+"/", nil)
	resp, err := operator.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := find(parseBody(t, resp), func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "body" })
	u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws?" + url.Values{"since": {attr(b, "data-topics")}, "epoch": {attr(b, "data-epoch")}}.Encode()
	dial := func(c *http.Client) (*websocket.Conn, *http.Response, error) {
		return websocket.Dial(t.Context(), u, &websocket.DialOptions{HTTPClient: c})
	}
	var open []*websocket.Conn
	defer func() {
		for _, c := range open {
			c.CloseNow()
		}
	}()
	for i := range perSession {
		c, _, err := dial(operator)
		if err != nil {
			t.Fatalf("stream %d of %d refused: %v", i+1, perSession, err)
		}
		open = append(open, c)
	}
	refused := func(who string, c *http.Client, want string) {
		t.Helper()
		conn, resp, err := dial(c)
		if err == nil {
			conn.CloseNow()
			t.Fatalf("%s: a stream over the cap was accepted", who)
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: over the cap = %v %v, want 429 with Retry-After", who, resp, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), want) {
			t.Errorf("%s: 429 says %q, want it to say %q", who, b, want)
		}
	}
	refused("same session", operator, "too many live streams for this session")

	// Another session from the same address gets the address's rest.
	other := s.client(t, "ann", operatorPassword)
	for range 2 {
		c, _, err := dial(other)
		if err != nil {
			t.Fatalf("another session's stream refused below the address cap: %v", err)
		}
		open = append(open, c)
	}
	refused("same address", other, "too many live streams from this address")

	// Closing a stream gives its place back once the server has seen it go.
	open[0].Close(websocket.StatusNormalClosure, "")
	open = open[1:]
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, _, err := dial(operator)
		if err == nil {
			open = append(open, c)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stream accepted after one closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
