package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/web"
)

// localConfig configures "dashboard local": the stand-in master alone.
type localConfig struct {
	Listen     string
	SandboxDir string
	Simulate   bool
	RunTime    time.Duration
	Agents     int
	AgentsFile string
	// HealthChecks is simulated health check results a second.
	HealthChecks float64
	ZooKeeper    string
	// CredentialsFile holds "principal secret" lines; with it the
	// stand-in demands HTTP basic authentication, as a master run with
	// --authenticate_http_frameworks does.
	CredentialsFile string
	InsecureNoAuth  bool
	// FaultAPI serves /faults/: remove, partition and add agents, rescind
	// offers, fail over, over HTTP.
	FaultAPI bool
	// Neighbours is how many other frameworks the stand-in runs.
	Neighbours int
	// MaxConns and MaxConnsPerAddr bound the connections the stand-in
	// holds, in all and from one address.
	MaxConns, MaxConnsPerAddr int
	LogFormat                 string
	LogLevel                  slog.Level
}

const localIntro = `Usage: dashboard local [flags]

Runs Offerdeck's stand-in Mesos master with simulated agents alone, so any
Mesos client (curl, a notebook, another framework) can use it:

  curl -N -H 'Content-Type: application/json' -d '{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"me","name":"curl"}}}' http://127.0.0.1:5050/api/v1/scheduler
`

func localOptions(c *localConfig, getenv func(string) string) []option {
	opts := []option{
		listenOption(&c.Listen, "OFFERDECK_LOCAL_LISTEN", "127.0.0.1:5050"),
		{
			name: "sandbox-dir", env: "OFFERDECK_SANDBOX_DIR", def: filepath.Join(defaultStateDir(getenv), "local-sandboxes"),
			usage: "folder for the task sandboxes (stdout and stderr of every task)",
			set: func(v string) error {
				if v == "" {
					return errors.New("must not be empty")
				}
				c.SandboxDir = v
				return nil
			},
		},
		boolOption("simulate", "OFFERDECK_SIMULATE", "simulate command tasks instead of running them on this host", &c.Simulate),
		{
			name: "run-time", env: "OFFERDECK_SIMULATED_RUN_TIME", def: "5s",
			usage: "how long a simulated command task runs before it finishes; 0 runs it until it is killed",
			set: func(v string) error {
				d, err := time.ParseDuration(v)
				if err != nil {
					return err
				}
				if d < 0 {
					return fmt.Errorf("%s: must not be negative (0 runs a task until it is killed)", v)
				}
				c.RunTime = d
				return nil
			},
		},
		{
			name: "agents", env: "OFFERDECK_AGENTS", def: "0",
			usage: "number of simulated agents: 0 for the three demo agents, more for a generated cluster (scale mode simulates every task)",
			set: func(v string) error {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > 20000 {
					return fmt.Errorf("%q: want a number from 0 to 20000", v)
				}
				c.Agents = n
				return nil
			},
		},
		stringOption("agents-file", "OFFERDECK_AGENTS_FILE", "", "JSON list of agents ({hostname, cpus, mem, disk, ports, sets, attributes, role}) instead of the demo agents", &c.AgentsFile),
		{
			name: "health-checks", env: "OFFERDECK_HEALTH_CHECKS", def: "0",
			usage: "simulated health check results a second, spread over running tasks, each flipping a task's health: a steady stream of updates for demos and load runs",
			set: func(v string) error {
				n, err := strconv.ParseFloat(v, 64)
				if err != nil || !(n >= 0 && n <= 1e6) {
					return fmt.Errorf("%q: want a number from 0 to 1000000", v)
				}
				c.HealthChecks = n
				return nil
			},
		},
		stringOption("zk", "OFFERDECK_LOCAL_ZK", "", "announce the master in ZooKeeper like a real one: zk://host:2181/mesos", &c.ZooKeeper),
		stringOption("credentials-file", "OFFERDECK_LOCAL_CREDENTIALS_FILE", "", "require HTTP basic authentication of frameworks: a file of \"principal secret\" lines; required to listen beyond loopback", &c.CredentialsFile),
		boolOption("insecure-no-auth", "OFFERDECK_INSECURE_NO_AUTH", "allow listening beyond loopback without authentication: anyone who reaches the port can run commands on this host", &c.InsecureNoAuth),
		boolOption("fault-api", "OFFERDECK_LOCAL_FAULT_API", "serve a fault API under /faults/ (POST, with the credentials): add, remove, partition and heal agents, rescind offers, cut streams, fail over; for tests and demos of failure", &c.FaultAPI),
	}
	opts = append(opts,
		intOption("neighbours", "OFFERDECK_NEIGHBOURS", 0, 0, 20, "other frameworks the stand-in runs beside whoever subscribes, each keeping two small tasks running, so the cluster has tenants to share it with", &c.Neighbours),
		intOption("max-conns", "OFFERDECK_LOCAL_MAX_CONNS", web.DefaultMaxConns, 16, 1<<20,
			"connections held at once; one more is closed at once", &c.MaxConns),
		intOption("max-conns-per-address", "OFFERDECK_LOCAL_MAX_CONNS_PER_ADDRESS", web.DefaultMaxConnsPerAddr, 1, 1<<20,
			"connections held at once from one remote address", &c.MaxConnsPerAddr),
	)
	return append(opts, logOptions(&c.LogFormat, &c.LogLevel)...)
}

