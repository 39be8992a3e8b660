package mesos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos/recordio"
)

// eventQueue is how many decoded events may wait for the handler. Decoding
// runs ahead of the handler by this much; more would only hide a slow
// handler from the heartbeat watchdog's view of the stream.
const eventQueue = 64

// maxErrorBody bounds how much of an error response is kept as its message.
const maxErrorBody = 4 << 10

// EventFunc handles one event from the master. It is called from the
// goroutine running Run, one event at a time, in stream order.
type EventFunc func(ctx context.Context, e *Event)

// Run subscribes to the master and calls handle with every event, until ctx
// is done. Whenever the stream ends — a network error, a master restart, a
// leader change, a heartbeat deadline missed, garbage on the stream — it
// re-subscribes with jittered exponential backoff, failing over the same
// framework id. It returns nil when ctx is done, and a *MasterError when the
// master sends an ERROR event (see MasterError). Only one Run may be active
// at a time; it returns after every goroutine it started has exited.
func (c *Client) Run(ctx context.Context, handle EventFunc) error {
	if !c.running.TryLock() {
		return errors.New("mesos client: Run is already active")
	}
	defer c.running.Unlock()
	defer c.closePipes()

	attempt := 0
	next := 0 // index into c.masters of the next master to try
	for {
		base, err := c.pickMaster(ctx, next)
		if err != nil {
			return nil // ctx is done
		}
		subscribed, err := c.subscribe(ctx, base, handle)
		if ctx.Err() != nil {
			c.setStatus(func(s *Status) {
				s.State, s.StreamID, s.Err = Disconnected, "", nil
			})
			return nil
		}
		var me *MasterError
		if errors.As(err, &me) {
			c.setStatus(func(s *Status) { s.State, s.StreamID, s.Err = Disconnected, "", err })
			c.log.Error("master ended the subscription", "master", base.String(), "err", me.Message)
			return err
		}
		if subscribed {
			attempt = 0
		} else {
			attempt++
			next++ // this master did not work out: try the next one
		}
		wait := c.backoff(attempt)
		c.setStatus(func(s *Status) {
			s.State, s.StreamID, s.Err = Disconnected, "", err
			s.Attempt, s.RetryAt = attempt, time.Now().Add(wait)
		})
		c.log.Warn("subscription ended; resubscribing", "master", base.String(), "err", err,
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

// backoff returns the wait before the given attempt (see Backoff).
func (c *Client) backoff(attempt int) time.Duration {
	return Backoff(attempt, c.cfg.MinBackoff, c.cfg.MaxBackoff)
}

// pickMaster returns the master to try next: the detector's leader, or the
// configured masters in turn.
func (c *Client) pickMaster(ctx context.Context, next int) (*url.URL, error) {
	if c.cfg.Detector != nil {
		c.setStatus(func(s *Status) { s.State, s.Master = Connecting, "" })
		m, err := c.cfg.Detector.Leader(ctx, "")
		if err != nil {
			return nil, err
		}
		return parseMaster(m.URL)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return c.masters[next%len(c.masters)], nil
}

// subscribe runs one subscription: it POSTs SUBSCRIBE (following redirects
// to the leader), then reads the stream until it ends. It reports whether
// the master answered SUBSCRIBED, and why the subscription ended.
func (c *Client) subscribe(ctx context.Context, base *url.URL, handle EventFunc) (subscribed bool, err error) {
	ctx, cancelCause := context.WithCancelCause(ctx)
	cancel := func() { cancelCause(context.Canceled) }
	defer cancel()
	c.mu.Lock()
	c.kick = cancelCause
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.kick = nil
		c.mu.Unlock()
	}()

	fi, id := c.frameworkInfo()
	call := &Call{Type: Call_SUBSCRIBE.Enum(), Subscribe: &Call_Subscribe{FrameworkInfo: fi, SuppressedRoles: c.cfg.SuppressedRoles}}
	if id != "" {
		call.FrameworkId = &FrameworkID{Value: proto.String(id)}
	}
	body, err := Marshal(c.cfg.MediaType, call)
	if err != nil {
		return false, fmt.Errorf("encode SUBSCRIBE: %w", err)
	}

	c.setStatus(func(s *Status) { s.State, s.Master = Connecting, base.String() })
	sent := time.Now()
	resp, base, err := c.post(ctx, c.stream, base, body, "SUBSCRIBE", "")
	if err != nil {
		c.report(ctx, call, body, base, "", false, sent, 0, err.Error())
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		apiErr := apiError(resp, "SUBSCRIBE")
		c.report(ctx, call, body, base, "", false, sent, resp.StatusCode, apiErr.Message)
		return false, apiErr
	}
	streamID := resp.Header.Get("Mesos-Stream-Id")
	c.report(ctx, call, body, base, "", false, sent, resp.StatusCode, "Mesos-Stream-Id: "+streamID)
	if streamID == "" {
		return false, errors.New("SUBSCRIBE: master answered 200 without a Mesos-Stream-Id header")
	}
	if ct := resp.Header.Get("Content-Type"); ct != c.cfg.MediaType {
		return false, fmt.Errorf("SUBSCRIBE: stream content type %q, asked for %q", ct, c.cfg.MediaType)
	}
	c.setStatus(func(s *Status) { s.Master = base.String() })

	// The reader decodes records on its own goroutine; it ends when the
	// body is closed (by cancel, through the request context) or fails.
	var lastRecord atomic.Int64
	lastRecord.Store(time.Now().UnixNano())
	events := make(chan *Event, eventQueue)
	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		readErr <- c.readEvents(ctx, resp.Body, events, &lastRecord)
	})
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
			return subscribed, context.Cause(ctx)
		case <-leaderChanged:
			return subscribed, ErrLeaderChanged
		case err := <-readErr:
			// Deliver what was decoded before the stream broke.
			for len(events) > 0 {
				if stop := c.deliver(ctx, <-events, &subscribed, &deadline, streamID, handle); stop != nil {
					return subscribed, stop
				}
			}
			return subscribed, err
		case <-watchdog.C:
			idle := time.Since(time.Unix(0, lastRecord.Load()))
			if idle >= deadline {
				return subscribed, fmt.Errorf("%w: nothing for %v", ErrHeartbeatTimeout, idle.Round(time.Second))
			}
			watchdog.Reset(deadline - idle)
		case e := <-events:
			if stop := c.deliver(ctx, e, &subscribed, &deadline, streamID, handle); stop != nil {
				return subscribed, stop
			}
			if !watchdog.Stop() {
				select {
				case <-watchdog.C:
				default:
				}
			}
			watchdog.Reset(deadline)
		}
	}
}

