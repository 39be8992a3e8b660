package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// pageViewerResult is what the page-viewers process reports.
type pageViewerResult struct {
	Connected int     `json:"connected"`
	Delivered int64   `json:"delivered"` // stamped rows received while measuring
	Bytes     int64   `json:"bytes"`     // message bytes received while measuring
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	CPU       float64 `json:"cpu_seconds"`
	Resyncs   int     `json:"resyncs"` // viewers told to re-render, which re-fetched the page
	// Seen maps each row id that every viewer saw in a watched state to
	// when the last of them first saw it in any of them, and "id state" to
	// when the last of them first saw it in that state; Unix nanoseconds.
	Seen map[string]int64 `json:"seen,omitempty"`
	// SeenFirst is the same for the first of them: a row the first viewer
	// saw long before the last was held up by a viewer, not the server.
	SeenFirst map[string]int64 `json:"seen_first,omitempty"`
}

// runPageViewers is the child process behind pageViewersProcess: n
// viewers of a dashboard page's live stream, as the page's script would
// be (a resync makes one fetch the page again and reopen the stream).
// Each stamped row it receives (data-updated, the status time the
// stand-in gave the update) is a latency sample; with -watch, it also
// notes when each row was first seen in that state.
func runPageViewers(args []string) error {
	fs := flag.NewFlagSet("page-viewers", flag.ContinueOnError)
	base := fs.String("base", "", "the dashboard's base URL")
	page := fs.String("page", "/tasks", "the page whose stream to follow")
	n := fs.Int("n", 100, "viewers")
	duration := fs.Duration("duration", 5*time.Second, "how long to measure once told to go")
	watch := fs.String("watch", "", "task states (such as TASK_KILLING,TASK_KILLED) whose rows to time, comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var res pageViewerResult
	var lat []float64
	seen := map[string][]int64{} // row id → first sight, per viewer
	measuring := make(chan struct{})
	isMeasuring := func() bool {
		select {
		case <-measuring:
			return true
		default:
			return false
		}
	}
	type watched struct {
		state string
		attr  []byte
	}
	var watches []watched
	for s := range strings.SplitSeq(*watch, ",") {
		if s != "" {
			watches = append(watches, watched{s, []byte(`data-state=\"` + s + `\"`)})
		}
	}

	// viewer follows the page until ctx ends, reporting to started once:
	// whether its first page fetch and dial worked.
	viewer := func(started chan<- error) {
		sights := map[string]bool{}
		first := true
		for ctx.Err() == nil {
			ws, _, err := pageStream(*base, *page)
			var c *websocket.Conn
			if err == nil {
				c, _, err = websocket.Dial(ctx, ws, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
			}
			if first {
				started <- err
				first = false
			}
			if err != nil {
				return
			}
			c.SetReadLimit(64 << 20)
			err = readPage(ctx, c, func(msg []byte, rows []pageRow) {
				now := time.Now()
				if !isMeasuring() {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				res.Bytes += int64(len(msg))
				for _, r := range rows {
					if r.updated > 0 {
						lat = append(lat, float64(now.UnixNano()-r.updated*1e6)/1e6)
						res.Delivered++
					}
					for _, w := range watches {
						if !bytes.Contains(r.attrs, w.attr) {
							continue
						}
						for _, key := range []string{r.id, r.id + " " + w.state} {
							if !sights[key] {
								sights[key] = true
								seen[key] = append(seen[key], now.UnixNano())
							}
						}
					}
				}
			})
			c.CloseNow()
			if !errors.Is(err, errResync) {
				return
			}
			mu.Lock()
			res.Resyncs++
			mu.Unlock()
		}
	}

	var wg sync.WaitGroup
	started := make(chan error, *n)
	for range *n {
		wg.Go(func() { viewer(started) })
	}
	for range *n {
		if err := <-started; err == nil {
			res.Connected++
		}
	}
	fmt.Println("ready", res.Connected)
	bufio.NewReader(os.Stdin).ReadString('\n')
	cpu0 := selfCPU()
	close(measuring)
	time.Sleep(*duration)
	mu.Lock()
	res.CPU = selfCPU() - cpu0
	slices.Sort(lat)
	if len(lat) > 0 {
		res.P50 = lat[len(lat)*50/100]
		res.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	res.Seen, res.SeenFirst = map[string]int64{}, map[string]int64{}
	for id, at := range seen {
		if len(at) == res.Connected {
			res.Seen[id], res.SeenFirst[id] = slices.Max(at), slices.Min(at)
		}
	}
	mu.Unlock()
	cancel()
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	os.Stdout.Sync()
	wg.Wait()
	return nil
}

// pageRow is one put of a table row in a live message.
type pageRow struct {
	id      string
	attrs   []byte // the rest of the row, as the message has it (JSON-escaped)
	updated int64  // data-updated, ms; 0 if none
}

// errResync reports that the server told the viewer to re-render.
var errResync = errors.New("resync")

// readPage reads live messages until the connection ends, handing each
// with its row puts to got. It returns errResync when the server asked
// for a re-render.
//
// It scans the message's bytes rather than decoding it: a hundred viewers
// decoding every message cost more CPU than the server spent sending them,
// and the figures measured the viewers. A row put is `tr id=\"…\"` (after
// the JSON-escaped opening bracket), and its attributes follow it.
func readPage(ctx context.Context, c *websocket.Conn, got func(msg []byte, rows []pageRow)) error {
	var rows []pageRow
	for {
		_, r, err := c.Reader(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == statusResync {
				return errResync
			}
			return err
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(b, []byte(`{"epoch":`)) {
			return fmt.Errorf("live message: %.40q", b)
		}
		rows = rows[:0]
		for rest := b; ; {
			i := bytes.Index(rest, rowStart)
			if i < 0 {
				break
			}
			rest = rest[i+len(rowStart):]
			end := bytes.Index(rest, quote)
			if end < 0 {
				break
			}
			row := pageRow{id: string(rest[:end])}
			attrs := rest[end:]
			if next := bytes.Index(attrs, rowStart); next >= 0 {
				attrs = attrs[:next]
			}
			row.attrs = attrs
			if i := bytes.Index(attrs, updatedStart); i >= 0 {
				digits := attrs[i+len(updatedStart):]
				for j, ch := range digits {
					if ch < '0' || ch > '9' {
						row.updated, _ = strconv.ParseInt(string(digits[:j]), 10, 64)
						break
					}
				}
			}
			rows = append(rows, row)
		}
		got(b, rows)
		if !bytes.Contains(b, []byte(`"resync":[]`)) {
			return errResync
		}
	}
}

var (
	rowStart     = []byte(`tr id=\"`)
	quote        = []byte(`\"`)
	updatedStart = []byte(`data-updated=\"`)
)

// statusResync is the close code the dashboard's stream ends with when a
// page must re-render (web's statusResync).
const statusResync websocket.StatusCode = 4000

// pageViewersProcess starts the page-viewers child, n viewers of page
// (a path) of the dashboard at base, and waits until they are connected.
func pageViewersProcess(base, page string, n int, duration time.Duration, watch string) (*exec.Cmd, io.WriteCloser, *bufio.Reader, error) {
	return childViewers(n, "page-viewers", "-base", base, "-page", page, "-n", strconv.Itoa(n), "-duration", duration.String(), "-watch", watch)
}
