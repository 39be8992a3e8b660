package web

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"
)

// A stream's socket costs memory for as long as its viewer stays, and a
// dashboard holds thousands: net/http hands websocket.Accept a 4 KB read
// buffer and a 4 KB write buffer with the hijacked connection, which the
// library keeps for the connection's life. The stream only ever reads
// control frames (at most 125 bytes of payload) and writes whole messages
// it has already built, so leanConn gives the library small buffers and
// gathers each message's frame in a buffer borrowed from a pool only while
// it is written: an idle viewer holds neither.
const (
	// leanReadBuffer holds a control frame's header; its payload is read
	// through it in a few calls, which at a few a minute cost nothing.
	leanReadBuffer = 64
	// leanWriteBuffer holds a control frame whole (2 bytes of header and
	// at most 125 of payload), so that one written outside a message goes
	// out in one write.
	leanWriteBuffer = 128
	// maxPooledFrame is the largest frame buffer returned to the pool:
	// a rare huge message should not stay in it.
	maxPooledFrame = 64 << 10
)

// framePool holds *[]byte buffers in which a message's frame is gathered.
var framePool sync.Pool

// leanHijack is the ResponseWriter a stream hands websocket.Accept: its
// Hijack returns the connection as a leanConn with small buffers.
type leanHijack struct {
	http.ResponseWriter
	conn *leanConn // set by Hijack; nil if it kept net/http's buffers
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w *leanHijack) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack takes the connection over from net/http. If the client sent
// bytes after its handshake that net/http has already buffered (it should
// not, before the server's answer), it keeps net/http's buffers, which
// hold them.
func (w *leanHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		return conn, brw, err
	}
	w.conn = &leanConn{Conn: conn}
	return w.conn, bufio.NewReadWriter(bufio.NewReaderSize(w.conn, leanReadBuffer), bufio.NewWriterSize(w.conn, leanWriteBuffer)), nil
}

// leanConn is a stream's connection. Between cork and flush it gathers
// what is written to it, so that a message the library writes through its
// small buffer in pieces goes out in one write; otherwise it writes
// through. Its lock orders every write, whichever goroutine makes it.
type leanConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	frame  *[]byte // from framePool while corked
}

func (c *leanConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked {
		*c.frame = append(*c.frame, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// cork starts gathering writes; size is what they will probably add up to.
func (c *leanConn) cork(size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = true
	if b, ok := framePool.Get().(*[]byte); ok {
		c.frame = b
	} else {
		c.frame = new([]byte)
	}
	if cap(*c.frame) < size {
		*c.frame = make([]byte, 0, size)
	}
	*c.frame = (*c.frame)[:0]
}

// flush writes what was gathered since cork in one write, taking at most
// timeout, and returns the buffer to the pool.
func (c *leanConn) flush(timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	frame := c.frame
	c.corked, c.frame = false, nil
	var err error
	if len(*frame) > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(timeout))
		_, err = c.Conn.Write(*frame)
		c.Conn.SetWriteDeadline(time.Time{})
	}
	if cap(*frame) <= maxPooledFrame {
		*frame = (*frame)[:0]
		framePool.Put(frame)
	}
	return err
}
