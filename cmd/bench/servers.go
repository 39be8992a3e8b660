package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"

	"github.com/offerdeck/offerdeck/hub"
	"github.com/offerdeck/offerdeck/web"
)

// fanout is one way of delivering the same event stream to many viewers:
// Offerdeck's hub and stream, or a peer.
type fanout interface {
	// publish delivers one event (already framed JSON) to every viewer.
	publish(key string, data []byte)
	// url is where viewers connect.
	url() string
	// close stops the server and every connection.
	close()
}

// oursFanout is the dashboard's own path: hub.Publish, then web's stream
// handler writing each viewer's batch as one message.
type oursFanout struct {
	h   *hub.Hub
	srv *http.Server
	ln  net.Listener
	// handlers counts the stream handlers still running: the server does
	// not wait for hijacked connections.
	handlers sync.WaitGroup
}

// newOurs serves a hub with the given flush window (0: the default).
func newOurs(window time.Duration) (*oursFanout, error) {
	h, err := hub.New(hub.Config{FlushWindow: window})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &oursFanout{h: h, ln: ln}
	stream := web.StreamHandler(h)
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.handlers.Add(1)
		defer f.handlers.Done()
		stream.ServeHTTP(w, r)
	})}
	go f.srv.Serve(ln)
	return f, nil
}

func (f *oursFanout) publish(key string, data []byte) {
	f.h.Publish("bench", hub.Entry{Key: key, Data: data})
}

func (f *oursFanout) url() string {
	return "ws://" + f.ln.Addr().String() + "/ws?since=bench:0&epoch=" + epochOf(f.h)
}

// close closes the hub, which ends every stream with "going away", and the
// server, and waits for the streams' handlers.
func (f *oursFanout) close() {
	f.h.Close()
	f.srv.Close()
	f.handlers.Wait()
}

// naiveFanout is the naive peer: one coder/websocket write per event per
// viewer, each viewer with its own buffered channel.
type naiveFanout struct {
	mu      sync.Mutex
	viewers map[chan []byte]struct{}
	srv     *http.Server
	ln      net.Listener
	// stop ends every connection on close: http.Server.Close does not
	// know the hijacked ones. handlers counts the handlers still running.
	stop     context.CancelFunc
	handlers sync.WaitGroup
}

// viewerBuffer is how many events a naive viewer may lag before events
// are dropped for it (the naive peer has no resync).
const viewerBuffer = 1024

func newNaive(useGorilla bool) (*naiveFanout, error) {
	return listenNaive(useGorilla, "127.0.0.1:0")
}

// listenNaive starts the naive peer on addr; the reconnect storm restarts
// it on the address it had.
func listenNaive(useGorilla bool, addr string) (*naiveFanout, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	base, stop := context.WithCancel(context.Background())
	f := &naiveFanout{viewers: map[chan []byte]struct{}{}, ln: ln, stop: stop}
	handler := f.coder
	if useGorilla {
		handler = f.gorilla
	}
	f.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.handlers.Add(1)
			defer f.handlers.Done()
			handler(w, r)
		}),
		BaseContext: func(net.Listener) context.Context { return base },
	}
	go f.srv.Serve(ln)
	return f, nil
}

func (f *naiveFanout) join() chan []byte {
	ch := make(chan []byte, viewerBuffer)
	f.mu.Lock()
	f.viewers[ch] = struct{}{}
	f.mu.Unlock()
	return ch
}

func (f *naiveFanout) leave(ch chan []byte) {
	f.mu.Lock()
	delete(f.viewers, ch)
	f.mu.Unlock()
}

func (f *naiveFanout) coder(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context())
	ch := f.join()
	defer f.leave(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-ch:
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.Write(wctx, websocket.MessageText, m)
			cancel()
			if err != nil {
				return
			}
		}
	}
}

var upgrader = gorilla.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (f *naiveFanout) gorilla(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	stop := context.AfterFunc(r.Context(), func() { c.Close() })
	defer stop()
	gone := make(chan struct{})
	defer func() {
		c.Close()
		<-gone
	}()
	go func() { // gorilla needs a reader to notice the close
		defer close(gone)
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	ch := f.join()
	defer f.leave(ch)
	for {
		select {
		case <-gone:
			return
		case m := <-ch:
			c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.WriteMessage(gorilla.TextMessage, m); err != nil {
				return
			}
		}
	}
}

func (f *naiveFanout) publish(_ string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.viewers {
		select {
		case ch <- data:
		default: // the naive peer drops for a viewer that lags
		}
	}
}

func (f *naiveFanout) url() string { return "ws://" + f.ln.Addr().String() + "/" }

// close stops the server, ends every connection and waits for their
// handlers.
func (f *naiveFanout) close() {
	f.srv.Close()
	f.stop()
	f.handlers.Wait()
}

// tcpFanout is the floor: the same frames over raw TCP, newline-delimited,
// each viewer draining everything pending into one write.
type tcpFanout struct {
	mu      sync.Mutex
	viewers map[chan []byte]struct{}
	ln      net.Listener
	wg      sync.WaitGroup
	done    chan struct{}
}

func newTCP() (*tcpFanout, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &tcpFanout{viewers: map[chan []byte]struct{}{}, ln: ln, done: make(chan struct{})}
	f.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() { f.serve(conn) })
		}
	})
	return f, nil
}

func (f *tcpFanout) serve(conn net.Conn) {
	defer conn.Close()
	ch := make(chan []byte, viewerBuffer)
	f.mu.Lock()
	f.viewers[ch] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.viewers, ch)
		f.mu.Unlock()
	}()
	bw := bufio.NewWriterSize(conn, 4<<10) // the size a WebSocket library buffers with
	for {
		select {
		case <-f.done:
			return
		case m := <-ch:
			bw.Write(m)
			bw.WriteByte('\n')
			for more := true; more; { // batch everything pending into one write
				select {
				case m := <-ch:
					bw.Write(m)
					bw.WriteByte('\n')
				default:
					more = false
				}
			}
			conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if bw.Flush() != nil {
				return
			}
		}
	}
}

func (f *tcpFanout) publish(_ string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.viewers {
		select {
		case ch <- data:
		default:
		}
	}
}

func (f *tcpFanout) url() string { return "tcp://" + f.ln.Addr().String() }

func (f *tcpFanout) close() {
	close(f.done)
	f.ln.Close()
	f.wg.Wait()
}
