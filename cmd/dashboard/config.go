package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/offerdeck/offerdeck/web"
)

// config is the dashboard's effective configuration after flags and their
// environment fallbacks have been read.
type config struct {
	Listen     string
	Master     string
	StateDir   string
	Simulate   bool
	AgentsFile string
	HoldTime   time.Duration
	// NoClusterView turns the whole cluster's view off; ClusterPoll is the
	// interval of /master/state reads when the operator API is refused.
	NoClusterView bool
	ClusterPoll   time.Duration
	// Neighbours is how many other frameworks the embedded stand-in runs.
	Neighbours      int
	RefuseSeconds   float64
	Principal       string
	SecretFile      string
	LogFormat       string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	AuthFile        string
	InsecureNoAuth  bool
	TLSCert, TLSKey string
	// Limits bound connections, live streams and request times.
	Limits web.Limits
	// users is the content of --auth-file or OFFERDECK_USERS; unexported
	// because it holds credentials (hashed, but still).
	users string
	// loginToken is the one-time operator token made when the dashboard
	// is exposed without users; serve logs it once as a login link.
	loginToken string
	// secret is the principal's secret, read from --secret-file or
	// OFFERDECK_SECRET; unexported so that it is never logged.
	secret string
}

// option describes one flag: its name, the environment variable that
// supplies a value when the flag is absent, its default, its help text and
// where its value goes. Keeping them in one table is what lets --help list
// every flag with its environment name.
type option struct {
	name  string
	env   string
	def   string
	usage string
	set   func(v string) error
	// isBool lets the flag stand alone (--simulate) as Go's bool flags do.
	isBool bool
}

// flagValue holds a flag's text until the option's set validates it.
type flagValue struct {
	v      string
	isBool bool
}

func (f *flagValue) String() string     { return f.v }
func (f *flagValue) Set(v string) error { f.v = v; return nil }
func (f *flagValue) IsBoolFlag() bool   { return f.isBool }

func listenOption(target *string, env, def string) option {
	return option{
		name: "listen", env: env, def: def,
		usage: "address to serve on (host:port)",
		set: func(v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("want host:port: %w", err)
			}
			*target = v
			return nil
		},
	}
}

func logOptions(format *string, level *slog.Level) []option {
	return []option{
		{
			name: "log-format", env: "OFFERDECK_LOG_FORMAT", def: "text",
			usage: "log format: text or json",
			set: func(v string) error {
				if v != "text" && v != "json" {
					return fmt.Errorf("%q: want text or json", v)
				}
				*format = v
				return nil
			},
		},
		{
			name: "log-level", env: "OFFERDECK_LOG_LEVEL", def: "info",
			usage: "log level: debug, info, warn or error",
			set:   func(v string) error { return level.UnmarshalText([]byte(v)) },
		},
	}
}

func boolOption(name, env, usage string, target *bool) option {
	return option{name: name, env: env, def: "false", usage: usage, isBool: true, set: func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q: want true or false", v)
		}
		*target = b
		return nil
	}}
}

func stringOption(name, env, def, usage string, target *string) option {
	return option{name: name, env: env, def: def, usage: usage, set: func(v string) error { *target = v; return nil }}
}

func durationOption(name, env, def, usage string, target *time.Duration) option {
	return option{name: name, env: env, def: def, usage: usage, set: func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("%s: must be positive", v)
		}
		*target = d
		return nil
	}}
}

func intOption(name, env string, def, lo, hi int, usage string, target *int) option {
	return option{name: name, env: env, def: strconv.Itoa(def), usage: usage, set: func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q: want a whole number from %d to %d", v, lo, hi)
		}
		*target = n
		return nil
	}}
}

// limitOptions are the flags of web.Limits: the caps that keep one client
// from taking every connection, and the request timeouts.
func limitOptions(l *web.Limits) []option {
	return []option{
		intOption("max-conns", "OFFERDECK_MAX_CONNS", web.DefaultMaxConns, 16, 1<<20,
			"connections held at once; beyond it a new one replaces the longest-idle one, or is closed", &l.MaxConns),
		intOption("max-conns-per-address", "OFFERDECK_MAX_CONNS_PER_ADDRESS", web.DefaultMaxConnsPerAddr, 1, 1<<20,
			"connections held at once from one remote address", &l.MaxConnsPerAddr),
		intOption("max-streams-per-session", "OFFERDECK_MAX_STREAMS_PER_SESSION", web.DefaultMaxStreamsPerSession, 1, 1<<20,
			"live streams (one per open page) of one login session; one more is answered 429", &l.MaxStreamsPerSession),
		intOption("max-streams-per-address", "OFFERDECK_MAX_STREAMS_PER_ADDRESS", web.DefaultMaxStreamsPerAddr, 1, 1<<20,
			"live streams from one remote address; one more is answered 429", &l.MaxStreamsPerAddr),
		durationOption("read-timeout", "OFFERDECK_READ_TIMEOUT", web.DefaultReadTimeout.String(),
			"how long a request's headers and body may take to arrive (live streams are not affected)", &l.ReadTimeout),
		durationOption("write-timeout", "OFFERDECK_WRITE_TIMEOUT", web.DefaultWriteTimeout.String(),
			"how long an answer may take to be written (live streams are not affected)", &l.WriteTimeout),
		durationOption("idle-timeout", "OFFERDECK_IDLE_TIMEOUT", web.DefaultIdleTimeout.String(),
			"how long a keep-alive connection may wait for its next request", &l.IdleTimeout),
	}
}

