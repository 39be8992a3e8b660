package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// stormResult is what the storm viewers process reports, plus the driver's
// own figures.
type stormResult struct {
	Viewers int `json:"viewers"` // connected before the restart
	// Back is how many viewers came back: reconnected (and, for ours,
	// resynced from a snapshot and resubscribed) and received a first
	// event after the restart.
	Back int `json:"back"`
	// Resubscribed and AllBack are the milliseconds from the restart until
	// the last viewer had reconnected for good, and had its first event;
	// 0 unless every viewer came back.
	Resubscribed float64 `json:"resubscribed_ms"`
	AllBack      float64 `json:"all_back_ms"`
	BackP50      float64 `json:"back_p50_ms"`
	BackP99      float64 `json:"back_p99_ms"`
	// Gaps counts the times a viewer's next event was not the one after
	// the last it had, or after its snapshot's; Missed the events those
	// gaps skipped; Dups the events received again.
	Gaps    int64   `json:"gaps"`
	Missed  int64   `json:"missed"`
	Dups    int64   `json:"dups"`
	Resyncs int64   `json:"resyncs"` // resyncs the server asked for
	Dials   int64   `json:"dials"`   // dials after the restart, failed ones included
	Failed  int64   `json:"failed"`  // failed dials and snapshot fetches after the restart
	CPU     float64 `json:"cpu_seconds"`
	// Set by the driver.
	Asked      int     `json:"asked"`      // viewers asked for; Viewers may be fewer if dials failed
	Restart    float64 `json:"restart_ms"` // to close the server and listen again
	ForeignPct float64 `json:"foreign_pct"`
}

// Bounds of the storm viewers process.
const (
	// stormTimeout bounds the wait for every viewer to come back.
	stormTimeout = 60 * time.Second
	// stormSettle is how long viewers keep reading, and checking that no
	// event is missing, once all are back.
	stormSettle = time.Second
	// fetchTimeout bounds one snapshot fetch.
	fetchTimeout = 5 * time.Second
)

// runStormViewers is the child process of the storm: n viewers of url,
// "resume" (ours: snapshot, positions, epoch) or "plain" (a peer: just
// connect). It prints "ready n" once they are connected, then waits for
// "go <restart time in Unix nanoseconds>" on stdin, and prints a
// stormResult once every viewer is back and has read for stormSettle, or
// after stormTimeout.
func runStormViewers(args []string) error {
	fs := flag.NewFlagSet("storm-viewers", flag.ContinueOnError)
	url := fs.String("url", "", "ours: the server's http://host:port; a peer: its ws:// URL")
	mode := fs.String("mode", "resume", "resume (snapshot, positions and epoch, like static/app.js) or plain")
	n := fs.Int("n", 1000, "viewers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *mode != "resume" && *mode != "plain" {
		return fmt.Errorf("mode %q: want resume or plain", *mode)
	}
	if err := raiseFileLimit(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := &stormState{
		base:   *url,
		resume: *mode == "resume",
		back:   make(chan time.Time, *n),
		resub:  make(chan time.Time, *n),
		http:   &http.Client{Timeout: fetchTimeout, Transport: &http.Transport{DisableKeepAlives: true}},
		ws:     &http.Client{Timeout: dialTimeout},
	}
	defer st.http.CloseIdleConnections()
	var wg sync.WaitGroup
	var refused atomic.Int64
	connected := dialAll(ctx, *n, func(ctx context.Context) error {
		v := &stormViewer{st: st}
		c, err := v.connect(ctx)
		if err != nil {
			if refused.Add(1) <= 3 { // say why, once is enough
				fmt.Fprintln(os.Stderr, "storm viewer:", err)
			}
			return err
		}
		wg.Go(func() { v.run(ctx, c) })
		return nil
	})
	fmt.Println("ready", connected)

	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	t0, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(line, "go ")), 10, 64)
	if err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("want go <unix nanoseconds>, got %q", line)
	}
	startCPU := selfCPU()
	restart := time.Unix(0, t0)
	st.restart.Store(t0)

	res := stormResult{Viewers: connected}
	var backs []float64
	var lastResub time.Time
	timeout := time.NewTimer(stormTimeout)
	defer timeout.Stop()
wait:
	for res.Back < connected {
		select {
		case at := <-st.back:
			res.Back++
			backs = append(backs, float64(at.Sub(restart))/1e6)
		case at := <-st.resub:
			lastResub = at
		case <-timeout.C:
			break wait
		}
	}
	if res.Back == res.Viewers {
		time.Sleep(stormSettle)
		res.AllBack = slices.Max(backs)
		for len(st.resub) > 0 { // the last resubscriptions may not have been taken yet
			lastResub = <-st.resub
		}
		res.Resubscribed = float64(lastResub.Sub(restart)) / 1e6
	}
	cancel()
	wg.Wait()
	slices.Sort(backs)
	if len(backs) > 0 {
		res.BackP50 = backs[len(backs)*50/100]
		res.BackP99 = backs[min(len(backs)-1, len(backs)*99/100)]
	}
	res.Gaps, res.Missed, res.Dups = st.gaps.Load(), st.missed.Load(), st.dups.Load()
	res.Resyncs, res.Dials, res.Failed = st.resyncs.Load(), st.dials.Load(), st.failed.Load()
	res.CPU = selfCPU() - startCPU
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	os.Stdout.Sync() // fails on a pipe, harmlessly
	return nil
}

