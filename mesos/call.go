package mesos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
)

// Call sends one call for the current subscription and waits for the
// master's answer: nil for 202 Accepted (200 for UPDATE_FRAMEWORK), an
// *APIError for any other status, ErrNotSubscribed when there is no live
// subscription. Call sets call.FrameworkId when it is unset. Acceptance
// means only that the master took the call; what came of it arrives as
// events.
//
// Calls travel on their own connection, one at a time per master, so calls
// from one goroutine reach the master in the order they were made. A 307 or
// a 403 "not subscribed" answer means the subscription is stale: the client
// then re-subscribes at once. Call is safe for concurrent use.
func (c *Client) Call(ctx context.Context, call *Call) error {
	return c.retryStale(ctx, call, c.calls)
}

// Acknowledge sends an ACKNOWLEDGE call as Call does, but on connections
// of its own (AckConnections of them), where acknowledgements travel side
// by side instead of one at a time behind every other call: they need no
// order, since each acknowledges a different update and an agent sends a
// task's next update only after the previous one is acknowledged. So a
// busy stream of updates is acknowledged at several times the rate, and
// an operator's KILL does not wait behind a thousand acknowledgements.
func (c *Client) Acknowledge(ctx context.Context, ack *Call_Acknowledge) error {
	return c.retryStale(ctx, &Call{Type: Call_ACKNOWLEDGE.Enum(), Acknowledge: ack}, c.acks)
}

// AckConnections is how many connections Acknowledge uses per master.
const AckConnections = 4

func (c *Client) retryStale(ctx context.Context, call *Call, hc *http.Client) error {
	err := c.call(ctx, call, hc, false)
	// A call that raced a re-subscription carries the old stream id: the
	// master refused it unprocessed, so it is safe to send once more with
	// the new one.
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest && strings.Contains(apiErr.Message, "didn't match the stream ID") {
		if st := c.Status(); st.State == Subscribed && !strings.Contains(apiErr.Message, "'"+st.StreamID+"'") {
			return c.call(ctx, call, hc, true)
		}
	}
	return err
}

func (c *Client) call(ctx context.Context, call *Call, hc *http.Client, retry bool) error {
	op := call.GetType().String()
	if call.GetType() == Call_SUBSCRIBE {
		return fmt.Errorf("%s: subscriptions are made by Run", op)
	}
	st := c.Status()
	if st.State != Subscribed {
		return fmt.Errorf("%s: %w", op, ErrNotSubscribed)
	}
	if call.FrameworkId == nil {
		call.FrameworkId = &FrameworkID{Value: proto.String(st.FrameworkID)}
	}
	body, err := Marshal(c.cfg.MediaType, call)
	if err != nil {
		return fmt.Errorf("encode %s: %w", op, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
	}
	base, err := url.Parse(st.Master)
	if err != nil {
		return fmt.Errorf("%s: master %q: %w", op, st.Master, err)
	}
	sent := time.Now()
	resp, _, err := c.post(ctx, hc, base, body, op, st.StreamID)
	if err != nil {
		c.report(ctx, call, body, base, st.StreamID, retry, sent, 0, err.Error())
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusAccepted, http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)) // keep the connection reusable
		c.report(ctx, call, body, base, st.StreamID, retry, sent, resp.StatusCode, "")
		return nil
	}
	apiErr := apiError(resp, op)
	c.report(ctx, call, body, base, st.StreamID, retry, sent, resp.StatusCode, apiErr.Message)
	if resp.StatusCode == http.StatusTemporaryRedirect ||
		(resp.StatusCode == http.StatusForbidden && strings.Contains(apiErr.Message, "not subscribed")) {
		c.log.Warn("call shows the subscription is stale; resubscribing", "call", op, "err", apiErr)
		c.resubscribe(fmt.Errorf("%w: %v", ErrStaleSubscription, apiErr))
	}
	return apiErr
}

// resubscribe ends the current subscription so that Run subscribes again.
func (c *Client) resubscribe(cause error) {
	c.mu.Lock()
	kick := c.kick
	c.mu.Unlock()
	if kick != nil {
		kick(cause)
	}
}
