//go:build linux

package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/offerdeck/offerdeck/hub"
)

// BenchmarkStream measures the live stream end to end in one process: a
// hub with the default flush window, the stream handler, and viewers
// reading with coder/websocket over loopback. An op is one published
// entry of 300 bytes.
//
//   - rest: one entry every 2 ms, a quiet topic; each op waits until every
//     viewer has it. latency-ns is from the publish to the last viewer.
//   - busy: one entry every 250 µs (4,000 a second), a busy topic, whose
//     viewers get a message a flush window; entries/msg says how many a
//     message carried.
//
// cpu-ns/delivery is the process's CPU (the viewers' included) per entry
// per viewer. The figures compare runs of the same machine only.
func BenchmarkStream(b *testing.B) {
	for _, mode := range []string{"rest", "busy"} {
		b.Run(fmt.Sprintf("%s/viewers=50", mode), func(b *testing.B) {
			benchStream(b, mode == "busy", 50)
		})
	}
}

func benchStream(b *testing.B, busy bool, viewers int) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		b.Fatal(err)
	}
	streams := StreamHandler(h)
	srv := httptest.NewServer(streams)
	defer srv.Close()
	defer streams.Close()
	defer h.Close()

	// Each viewer counts the entries it got (by their "n" stamps) and
	// its messages, and reports reaching a target sequence.
	var (
		mu       sync.Mutex
		cond     = sync.NewCond(&mu)
		counts   = make([]int, viewers)
		messages int
	)
	var wg sync.WaitGroup
	defer wg.Wait()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/?since=t:0&epoch=" + strconv.FormatUint(h.Epoch(), 36)
	for v := range viewers {
		c, _, err := websocket.Dial(context.Background(), url, nil)
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(-1)
		defer c.CloseNow()
		wg.Go(func() {
			for {
				_, msg, err := c.Read(context.Background())
				if err != nil {
					return
				}
				n := bytes.Count(msg, []byte(`"n":`))
				mu.Lock()
				counts[v] += n
				messages++
				cond.Broadcast()
				mu.Unlock()
			}
		})
	}
	waitAll := func(total int) {
		mu.Lock()
		defer mu.Unlock()
		for {
			all := true
			for _, n := range counts {
				all = all && n >= total
			}
			if all {
				return
			}
			cond.Wait()
		}
	}
	entry := func(i int) hub.Entry {
		d := fmt.Appendf(nil, `{"n":%d,"html":"%s"}`, i, strings.Repeat("x", 280))
		return hub.Entry{Data: d}
	}
	// Warm up: every viewer subscribed and served once.
	for !h.Subscribed("t") {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the stragglers' handshakes
	h.Publish("t", entry(0))
	waitAll(1)
	mu.Lock()
	messages = 0
	mu.Unlock()

	var latency time.Duration
	cpu0 := cpuTime()
	published := 1
	for b.Loop() {
		if busy {
			time.Sleep(250 * time.Microsecond)
			h.Publish("t", entry(published))
			published++
			continue
		}
		time.Sleep(2 * time.Millisecond)
		start := time.Now()
		h.Publish("t", entry(published))
		published++
		waitAll(published)
		latency += time.Since(start)
	}
	waitAll(published)
	cpu := cpuTime() - cpu0
	deliveries := float64(b.N) * float64(viewers)
	b.ReportMetric(float64(cpu.Nanoseconds())/deliveries, "cpu-ns/delivery")
	mu.Lock()
	b.ReportMetric(deliveries/float64(max(1, messages)), "entries/msg")
	mu.Unlock()
	if !busy {
		b.ReportMetric(float64(latency.Nanoseconds())/float64(b.N), "latency-ns")
	}
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
