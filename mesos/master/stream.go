package master

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/recordio"
)

// eventQueue is how many decoded events may wait for the handler; more
// would only hide a slow handler from the heartbeat watchdog.
const eventQueue = 64

// Run subscribes to the operator stream and calls handle with every
// event until ctx is done. Whenever the stream ends (a network error, a
// master restart, a leader change, a missed heartbeat deadline, garbage on
// the stream) it subscribes again with jittered exponential backoff, and
// the new subscription starts with a fresh SUBSCRIBED. It returns nil when
// ctx is done, and an error wrapping ErrRefused when the master refuses
// the operator API. Only one Run may be active at a time; it returns after
// every goroutine it started has exited.
func (c *Client) Run(ctx context.Context, handle EventFunc) error {
	if !c.running.TryLock() {
		return errors.New("operator client: Run is already active")
	}
	defer c.running.Unlock()

	attempt, next := 0, 0
	for {
		base, err := c.pickMaster(ctx, next)
		if err != nil {
			return nil // ctx is done
		}
		subscribed, err := c.subscribe(ctx, base, handle)
		if ctx.Err() != nil {
			c.setStatus(func(s *Status) { s.State, s.Err = mesos.Disconnected, nil })
			return nil
		}
		var apiErr *mesos.APIError
		if errors.As(err, &apiErr) && refused(apiErr.Status) {
			err = fmt.Errorf("%w: %w", ErrRefused, err)
			c.setStatus(func(s *Status) { s.State, s.Err = mesos.Disconnected, err })
			c.log.Warn("operator API refused", "master", base.String(), "err", err)
			return err
		}
		if subscribed {
			attempt = 0
		} else {
			attempt++
			next++ // this master did not work out: try the next one
		}
		wait := mesos.Backoff(attempt, c.cfg.MinBackoff, c.cfg.MaxBackoff)
		c.setStatus(func(s *Status) {
			s.State, s.Err = mesos.Disconnected, err
			s.Attempt, s.RetryAt = attempt, time.Now().Add(wait)
		})
		c.log.Warn("operator stream ended; subscribing again", "master", base.String(), "err", err,
			"attempt", attempt, "retry_in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			c.setStatus(func(s *Status) { s.RetryAt = time.Time{} })
			return nil
		case <-t.C:
		}
	}
}

// pickMaster returns the master to try next: the detector's leader, or the
// configured masters in turn.
func (c *Client) pickMaster(ctx context.Context, next int) (*url.URL, error) {
	if c.cfg.Detector != nil {
		c.setStatus(func(s *Status) { s.State, s.Master = mesos.Connecting, "" })
		m, err := c.cfg.Detector.Leader(ctx, "")
		if err != nil {
			return nil, err
		}
		return mesos.ParseMaster(m.URL)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return c.masters[next%len(c.masters)], nil
}

// subscribe runs one subscription: it POSTs SUBSCRIBE (following redirects
// to the leader), then reads the stream until it ends. It reports whether
// SUBSCRIBED arrived, and why the subscription ended.
func (c *Client) subscribe(ctx context.Context, base *url.URL, handle EventFunc) (subscribed bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	body, err := mesos.Marshal(c.cfg.MediaType, &Call{Type: Call_SUBSCRIBE.Enum()})
	if err != nil {
		return false, fmt.Errorf("encode SUBSCRIBE: %w", err)
	}
	c.setStatus(func(s *Status) { s.State, s.Master = mesos.Connecting, base.String() })
	resp, base, err := c.post(ctx, c.stream, base, body, "SUBSCRIBE")
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, mesos.ReadAPIError(resp, "SUBSCRIBE")
	}
	if ct := resp.Header.Get("Content-Type"); ct != c.cfg.MediaType {
		return false, fmt.Errorf("SUBSCRIBE: stream content type %q, asked for %q", ct, c.cfg.MediaType)
	}
	c.setStatus(func(s *Status) { s.Master = base.String() })

	// The reader decodes records on its own goroutine; it ends when the
	// body is closed (by cancel, through the request context) or fails.
	var lastRecord atomic.Int64
	lastRecord.Store(time.Now().UnixNano())
	events := make(chan event, eventQueue)
	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { readErr <- c.readEvents(ctx, resp.Body, events, &lastRecord) })
	leaderChanged := make(chan struct{}, 1)
	if c.cfg.Detector != nil {
		wg.Go(func() {
			if _, err := c.cfg.Detector.Leader(ctx, base.String()); err == nil {
				leaderChanged <- struct{}{}
			}
		})
	}

	deadline := time.Duration(c.cfg.HeartbeatMisses) * defaultHeartbeat
	watchdog := time.NewTimer(deadline)
	defer watchdog.Stop()
	for {
		select {
		case <-ctx.Done():
			return subscribed, ctx.Err()
		case <-leaderChanged:
			return subscribed, mesos.ErrLeaderChanged
		case err := <-readErr:
			for len(events) > 0 { // deliver what was decoded before the break
				if err := c.deliver(ctx, <-events, &subscribed, &deadline, handle); err != nil {
					return subscribed, err
				}
			}
			return subscribed, err
		case <-watchdog.C:
			idle := time.Since(time.Unix(0, lastRecord.Load()))
			if idle >= deadline {
				return subscribed, fmt.Errorf("%w: nothing for %v", mesos.ErrHeartbeatTimeout, idle.Round(time.Second))
			}
			watchdog.Reset(deadline - idle)
		case e := <-events:
			if err := c.deliver(ctx, e, &subscribed, &deadline, handle); err != nil {
				return subscribed, err
			}
			watchdog.Reset(deadline)
		}
	}
}