func options(c *config, getenv func(string) string) []option {
	opts := []option{
		listenOption(&c.Listen, "OFFERDECK_LISTEN", "127.0.0.1:8080"),
		{
			name: "master", env: "OFFERDECK_MASTER", def: "",
			usage: "Mesos master: http://host:5050 (comma list allowed) or zk://host:2181/mesos; empty runs the embedded stand-in",
			set: func(v string) error {
				if err := checkMaster(v); err != nil {
					return err
				}
				c.Master = v
				return nil
			},
		},
		{
			name: "state-dir", env: "OFFERDECK_STATE_DIR", def: defaultStateDir(getenv),
			usage: "folder for the dashboard's database and the stand-in's task sandboxes",
			set: func(v string) error {
				if v == "" {
					return errors.New("must not be empty")
				}
				c.StateDir = v
				return nil
			},
		},
		boolOption("simulate", "OFFERDECK_SIMULATE", "embedded stand-in only: simulate command tasks instead of running them on this host", &c.Simulate),
		stringOption("agents-file", "OFFERDECK_AGENTS_FILE", "", "embedded stand-in only: JSON list of agents ({hostname, cpus, mem, disk, ports, sets, attributes, role}) instead of the three demo agents", &c.AgentsFile),
		intOption("neighbours", "OFFERDECK_NEIGHBOURS", 0, 0, 20, "embedded stand-in only: other frameworks it runs beside the dashboard, each keeping two small tasks running, so the Cluster and Frameworks pages have tenants to show", &c.Neighbours),
		durationOption("hold", "OFFERDECK_HOLD", "30s", "how long an offer nobody acts on is held before it is declined", &c.HoldTime),
		boolOption("no-cluster-view", "OFFERDECK_NO_CLUSTER_VIEW", "do not follow the whole cluster (every framework, agent and task) over the master's operator API; the Cluster and Frameworks pages then say so", &c.NoClusterView),
		durationOption("cluster-poll", "OFFERDECK_CLUSTER_POLL", "15s", "how often the cluster view reads /master/state when the master refuses its operator API (an old master, no permission)", &c.ClusterPoll),
		{
			name: "refuse-seconds", env: "OFFERDECK_REFUSE_SECONDS", def: "5",
			usage: "refuse_seconds of declines (automatic ones and the default of the Decline button)",
			set: func(v string) error {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 || f > 31536000 {
					return fmt.Errorf("%q: want seconds between 0 and 31536000", v)
				}
				c.RefuseSeconds = f
				return nil
			},
		},
		stringOption("principal", "OFFERDECK_PRINCIPAL", "", "Mesos principal for HTTP basic authentication (its secret comes from --secret-file or OFFERDECK_SECRET, never a flag)", &c.Principal),
		stringOption("secret-file", "OFFERDECK_SECRET_FILE", "", "file holding the principal's secret", &c.SecretFile),
	}
	opts = append(opts,
		stringOption("auth-file", "OFFERDECK_AUTH_FILE", "",
			"users allowed in, one a line: <name> <viewer|operator> <bcrypt hash or sha256:hex of a token> (or set OFFERDECK_USERS); required to listen beyond loopback", &c.AuthFile),
		boolOption("insecure-no-auth", "OFFERDECK_INSECURE_NO_AUTH", "allow listening beyond loopback without authentication: anyone who reaches the port can launch commands on the cluster", &c.InsecureNoAuth),
		stringOption("tls-cert", "OFFERDECK_TLS_CERT", "", "TLS certificate file (PEM); with --tls-key the dashboard serves HTTPS", &c.TLSCert),
		stringOption("tls-key", "OFFERDECK_TLS_KEY", "", "TLS private key file (PEM)", &c.TLSKey),
	)
	opts = append(opts, limitOptions(&c.Limits)...)
	opts = append(opts, logOptions(&c.LogFormat, &c.LogLevel)...)
	return append(opts, durationOption("shutdown-timeout", "OFFERDECK_SHUTDOWN_TIMEOUT", "10s", "how long a shutdown may take before connections are cut", &c.ShutdownTimeout))
}

// checkMaster accepts "", a zk:// URL, or a comma list of http(s)://host:port
// URLs.
func checkMaster(v string) error {
	if v == "" || strings.HasPrefix(v, "zk://") {
		return nil
	}
	for _, m := range strings.Split(v, ",") {
		u, err := url.Parse(strings.TrimSpace(m))
		if err != nil {
			return err
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q: want http://host:port, https://host:port or zk://host:port/path", m)
		}
	}
	return nil
}

