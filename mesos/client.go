package mesos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos/detect"
)

// SchedulerPath is the master's scheduler endpoint, relative to its base URL.
const SchedulerPath = "/api/v1/scheduler"

// Defaults for the zero fields of Config.
const (
	DefaultHeartbeatMisses = 5
	DefaultMinBackoff      = 500 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second
	DefaultCallTimeout     = 10 * time.Second
	DefaultMaxRedirects    = 3
	// defaultHeartbeat is assumed until SUBSCRIBED names the interval; it is
	// the interval every Mesos 1.x master uses.
	defaultHeartbeat = 15 * time.Second
)

// LeaderDetector reports the leading master. detect.ZooKeeper implements it.
type LeaderDetector interface {
	// Leader returns the current leader if its URL differs from notURL,
	// otherwise it blocks until the leader changes or ctx is done.
	Leader(ctx context.Context, notURL string) (detect.Master, error)
}

// Config configures a Client. Zero fields take the documented defaults.
type Config struct {
	// Masters are base URLs such as "http://10.0.0.1:5050", tried in turn
	// until one answers. A redirect (307) from a non-leading master is
	// followed only to a host in this list or announced by Detector.
	Masters []string
	// Detector, when set, names the leader to subscribe to and is watched
	// for leader changes; Masters may then be empty.
	Detector LeaderDetector

	// Framework is what the client subscribes with; user and name are
	// required. Its id, when set, makes the first SUBSCRIBE a failover of
	// that framework. The client never modifies it.
	Framework *FrameworkInfo
	// SuppressedRoles are sent with every SUBSCRIBE.
	SuppressedRoles []string

	// MediaType is MediaTypeJSON (the default) or MediaTypeProtobuf; it is
	// used for calls and for the event stream.
	MediaType string
	// Principal and Secret authenticate every request with HTTP basic
	// authentication when Principal is set. The secret is never logged.
	Principal, Secret string

	// HeartbeatMisses is how many heartbeat intervals may pass without any
	// event before the stream is declared dead and re-subscribed (default 5).
	HeartbeatMisses int
	// MinBackoff and MaxBackoff bound the jittered exponential wait between
	// subscription attempts (defaults 500 ms and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// CallTimeout bounds a call whose context has no deadline (default 10 s).
	CallTimeout time.Duration
	// MaxRedirects bounds how many 307s one attempt follows (default 3).
	MaxRedirects int
	// MaxRecordSize bounds one event on the stream, in bytes (default
	// recordio.DefaultMaxSize).
	MaxRecordSize int

	// Transport, when set, is cloned for the stream and for calls (for TLS
	// settings, say). The default is a clone of http.DefaultTransport.
	Transport *http.Transport
	// Logger receives lifecycle events; nil discards.
	Logger *slog.Logger
	// OnStatus, when set, is called with every change of Status, from the
	// goroutine running Run. It must not block for long.
	OnStatus func(Status)
	// OnCall, when set, is told of every request sent to a master (each
	// SUBSCRIBE attempt and every call, a retry included) once its answer
	// came or it failed, from the goroutine that sent it and with its
	// context. It must not block for long, and must neither modify nor
	// keep what it gets: the SentCall, its Call and its JSON are valid
	// until it returns (a pipelined batch of acknowledgements tells each
	// of its calls in the same ones), so it copies what it keeps. The
	// secret never appears in what it gets.
	OnCall func(context.Context, *SentCall)
}

// Client subscribes to a Mesos master as a framework and sends calls for
// that subscription. Create it with NewClient and start it with Run. Its
// methods are safe for concurrent use.
type Client struct {
	cfg     Config
	log     *slog.Logger
	masters []*url.URL

	// The stream and the calls travel on different connections: a call
	// queued behind the never-ending SUBSCRIBE response would wait forever.
	stream *http.Client
	calls  *http.Client
	acks   *http.Client // Acknowledge's pool of connections
	// AcknowledgeAll's kept-alive connections (pipeline.go), dialled as
	// ackTransport would.
	ackTransport *http.Transport
	pipes        chan *pipe
	pipelined    atomic.Int64 // acknowledgements the pipeline settled
	ackBodies    sync.Pool    // *[]byte: a batch's bodies, kept for the next (see pipeline)
	agents       *http.Client // reads of agents' endpoints (task output)

	running sync.Mutex // held by Run

	mu     sync.Mutex
	status Status
	kick   context.CancelCauseFunc // ends the current subscription early
}