// stormState is shared by the storm's viewers.
type stormState struct {
	base     string
	resume   bool
	http, ws *http.Client
	// restart is when the server restarted, in Unix nanoseconds; 0 before.
	restart atomic.Int64
	// back receives, once per viewer, when it had its first event after
	// the restart; resub when it reconnected for good.
	back, resub chan time.Time

	gaps, missed, dups     atomic.Int64
	resyncs, dials, failed atomic.Int64
}

// stormViewer is one viewer: like static/app.js, it keeps its topic's
// position and the server's epoch, reconnects with jittered exponential
// backoff, and on a resync re-renders (fetches the snapshot) and resumes.
type stormViewer struct {
	st    *stormState
	epoch string // of the positions below; "" for a plain viewer
	since uint64
	first string // the epoch it first connected with
	next  int64  // the event it expects next; 0 before its first
	// resubscribed and back are set once the viewer has reconnected for
	// good after the restart, and had its first event there.
	resubscribed, back bool
}

// backoff is app.js's delay before the attempt-th retry.
func backoff(attempt int) time.Duration {
	ms := min(15000, 500*(1<<min(attempt, 5)))
	return time.Duration(float64(ms)*(0.5+rand.Float64()/2)) * time.Millisecond
}

// connect fetches a snapshot if the viewer needs one, and dials.
func (v *stormViewer) connect(ctx context.Context) (*websocket.Conn, error) {
	url := v.st.base
	if v.st.resume {
		if v.epoch == "" {
			if err := v.fetch(ctx); err != nil {
				return nil, err
			}
		}
		url = strings.Replace(v.st.base, "http://", "ws://", 1) + "/ws?since=" + stormTopic + ":" +
			strconv.FormatUint(v.since, 10) + "&epoch=" + v.epoch
	}
	if v.st.restart.Load() != 0 {
		v.st.dials.Add(1)
	}
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled, HTTPClient: v.st.ws})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(64 << 20)
	if v.first == "" {
		v.first = v.epoch
	}
	return c, nil
}

// fetch takes the snapshot: the page's state (event N) and its position.
func (v *stormViewer) fetch(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.st.base+"/snapshot", nil)
	if err != nil {
		return err
	}
	resp, err := v.st.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var s snapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	v.epoch, v.since, v.next = s.Epoch, s.Seq, s.N+1
	return nil
}

// run reads c and every connection after it until ctx is done.
func (v *stormViewer) run(ctx context.Context, c *websocket.Conn) {
	attempt := 0
	for {
		resync := v.read(ctx, c)
		c.CloseNow()
		if ctx.Err() != nil {
			return
		}
		if resync {
			// The page is re-rendered at once, as app.js does on 4000.
			v.st.resyncs.Add(1)
			v.epoch = ""
		} else {
			attempt++
			if !sleep(ctx, backoff(attempt)) {
				return
			}
		}
		for {
			var err error
			c, err = v.connect(ctx)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			v.st.failed.Add(1)
			attempt++
			if !sleep(ctx, backoff(attempt)) {
				return
			}
		}
		attempt = 0
		if !v.resubscribed && v.fresh() {
			v.resubscribed = true
			v.st.resub <- time.Now()
		}
	}
}

// fresh reports whether the viewer's connection is one after the restart
// that needs no more resync: for ours, one from a snapshot of the new
// server; for a peer, any after the restart.
func (v *stormViewer) fresh() bool {
	if v.st.restart.Load() == 0 {
		return false
	}
	return !v.st.resume || v.epoch != v.first
}

// read reads c until it closes, checking that every event follows the one
// before it, and reports whether the server asked for a resync.
func (v *stormViewer) read(ctx context.Context, c *websocket.Conn) bool {
	fresh := v.fresh()
	for {
		_, r, err := c.Reader(ctx)
		if err != nil {
			return websocket.CloseStatus(err) == 4000
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return false
		}
		var msg struct {
			Seq     map[string]uint64 `json:"seq"`
			Resync  []string          `json:"resync"`
			Changes []struct {
				N int64 `json:"n"`
			} `json:"changes"`
			N int64 `json:"n"`
		}
		if err := json.Unmarshal(b, &msg); err != nil {
			continue
		}
		if len(msg.Resync) > 0 {
			return true
		}
		if !v.st.resume {
			msg.Changes = append(msg.Changes[:0], struct {
				N int64 `json:"n"`
			}{msg.N})
		}
		for _, ch := range msg.Changes {
			v.check(ch.N)
		}
		if s, ok := msg.Seq[stormTopic]; ok {
			v.since = s
		}
		if fresh && !v.back && len(msg.Changes) > 0 {
			v.back = true
			v.st.back <- time.Now()
		}
	}
}

// check counts a gap or a repeat if n is not the event expected next.
func (v *stormViewer) check(n int64) {
	switch {
	case v.next == 0:
	case n > v.next:
		v.st.gaps.Add(1)
		v.st.missed.Add(n - v.next)
	case n < v.next:
		v.st.dups.Add(1)
		return
	}
	v.next = n + 1
}

// sleep waits d, or less if ctx is done first, and reports whether ctx is
// still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
