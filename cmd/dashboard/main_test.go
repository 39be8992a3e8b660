package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/web"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(config) bool
		wantErr string // substring naming the flag or variable
	}{
		{
			name: "defaults",
			env:  map[string]string{"HOME": "/home/u"},
			check: func(c config) bool {
				return c.Listen == "127.0.0.1:8080" && c.Master == "" && c.StateDir == "/home/u/.local/state/offerdeck" && c.LogFormat == "text" && c.LogLevel == slog.LevelInfo && c.ShutdownTimeout == 10*time.Second
			},
		},
		{
			name: "env fallback",
			env:  map[string]string{"OFFERDECK_LISTEN": "127.0.0.1:9999", "OFFERDECK_LOG_FORMAT": "json", "OFFERDECK_MASTER": "zk://zk1:2181/mesos", "XDG_STATE_HOME": "/xdg"},
			check: func(c config) bool {
				return c.Listen == "127.0.0.1:9999" && c.LogFormat == "json" && c.Master == "zk://zk1:2181/mesos" && c.StateDir == "/xdg/offerdeck"
			},
		},
		{
			name:  "flag wins over env",
			args:  []string{"--listen", "127.0.0.1:7000"},
			env:   map[string]string{"OFFERDECK_LISTEN": "127.0.0.1:9999"},
			check: func(c config) bool { return c.Listen == "127.0.0.1:7000" },
		},
		{
			name:  "master comma list",
			args:  []string{"--master=http://m1:5050,http://m2:5050"},
			check: func(c config) bool { return c.Master == "http://m1:5050,http://m2:5050" },
		},
		{
			name:  "bool flag alone",
			args:  []string{"--simulate"},
			check: func(c config) bool { return c.Simulate },
		},
		{
			name:  "bool from env",
			env:   map[string]string{"OFFERDECK_SIMULATE": "true", "OFFERDECK_HOLD": "1m"},
			check: func(c config) bool { return c.Simulate && c.HoldTime == time.Minute },
		},
		{name: "bad bool env", env: map[string]string{"OFFERDECK_SIMULATE": "maybe"}, wantErr: "environment variable OFFERDECK_SIMULATE"},
		{name: "bad refuse seconds", args: []string{"--refuse-seconds", "-3"}, wantErr: "flag --refuse-seconds"},
		{name: "bad listen flag", args: []string{"--listen", "nonsense"}, wantErr: "flag --listen"},
		{name: "bad listen env", env: map[string]string{"OFFERDECK_LISTEN": "nonsense"}, wantErr: "environment variable OFFERDECK_LISTEN"},
		{name: "bad master", args: []string{"--master", "ftp://m1"}, wantErr: "flag --master"},
		{name: "bad master in list", args: []string{"--master", "http://m1:5050,m2:5050"}, wantErr: "flag --master"},
		{name: "bad log format", args: []string{"--log-format", "xml"}, wantErr: "flag --log-format"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, wantErr: "flag --log-level"},
		{name: "bad timeout", args: []string{"--shutdown-timeout", "soon"}, wantErr: "flag --shutdown-timeout"},
		{name: "negative timeout", args: []string{"--shutdown-timeout", "-1s"}, wantErr: "flag --shutdown-timeout"},
		{name: "empty state dir", args: []string{"--state-dir", ""}, wantErr: "flag --state-dir"},
		{name: "unknown flag", args: []string{"--listne", "x"}, wantErr: "listne"},
		{name: "stray argument", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			if env == nil {
				env = map[string]string{"HOME": "/home/u"}
			}
			c, err := parseConfig(tc.args, envOf(env), io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseConfig(%q) error = %v, want one naming %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig(%q) error = %v", tc.args, err)
			}
			if !tc.check(c) {
				t.Errorf("parseConfig(%q) = %+v, not what the case expects", tc.args, c)
			}
		})
	}
}

func TestHelpListsEveryFlagWithDefaultAndEnv(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"--help"}, envOf(map[string]string{"HOME": "/h"}), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseConfig(--help) error = %v, want flag.ErrHelp", err)
	}
	help := out.String()
	var c config
	for _, o := range options(&c, envOf(nil)) {
		for _, want := range []string{"--" + o.name + "\n", "env " + o.env, o.usage} {
			if !strings.Contains(help, want) {
				t.Errorf("--help lacks %q:\n%s", want, help)
			}
		}
	}
	if !strings.Contains(help, "default 127.0.0.1:8080") {
		t.Errorf("--help does not show the listen default:\n%s", help)
	}
	if n := strings.Count(help, "Usage:"); n != 1 {
		t.Errorf("--help printed the usage %d times, want once", n)
	}
}

