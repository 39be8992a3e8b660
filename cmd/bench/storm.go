package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/offerdeck/offerdeck/hub"
	"github.com/offerdeck/offerdeck/web"
)

// M8, the reconnect storm: viewers are connected, the server restarts on
// the same address, and every viewer comes back the way static/app.js
// does, with jittered backoff. Ours then resyncs from a snapshot and
// resumes from its position, which must lose nothing; the naive peers
// have no snapshot and no positions, so they count what they lost.

// stormServer is a server that restarts on its own address while a
// publisher keeps publishing numbered events.
type stormServer interface {
	// url is what stormViewers is given: where to connect.
	url() string
	// publish publishes event n; calls come from one goroutine, in order.
	publish(n int64)
	// restart closes every connection and the server and starts a new
	// one on the same address.
	restart() error
	// close stops the server and waits for its connections' handlers.
	close()
}

func newStormServer(kind string) (stormServer, error) {
	switch kind {
	case "ours":
		return newStormOurs()
	case "naive", "gorilla":
		f, err := newNaive(kind == "gorilla")
		if err != nil {
			return nil, err
		}
		return &stormNaive{gorilla: kind == "gorilla", addr: f.ln.Addr().String(), cur: f}, nil
	}
	return nil, fmt.Errorf("no storm for kind %q", kind)
}

// stormEvent is a numbered event: its number n, the publish time, and
// padding to the size of the fan-out's frames.
func stormEvent(n int64) []byte {
	b, _ := json.Marshal(map[string]any{
		"op": "append", "parent": "events-list", "n": n, "at": time.Now().UnixNano(),
		"html": `<li><span class="badge st-running">● running</span> task web-` + strconv.FormatInt(n, 10) +
			` on agent-1.demo: cpus 0.5 · mem 128 MB, health check passed</li>`,
	})
	return b
}

// snapshot is what a page shows: the state after event N, which is the
// state after sequence number Seq of the hub of epoch Epoch. The publisher
// records it after each publish, as hub's package doc prescribes, and the
// snapshot endpoint serves it: the bench's analogue of rendering a page.
type snapshot struct {
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
	N     int64  `json:"n"`
}

// stormTopic is the one topic the storm publishes.
const stormTopic = "bench"

// oursInstance is one life of the dashboard's server: a hub, the stream
// handler and the snapshot endpoint.
type oursInstance struct {
	h        *hub.Hub
	srv      *http.Server
	snap     atomic.Pointer[snapshot]
	handlers sync.WaitGroup
}

// stormOurs restarts the dashboard's stream: each life has a new hub, so a
// new epoch, as after a restart of the dashboard.
type stormOurs struct {
	addr string

	mu   sync.Mutex
	cur  *oursInstance
	last int64 // the newest event published
	old  []*oursInstance
}

func newStormOurs() (*stormOurs, error) {
	s := &stormOurs{}
	cur, err := s.start("127.0.0.1:0", 0)
	if err != nil {
		return nil, err
	}
	s.cur, s.addr = cur, cur.srv.Addr
	return s, nil
}

// start serves a new hub on addr, its snapshot the state after event n.
func (s *stormOurs) start(addr string, n int64) (*oursInstance, error) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen again on %s: %w", addr, err)
	}
	in := &oursInstance{h: h}
	in.snap.Store(&snapshot{Epoch: epochOf(h), N: n})
	mux := http.NewServeMux()
	mux.Handle("/ws", web.StreamHandler(h))
	mux.HandleFunc("/snapshot", func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(in.snap.Load())
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	in.srv = &http.Server{Addr: ln.Addr().String(), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.handlers.Add(1)
		defer in.handlers.Done()
		mux.ServeHTTP(w, r)
	})}
	go in.srv.Serve(ln)
	return in, nil
}

func (s *stormOurs) url() string { return "http://" + s.addr }

func (s *stormOurs) publish(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.cur.h.Publish(stormTopic, hub.Entry{Data: stormEvent(n)}) // no key: never coalesced
	s.cur.snap.Store(&snapshot{Epoch: epochOf(s.cur.h), Seq: seq, N: n})
	s.last = n
}

