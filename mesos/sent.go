package mesos

import (
	"bytes"
	"context"
	"net/url"
	"time"
)

// SentCall is one request the client sent to a master and what came of
// it, as Config.OnCall receives it: the other half of the conversation the
// event stream shows.
type SentCall struct {
	// Type is the call's type, e.g. "SUBSCRIBE" or "DECLINE"; Call is the
	// message sent, shared with the sender: it must not be modified.
	Type string
	Call *Call
	// JSON is the body in JSON: the body itself on JSON connections, the
	// JSON form of the same message on protobuf ones. MediaType is what it
	// travelled as.
	JSON      []byte
	MediaType string
	// Master is the base URL the request went to, without user info;
	// StreamID the Mesos-Stream-Id header it carried ("" for SUBSCRIBE);
	// Principal the principal of its basic authentication, if any.
	Master    string
	StreamID  string
	Principal string
	// Retry reports a resend of a call the master refused for a stream
	// id that a re-subscription had just replaced.
	Retry bool
	// Sent is when the request left; Took how long the answer took (for
	// SUBSCRIBE, its headers).
	Sent time.Time
	Took time.Duration
	// Status is the HTTP status of the answer, 0 when none came; Answer
	// is the master's text (at most 4 KiB), the new stream's id for a
	// SUBSCRIBE answered 200, or why no answer came.
	Status int
	Answer string
}

// SecretPlaceholder replaces the principal's secret wherever it would
// appear in a SentCall.
const SecretPlaceholder = "<secret>"

// minScrubbed is the shortest secret searched for in bodies and answers:
// replacing a shorter one would garble the text around every occurrence.
const minScrubbed = 4

// report hands one request to Config.OnCall, if set. JSON and the answer
// are scrubbed of the secret, which the client alone knows.
func (c *Client) report(ctx context.Context, call *Call, body []byte, base *url.URL, streamID string, retry bool, sent time.Time, status int, answer string) {
	if c.cfg.OnCall == nil {
		return
	}
	c.reportTo(ctx, new(SentCall), call, body, masterName(base), streamID, retry, sent, status, answer)
}

// masterName is base as a SentCall names the master: without user
// information.
func masterName(base *url.URL) string {
	if base == nil {
		return ""
	}
	u := *base
	u.User = nil
	return u.String()
}

// reportTo is report with the master's name made, told in sc: the
// pipeline makes both once for a batch.
func (c *Client) reportTo(ctx context.Context, sc *SentCall, call *Call, body []byte, master, streamID string, retry bool, sent time.Time, status int, answer string) {
	if c.cfg.OnCall == nil {
		return
	}
	js := body
	if c.cfg.MediaType != MediaTypeJSON {
		var err error
		if js, err = MarshalJSON(call); err != nil {
			js = nil
			answer += " (the call cannot be shown as JSON: " + err.Error() + ")"
		}
	}
	*sc = SentCall{
		Type: call.GetType().String(), Call: call, JSON: c.scrub(js), MediaType: c.cfg.MediaType,
		Master: master, StreamID: streamID, Principal: c.cfg.Principal, Retry: retry,
		Sent: sent, Took: time.Since(sent), Status: status, Answer: string(c.scrub([]byte(answer))),
	}
	c.cfg.OnCall(ctx, sc)
}

// scrub replaces the secret, as it is and as JSON would escape it, with
// SecretPlaceholder. It copies b only when the secret is in it.
func (c *Client) scrub(b []byte) []byte {
	s := c.cfg.Secret
	if len(s) < minScrubbed {
		return b
	}
	quoted := appendQuoted(nil, s)
	quoted = quoted[1 : len(quoted)-1]
	for _, form := range [][]byte{[]byte(s), quoted} {
		if bytes.Contains(b, form) {
			b = bytes.ReplaceAll(b, form, []byte(SecretPlaceholder))
		}
	}
	return b
}