// NewClient validates cfg and returns a Client. It starts nothing.
func NewClient(cfg Config) (*Client, error) {
	if len(cfg.Masters) == 0 && cfg.Detector == nil {
		return nil, errors.New("mesos client: no master configured")
	}
	if cfg.Framework == nil || cfg.Framework.GetUser() == "" || cfg.Framework.GetName() == "" {
		return nil, errors.New("mesos client: framework user and name are required")
	}
	switch cfg.MediaType {
	case "":
		cfg.MediaType = MediaTypeJSON
	case MediaTypeJSON, MediaTypeProtobuf:
	default:
		return nil, fmt.Errorf("mesos client: media type %q: %w", cfg.MediaType, ErrUnknownMediaType)
	}
	if strings.Contains(cfg.Principal, ":") {
		return nil, errors.New("mesos client: principal must not contain ':' (basic authentication splits on it)")
	}
	cfg.HeartbeatMisses = orDefault(cfg.HeartbeatMisses, DefaultHeartbeatMisses)
	cfg.MinBackoff = orDefault(cfg.MinBackoff, DefaultMinBackoff)
	cfg.MaxBackoff = orDefault(cfg.MaxBackoff, DefaultMaxBackoff)
	cfg.CallTimeout = orDefault(cfg.CallTimeout, DefaultCallTimeout)
	cfg.MaxRedirects = orDefault(cfg.MaxRedirects, DefaultMaxRedirects)
	if cfg.MaxBackoff < cfg.MinBackoff {
		return nil, fmt.Errorf("mesos client: max backoff %v is below min backoff %v", cfg.MaxBackoff, cfg.MinBackoff)
	}

	c := &Client{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for _, m := range cfg.Masters {
		u, err := parseMaster(m)
		if err != nil {
			return nil, err
		}
		c.masters = append(c.masters, u)
	}

	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	streamTransport := base.Clone()
	streamTransport.ResponseHeaderTimeout = 30 * time.Second
	streamTransport.DisableCompression = true // the master never compresses streams
	callTransport := base.Clone()
	// One connection per master keeps calls in the order they were sent:
	// nothing orders calls that travel on different connections, and a
	// DECLINE overtaken by a REVIVE would undo the REVIVE.
	callTransport.MaxConnsPerHost = 1
	callTransport.MaxIdleConnsPerHost = 1
	noRedirects := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.stream = &http.Client{Transport: streamTransport, CheckRedirect: noRedirects}
	c.calls = &http.Client{Transport: callTransport, CheckRedirect: noRedirects}
	ackTransport := base.Clone()
	ackTransport.MaxConnsPerHost = AckConnections
	ackTransport.MaxIdleConnsPerHost = AckConnections
	c.acks = &http.Client{Transport: ackTransport, CheckRedirect: noRedirects}
	c.ackTransport, c.pipes = ackTransport, make(chan *pipe, AckConnections)
	c.agents = &http.Client{Transport: base.Clone(), CheckRedirect: noRedirects}
	c.status = Status{State: Disconnected, FrameworkID: cfg.Framework.GetId().GetValue()}
	return c, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// parseMaster accepts a base URL with scheme http or https and a host.
func parseMaster(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("mesos client: master %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mesos client: master %q: want http://host:port or https://host:port", s)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "5050")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// Status returns a snapshot of the connection to the master.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// setStatus applies change to the status and reports the result.
func (c *Client) setStatus(change func(*Status)) {
	c.mu.Lock()
	before := c.status.State
	change(&c.status)
	if c.status.State != before {
		c.status.Since = time.Now()
	}
	s := c.status
	c.mu.Unlock()
	if c.cfg.OnStatus != nil {
		c.cfg.OnStatus(s)
	}
}

// frameworkInfo is the FrameworkInfo for the next SUBSCRIBE: the configured
// one with the id the master gave us, if any.
func (c *Client) frameworkInfo() (*FrameworkInfo, string) {
	id := c.Status().FrameworkID
	fi := proto.CloneOf(c.cfg.Framework)
	if id != "" {
		fi.Id = &FrameworkID{Value: proto.String(id)}
	} else {
		fi.Id = nil
	}
	return fi, id
}

// ForgetFrameworkID makes the next subscription register a new framework
// instead of failing over the current one. Use it after the master answered
// that the framework was removed. It does not end a live subscription.
func (c *Client) ForgetFrameworkID() {
	c.setStatus(func(s *Status) { s.FrameworkID = "" })
}
