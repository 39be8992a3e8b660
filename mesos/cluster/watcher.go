package cluster

import (
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
	"github.com/offerdeck/offerdeck/mesos/master"
)

// DefaultPollEvery is the interval of /master/state reads when the master
// refuses the operator API: the Mesos web UI's own pace is a few seconds
// to minutes; a whole-cluster read is heavy for a big master.
const DefaultPollEvery = 15 * time.Second

// DefaultRefreshEvery is how often agents and frameworks are read again
// while the stream is followed.
const DefaultRefreshEvery = time.Minute

// changeQueue is how many changes may wait for the reader.
const changeQueue = 4096

// Config configures a Watcher. Zero fields take the documented defaults.
type Config struct {
	// Client configures the operator stream: masters, leader detector,
	// credentials, bounds. Its MediaType defaults to protobuf here, the
	// cheaper of the two for a whole cluster; OnStatus is the watcher's.
	Client master.Config
	// PollEvery is the interval of /master/state reads after the master
	// refused the operator API (default DefaultPollEvery); negative: never
	// poll, the view just says it was refused.
	PollEvery time.Duration
	// RefreshEvery is how often, while the stream is followed, agents and
	// frameworks are read again (GET_AGENTS, GET_FRAMEWORKS; default
	// DefaultRefreshEvery): the stream reports neither an agent that
	// became unreachable nor the offers made to other frameworks.
	// Negative: never.
	RefreshEvery time.Duration
	// KeepEnded bounds the ended tasks kept per framework (default
	// DefaultKeepEnded).
	KeepEnded int
	// Logger receives what goes wrong; nil discards.
	Logger *slog.Logger
}

// Watcher follows the whole cluster, read-only: every agent, framework and
// task, from the master's operator API stream, or from /master/state at an
// interval when the master refuses that API. It hands what changes out as
// Changes, starting with a Reset whenever it reads the whole cluster.
type Watcher struct {
	cfg     Config
	log     *slog.Logger
	client  *master.Client
	http    *http.Client
	masters []*url.URL
	changes chan Change

	mu     sync.Mutex
	status Status

	runCtx context.Context // Run's
	// viewMu orders the stream's events and the refreshes: each applies
	// to the view and hands its changes out under it.
	viewMu sync.Mutex
	v      *view
	out    []Change
}