// defaultStateDir follows the XDG base directory convention.
func defaultStateDir(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "offerdeck")
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "state", "offerdeck")
	}
	return filepath.Join(os.TempDir(), "offerdeck")
}

// parseConfig reads the dashboard's args (without the program name).
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (config, error) {
	var c config
	err := parseOptions("dashboard", dashboardIntro, options(&c, getenv), args, getenv, usageOut)
	return c, err
}

const dashboardIntro = `Usage: dashboard [flags]
       dashboard local [flags]   (run the stand-in master alone; see dashboard local --help)

Offerdeck is a live web dashboard and control panel for Apache Mesos.
With no --master it starts an embedded stand-in master with simulated agents.
`

// parseOptions parses args against opts, falling back to environment
// variables for flags that are absent. Errors name the flag or the
// environment variable whose value is bad.
func parseOptions(name, intro string, opts []option, args []string, getenv func(string) string, usageOut io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	values := make(map[string]*flagValue, len(opts))
	for _, o := range opts {
		values[o.name] = &flagValue{v: o.def, isBool: o.isBool}
		fs.Var(values[o.name], o.name, o.usage)
	}
	fs.Usage = func() { writeUsage(usageOut, intro, opts) }
	if err := fs.Parse(args); err != nil {
		// The flag package has already printed the usage for --help.
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --; see --help)", fs.Arg(0))
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	for _, o := range opts {
		v, source := values[o.name].v, "flag --"+o.name
		if !explicit[o.name] {
			if ev := getenv(o.env); ev != "" {
				v, source = ev, "environment variable "+o.env
			}
		}
		if err := o.set(v); err != nil {
			return fmt.Errorf("invalid value for %s: %w", source, err)
		}
	}
	return nil
}

func writeUsage(w io.Writer, intro string, opts []option) {
	fmt.Fprint(w, intro)
	fmt.Fprint(w, "\nFlags (each may also be set by its environment variable; a flag wins):\n")
	for _, o := range opts {
		def := o.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%s\n        %s\n        default %s; env %s\n", o.name, o.usage, def, o.env)
	}
}

// LogValue lists the effective configuration for the startup log line. The
// secret is never part of it: only whether one was given.
func (c config) LogValue() slog.Value {
	master := c.Master
	if master == "" {
		master = "embedded stand-in"
	}
	return slog.GroupValue(
		slog.String("listen", c.Listen),
		slog.String("master", master),
		slog.String("state_dir", c.StateDir),
		slog.Bool("simulate", c.Simulate),
		slog.Int("neighbours", c.Neighbours),
		slog.Duration("hold", c.HoldTime),
		slog.Bool("cluster_view", !c.NoClusterView),
		slog.Duration("cluster_poll", c.ClusterPoll),
		slog.Float64("refuse_seconds", c.RefuseSeconds),
		slog.String("principal", c.Principal),
		slog.Bool("secret_file_set", c.SecretFile != ""),
		slog.String("auth_file", c.AuthFile),
		slog.Bool("authentication", c.users != ""),
		slog.Bool("insecure_no_auth", c.InsecureNoAuth),
		slog.Bool("tls", c.TLSCert != ""),
		slog.String("log_format", c.LogFormat),
		slog.String("log_level", c.LogLevel.String()),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Int("max_conns", c.Limits.MaxConns),
		slog.Int("max_conns_per_address", c.Limits.MaxConnsPerAddr),
		slog.Int("max_streams_per_session", c.Limits.MaxStreamsPerSession),
		slog.Int("max_streams_per_address", c.Limits.MaxStreamsPerAddr),
		slog.Duration("read_timeout", c.Limits.ReadTimeout),
		slog.Duration("write_timeout", c.Limits.WriteTimeout),
		slog.Duration("idle_timeout", c.Limits.IdleTimeout),
	)
}

// isLoopback reports whether a listen address reaches this machine only.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkExposure refuses to serve beyond loopback without authentication:
// a dashboard that can launch commands is remote code execution for
// anyone who reaches it.
func checkExposure(c config) error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("invalid value for flag --tls-cert/--tls-key: give both or neither")
	}
	if isLoopback(c.Listen) || c.users != "" || c.InsecureNoAuth {
		return nil
	}
	return fmt.Errorf("%w: refusing to listen on %s (flag --listen) without authentication: anyone who reaches it could launch commands on the cluster; give --auth-file (or OFFERDECK_USERS), listen on 127.0.0.1, or pass --insecure-no-auth if you really mean it", errNoUsers, c.Listen)
}

// errNoUsers is checkExposure's refusal for want of users; the dashboard
// then makes a one-time operator token instead (see oneTimeToken).
var errNoUsers = errors.New("no users")

// oneTimeToken makes a random operator token for a dashboard exposed
// without users, as notebook servers do: the users it returns hold only
// its SHA-256, and the token itself goes once into the log, as a login
// link (see serve).
func oneTimeToken() (token, users string) {
	b := make([]byte, 24)
	rand.Read(b) // never fails (crypto/rand)
	token = hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	return token, "operator operator sha256:" + hex.EncodeToString(sum[:])
}
