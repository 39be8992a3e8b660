package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// heldResult is one run of M2: many viewers held open while one event a
// second is broadcast to all of them.
type heldResult struct {
	Viewers    int     // asked for
	Held       int     // still connected when measuring ended
	P50, P99   float64 // broadcast → viewer, milliseconds
	Delivered  int64
	Broadcasts int
	// RSSBase is this process's (the server's) resident memory before the
	// server started, RSSPeak the most it reached with the viewers held,
	// both in bytes.
	RSSBase, RSSPeak float64
	// Live is what the server's heap and stacks grew by, after a GC with
	// the viewers still held, in bytes: the RSS growth less garbage and
	// memory the runtime had not returned.
	Live           float64
	CPUPerDelivery float64 // microseconds of server CPU per delivered event
	ForeignPct     float64
	DialTime       time.Duration // to connect every viewer
}

// viewersPerProcess is the most viewers one child holds: each is a socket,
// and a process may hold 20,000 here (ulimit -n, soft and hard).
const viewersPerProcess = 10000

// heldRun connects viewers viewers of kind, split over as many children as
// the file limit needs, broadcasts one event a second for duration and
// reports latency, how many were held to the end and the server's memory.
func heldRun(kind string, viewers int, duration time.Duration) (heldResult, error) {
	res := heldResult{Viewers: viewers}
	var liveBase float64
	if err := raiseFileLimit(); err != nil {
		return res, err
	}
	debug.FreeOSMemory() // the earlier scenarios' garbage is not this one's memory
	res.RSSBase, liveBase = vmRSS(), heapAndStack()
	f, err := newFanout(kind)
	if err != nil {
		return res, err
	}
	defer f.close()

	start := time.Now()
	var kids []*viewersChild
	defer func() {
		for _, k := range kids {
			k.stop()
		}
	}()
	for left := viewers; left > 0; left -= viewersPerProcess {
		k, err := startViewers(f.url(), min(left, viewersPerProcess), duration)
		if err != nil {
			return res, err
		}
		kids = append(kids, k)
	}
	connected := 0
	for _, k := range kids {
		n, err := k.ready()
		if err != nil {
			return res, err
		}
		connected += n
	}
	res.DialTime = time.Since(start)
	if connected == 0 {
		return res, fmt.Errorf("no viewer connected")
	}

	stop := make(chan struct{})
	published := make(chan int)
	go func() { published <- broadcast(f, stop) }()
	cpu0, busy0, t0 := selfCPU(), procBusy(), time.Now()
	for _, k := range kids {
		io.WriteString(k.stdin, "go\n")
	}
	// Sample the resident memory until every child has reported.
	results := make(chan error, 1)
	var vrs []viewerResult
	go func() {
		for _, k := range kids {
			vr, err := k.result()
			if err != nil {
				results <- err
				return
			}
			vrs = append(vrs, vr)
		}
		results <- nil
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	res.RSSPeak = vmRSS()
	for waiting := true; waiting; {
		select {
		case <-tick.C:
			res.RSSPeak = max(res.RSSPeak, vmRSS())
		case err = <-results:
			waiting = false
		}
	}
	cpu, busy, wall := selfCPU()-cpu0, procBusy()-busy0, time.Since(t0)
	close(stop)
	res.Broadcasts = <-published
	if err != nil {
		return res, err
	}
	// The children hold their viewers until their stdin closes.
	res.Live = heapAndStack() - liveBase

	var lat50, lat99 []float64
	var viewerCPU float64
	for _, vr := range vrs {
		res.Held += vr.Alive
		res.Delivered += vr.Delivered
		viewerCPU += vr.CPU
		lat50, lat99 = append(lat50, vr.P50), append(lat99, vr.P99)
	}
	// Each child holds the same share and gets the same broadcasts, so the
	// worst child's percentiles bound the whole's.
	res.P50, res.P99 = maxOf(lat50), maxOf(lat99)
	if res.Delivered > 0 {
		res.CPUPerDelivery = cpu / float64(res.Delivered) * 1e6
	}
	res.ForeignPct = max(0, busy-cpu-viewerCPU) / wall.Seconds() * 100
	return res, nil
}

// broadcast publishes one event a second, the first at once, until stop,
// and returns how many it published.
func broadcast(f fanout, stop <-chan struct{}) int {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for n := 0; ; n++ {
		f.publish(event(n))
		select {
		case <-stop:
			return n + 1
		case <-tick.C:
		}
	}
}

// viewersChild is one `bench viewers` process.
type viewersChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	n     int
}

// startViewers starts a child with n viewers of url, reading for duration
// once told to go. Unlike viewersProcess it does not wait for them: ready
// does, and tolerates a child that connected only some.
func startViewers(url string, n int, duration time.Duration) (*viewersChild, error) {
	cmd, stdin, out, err := startChild("viewers", "-url", url, "-n", strconv.Itoa(n), "-duration", duration.String())
	if err != nil {
		return nil, err
	}
	return &viewersChild{cmd: cmd, stdin: stdin, out: out, n: n}, nil
}

// ready waits for the child's ready line and returns how many connected.
func (k *viewersChild) ready() (int, error) {
	line, err := k.out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		return 0, fmt.Errorf("viewers did not start: %q %v", line, err)
	}
	return strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "ready ")))
}

// result reads the child's JSON result.
func (k *viewersChild) result() (viewerResult, error) {
	var vr viewerResult
	line, err := k.out.ReadString('\n')
	if err != nil {
		return vr, fmt.Errorf("viewers result: %v", err)
	}
	if err := json.Unmarshal([]byte(line), &vr); err != nil {
		return vr, fmt.Errorf("viewers result %q: %v", line, err)
	}
	return vr, nil
}

// stop ends the child: closing its stdin lets a waiting child go on and
// finish; one that does not within a bound is killed. It always waits.
func (k *viewersChild) stop() {
	k.stdin.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.cmd.Wait()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		k.cmd.Process.Kill()
		<-done
	}
}

// vmRSS is this process's resident memory in bytes, from
// /proc/self/status; 0 where there is no /proc.
func vmRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