func TestSecretNeverFromArgv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readSecret(config{SecretFile: file}, envOf(map[string]string{"OFFERDECK_SECRET": "from-env"}))
	if err != nil || got != "s3cret" {
		t.Errorf("secret from file = %q, %v", got, err)
	}
	if got, _ := readSecret(config{}, envOf(map[string]string{"OFFERDECK_SECRET": "from-env"})); got != "from-env" {
		t.Errorf("secret from env = %q", got)
	}
	if _, err := readSecret(config{SecretFile: filepath.Join(dir, "missing")}, envOf(nil)); err == nil || !strings.Contains(err.Error(), "--secret-file") {
		t.Errorf("missing secret file = %v, want an error naming --secret-file", err)
	}
	if _, err := parseConfig([]string{"--secret", "x"}, envOf(nil), io.Discard); err == nil {
		t.Error("a --secret flag exists; secrets must never be in argv")
	}
	var logs bytes.Buffer
	cfg := config{Principal: "dash", secret: "t0p-s3cret"}
	slog.New(slog.NewTextHandler(&logs, nil)).Info("starting", "config", cfg)
	if strings.Contains(logs.String(), "t0p-s3cret") {
		t.Errorf("the startup log line carries the secret: %s", logs.String())
	}
}

func TestRunExitCodes(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"--log-format", "yaml"}, envOf(nil), io.Discard, &stderr); code != 2 {
		t.Errorf("run(bad flag) = %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "--log-format") {
		t.Errorf("run(bad flag) stderr = %q, want the flag named", stderr.String())
	}
	if code := run(t.Context(), []string{"--help"}, envOf(nil), io.Discard, io.Discard); code != 0 {
		t.Errorf("run(--help) = %d, want 0", code)
	}
}

// TestServeAndShutdown runs the whole server in-process, loads the page and
// checks that cancelling the context stops it within the bound.
func TestServeAndShutdown(t *testing.T) {
	cfg := config{Listen: "127.0.0.1:0", StateDir: filepath.Join(t.TempDir(), "state"), LogFormat: "text", ShutdownTimeout: 5 * time.Second,
		HoldTime: 30 * time.Second, RefuseSeconds: 5}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(t.Context())
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
	// With no --master the dashboard runs the stand-in and subscribes; the
	// first offers arrive after the subscription, so wait for them rather
	// than for readiness alone.
	waitReady(t, "http://"+addr.String())
	status, body := waitBody(t, "http://"+addr.String()+"/", "agent-1.demo")
	if status != http.StatusOK || !strings.Contains(body, "embedded stand-in") || !strings.Contains(body, "agent-1.demo") {
		t.Fatalf("GET / = %d %q, want 200 with the stand-in's offers", status, body)
	}
	if _, err := os.Stat(cfg.StateDir); err != nil {
		t.Errorf("state folder not created: %v", err)
	}
	// /metrics carries the runtime and process figures beside ours.
	if status, body := waitBody(t, "http://"+addr.String()+"/metrics", "offerdeck_"); status != http.StatusOK ||
		!strings.Contains(body, "go_goroutines ") || !strings.Contains(body, "process_cpu_seconds_total ") || !strings.Contains(body, "process_resident_memory_bytes ") {
		t.Errorf("GET /metrics = %d without the Go and process collectors' figures", status)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve() = %v after cancel, want nil", err)
		}
	case <-time.After(cfg.ShutdownTimeout + time.Second):
		t.Fatal("serve did not stop within the shutdown bound")
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Errorf("logs lack the stopped line:\n%s", logs.String())
	}
}

func TestListenFailureNamesFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := config{Listen: ln.Addr().String(), StateDir: t.TempDir(), ShutdownTimeout: time.Second}
	err = serve(t.Context(), cfg, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "--listen") {
		t.Fatalf("serve on a busy port = %v, want an error naming --listen", err)
	}
}

// TestSignalShutdown runs the real binary (this test binary re-executed as
// main) and stops it with SIGTERM and SIGINT, as a terminal or an init
// system would.
func TestSignalShutdown(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()

			cmd := exec.Command(os.Args[0]) // TestMain runs main for OFFERDECK_RUN_MAIN=1
			cmd.Env = append(os.Environ(), "OFFERDECK_RUN_MAIN=1", "OFFERDECK_LISTEN="+addr,
				"OFFERDECK_STATE_DIR="+t.TempDir(), "OFFERDECK_LOG_FORMAT=json")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			waitHTTP(t, "http://"+addr+"/healthz", waited, &stderr)
			start := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-waited:
				if err != nil {
					t.Fatalf("dashboard exited with %v after %v; stderr:\n%s", err, sig, stderr.String())
				}
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("dashboard did not stop within 15s of %v", sig)
			}
			if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
				t.Errorf("json logs lack the stopped line:\n%s", stderr.String())
			}
			t.Logf("stopped %v after the signal", time.Since(start).Round(time.Millisecond))
		})
	}
}

