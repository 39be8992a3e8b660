// Command dashboard runs Offerdeck: a live web dashboard and control panel
// for Apache Mesos. Run it with --help for its flags, and "dashboard local"
// to run the stand-in master alone.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/cluster"
	"github.com/offerdeck/offerdeck/mesos/detect"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/master"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code, so tests can
// drive the whole program in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "local" {
		return runLocal(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "hash-password" {
		return hashPassword(os.Stdin, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		cfg.secret, err = readSecret(cfg, getenv)
	}
	if err == nil {
		cfg.users, err = readUsers(cfg, getenv)
	}
	if err == nil {
		err = checkExposure(cfg)
	}
	if errors.Is(err, errNoUsers) {
		// Exposed without users (a container's 0.0.0.0:8080): log in with
		// a one-time token rather than refuse to start.
		cfg.loginToken, cfg.users = oneTimeToken()
		err = nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "dashboard: %v\n", err)
		return 2
	}
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err := serve(ctx, cfg, log, nil); err != nil {
		log.Error("dashboard stopped", "err", err)
		return 1
	}
	return 0
}

// readSecret reads the principal's secret from --secret-file or
// OFFERDECK_SECRET; never from a flag value, so it is not in argv.
func readSecret(cfg config, getenv func(string) string) (string, error) {
	if cfg.SecretFile != "" {
		b, err := os.ReadFile(cfg.SecretFile)
		if err != nil {
			return "", fmt.Errorf("invalid value for flag --secret-file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return getenv("OFFERDECK_SECRET"), nil
}

// readUsers reads the users allowed in from --auth-file or OFFERDECK_USERS.
func readUsers(cfg config, getenv func(string) string) (string, error) {
	if cfg.AuthFile != "" {
		b, err := os.ReadFile(cfg.AuthFile)
		if err != nil {
			return "", fmt.Errorf("invalid value for flag --auth-file: %w", err)
		}
		if _, err := web.ParseUsers(string(b)); err != nil {
			return "", fmt.Errorf("invalid value for flag --auth-file: %w", err)
		}
		return string(b), nil
	}
	if v := getenv("OFFERDECK_USERS"); v != "" {
		if _, err := web.ParseUsers(v); err != nil {
			return "", fmt.Errorf("invalid value for environment variable OFFERDECK_USERS: %w", err)
		}
		return v, nil
	}
	return "", nil
}

// hashPassword is "dashboard hash-password": it reads a password from
// standard input and prints the bcrypt hash for the users file.
func hashPassword(in io.Reader, stdout, stderr io.Writer) int {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		fmt.Fprintf(stderr, "dashboard hash-password: %v\n", err)
		return 1
	}
	hash, err := web.HashPassword(strings.TrimRight(line, "\r\n"))
	if err != nil {
		fmt.Fprintf(stderr, "dashboard hash-password: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, hash)
	return 0
}

func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the dashboard until ctx is done, then shuts down within
// cfg.ShutdownTimeout, one deadline for all of it: HTTP first (requests in
// flight, then the live streams), then the scheduler (which persists what
// is pending), then the embedded master. If ready is not nil it receives
// the listening address once the server accepts connections.
func serve(ctx context.Context, cfg config, log *slog.Logger, ready chan<- net.Addr) error {
	log.Info("starting", "config", cfg)
	if cfg.Master == "" {
		cfg.Principal, cfg.secret = embeddedCredentials(cfg.Principal)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("create state folder: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (flag --listen): %w", cfg.Listen, err)
	}
	defer ln.Close()

	// Everything below the HTTP server stops after it, in order: the
	// scheduler (persisting what is pending) and the web layer's feed,
	// then the embedded master, so the framework leaves before its master.
	// stop does it within the time its context leaves; every return path
	// calls it with the shutdown bound, so none waits without limit.
	var wg, masterWG sync.WaitGroup
	backCtx, stopBack := context.WithCancel(context.WithoutCancel(ctx))
	masterCtx, stopMaster := context.WithCancel(context.WithoutCancel(ctx))
	stop := func(ctx context.Context) error {
		stopBack()
		waited := make(chan struct{})
		// Ends once the goroutines it waits for do: each was told to stop.
		go func() {
			wg.Wait()
			stopMaster()
			masterWG.Wait()
			close(waited)
		}()
		select {
		case <-waited:
			return nil
		case <-ctx.Done():
			stopMaster()
			return errors.New("the scheduler or the master did not stop in time")
		}
	}
	stopped := false
	defer func() {
		if !stopped {
			bound, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
			defer cancel()
			if err := stop(bound); err != nil {
				log.Warn("stopping after an error: exiting anyway", "err", err)
			}
		}
	}()

	masters, detector, masterDesc, err := masterSource(masterCtx, cfg, log, &masterWG)
	if err != nil {
		return err
	}

	registry := prometheus.NewRegistry()
	// The standard runtime and process figures (goroutines, GC, heap, RSS,
	// CPU seconds, open descriptors), so an operator sees on /metrics what
	// the benchmark measures.
	if err := registry.Register(collectors.NewGoCollector()); err != nil {
		return fmt.Errorf("register Go metrics: %w", err)
	}
	if err := registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return fmt.Errorf("register process metrics: %w", err)
	}
	sched, err := scheduler.New(scheduler.Config{
		Client: mesos.Config{
			Masters:   masters,
			Detector:  detector,
			Principal: cfg.Principal,
			Secret:    cfg.secret,
			Framework: frameworkInfo(cfg),
			Logger:    log.With("component", "mesos"),
		},
		StateDir:      cfg.StateDir,
		HoldTime:      cfg.HoldTime,
		RefuseSeconds: cfg.RefuseSeconds,
		Logger:        log.With("component", "scheduler"),
		Metrics:       registry,
	})
	if err != nil {
		return err
	}
	var clusterView *cluster.Watcher
	if !cfg.NoClusterView {
		clusterView, err = cluster.New(cluster.Config{
			Client: master.Config{
				Masters:   masters,
				Detector:  detector,
				Principal: cfg.Principal,
				Secret:    cfg.secret,
				Logger:    log.With("component", "cluster"),
			},
			PollEvery: cfg.ClusterPoll,
			Logger:    log.With("component", "cluster"),
		})
		if err != nil {
			sched.Close()
			return err
		}
	}
	var users *web.Users
	if cfg.users != "" {
		if users, err = web.ParseUsers(cfg.users); err != nil {
			sched.Close()
			return err
		}
	}
	banner := ""
	if cfg.InsecureNoAuth && !isLoopback(cfg.Listen) && users == nil {
		banner = "This dashboard is exposed on " + cfg.Listen + " without authentication (--insecure-no-auth): anyone who reaches it can launch commands on the cluster."
		log.Error("serving beyond loopback WITHOUT AUTHENTICATION: anyone who reaches this port can launch commands on the cluster", "listen", cfg.Listen)
	}
	site, err := web.New(web.Config{
		Users:     users,
		TLS:       cfg.TLSCert != "",
		Banner:    banner,
		Logger:    log.With("component", "web"),
		Scheduler: sched,
		Master:    masterDesc,
		Embedded:  cfg.Master == "",
		Simulated: cfg.Master == "" && cfg.Simulate,
		Metrics:   registry,
		Limits:    cfg.Limits,
		// Only the one-time token logs in by link; tokens of the users
		// file are for scripts.
		TokenLogin: cfg.loginToken != "",
		Cluster:    clusterView,
	})
	if err != nil {
		sched.Close()
		return err
	}
	schedDone := make(chan struct{})
	wg.Go(func() {
		defer close(schedDone)
		if err := sched.Run(backCtx); err != nil {
			log.Error("scheduler stopped", "err", err)
		}
	})
	wg.Go(func() { site.Run(backCtx) })
	if clusterView != nil {
		wg.Go(func() {
			if err := clusterView.Run(backCtx); err != nil {
				log.Error("cluster view stopped", "err", err)
			}
		})
	}

	// Handlers that outlive a request (the live WebSocket) are ended by
	// site.CloseStreams, because http.Server.Shutdown does not wait for
	// hijacked connections; requests in flight see this context end.
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv, limited := web.NewHTTPServer(site.Handler(), ln, cfg.Limits)
	srv.BaseContext = func(net.Listener) context.Context { return baseCtx }
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	if err := registerConnMetrics(registry, limited); err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	var serving sync.WaitGroup
	defer serving.Wait() // Serve has returned by then: Shutdown or Close ran
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
		serving.Go(func() { serveErr <- srv.ServeTLS(limited, cfg.TLSCert, cfg.TLSKey) })
	} else {
		serving.Go(func() { serveErr <- srv.Serve(limited) })
	}
	log.Info("serving", "url", scheme+"://"+ln.Addr().String()+"/")
	if cfg.loginToken != "" {
		urls := loginURLs(scheme, cfg.Listen, ln.Addr(), cfg.loginToken)
		log.Warn("no users configured (--auth-file): log in as operator with this link, valid until the dashboard restarts",
			"url", urls[0], "or", strings.Join(urls[1:], " "))
		cfg.loginToken = "" // only its hash is kept, in the users
	}
	if ready != nil {
		ready <- ln.Addr()
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve http: %w", err)
	case <-schedDone:
		log.Warn("scheduler ended early; shutting down")
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	start := time.Now()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	cancelBase()
	// Requests in flight get half the time: a client stuck sending its
	// body must not leave the scheduler no time to persist.
	httpCtx, cancelHTTP := context.WithTimeout(shutdownCtx, cfg.ShutdownTimeout/2)
	defer cancelHTTP()
	if err := srv.Shutdown(httpCtx); err != nil {
		srv.Close()
		log.Warn("requests still in flight after half the shutdown timeout: connections closed", "err", err)
	}
	<-serveErr // Serve returns ErrServerClosed once Shutdown has begun.
	if err := site.CloseStreams(shutdownCtx); err != nil {
		log.Warn("shutdown cut short", "err", err)
	}
	stopped = true
	if err := stop(shutdownCtx); err != nil {
		log.Warn("shutdown timeout passed while stopping the scheduler and master; exiting anyway", "err", err)
	}
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// loginURLs are the one-time token's login links: on the listening host,
// or, when listening on every address, on this machine's name and on
// loopback (a container's published port).
func loginURLs(scheme, listen string, addr net.Addr, token string) []string {
	host, _, _ := net.SplitHostPort(listen)
	_, port, _ := net.SplitHostPort(addr.String())
	hosts := []string{host}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		name, err := os.Hostname()
		if err != nil {
			name = "localhost"
		}
		hosts = []string{name, "127.0.0.1"}
	}
	var urls []string
	for _, h := range hosts {
		urls = append(urls, scheme+"://"+net.JoinHostPort(h, port)+"/login?token="+token)
	}
	return urls
}

// registerConnMetrics adds the connection limiter's counts to /metrics.
func registerConnMetrics(reg *prometheus.Registry, l *web.ConnLimiter) error {
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "offerdeck_http_connections", Help: "HTTP connections held now."},
			func() float64 { return float64(l.Stats().Open) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "offerdeck_http_connections_refused_full_total", Help: "Connections closed at once: --max-conns held and none idle."},
			func() float64 { return float64(l.Stats().RefusedFull) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "offerdeck_http_connections_refused_address_total", Help: "Connections closed at once: their address held --max-conns-per-address."},
			func() float64 { return float64(l.Stats().RefusedAddr) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "offerdeck_http_connections_evicted_total", Help: "Idle connections closed to make room for new ones."},
			func() float64 { return float64(l.Stats().Evicted) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register connection metrics: %w", err)
		}
	}
	return nil
}

// masterSource starts the embedded stand-in (when no master is given) or a
// ZooKeeper detector, on goroutines counted in wg that stop with ctx.
func masterSource(ctx context.Context, cfg config, log *slog.Logger, wg *sync.WaitGroup) (masters []string, det mesos.LeaderDetector, desc string, err error) {
	switch {
	case cfg.Master == "":
		agents, err := agentsFrom(cfg.AgentsFile)
		if err != nil {
			return nil, nil, "", err
		}
		m, err := local.New(local.Config{
			// Only the dashboard holds these: any other local process
			// that reaches the port gets 401 (issue 14).
			Credentials:      map[string]string{cfg.Principal: cfg.secret},
			Agents:           agents,
			SandboxRoot:      filepath.Join(cfg.StateDir, "sandboxes"),
			SimulateCommands: cfg.Simulate,
			SimulatedRunTime: 5 * time.Second,
			Neighbours:       local.Neighbours(cfg.Neighbours),
			Logger:           log.With("component", "stand-in"),
		})
		if err != nil {
			return nil, nil, "", err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, "", fmt.Errorf("listen for the stand-in master: %w", err)
		}
		wg.Go(func() {
			if err := m.Run(ctx, ln); err != nil {
				log.Error("stand-in master stopped", "err", err)
			}
		})
		url := "http://" + ln.Addr().String()
		return []string{url}, nil, url + " (embedded stand-in)", nil
	case strings.HasPrefix(cfg.Master, "zk://"):
		z, err := detect.NewZooKeeper(detect.Config{URL: cfg.Master, Logger: log.With("component", "zookeeper")})
		if err != nil {
			return nil, nil, "", fmt.Errorf("invalid value for --master: %w", err)
		}
		wg.Go(func() {
			if err := z.Run(ctx); err != nil {
				log.Error("zookeeper detector stopped", "err", err)
			}
		})
		return nil, z, cfg.Master, nil
	default:
		for _, m := range strings.Split(cfg.Master, ",") {
			masters = append(masters, strings.TrimSpace(m))
		}
		return masters, nil, cfg.Master, nil
	}
}

// embeddedCredentials returns the principal (principal, or "offerdeck") and
// a fresh random secret for the embedded stand-in. The secret lives only in
// this process's memory: a new one for every start, as the stand-in itself
// is new for every start.
func embeddedCredentials(principal string) (string, string) {
	if principal == "" {
		principal = "offerdeck"
	}
	b := make([]byte, 32)
	rand.Read(b) // never fails: it crashes the program instead
	return principal, base64.RawURLEncoding.EncodeToString(b)
}

// agentsFrom reads --agents-file; no file means the demo agents.
func agentsFrom(path string) ([]local.AgentConfig, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("invalid value for flag --agents-file: %w", err)
	}
	agents, err := local.ReadAgents(b)
	if err != nil {
		return nil, fmt.Errorf("invalid value for flag --agents-file: %w", err)
	}
	return agents, nil
}

// frameworkInfo is what the dashboard registers as; the scheduler adds its
// defaults (failover timeout, capabilities, roles).
func frameworkInfo(cfg config) *mesos.FrameworkInfo {
	host, _ := os.Hostname()
	fi := &mesos.FrameworkInfo{Name: strPtr("offerdeck"), Hostname: strPtr(host)}
	if cfg.Principal != "" {
		fi.Principal = strPtr(cfg.Principal)
	}
	if h, port, err := net.SplitHostPort(cfg.Listen); err == nil {
		if h == "" || h == "0.0.0.0" || h == "::" {
			h = host
		}
		scheme := "http"
		if cfg.TLSCert != "" {
			scheme = "https"
		}
		fi.WebuiUrl = strPtr(scheme + "://" + net.JoinHostPort(h, port) + "/")
	}
	return fi
}

func strPtr(s string) *string { return &s }