// deliver updates the status for one event and hands it to the handler. It
// returns a non-nil error when the event ends the subscription.
func (c *Client) deliver(ctx context.Context, e *Event, subscribed *bool, deadline *time.Duration, streamID string, handle EventFunc) error {
	now := time.Now()
	switch e.GetType() {
	case Event_SUBSCRIBED:
		sub := e.GetSubscribed()
		interval := defaultHeartbeat
		if secs := sub.GetHeartbeatIntervalSeconds(); secs > 0 {
			interval = time.Duration(secs * float64(time.Second))
		}
		*deadline = time.Duration(c.cfg.HeartbeatMisses) * interval
		*subscribed = true
		c.setStatus(func(s *Status) {
			s.State, s.StreamID, s.Err = Subscribed, streamID, nil
			s.FrameworkID = sub.GetFrameworkId().GetValue()
			s.MasterInfo, s.HeartbeatInterval = sub.GetMasterInfo(), interval
			s.Attempt, s.RetryAt, s.LastEvent = 0, time.Time{}, now
		})
		c.log.Info("subscribed", "master", c.Status().Master, "framework_id", sub.GetFrameworkId().GetValue(),
			"stream_id", streamID, "heartbeat", interval)
	case Event_ERROR:
		handle(ctx, e)
		return &MasterError{Message: e.GetError().GetMessage()}
	default:
		c.mu.Lock()
		c.status.LastEvent = now
		c.mu.Unlock()
	}
	handle(ctx, e)
	return nil
}

// readEvents decodes records from body into events until the stream ends,
// and returns why it ended.
func (c *Client) readEvents(ctx context.Context, body io.Reader, events chan<- *Event, lastRecord *atomic.Int64) error {
	r := recordio.NewReader(body, c.cfg.MaxRecordSize)
	for {
		rec, err := r.ReadRecord()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("master closed the event stream")
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read event stream: %w", err)
		}
		lastRecord.Store(time.Now().UnixNano())
		e, err := decodeEvent(c.cfg.MediaType, rec)
		if err != nil {
			return fmt.Errorf("decode event (%d bytes): %w", len(rec), err)
		}
		select {
		case events <- e:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// newCallRequest is a POST of body to base's scheduler endpoint with the
// headers every call carries (see post).
func (c *Client) newCallRequest(ctx context.Context, base *url.URL, body []byte, streamID string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.String()+SchedulerPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", c.cfg.MediaType)
	req.Header.Set("Accept", c.cfg.MediaType)
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	if c.cfg.Principal != "" {
		req.SetBasicAuth(c.cfg.Principal, c.cfg.Secret)
	}
	return req, nil
}

// post sends one request to base's scheduler endpoint, following up to
// MaxRedirects redirects to the leading master. It returns the final
// response, whose body the caller closes, and the base URL that answered.
func (c *Client) post(ctx context.Context, hc *http.Client, base *url.URL, body []byte, op, streamID string) (*http.Response, *url.URL, error) {
	for hop := 0; ; hop++ {
		req, err := c.newCallRequest(ctx, base, body, streamID)
		if err != nil {
			return nil, base, fmt.Errorf("%s: %w", op, err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, base, fmt.Errorf("%s to %s: %w", op, base.Host, err)
		}
		if resp.StatusCode != http.StatusTemporaryRedirect || streamID != "" {
			// A call never follows a redirect: its stream id belongs to
			// the master that issued it.
			return resp, base, nil
		}
		err = apiError(resp, op)
		resp.Body.Close()
		if hop == c.cfg.MaxRedirects {
			return nil, base, fmt.Errorf("%w; gave up after %d redirects", err, hop)
		}
		next, rerr := c.redirectTarget(ctx, base, resp.Header.Get("Location"))
		if rerr != nil {
			return nil, base, fmt.Errorf("%w: %v", err, rerr)
		}
		c.log.Info("following redirect to the leading master", "from", base.Host, "to", next.Host)
		base = next
	}
}

// redirectTarget is RedirectTarget for this client's masters and detector.
func (c *Client) redirectTarget(ctx context.Context, base *url.URL, location string) (*url.URL, error) {
	return RedirectTarget(ctx, base, location, c.masters, c.cfg.Detector)
}

// apiError reads a non-2xx response into an *APIError.
func apiError(resp *http.Response, op string) *APIError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &APIError{Op: op, Status: resp.StatusCode, Message: string(bytes.TrimSpace(b)), Location: resp.Header.Get("Location")}
}
