package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLocalCredentialsGuardEveryEndpoint: "dashboard local
// --credentials-file" guards the master's state and the agents' sandboxes
// as well as the scheduler API, and a secret with colons logs in.
func TestLocalCredentialsGuardEveryEndpoint(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(creds, []byte("# principal secret\ndash s3:cr:et\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	stderr := &syncBuffer{b: new(bytes.Buffer)}
	go func() {
		done <- run(ctx, []string{"local", "--listen", addr, "--sandbox-dir", t.TempDir(), "--simulate", "--credentials-file", creds}, envOf(nil), io.Discard, stderr)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("dashboard local did not stop")
		}
	}()
	waitHTTP(t, "http://"+addr+"/health", nil, stderr.b)

	for _, path := range []string{"/master/state", "/state", "/master/redirect", "/files/read?offset=0&path=/frameworks/f/executors/e/runs/latest/stdout", "/files/browse?path=/"} {
		for _, auth := range []bool{false, true} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+path, nil)
			if auth {
				req.SetBasicAuth("dash", "s3:cr:et")
			}
			// Redirects are not followed: /master/redirect names the
			// master's hostname, another origin, where a client drops
			// credentials.
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.StatusCode == http.StatusUnauthorized; got == auth {
				t.Errorf("GET %s with credentials %v = %d", path, auth, resp.StatusCode)
			}
		}
	}
}
