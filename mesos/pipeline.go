package mesos

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
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
	head, ok := c.pipeHead(base, st.StreamID)
	if !ok {
		return // Acknowledge says what is wrong with it
	}
	// The batch's bodies: the plain JSON ones in one buffer, which the
	// next batch uses again (OnCall is told of each call before pipeline
	// returns, and keeps none of what it is told). One call is each ack's
	// in turn, to marshal and to report: a call and a body of their own for
	// every acknowledgement were a sixth of what the dashboard allocated.
	bodies := make([][]byte, len(acks))
	kept, _ := c.ackBodies.Get().(*[]byte)
	if kept == nil {
		kept = new([]byte)
	}
	joined := (*kept)[:0]
	defer func() {
		if cap(joined) <= maxKeptAckBodies {
			*kept = joined[:0]
			c.ackBodies.Put(kept)
		}
	}()
	ends := make([]int, len(acks))
	call := &Call{Type: Call_ACKNOWLEDGE.Enum(), FrameworkId: &FrameworkID{Value: proto.String(st.FrameworkID)}}
	for i, a := range acks {
		if c.cfg.MediaType == MediaTypeJSON && plainAck(a) {
			joined = appendAcknowledgeJSON(slices.Grow(joined, ackJSONSize+len(st.FrameworkID)), st.FrameworkID, a)
			ends[i] = len(joined)
			continue
		}
		call.Acknowledge = a
		if bodies[i], err = Marshal(c.cfg.MediaType, call); err != nil {
			return
		}
	}
	start := 0
	for i, end := range ends {
		if end > 0 {
			bodies[i], start = joined[start:end:end], end
		}
	}
	for attempt := 0; attempt < 2; attempt++ {
		p, fresh, err := c.takePipe(ctx, base)
		if err != nil {
			return
		}
		answered, ok := c.sendPipelined(ctx, p, base, st.StreamID, head, call, acks, bodies, settled)
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

// sendPipelined writes the body of every ack not yet settled on p, then
// reads their answers in order; call, given each ack in turn, is what
// OnCall is told was sent. It reports how many were answered and whether
// p is still fit for use.
func (c *Client) sendPipelined(ctx context.Context, p *pipe, base *url.URL, streamID string, head []byte, call *Call, acks []*Call_Acknowledge, bodies [][]byte, settled []bool) (answered int, ok bool) {
	if d, has := ctx.Deadline(); has {
		p.conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { p.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var sent []int
	var digits [20]byte
	for i := range acks {
		if settled[i] {
			continue
		}
		p.bw.Write(head)
		p.bw.Write(strconv.AppendInt(digits[:0], int64(len(bodies[i])), 10))
		p.bw.WriteString("\r\n\r\n")
		if _, err := p.bw.Write(bodies[i]); err != nil {
			return 0, false
		}
		sent = append(sent, i)
	}
	if err := p.bw.Flush(); err != nil {
		return 0, false
	}
	start := time.Now()
	master := masterName(base)
	var told SentCall // each answered call's in turn
	for _, i := range sent {
		a, err := readAnswer(p.br)
		if err != nil {
			return answered, false
		}
		answered++
		if a.status == http.StatusAccepted {
			settled[i] = true
			c.pipelined.Add(1)
			call.Acknowledge = acks[i]
			c.reportTo(ctx, &told, call, bodies[i], master, streamID, false, start, a.status, "")
		} // any other answer: Acknowledge sends it again and reads it
		if !a.next {
			return answered, false
		}
	}
	return answered, true
}

// answer is what the pipeline needs of an answer: its status, and
// whether the next answer follows it on the connection.
type answer struct {
	status int
	next   bool
}

// readAnswer reads one answer to a pipelined call from br, skipping its
// body, for the next to start where it ends. It reads what libprocess and
// Go's server send (a status line, headers and a Content-Length body) and
// nothing more: net/http's reader was a twentieth of the dashboard's CPU,
// and a map of headers an answer for a status. An answer it cannot skip
// (a chunked body, one without a length, one longer than an error's
// bound, an interim 1xx) leaves the status known but next false, and the
// pipe is given up; a malformed one is an error.
func readAnswer(br *bufio.Reader) (answer, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return answer{}, fmt.Errorf("answer: %w", err)
	}
	// "HTTP/1.1 202 Accepted"
	rest, ok := bytes.CutPrefix(line, []byte("HTTP/1."))
	digit := func(b byte) bool { return '0' <= b && b <= '9' }
	if !ok || len(rest) < 6 || (rest[0] != '0' && rest[0] != '1') || rest[1] != ' ' ||
		!digit(rest[2]) || rest[2] == '0' || !digit(rest[3]) || !digit(rest[4]) || (rest[5] != ' ' && rest[5] != '\r' && rest[5] != '\n') {
		return answer{}, fmt.Errorf("answer: malformed status line %.64q", line)
	}
	status := int(rest[2]-'0')*100 + int(rest[3]-'0')*10 + int(rest[4]-'0')
	a := answer{status: status, next: rest[0] == '1' && status >= 200}
	length := int64(-1)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return answer{}, fmt.Errorf("answer: header: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || name[0] == ' ' || name[0] == '\t' {
			return answer{}, fmt.Errorf("answer: malformed header line %.64q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (length >= 0 && n != length) {
				return answer{}, fmt.Errorf("answer: bad Content-Length %.32q", value)
			}
			length = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			a.next = false // chunked, or worse: not skipped here
		case asciiEqualFold(name, "Connection"):
			for _, opt := range bytes.Split(value, []byte(",")) {
				if asciiEqualFold(bytes.TrimSpace(opt), "close") {
					a.next = false
				}
			}
		}
	}
	switch {
	case status == http.StatusNoContent || status == http.StatusNotModified:
		length = 0 // no body, whatever is said
	case length < 0 || length > maxErrorBody:
		a.next = false // the body runs to the close, or too far to skip
		return a, nil
	}
	if !a.next {
		return a, nil
	}
	if _, err := br.Discard(int(length)); err != nil {
		return answer{}, fmt.Errorf("answer: body: %w", err)
	}
	return a, nil
}

// asciiEqualFold reports whether b is s, ignoring ASCII case only, as
// net/http matches header names: bytes.EqualFold folds Unicode too, and
// would take "Tran\u017Ffer-Encoding" (a long s) for Transfer-Encoding.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// pipeHead is the head of a POST to base's scheduler endpoint with the
// headers every call carries (see post), up to the value of its
// Content-Length: a burst's requests differ only from there on, so the
// head is written once and copied, and the requests are not built and
// written field by field by net/http (a tenth of the dashboard's CPU at
// 19,000 updates a second). It is not ok when a value could not go in a
// header as it is; the calls then go one at a time, through net/http,
// which says why.
func (c *Client) pipeHead(base *url.URL, streamID string) (head []byte, ok bool) {
	u, err := url.Parse(base.String() + SchedulerPath)
	if err != nil || u.Host == "" || strings.ContainsAny(u.Host, " \t") || !headerValue(u.Host) {
		return nil, false
	}
	head = append(head, "POST "...)
	head = append(head, u.RequestURI()...)
	head = append(head, " HTTP/1.1\r\nHost: "...)
	head = append(head, u.Host...)
	header := func(name, value string) {
		ok = ok && headerValue(value)
		head = append(append(append(append(head, "\r\n"...), name...), ": "...), value...)
	}
	ok = true
	header("Content-Type", c.cfg.MediaType)
	header("Accept", c.cfg.MediaType)
	if streamID != "" {
		header("Mesos-Stream-Id", streamID)
	}
	if c.cfg.Principal != "" {
		header("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.cfg.Principal+":"+c.cfg.Secret)))
	}
	header("Content-Length", "")
	return head, ok
}

// headerValue reports whether v can go in a header as it is: no control
// characters but tabs (RFC 9110 §5.5), so nothing can end the header early.
func headerValue(v string) bool {
	for i := range len(v) {
		if b := v[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// plainAck reports whether a holds just the fields an acknowledgement
// has, each set, so that appendAcknowledgeJSON writes it as AppendJSON
// would.
func plainAck(a *Call_Acknowledge) bool {
	return a.AgentId != nil && a.AgentId.Value != nil && a.TaskId != nil && a.TaskId.Value != nil && a.Uuid != nil &&
		len(a.ProtoReflect().GetUnknown()) == 0 && len(a.AgentId.ProtoReflect().GetUnknown()) == 0 &&
		len(a.TaskId.ProtoReflect().GetUnknown()) == 0
}

// maxKeptAckBodies bounds the buffer of bodies kept for the next batch: a
// batch of unusually long ids is not held through a quiet time.
const maxKeptAckBodies = 256 << 10

// ackJSONSize is about the size of a plain ACKNOWLEDGE call in JSON,
// besides its framework id: the fixed text, an agent id, a task id and a
// uuid.
const ackJSONSize = 256

// appendAcknowledgeJSON appends the ACKNOWLEDGE call of a plain a (see
// plainAck) for framework, byte for byte as AppendJSON writes it, without
// walking the messages' descriptors: one is sent for every update.
func appendAcknowledgeJSON(b []byte, framework string, a *Call_Acknowledge) []byte {
	// The fixed text and quotes are 123 bytes; escapes may need more,
	// which append finds.
	b = slices.Grow(b, 128+len(framework)+len(a.AgentId.GetValue())+len(a.TaskId.GetValue())+base64.StdEncoding.EncodedLen(len(a.Uuid)))
	b = append(b, `{"framework_id":{"value":`...)
	b = appendQuoted(b, framework)
	b = append(b, `},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":`...)
	b = appendQuoted(b, a.GetAgentId().GetValue())
	b = append(b, `},"task_id":{"value":`...)
	b = appendQuoted(b, a.GetTaskId().GetValue())
	b = append(b, `},"uuid":"`...)
	b = base64.StdEncoding.AppendEncode(b, a.GetUuid())
	return append(b, `"}}`...)
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
