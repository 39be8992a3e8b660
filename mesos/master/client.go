package master

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
)

// APIPath is the master's operator endpoint, relative to its base URL.
const APIPath = "/api/v1"

// Defaults for the zero fields of Config.
const (
	DefaultHeartbeatMisses = 5
	DefaultMinBackoff      = 500 * time.Millisecond
	DefaultMaxBackoff      = 30 * time.Second
	DefaultCallTimeout     = 30 * time.Second
	DefaultMaxRedirects    = 3
	// DefaultMaxRecordSize bounds one event or answer. SUBSCRIBED and
	// GET_STATE carry the whole cluster: about 90 MB of JSON for 10,000
	// agents and 100,000 tasks.
	DefaultMaxRecordSize = 256 << 20
	// defaultHeartbeat is assumed until SUBSCRIBED names the interval.
	defaultHeartbeat = 15 * time.Second
)

// ErrRefused is wrapped by Run's error when the master will not serve the
// operator stream to this client: bad credentials (401), no permission
// (403), no operator API at all (404, an old master) or a call it does not
// know (400, 501). Retrying would get the same answer; a caller may fall
// back to polling /master/state. The *mesos.APIError is wrapped too.
var ErrRefused = errors.New("operator API refused")

// Config configures a Client. Zero fields take the documented defaults.
type Config struct {
	// Masters are base URLs such as "http://10.0.0.1:5050", tried in turn.
	// A redirect (307) from a non-leading master is followed only to a
	// host in this list or announced by Detector.
	Masters []string
	// Detector, when set, names the leader and is watched for leader
	// changes; Masters may then be empty.
	Detector mesos.LeaderDetector

	// MediaType is mesos.MediaTypeJSON (the default) or
	// mesos.MediaTypeProtobuf, for calls, answers and the stream.
	MediaType string
	// Principal and Secret authenticate every request with HTTP basic
	// authentication when Principal is set. The secret is never logged.
	Principal, Secret string

	// HeartbeatMisses is how many heartbeat intervals may pass without any
	// event before the stream is declared dead (default 5).
	HeartbeatMisses int
	// MinBackoff and MaxBackoff bound the jittered exponential wait between
	// subscription attempts (defaults 500 ms and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// CallTimeout bounds a call whose context has no deadline (30 s).
	CallTimeout time.Duration
	// MaxRedirects bounds how many 307s one request follows (default 3).
	MaxRedirects int
	// MaxRecordSize bounds one event on the stream and one answer to a
	// call, in bytes (default DefaultMaxRecordSize).
	MaxRecordSize int
	// LeanTaskUpdates, with MediaType protobuf, decodes a TASK_UPDATED
	// event's framework id and state and its status's task id, state and
	// timestamp, and nothing else of it: what a watcher of tasks' states
	// reads, at a fraction of the cost. Other events are whole. The
	// handler must not keep such an event, nor the messages it points
	// to, once it returns: they are reused (its strings it may keep).
	LeanTaskUpdates bool

	// Transport, when set, is cloned for the stream and for calls. The
	// default is a clone of http.DefaultTransport.
	Transport *http.Transport
	// Logger receives lifecycle events; nil discards.
	Logger *slog.Logger
	// OnStatus, when set, is called with every change of Status from the
	// goroutine running Run. It must not block for long.
	OnStatus func(Status)
}

// Status is a snapshot of a Client's operator stream.
type Status struct {
	// State is mesos.Subscribed once SUBSCRIBED has arrived.
	State mesos.State
	// Since is when State was entered.
	Since time.Time
	// Master is the base URL of the master subscribed to, or being tried.
	Master string
	// HeartbeatInterval is the interval the master announced.
	HeartbeatInterval time.Duration
	// LastEvent is when the last event of any kind arrived.
	LastEvent time.Time
	// Err is why the last subscription ended or the last attempt failed.
	Err error
	// Attempt counts consecutive failed attempts; RetryAt is when the next
	// one starts while disconnected.
	Attempt int
	RetryAt time.Time
}

// EventFunc handles one event. It is called from the goroutine running
// Run, one event at a time, in stream order. Every subscription, the
// first and each one after a reconnection, starts with SUBSCRIBED, whose
// snapshot replaces whatever the handler built from earlier events.
type EventFunc func(ctx context.Context, e *Event)

// Client keeps an operator SUBSCRIBE stream to the leading master and
// makes read calls (GET_STATE, GET_AGENTS, ...). Create it with NewClient
// and start the stream with Run; Call works with or without Run. Its
// methods are safe for concurrent use.
type Client struct {
	cfg     Config
	log     *slog.Logger
	masters []*url.URL

	// The stream and the calls travel on different connections: a call
	// queued behind the never-ending SUBSCRIBE response would wait forever.
	stream *http.Client
	calls  *http.Client

	running sync.Mutex // held by Run

	mu     sync.Mutex
	status Status
}

