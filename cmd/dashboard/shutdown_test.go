package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/offerdeck/offerdeck/web"
)

// TestShutdownIsBoundedWithStreamAndBlockedRequest stops the dashboard
// while a live stream is open and a request is stuck reading a body that
// never comes: serve returns within --shutdown-timeout, the stream is
// closed and the stuck connection cut.
func TestShutdownIsBoundedWithStreamAndBlockedRequest(t *testing.T) {
	const bound = 2 * time.Second
	cfg := config{Listen: "127.0.0.1:0", StateDir: filepath.Join(t.TempDir(), "state"), LogFormat: "text", ShutdownTimeout: bound,
		HoldTime: 30 * time.Second, RefuseSeconds: 5, Limits: web.Limits{ReadTimeout: time.Minute}}
	logs := &syncBuffer{b: new(bytes.Buffer)}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, log, ready) }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve returned before serving: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start within 10s")
	}
	base := "http://" + addr.String()
	waitReady(t, base)

	// A live stream at the page's own positions, so it stays open.
	_, page := waitBody(t, base+"/", "agent-1.demo")
	attr := func(name string) string {
		m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("the page has no %s", name)
		}
		return m[1]
	}
	ws, _, err := websocket.Dial(t.Context(), "ws://"+addr.String()+"/ws?"+url.Values{"since": {attr("data-topics")}, "epoch": {attr("data-epoch")}}.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	streamEnded := make(chan error, 1)
	go func() {
		for {
			if _, _, err := ws.Read(context.Background()); err != nil {
				streamEnded <- err
				return
			}
		}
	}()

	// A request stuck in its body: it would hold Shutdown for the whole
	// read timeout (a minute here).
	stuck, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	fmt.Fprint(stuck, "POST /reconcile HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nx=")
	stuckEnded := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stuck)
		close(stuckEnded)
	}()
	// Make sure the server is in that request before stopping it.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(metric(t, base), "offerdeck_http_connections 3") {
		if time.Now().After(deadline) {
			t.Fatalf("the stuck request's connection is not held:\n%s", metric(t, base))
		}
		time.Sleep(20 * time.Millisecond)
	}

	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve() = %v", err)
		}
	case <-time.After(bound + time.Second):
		t.Fatalf("serve did not return within %v of a shutdown bound of %v", bound+time.Second, bound)
	}
	took := time.Since(start)
	for what, ch := range map[string]<-chan struct{}{"the stuck connection": stuckEnded, "the live stream": chanOf(streamEnded)} {
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Errorf("%s is still open after serve returned", what)
		}
	}
	t.Logf("shutdown with a live stream and a stuck request took %v (bound %v)", took.Round(time.Millisecond), bound)
	if !strings.Contains(logs.String(), "msg=stopped") || strings.Contains(logs.String(), "exiting anyway") {
		t.Errorf("logs lack the stopped line, or something did not stop in time:\n%s", logs.String())
	}
}

// metric reads /metrics.
func metric(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// chanOf is closed once err receives.
func chanOf(err <-chan error) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		<-err
		close(c)
	}()
	return c
}
