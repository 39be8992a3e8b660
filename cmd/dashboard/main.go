// Command dashboard runs Offerdeck: a live web dashboard and control panel
// for Apache Mesos. Run it with --help for its flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

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
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "dashboard: %v\n", err)
		return 2
	}
	log := newLogger(stderr, cfg)
	if err := serve(ctx, cfg, log, nil); err != nil {
		log.Error("dashboard stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, cfg config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the dashboard until ctx is done, then shuts down within
// cfg.ShutdownTimeout. If ready is not nil it receives the listening
// address once the server accepts connections.
func serve(ctx context.Context, cfg config, log *slog.Logger, ready chan<- net.Addr) error {
	log.Info("starting", "config", cfg)
	if err := os.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("create state folder: %w", err)
	}
	site, err := web.New(web.Config{
		Logger: log.With("component", "web"),
		Master: cfg.Master,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (flag --listen): %w", cfg.Listen, err)
	}
	// Handlers that outlive a request (the live WebSocket) watch this
	// context, because http.Server.Shutdown does not wait for hijacked
	// connections.
	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           site.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("serving", "url", "http://"+ln.Addr().String()+"/")
	if ready != nil {
		ready <- ln.Addr()
	}

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	start := time.Now()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	cancelBase()
	err = srv.Shutdown(shutdownCtx)
	<-serveErr // Serve returns ErrServerClosed once Shutdown has begun.
	if err != nil {
		srv.Close()
		log.Warn("shutdown cut short: connections closed", "err", err)
	}
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return nil
}
