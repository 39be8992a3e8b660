package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// config is the dashboard's effective configuration after flags and their
// environment fallbacks have been read.
type config struct {
	Listen          string
	Master          string
	StateDir        string
	LogFormat       string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
}

// option describes one flag: its name, the environment variable that
// supplies a value when the flag is absent, its default and its help text.
// Keeping them in one table is what lets --help list every flag with its
// environment name.
type option struct {
	name  string
	env   string
	def   string
	usage string
	set   func(c *config, v string) error
}

func options(getenv func(string) string) []option {
	return []option{
		{
			name: "listen", env: "OFFERDECK_LISTEN", def: "127.0.0.1:8080",
			usage: "address the dashboard serves on (host:port)",
			set: func(c *config, v string) error {
				if _, _, err := net.SplitHostPort(v); err != nil {
					return fmt.Errorf("want host:port: %w", err)
				}
				c.Listen = v
				return nil
			},
		},
		{
			name: "master", env: "OFFERDECK_MASTER", def: "",
			usage: "Mesos master: http://host:5050 (comma list allowed) or zk://host:2181/mesos; empty runs the embedded stand-in",
			set: func(c *config, v string) error {
				if err := checkMaster(v); err != nil {
					return err
				}
				c.Master = v
				return nil
			},
		},
		{
			name: "state-dir", env: "OFFERDECK_STATE_DIR", def: defaultStateDir(getenv),
			usage: "folder for the dashboard's database and task sandboxes",
			set: func(c *config, v string) error {
				if v == "" {
					return errors.New("must not be empty")
				}
				c.StateDir = v
				return nil
			},
		},
		{
			name: "log-format", env: "OFFERDECK_LOG_FORMAT", def: "text",
			usage: "log format: text or json",
			set: func(c *config, v string) error {
				if v != "text" && v != "json" {
					return fmt.Errorf("%q: want text or json", v)
				}
				c.LogFormat = v
				return nil
			},
		},
		{
			name: "log-level", env: "OFFERDECK_LOG_LEVEL", def: "info",
			usage: "log level: debug, info, warn or error",
			set: func(c *config, v string) error {
				return c.LogLevel.UnmarshalText([]byte(v))
			},
		},
		{
			name: "shutdown-timeout", env: "OFFERDECK_SHUTDOWN_TIMEOUT", def: "10s",
			usage: "how long a shutdown may take before connections are cut",
			set: func(c *config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil {
					return err
				}
				if d <= 0 {
					return fmt.Errorf("%s: must be positive", v)
				}
				c.ShutdownTimeout = d
				return nil
			},
		},
	}
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

// parseConfig reads args (without the program name), falling back to
// environment variables for flags that are absent. Errors name the flag or
// the environment variable whose value is bad.
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (config, error) {
	var c config
	opts := options(getenv)
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	values := make(map[string]*string, len(opts))
	for _, o := range opts {
		values[o.name] = fs.String(o.name, o.def, o.usage)
	}
	fs.Usage = func() { writeUsage(usageOut, opts) }
	if err := fs.Parse(args); err != nil {
		// The flag package has already printed the usage for --help.
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (flags start with --; see --help)", fs.Arg(0))
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })

	for _, o := range opts {
		v, source := *values[o.name], "flag --"+o.name
		if !explicit[o.name] {
			if ev, ok := lookup(getenv, o.env); ok {
				v, source = ev, "environment variable "+o.env
			}
		}
		if err := o.set(&c, v); err != nil {
			return c, fmt.Errorf("invalid value for %s: %w", source, err)
		}
	}
	return c, nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func writeUsage(w io.Writer, opts []option) {
	fmt.Fprint(w, `Usage: dashboard [flags]

Offerdeck is a live web dashboard and control panel for Apache Mesos.
With no --master it starts an embedded stand-in master with simulated agents.

Flags (each may also be set by its environment variable; a flag wins):
`)
	for _, o := range opts {
		def := o.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%s\n        %s\n        default %s; env %s\n", o.name, o.usage, def, o.env)
	}
}

// LogValue lists the effective configuration for the startup log line.
// It holds no secrets today; when it does, they are redacted here.
func (c config) LogValue() slog.Value {
	master := c.Master
	if master == "" {
		master = "embedded stand-in"
	}
	return slog.GroupValue(
		slog.String("listen", c.Listen),
		slog.String("master", master),
		slog.String("state_dir", c.StateDir),
		slog.String("log_format", c.LogFormat),
		slog.String("log_level", c.LogLevel.String()),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
	)
}