// readCredentials reads "principal secret" lines.
func readCredentials(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("invalid value for flag --credentials-file: %w", err)
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		principal, secret, ok := strings.Cut(line, " ")
		if !ok || principal == "" || strings.TrimSpace(secret) == "" || strings.Contains(principal, ":") {
			return nil, fmt.Errorf("invalid value for flag --credentials-file: line %d: want \"principal secret\"", i+1)
		}
		out[principal] = strings.TrimSpace(secret)
	}
	if len(out) == 0 {
		return nil, errors.New("invalid value for flag --credentials-file: no credentials in it")
	}
	return out, nil
}

// runLocal serves the stand-in master until ctx is done.
func runLocal(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var c localConfig
	err := parseOptions("dashboard local", localIntro, localOptions(&c, getenv), args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "dashboard local: %v\n", err)
		return 2
	}
	var creds map[string]string
	if c.CredentialsFile != "" {
		if creds, err = readCredentials(c.CredentialsFile); err != nil {
			fmt.Fprintf(stderr, "dashboard local: %v\n", err)
			return 2
		}
	}
	if !isLoopback(c.Listen) && creds == nil && !c.InsecureNoAuth {
		fmt.Fprintf(stderr, "dashboard local: refusing to listen on %s (flag --listen) without authentication: any client that reaches it can run commands on this host; give --credentials-file, listen on 127.0.0.1, or pass --insecure-no-auth\n", c.Listen)
		return 2
	}
	log := newLogger(stderr, c.LogFormat, c.LogLevel)
	if !isLoopback(c.Listen) && creds == nil {
		log.Error("stand-in serving beyond loopback WITHOUT AUTHENTICATION: anyone who reaches this port can run commands on this host", "listen", c.Listen)
	}
	cfg := local.Config{
		Credentials:      creds,
		SandboxRoot:      c.SandboxDir,
		SimulateCommands: c.Simulate,
		SimulatedRunTime: c.RunTime,
		HealthChecks:     c.HealthChecks,
		ZooKeeper:        c.ZooKeeper,
		FaultAPI:         c.FaultAPI,
		Neighbours:       local.Neighbours(c.Neighbours),
		Logger:           log,
	}
	if c.Agents > 0 {
		cfg.Agents = local.ScaleAgents(c.Agents)
		cfg.SimulateCommands = true
	}
	if c.AgentsFile != "" {
		if cfg.Agents, err = agentsFrom(c.AgentsFile); err != nil {
			fmt.Fprintf(stderr, "dashboard local: %v\n", err)
			return 2
		}
	}
	m, err := local.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "dashboard local: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "dashboard local: listen on %s (flag --listen): %v\n", c.Listen, err)
		return 1
	}
	// One client cannot take every descriptor: connections beyond the
	// caps are closed as they arrive.
	if err := m.Run(ctx, web.NewConnLimiter(ln, c.MaxConns, c.MaxConnsPerAddr)); err != nil {
		log.Error("stand-in master stopped", "err", err)
		return 1
	}
	return 0
}
