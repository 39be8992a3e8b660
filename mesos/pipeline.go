package mesos

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"google.golang.org/protobuf/proto"
)

// AcknowledgeAll sends acks as Acknowledge does, but pipelined: written
// together on one connection and answered in order (libprocess answers
// pipelined requests in the order it read them; so does Go's server). A
// burst of acknowledgements, as a commit releases them, then costs one
// write and a few reads instead of a round trip each. Any ack the
// pipeline does not settle with a 202 (the connection lost, another
// answer, a proxy in the way) goes again through Acknowledge, which
// handles stale streams and redirects. errs[i] is the outcome of acks[i].
// AcknowledgeAll is safe for concurrent use; each caller pipelines on a
// connection of its own, at most AckConnections of them kept open.
func (c *Client) AcknowledgeAll(ctx context.Context, acks []*Call_Acknowledge) []error {
	errs := make([]error, len(acks))
	settled := make([]bool, len(acks))
	if len(acks) > 1 {
		c.pipeline(ctx, acks, settled)
	}
	for i, a := range acks {
		if !settled[i] {
			errs[i] = c.Acknowledge(ctx, a)
		}
	}
	return errs
}

// pipe is a kept-alive connection to one master for pipelined calls.
type pipe struct {
	master string // the base URL it was dialled for
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
}

// errNoPipe says the pipeline cannot be used for a master (a proxy is
// configured for it); its calls go one at a time.
var errNoPipe = errors.New("no pipelining through a proxy")

// pipeline sends acks on one pipe and settles those answered with a 202.
// A connection that breaks before the first answer is dialled again once:
// a kept-alive connection the master closed while idle fails that way.
func (c *Client) pipeline(ctx context.Context, acks []*Call_Acknowledge, settled []bool) {
	st := c.Status()
	if st.State != Subscribed {
		return // Acknowledge says why
	}
	base, err := url.Parse(st.Master)
	if err != nil {
		return
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.CallTimeout)
		defer cancel()
	}
	calls := make([]*Call, len(acks))
	bodies := make([][]byte, len(acks))
	for i, a := range acks {
		calls[i] = &Call{Type: Call_ACKNOWLEDGE.Enum(), Acknowledge: a, FrameworkId: &FrameworkID{Value: proto.String(st.FrameworkID)}}
		if bodies[i], err = Marshal(c.cfg.MediaType, calls[i]); err != nil {
			return
		}
	}
	for attempt := 0; attempt < 2; attempt++ {
		p, fresh, err := c.takePipe(ctx, base)
		if err != nil {
			return
		}
		answered, ok := c.sendPipelined(ctx, p, base, st.StreamID, calls, bodies, settled)
		if ok {
			c.putPipe(p)
			return
		}
		p.conn.Close()
		if answered > 0 || fresh {
			return // what is left goes one at a time
		}
	}
}

// sendPipelined writes every call not yet settled on p, then reads their
// answers in order. It reports how many were answered and whether p is
// still fit for use.
func (c *Client) sendPipelined(ctx context.Context, p *pipe, base *url.URL, streamID string, calls []*Call, bodies [][]byte, settled []bool) (answered int, ok bool) {
	if d, has := ctx.Deadline(); has {
		p.conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { p.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var sent []int
	var reqs []*http.Request
	for i := range calls {
		if settled[i] {
			continue
		}
		req, err := c.newCallRequest(ctx, base, bodies[i], streamID)
		if err != nil {
			return 0, false
		}
		if err := req.Write(p.bw); err != nil {
			return 0, false
		}
		sent, reqs = append(sent, i), append(reqs, req)
	}
	if err := p.bw.Flush(); err != nil {
		return 0, false
	}
	start := time.Now()
	for n, i := range sent {
		resp, err := http.ReadResponse(p.br, reqs[n])
		if err != nil {
			return answered, false
		}
		answered++
		// The next answer starts where this one's body ends: a body
		// longer than an error's bound is not read to its end, and the
		// pipe is given up.
		read, derr := io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody+1))
		resp.Body.Close()
		if read > maxErrorBody {
			derr = errors.New("answer too long to skip")
		}
		if resp.StatusCode == http.StatusAccepted {
			settled[i] = true
			c.pipelined.Add(1)
			c.report(ctx, calls[i], bodies[i], base, streamID, false, start, resp.StatusCode, "")
		} // any other answer: Acknowledge sends it again and reads it
		if derr != nil || resp.Close {
			return answered, false
		}
	}
	return answered, true
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

// takePipe returns a kept pipe to base, or dials one (fresh).
func (c *Client) takePipe(ctx context.Context, base *url.URL) (p *pipe, fresh bool, err error) {
	for {
		select {
		case p := <-c.pipes:
			if p.master == base.String() {
				return p, false, nil
			}
			p.conn.Close() // the leader moved
			continue
		default:
		}
		break
	}
	p, err = c.dialPipe(ctx, base)
	return p, true, err
}

// putPipe keeps p for the next batch, or closes it when enough are kept.
func (c *Client) putPipe(p *pipe) {
	p.conn.SetDeadline(time.Time{})
	select {
	case c.pipes <- p:
	default:
		p.conn.Close()
	}
}

// closePipes closes the kept pipes.
func (c *Client) closePipes() {
	for {
		select {
		case p := <-c.pipes:
			p.conn.Close()
		default:
			return
		}
	}
}

// dialPipe connects to base as the calls' transport would: its dialer,
// its TLS settings, no proxy.
func (c *Client) dialPipe(ctx context.Context, base *url.URL) (*pipe, error) {
	tr := c.ackTransport
	if tr.Proxy != nil {
		if u, err := tr.Proxy(&http.Request{URL: base}); err != nil || u != nil {
			return nil, errNoPipe
		}
	}
	var conn net.Conn
	var err error
	switch {
	case base.Scheme == "https" && tr.DialTLSContext != nil:
		conn, err = tr.DialTLSContext(ctx, "tcp", base.Host)
	case tr.DialContext != nil:
		conn, err = tr.DialContext(ctx, "tcp", base.Host)
	default:
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", base.Host)
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", base.Host, err)
	}
	if base.Scheme == "https" && tr.DialTLSContext == nil {
		cfg := &tls.Config{}
		if tr.TLSClientConfig != nil {
			cfg = tr.TLSClientConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = base.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("tls to %s: %w", base.Host, err)
		}
		conn = tc
	}
	return &pipe{master: base.String(), conn: conn, br: bufio.NewReaderSize(conn, 4<<10), bw: bufio.NewWriterSize(conn, 16<<10)}, nil
}
