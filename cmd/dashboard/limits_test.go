package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// holdIdle dials addr from src, makes one GET and keeps the connection
// open; it reports false when the server closed it instead of answering.
func holdIdle(ctx context.Context, src, addr, path string) (net.Conn, bool) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		c.Close()
		return nil, false
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	c.SetDeadline(time.Time{})
	return c, true
}

// TestLocalConnectionCaps: the stand-in run alone holds at most
// --max-conns-per-address connections of one address, so a flood from one
// address leaves room for everyone else.
func TestLocalConnectionCaps(t *testing.T) {
	const perAddr, flood = 10, 50
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"local", "--listen", addr, "--sandbox-dir", t.TempDir(), "--simulate",
			"--max-conns", "40", "--max-conns-per-address", "10"}, envOf(nil), io.Discard, &syncBuffer{b: &stderr})
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("dashboard local exited %d", code)
			}
		case <-time.After(10 * time.Second):
			t.Error("dashboard local did not stop")
		}
	}()
	waitHTTP(t, "http://"+addr+"/health", nil, &stderr)

	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range flood {
		if c, ok := holdIdle(t.Context(), "127.0.0.2", addr, "/health"); ok {
			held = append(held, c)
		}
	}
	if len(held) > perAddr {
		t.Errorf("one address holds %d connections; the cap is %d", len(held), perAddr)
	}
	c, ok := holdIdle(t.Context(), "127.0.0.3", addr, "/health")
	if !ok {
		t.Fatal("another address was refused during the flood")
	}
	c.Close()
	t.Logf("a flood of %d connections from one address: %d held, another address served", flood, len(held))
}
