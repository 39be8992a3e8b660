package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
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
}

// stamped is the part of every event viewers read: when it was published.
type stamped struct {
	At int64 `json:"at"`
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
	record := func(at int64, size int) {
		select {
		case <-measuring:
		default:
			return // not yet: warm-up
		}
		d := float64(time.Now().UnixNano()-at) / 1e6
		mu.Lock()
		lat = append(lat, d)
		delivered++
		bytes += int64(size)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	connected := 0
	for range *n {
		read, err := dial(ctx, *url)
		if err != nil {
			break
		}
		connected++
		wg.Go(func() { read(record) })
	}
	fmt.Println("ready", connected)
	// Wait for the driver's go, then measure for the duration.
	bufio.NewReader(os.Stdin).ReadString('\n')
	startCPU := selfCPU()
	close(measuring)
	time.Sleep(*duration)
	cpu := selfCPU() - startCPU
	mu.Lock()
	res := viewerResult{Connected: connected, Delivered: delivered, Bytes: bytes, CPU: cpu}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.P50 = lat[len(lat)*50/100]
		res.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	mu.Unlock()
	cancel()
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	os.Stdout.Sync()
	wg.Wait()
	return nil
}

// dial connects one viewer and returns its read loop.
func dial(ctx context.Context, url string) (func(record func(at int64, size int)), error) {
	if strings.HasPrefix(url, "tcp://") {
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "tcp://"))
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { conn.Close() })
		return func(record func(int64, int)) {
			sc := bufio.NewScanner(conn)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				var s stamped
				if json.Unmarshal(sc.Bytes(), &s) == nil {
					record(s.At, len(sc.Bytes())+1)
				}
			}
		}, nil
	}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(64 << 20)
	return func(record func(int64, int)) {
		defer c.CloseNow()
		for {
			_, r, err := c.Reader(ctx)
			if err != nil {
				return
			}
			b, err := io.ReadAll(r)
			if err != nil {
				return
			}
			// Ours sends batches {"changes":[...]}; peers send one event.
			var batch struct {
				Changes []stamped `json:"changes"`
			}
			if json.Unmarshal(b, &batch) == nil && batch.Changes != nil {
				for i, ch := range batch.Changes {
					size := 0
					if i == 0 {
						size = len(b)
					}
					record(ch.At, size)
				}
				continue
			}
			var s stamped
			if json.Unmarshal(b, &s) == nil {
				record(s.At, len(b))
			}
		}
	}, nil
}