// waitHTTP polls url until it answers, failing early if the process exits.
// waitReady polls /readyz until the dashboard is subscribed.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("not ready within 15s: %s", b)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitBody polls url until its body contains want (or 15 s pass) and
// returns the last answer.
func waitBody(t *testing.T, url, want string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), want) {
				return resp.StatusCode, string(b)
			}
			if ctx.Err() != nil {
				return resp.StatusCode, string(b)
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				t.Fatalf("GET %s: %v", url, err)
			}
		case <-tick.C:
		}
	}
}

func waitHTTP(t *testing.T, url string, exited <-chan error, stderr *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s did not answer within 15s", url)
		case err := <-exited:
			t.Fatalf("dashboard exited before serving: %v; stderr:\n%s", err, stderr.String())
		case <-tick.C:
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a logger writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestMain(m *testing.M) {
	if os.Getenv("OFFERDECK_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestExposureNeedsAuthentication(t *testing.T) {
	hash, err := web.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // "" means accepted
	}{
		{name: "loopback is fine", args: []string{"--listen", "127.0.0.1:0"}},
		{name: "wildcard refused", args: []string{"--listen", "0.0.0.0:0"}, want: "--auth-file"},
		{name: "ipv6 wildcard refused", args: []string{"--listen", "[::]:0"}, want: "without authentication"},
		{name: "users from env", args: []string{"--listen", "0.0.0.0:0"}, env: map[string]string{"OFFERDECK_USERS": "ann operator " + hash}},
		{name: "explicit opt-out", args: []string{"--listen", "0.0.0.0:0", "--insecure-no-auth"}},
		{name: "bad users", args: []string{"--listen", "0.0.0.0:0"}, env: map[string]string{"OFFERDECK_USERS": "ann operator hunter2"}, want: "never a plain password"},
		{name: "half TLS", args: []string{"--tls-cert", "c.pem"}, want: "--tls-cert/--tls-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"HOME": t.TempDir()}
			for k, v := range tc.env {
				env[k] = v
			}
			cfg, err := parseConfig(tc.args, envOf(env), io.Discard)
			if err == nil {
				cfg.users, err = readUsers(cfg, envOf(env))
			}
			if err == nil {
				err = checkExposure(cfg)
			}
			if tc.want == "" && err != nil {
				t.Fatalf("%v refused: %v", tc.args, err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("%v = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"local", "--listen", "0.0.0.0:0"}, envOf(nil), io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "--credentials-file") {
		t.Errorf("dashboard local on 0.0.0.0 = %d %q, want a refusal naming --credentials-file", code, stderr.String())
	}
}

func TestHashPassword(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := hashPassword(strings.NewReader("correct horse battery\n"), &out, &errOut); code != 0 {
		t.Fatalf("hash-password = %d: %s", code, errOut.String())
	}
	users, err := web.ParseUsers("ann viewer " + strings.TrimSpace(out.String()))
	if err != nil || users == nil {
		t.Fatalf("the printed hash does not parse as a users line: %v", err)
	}
	if code := hashPassword(strings.NewReader("short\n"), io.Discard, &errOut); code != 2 {
		t.Errorf("a short password = %d, want refused", code)
	}
}

// TestDamagedStateExitsWithMessage runs the real binary on a state file cut
// to two pages (bbolt faulted on it) and on an empty one: it must exit
// with the reason and what to do, not crash or start afresh.
func TestDamagedStateExitsWithMessage(t *testing.T) {
	good := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(good, 0o750); err != nil {
		t.Fatal(err)
	}
	// A real database, written by the dashboard's own scheduler.
	sched, err := scheduler.New(scheduler.Config{Client: mesos.Config{Masters: []string{"http://127.0.0.1:1"}}, StateDir: good})
	if err != nil {
		t.Fatal(err)
	}
	sched.Close()
	full, err := os.ReadFile(filepath.Join(good, "offerdeck.db"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"two pages": full[:2*os.Getpagesize()], "empty": {}} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "offerdeck.db"), content, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0]) // TestMain runs main for OFFERDECK_RUN_MAIN=1
			cmd.Env = append(os.Environ(), "OFFERDECK_RUN_MAIN=1", "OFFERDECK_LISTEN=127.0.0.1:0",
				"OFFERDECK_STATE_DIR="+dir, "OFFERDECK_SIMULATE=true")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("dashboard on a damaged state file: %v, want exit code 1; stderr:\n%s", err, stderr.String())
			}
			if out := stderr.String(); !strings.Contains(out, "state database is damaged") || !strings.Contains(out, "move it aside") ||
				strings.Contains(out, "fatal error") || strings.Contains(out, "subscribed") {
				t.Errorf("stderr = %s\nwant the damage named and what to do, no crash, no subscription", out)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "offerdeck.db")); !bytes.Equal(b, content) {
				t.Error("the damaged file was changed")
			}
		})
	}
}
