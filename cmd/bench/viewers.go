package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// viewerResult is what the viewers process reports.
type viewerResult struct {
	Connected int     `json:"connected"`
	Delivered int64   `json:"delivered"`
	Bytes     int64   `json:"bytes"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	CPU       float64 `json:"cpu_seconds"`
	// Alive is how many viewers were still connected when measuring
	// ended: the viewers held.
	Alive int `json:"alive"`
}

// runViewers is the child process: n viewers of url, reading for duration
// (after a ready line on stdout, and a go line on stdin), then a JSON
// result on stdout. It lives in its own process so the server's figures
// do not include the viewers, and so many sockets fit the per-process
// file limit.
func runViewers(args []string) error {
	fs := flag.NewFlagSet("viewers", flag.ContinueOnError)
	url := fs.String("url", "", "where to connect")
	n := fs.Int("n", 100, "viewers")
	duration := fs.Duration("duration", 5*time.Second, "how long to read once told to go")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var lat []float64
	var delivered, bytes int64
	measuring := make(chan struct{})
	// record takes the stamps of what one read brought, with its bytes:
	// one lock per read, not per event, so that a thousand viewers of
	// thousands of events a second measure the server, not their lock.
	record := func(ats []int64, size int) {
		select {
		case <-measuring:
		default:
			return // not yet: warm-up
		}
		now := time.Now().UnixNano()
		mu.Lock()
		for _, at := range ats {
			lat = append(lat, float64(now-at)/1e6)
		}
		delivered += int64(len(ats))
		bytes += int64(size)
		mu.Unlock()
	}
	if err := raiseFileLimit(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	var alive atomic.Int64
	connected := dialAll(ctx, *n, func(ctx context.Context) error {
		read, err := dial(ctx, *url)
		if err != nil {
			return err
		}
		alive.Add(1)
		wg.Go(func() {
			defer alive.Add(-1)
			read(record)
		})
		return nil
	})
	fmt.Println("ready", connected)
	// Wait for the driver's go, then measure for the duration.
	stdin := bufio.NewReader(os.Stdin)
	stdin.ReadString('\n')
	startCPU := selfCPU()
	close(measuring)
	time.Sleep(*duration)
	mu.Lock()
	res := viewerResult{Connected: connected, Delivered: delivered, Bytes: bytes, Alive: int(alive.Load())}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.P50 = lat[len(lat)*50/100]
		res.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	mu.Unlock()
	// Up to the result, sorting included: the driver's window ends when it
	// reads it, and the sort of millions of samples is not foreign CPU.
	res.CPU = selfCPU() - startCPU
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	os.Stdout.Sync()
	// Hold the viewers until the driver closes stdin: it may measure the
	// server with them still connected.
	io.Copy(io.Discard, stdin)
	cancel()
	wg.Wait()
	return nil
}

// dialConcurrency bounds the dials in flight: enough that 19,000 viewers
// connect in seconds, few enough not to overflow the server's accept
// backlog (4096 here) and time out.
const dialConcurrency = 64

// dialTimeout bounds one viewer's connection and handshake.
const dialTimeout = 10 * time.Second

// connectBudget bounds how long dialAll starts new dials: a server that
// stops accepting ends the run instead of stalling it.
const connectBudget = 2 * time.Minute

// dialAll calls connect n times, dialConcurrency at a time, and returns
// how many succeeded.
func dialAll(ctx context.Context, n int, connect func(context.Context) error) int {
	var ok atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, dialConcurrency)
	deadline := time.Now().Add(connectBudget)
	for range n {
		sem <- struct{}{}
		if time.Now().After(deadline) {
			<-sem
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if connect(ctx) == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return int(ok.Load())
}

// raiseFileLimit raises this process's open-file limit to its hard limit,
// so that a process may hold as many sockets as the machine allows.
func raiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("file limit: %w", err)
	}
	if l.Cur == l.Max {
		return nil
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("raise file limit to %d: %w", l.Max, err)
	}
	return nil
}

// dial connects one viewer, within dialTimeout, and returns its read
// loop, which ends when the connection does or ctx is done. It finds the
// stamps ("at":…) by scanning the bytes: decoding every event as JSON in
// the viewers' process cost more CPU than the servers spent sending them.
func dial(ctx context.Context, url string) (func(record func(ats []int64, size int)), error) {
	if strings.HasPrefix(url, "tcp://") {
		d := net.Dialer{Timeout: dialTimeout}
		conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(url, "tcp://"))
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { conn.Close() })
		return func(record func([]int64, int)) {
			r := bufio.NewReaderSize(conn, 64<<10)
			var ats []int64
			size := 0
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return
				}
				ats = appendStamps(ats, line)
				size += len(line)
				if r.Buffered() == 0 { // what this read brought is in
					record(ats, size)
					ats, size = ats[:0], 0
				}
			}
		}, nil
	}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled,
		HTTPClient: &http.Client{Timeout: dialTimeout}}) // coder bounds the handshake alone with it
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(64 << 20)
	// Read as the TCP viewer does: one watch on ctx for the connection,
	// and a buffer kept from message to message. (A read with ctx arms
	// and undoes a watch on it for every message, and reading each into
	// a fresh buffer allocated it: costs of this viewer, not of the
	// server it measures, which the TCP viewer did not pay.)
	stop := context.AfterFunc(ctx, func() { c.CloseNow() })
	return func(record func([]int64, int)) {
		defer stop()
		defer c.CloseNow()
		var ats []int64
		var msg bytes.Buffer
		for {
			_, r, err := c.Reader(context.Background())
			if err != nil {
				return
			}
			msg.Reset()
			if _, err := msg.ReadFrom(r); err != nil {
				return
			}
			// Ours sends batches {"changes":[...]}, peers one event;
			// either way every event carries its stamp.
			ats = appendStamps(ats[:0], msg.Bytes())
			record(ats, msg.Len())
		}
	}, nil
}

// appendStamps appends the stamps ("at":<nanoseconds>) found in b.
func appendStamps(ats []int64, b []byte) []int64 {
	for {
		i := bytes.Index(b, stampKey)
		if i < 0 {
			return ats
		}
		b = b[i+len(stampKey):]
		var n int64
		j := 0
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			n = n*10 + int64(b[j]-'0')
		}
		if j > 0 {
			ats = append(ats, n)
		}
		b = b[j:]
	}
}

var stampKey = []byte(`"at":`)