// New makes a Watcher; Run starts it.
func New(cfg Config) (*Watcher, error) {
	if cfg.PollEvery == 0 {
		cfg.PollEvery = DefaultPollEvery
	}
	if cfg.KeepEnded <= 0 {
		cfg.KeepEnded = DefaultKeepEnded
	}
	if cfg.RefreshEvery == 0 {
		cfg.RefreshEvery = DefaultRefreshEvery
	}
	if cfg.Client.MediaType == "" {
		cfg.Client.MediaType = mesos.MediaTypeProtobuf
	}
	cfg.Client.LeanTaskUpdates = true // the view reads a task's state and when
	if cfg.Client.MaxRecordSize == 0 {
		cfg.Client.MaxRecordSize = master.DefaultMaxRecordSize
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{cfg: cfg, log: log, changes: make(chan Change, changeQueue), v: newView(cfg.KeepEnded)}
	for _, m := range cfg.Client.Masters {
		u, err := url.Parse(m)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("cluster view: bad master URL %q", m)
		}
		w.masters = append(w.masters, u)
	}
	cfg.Client.OnStatus = w.streamStatus
	client, err := master.NewClient(cfg.Client)
	if err != nil {
		return nil, fmt.Errorf("cluster view: %w", err)
	}
	w.client = client
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.Client.Transport != nil {
		transport = cfg.Client.Transport.Clone()
	}
	w.http = &http.Client{
		Transport: transport,
		// A redirect is followed by hand, to a known master only.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	w.status = Status{Source: SourceStream, PollEvery: cfg.PollEvery, RefreshEvery: max(0, cfg.RefreshEvery)}
	return w, nil
}

// Changes are the view's changes, in order. The channel is closed when Run
// returns. The reader must keep up: the watcher waits for it.
func (w *Watcher) Changes() <-chan Change { return w.changes }

// Status says how the view is kept now.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// Run follows the cluster until ctx is done.
func (w *Watcher) Run(ctx context.Context) error {
	defer close(w.changes)
	w.runCtx = ctx
	var refreshes sync.WaitGroup
	defer refreshes.Wait()
	streamCtx, stopRefresh := context.WithCancel(ctx)
	defer stopRefresh()
	if w.cfg.RefreshEvery > 0 {
		refreshes.Go(func() { w.refreshLoop(streamCtx) })
	}
	err := w.client.Run(ctx, w.handle)
	stopRefresh()
	if err == nil || ctx.Err() != nil {
		return nil
	}
	if !errors.Is(err, master.ErrRefused) {
		return fmt.Errorf("cluster view: %w", err)
	}
	w.log.Warn("the master refused its operator API; the cluster view reads /master/state instead", "err", err, "every", w.cfg.PollEvery)
	base := w.client.Status().Master
	w.setStatus(ctx, func(s *Status) {
		s.Source, s.Live, s.Refused, s.Since, s.RetryAt = SourcePoll, false, err.Error(), time.Now(), time.Time{}
	})
	if w.cfg.PollEvery < 0 {
		<-ctx.Done()
		return nil
	}
	return w.poll(ctx, base)
}

// handle applies one event of the stream and hands its changes out.
func (w *Watcher) handle(ctx context.Context, e *master.Event) {
	w.viewMu.Lock()
	defer w.viewMu.Unlock()
	now := time.Now()
	out, err := w.v.apply(e, now, w.out[:0])
	if err != nil {
		w.log.Warn("cluster view: event not applied", "err", err)
	}
	for _, c := range out {
		w.send(ctx, c)
	}
	clear(out)
	w.out = out[:0]
	if e.GetType() == master.Event_SUBSCRIBED {
		w.setStatus(ctx, func(s *Status) { s.LastRead = now })
	}
}

func (w *Watcher) send(ctx context.Context, c Change) {
	select {
	case w.changes <- c:
	case <-ctx.Done():
	}
}

// refreshLoop reads agents and frameworks again every RefreshEvery while
// the stream is live, until ctx is done.
func (w *Watcher) refreshLoop(ctx context.Context) {
	t := time.NewTicker(w.cfg.RefreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if st := w.Status(); !st.Live || st.Source != SourceStream {
			continue
		}
		if err := w.refresh(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("cluster view: refresh failed", "err", err)
		}
	}
}

// refresh reads the agents and frameworks once and applies what the
// stream does not say: agents gone unreachable, offers to frameworks.
func (w *Watcher) refresh(ctx context.Context) error {
	asked := time.Now()
	agents, err := w.client.Call(ctx, &master.Call{Type: master.Call_GET_AGENTS.Enum()})
	if err != nil {
		return fmt.Errorf("GET_AGENTS: %w", err)
	}
	fws, err := w.client.Call(ctx, &master.Call{Type: master.Call_GET_FRAMEWORKS.Enum()})
	if err != nil {
		return fmt.Errorf("GET_FRAMEWORKS: %w", err)
	}
	w.viewMu.Lock()
	defer w.viewMu.Unlock()
	out := w.v.refresh(agents.GetGetAgents(), fws.GetGetFrameworks(), asked, time.Now(), w.out[:0])
	for _, c := range out {
		w.send(ctx, c)
	}
	clear(out)
	w.out = out[:0]
	return nil
}

// streamStatus turns the stream's status into the view's.
func (w *Watcher) streamStatus(st master.Status) {
	w.mu.Lock()
	s := &w.status
	s.Source, s.Live, s.Master, s.Since, s.RetryAt = SourceStream, st.State == mesos.Subscribed, st.Master, st.Since, st.RetryAt
	s.Err = ""
	if st.Err != nil {
		s.Err = st.Err.Error()
	}
	c := *s
	w.mu.Unlock()
	// Run's goroutine calls this: the reader sees the status in order
	// with the events. A status the reader is too slow for waits like an
	// event would.
	w.send(w.runCtx, Change{Kind: StatusChanged, Status: &c})
}

func (w *Watcher) setStatus(ctx context.Context, change func(*Status)) {
	w.mu.Lock()
	change(&w.status)
	c := w.status
	w.mu.Unlock()
	w.send(ctx, Change{Kind: StatusChanged, Status: &c})
}

// poll reads /master/state every PollEvery until ctx is done.
func (w *Watcher) poll(ctx context.Context, base string) error {
	t := time.NewTicker(w.cfg.PollEvery)
	defer t.Stop()
	for {
		now := time.Now()
		from, err := w.readState(ctx, base, now)
		w.setStatus(ctx, func(s *Status) {
			was := s.Live
			s.Live = err == nil
			if was != s.Live {
				s.Since = now
			}
			s.Err, s.RetryAt = "", now.Add(w.cfg.PollEvery)
			if err != nil {
				s.Err = err.Error()
			} else {
				s.LastRead, s.Master = now, from
			}
		})
		if err != nil && ctx.Err() == nil {
			w.log.Warn("cluster view: reading /master/state failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// readState reads the whole cluster from /master/state once and hands it
// out as a Reset; it returns the master it read.
func (w *Watcher) readState(ctx context.Context, base string, now time.Time) (string, error) {
	target, err := w.pollTarget(ctx, base)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, max(w.cfg.PollEvery, 10*time.Second))
	defer cancel()
	for range 2 { // the master asked, and the leader it redirects to
		resp, err := w.get(ctx, target)
		if err != nil {
			return target.String(), err
		}
		if resp.StatusCode == http.StatusTemporaryRedirect {
			next, rerr := mesos.RedirectTarget(ctx, target, resp.Header.Get("Location"), w.masters, w.cfg.Client.Detector)
			resp.Body.Close()
			if rerr != nil {
				return target.String(), rerr
			}
			target = next
			continue
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return target.String(), mesos.ReadAPIError(resp, "GET /master/state")
		}
		limit := int64(w.cfg.Client.MaxRecordSize)
		lr := &io.LimitedReader{R: resp.Body, N: limit + 1}
		agents, fws, tasks, unreachable, err := parseState(lr, now)
		if lr.N <= 0 {
			return target.String(), fmt.Errorf("/master/state is larger than %d bytes", limit)
		}
		if err != nil {
			return target.String(), err
		}
		w.v.load(agents, fws, tasks, unreachable)
		w.send(ctx, Change{Kind: Reset, Snapshot: w.v.snapshot(now)})
		return target.String(), nil
	}
	return target.String(), errors.New("/master/state: too many redirects")
}

func (w *Watcher) get(ctx context.Context, base *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base.String(), "/")+"/master/state", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if w.cfg.Client.Principal != "" {
		req.SetBasicAuth(w.cfg.Client.Principal, w.cfg.Client.Secret)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /master/state: %w", err)
	}
	return resp, nil
}

// pollTarget is the master to read: the leader a detector names, else the
// one that refused the stream, else the first configured.
func (w *Watcher) pollTarget(ctx context.Context, base string) (*url.URL, error) {
	if d := w.cfg.Client.Detector; d != nil {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := d.Leader(lctx, "")
		cancel()
		if err != nil {
			return nil, fmt.Errorf("find the leading master: %w", err)
		}
		base = m.URL
	}
	if base == "" && len(w.masters) > 0 {
		return w.masters[0], nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("no master to read /master/state from")
	}
	return u, nil
}