// restart closes the hub, which closes every stream with "going away", and
// the server, and starts the next life on the same port. The old
// connections' handlers finish on their own; close waits for them.
func (s *stormOurs) restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur
	old.h.Close()
	old.srv.Close()
	s.old = append(s.old, old)
	cur, err := s.start(s.addr, s.last)
	if err != nil {
		return err
	}
	s.cur = cur
	return nil
}

func (s *stormOurs) close() {
	s.mu.Lock()
	all := append(s.old, s.cur)
	s.mu.Unlock()
	for _, in := range all {
		in.h.Close()
		in.srv.Close()
	}
	for _, in := range all {
		in.handlers.Wait()
	}
}

// stormNaive restarts a naive peer: every connection dropped, a new server
// on the same port, nothing to resume from.
type stormNaive struct {
	gorilla bool
	addr    string

	mu  sync.Mutex
	cur *naiveFanout
	old []*naiveFanout
}

func (s *stormNaive) url() string { return "ws://" + s.addr + "/" }

func (s *stormNaive) publish(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.publish("", stormEvent(n))
}

func (s *stormNaive) restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur
	old.srv.Close()
	old.stop()
	s.old = append(s.old, old)
	cur, err := listenNaive(s.gorilla, s.addr)
	if err != nil {
		return fmt.Errorf("listen again on %s: %w", s.addr, err)
	}
	s.cur = cur
	return nil
}

func (s *stormNaive) close() {
	s.mu.Lock()
	all := append(s.old, s.cur)
	s.mu.Unlock()
	for _, f := range all {
		f.close()
	}
}

// stormRun is one storm: viewers viewers of kind connect, events are
// published at rate a second throughout, the server restarts, and the
// viewers report how long they took to come back and what they missed.
func stormRun(kind string, viewers, rate int) (stormResult, error) {
	if err := raiseFileLimit(); err != nil {
		return stormResult{}, err
	}
	s, err := newStormServer(kind)
	if err != nil {
		return stormResult{}, err
	}
	defer s.close()
	stop := make(chan struct{})
	published := make(chan int64)
	go func() { published <- publishNumbered(s, rate, stop) }()
	defer func() {
		if stop != nil {
			close(stop)
			<-published
		}
	}()

	mode := "plain"
	if kind == "ours" {
		mode = "resume"
	}
	cmd := exec.Command(os.Args[0], "storm-viewers", "-url", s.url(), "-mode", mode, "-n", strconv.Itoa(viewers))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return stormResult{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return stormResult{}, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return stormResult{}, err
	}
	defer func() {
		stdin.Close() // a child still waiting for go gives up
		cmd.Wait()
	}()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		return stormResult{}, fmt.Errorf("storm viewers did not start: %q %v", line, err)
	}
	connected, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "ready ")))
	if connected == 0 {
		return stormResult{}, fmt.Errorf("no storm viewer connected")
	}
	time.Sleep(500 * time.Millisecond) // every viewer has its first events

	cpu0, busy0 := selfCPU(), procBusy()
	t0 := time.Now()
	fmt.Fprintf(stdin, "go %d\n", t0.UnixNano())
	if err := s.restart(); err != nil {
		return stormResult{}, err
	}
	restartTime := time.Since(t0)
	line, err = out.ReadString('\n')
	wall := time.Since(t0)
	cpu, busy := selfCPU()-cpu0, procBusy()-busy0
	close(stop)
	<-published
	stop = nil
	if err != nil {
		return stormResult{}, fmt.Errorf("storm viewers result: %v", err)
	}
	var res stormResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return res, fmt.Errorf("storm viewers result %q: %v", line, err)
	}
	res.Asked = viewers
	res.Restart = restartTime.Seconds() * 1000
	res.ForeignPct = max(0, busy-cpu-res.CPU) / wall.Seconds() * 100
	return res, nil
}

// publishNumbered publishes events 1, 2, 3, ... at rate a second until
// stop, and returns the last number.
func publishNumbered(s stormServer, rate int, stop <-chan struct{}) int64 {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var n int64
	for {
		select {
		case <-stop:
			return n
		case now := <-tick.C:
			due := int64(now.Sub(start).Seconds() * float64(rate))
			for n < due {
				n++
				s.publish(n)
			}
		}
	}
}