// NewClient validates cfg and returns a Client. It starts nothing.
func NewClient(cfg Config) (*Client, error) {
	if len(cfg.Masters) == 0 && cfg.Detector == nil {
		return nil, errors.New("operator client: no master configured")
	}
	switch cfg.MediaType {
	case "":
		cfg.MediaType = mesos.MediaTypeJSON
	case mesos.MediaTypeJSON, mesos.MediaTypeProtobuf:
	default:
		return nil, fmt.Errorf("operator client: media type %q: %w", cfg.MediaType, mesos.ErrUnknownMediaType)
	}
	if strings.Contains(cfg.Principal, ":") {
		return nil, errors.New("operator client: principal must not contain ':' (basic authentication splits on it)")
	}
	if cfg.HeartbeatMisses < 0 || cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 || cfg.CallTimeout < 0 || cfg.MaxRedirects < 0 || cfg.MaxRecordSize < 0 {
		return nil, errors.New("operator client: negative limits")
	}
	cfg.HeartbeatMisses = orDefault(cfg.HeartbeatMisses, DefaultHeartbeatMisses)
	cfg.MinBackoff = orDefault(cfg.MinBackoff, DefaultMinBackoff)
	cfg.MaxBackoff = orDefault(cfg.MaxBackoff, DefaultMaxBackoff)
	cfg.CallTimeout = orDefault(cfg.CallTimeout, DefaultCallTimeout)
	cfg.MaxRedirects = orDefault(cfg.MaxRedirects, DefaultMaxRedirects)
	cfg.MaxRecordSize = orDefault(cfg.MaxRecordSize, DefaultMaxRecordSize)
	if cfg.MaxBackoff < cfg.MinBackoff {
		return nil, fmt.Errorf("operator client: max backoff %v is below min backoff %v", cfg.MaxBackoff, cfg.MinBackoff)
	}
	c := &Client{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for _, m := range cfg.Masters {
		u, err := mesos.ParseMaster(m)
		if err != nil {
			return nil, fmt.Errorf("operator client: %w", err)
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
	noRedirects := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.stream = &http.Client{Transport: streamTransport, CheckRedirect: noRedirects}
	c.calls = &http.Client{Transport: base.Clone(), CheckRedirect: noRedirects}
	c.status = Status{State: mesos.Disconnected}
	return c, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Status returns a snapshot of the stream's state.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

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

// Call sends one call (any but SUBSCRIBE) to the leading master and returns
// its answer: an *mesos.APIError for a non-200 status. It goes to the
// master of the live stream if there is one, else to the configured
// masters in turn (or the detector's leader), following redirects.
func (c *Client) Call(ctx context.Context, call *Call) (*Response, error) {
	op := call.GetType().String()
	if call.GetType() == Call_SUBSCRIBE {
		return nil, fmt.Errorf("%s: subscriptions are made by Run", op)
	}
	body, err := mesos.Marshal(c.cfg.MediaType, call)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", op, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
	}
	candidates, err := c.callTargets(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var lastErr error
	for _, base := range candidates {
		resp, _, err := c.post(ctx, c.calls, base, body, op)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue // unreachable: try the next master
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, mesos.ReadAPIError(resp, op)
		}
		if ct := resp.Header.Get("Content-Type"); ct != c.cfg.MediaType {
			return nil, fmt.Errorf("%s: answer content type %q, asked for %q", op, ct, c.cfg.MediaType)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.cfg.MaxRecordSize)+1))
		if err != nil {
			return nil, fmt.Errorf("%s: read answer: %w", op, err)
		}
		if len(data) > c.cfg.MaxRecordSize {
			return nil, fmt.Errorf("%s: answer exceeds %d bytes", op, c.cfg.MaxRecordSize)
		}
		out := new(Response)
		if err := mesos.Unmarshal(c.cfg.MediaType, data, out); err != nil {
			return nil, fmt.Errorf("%s: decode answer: %w", op, err)
		}
		return out, nil
	}
	return nil, lastErr
}

// callTargets are the masters a call tries, best first.
func (c *Client) callTargets(ctx context.Context) ([]*url.URL, error) {
	if st := c.Status(); st.State == mesos.Subscribed && st.Master != "" {
		if u, err := mesos.ParseMaster(st.Master); err == nil {
			return []*url.URL{u}, nil
		}
	}
	if c.cfg.Detector != nil {
		m, err := c.cfg.Detector.Leader(ctx, "")
		if err != nil {
			return nil, err
		}
		u, err := mesos.ParseMaster(m.URL)
		if err != nil {
			return nil, err
		}
		return []*url.URL{u}, nil
	}
	return c.masters, nil
}

// post sends one request to base's operator endpoint, following up to
// MaxRedirects redirects to the leading master. It returns the final
// response, whose body the caller closes, and the base URL that answered.
func (c *Client) post(ctx context.Context, hc *http.Client, base *url.URL, body []byte, op string) (*http.Response, *url.URL, error) {
	for hop := 0; ; hop++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.String()+APIPath, bytes.NewReader(body))
		if err != nil {
			return nil, base, fmt.Errorf("%s: %w", op, err)
		}
		req.Header.Set("Content-Type", c.cfg.MediaType)
		req.Header.Set("Accept", c.cfg.MediaType)
		if c.cfg.Principal != "" {
			req.SetBasicAuth(c.cfg.Principal, c.cfg.Secret)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, base, fmt.Errorf("%s to %s: %w", op, base.Host, err)
		}
		if resp.StatusCode != http.StatusTemporaryRedirect {
			return resp, base, nil
		}
		apiErr := mesos.ReadAPIError(resp, op)
		resp.Body.Close()
		if hop == c.cfg.MaxRedirects {
			return nil, base, fmt.Errorf("%w; gave up after %d redirects", apiErr, hop)
		}
		next, rerr := mesos.RedirectTarget(ctx, base, apiErr.Location, c.masters, c.cfg.Detector)
		if rerr != nil {
			return nil, base, fmt.Errorf("%w: %v", apiErr, rerr)
		}
		c.log.Info("following redirect to the leading master", "from", base.Host, "to", next.Host)
		base = next
	}
}

// refused reports whether an answer to SUBSCRIBE means the master will not
// serve this client the operator stream, however often it asks.
func refused(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusMethodNotAllowed, http.StatusNotAcceptable, http.StatusUnsupportedMediaType, http.StatusNotImplemented:
		return true
	}
	return false
}