// event is an event decoded from the stream, and the struct of a lean
// one, which is reused once the handler has returned.
type event struct {
	e    *Event
	lean *leanTaskUpdate
}

// deliver updates the status for one event and hands it to the handler.
// A stream that does not start with SUBSCRIBED is an error.
func (c *Client) deliver(ctx context.Context, ev event, subscribed *bool, deadline *time.Duration, handle EventFunc) error {
	e := ev.e
	now := time.Now()
	if !*subscribed {
		if e.GetType() != Event_SUBSCRIBED {
			return fmt.Errorf("operator stream began with %v, not SUBSCRIBED", e.GetType())
		}
		interval := defaultHeartbeat
		if secs := e.GetSubscribed().GetHeartbeatIntervalSeconds(); secs > 0 {
			interval = time.Duration(secs * float64(time.Second))
		}
		*deadline = time.Duration(c.cfg.HeartbeatMisses) * interval
		*subscribed = true
		c.setStatus(func(s *Status) {
			s.State, s.Err, s.HeartbeatInterval = mesos.Subscribed, nil, interval
			s.Attempt, s.RetryAt, s.LastEvent = 0, time.Time{}, now
		})
		st := e.GetSubscribed().GetGetState()
		c.log.Info("operator stream subscribed", "master", c.Status().Master, "heartbeat", interval,
			"agents", len(st.GetGetAgents().GetAgents()), "frameworks", len(st.GetGetFrameworks().GetFrameworks()),
			"tasks", len(st.GetGetTasks().GetTasks()))
	} else {
		c.mu.Lock()
		c.status.LastEvent = now
		c.mu.Unlock()
	}
	handle(ctx, e)
	if ev.lean != nil {
		leanPool.Put(ev.lean)
	}
	return nil
}

// readEvents decodes records from body into events until the stream ends,
// and returns why it ended.
func (c *Client) readEvents(ctx context.Context, body io.Reader, events chan<- event, lastRecord *atomic.Int64) error {
	r := recordio.NewReader(body, c.cfg.MaxRecordSize)
	for {
		rec, err := r.ReadRecord()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("master closed the operator stream")
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read operator stream: %w", err)
		}
		lastRecord.Store(time.Now().UnixNano())
		var ev event
		if c.cfg.LeanTaskUpdates && c.cfg.MediaType == mesos.MediaTypeProtobuf {
			l := leanPool.Get().(*leanTaskUpdate)
			if e, ok := l.decode(rec); ok {
				ev = event{e, l}
			} else {
				leanPool.Put(l)
			}
		}
		if ev.e == nil {
			ev.e = new(Event)
			if err := mesos.Unmarshal(c.cfg.MediaType, rec, ev.e); err != nil {
				return fmt.Errorf("decode operator event (%d bytes): %w", len(rec), err)
			}
		}
		select {
		case events <- ev:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
