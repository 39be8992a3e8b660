package hub_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/hub"
)

// Benchmarks of the hub against a naive hub in the same run. They print
// figures and ratios; they assert nothing about time.
//
//	go test -run='^$' -bench=. -benchtime=2s ./hub

const (
	// entrySize is a typical rendered table row.
	entrySize = 300
	// round is how many entries the fan-out benchmarks publish before
	// waiting for every subscriber to catch up: a burst well inside the
	// default history, so that the figures measure delivery, not resyncs.
	round = 256
	// naiveBuffer is the naive hub's per-subscriber queue, one burst deep so
	// that it drops nothing here.
	naiveBuffer = round
)

var subscriberCounts = []int{1, 100, 1_000, 10_000}

// BenchmarkFanout publishes entries of entrySize bytes with distinct keys, in
// bursts of round, to subscribers that each loop on Next and discard what
// they get. An op is one published entry; ns/delivery is wall time per entry
// per subscriber, cpu-ns/delivery the process's CPU time (user and system)
// per delivery. The hub runs with no flush window, which is its worst case:
// a subscriber takes whatever accumulated while it was busy or waking up.
// The naive peer sends every entry to every subscriber's channel.
func BenchmarkFanout(b *testing.B) {
	for _, subs := range subscriberCounts {
		cfg := fanoutConfig{subs: subs, window: hub.NoFlushWindow}
		ours := runFanout(b, "hub", cfg, startHub)
		runFanout(b, "naive", cfg, startNaive, ours)
	}
}

// BenchmarkFanoutWrite is BenchmarkFanout with one write(2) of each message
// to /dev/null, as a viewer's WebSocket goroutine writes each batch as one
// frame: the hub's subscribers concatenate a batch and write once, the
// naive peer's write every entry. The hub runs without a flush window (hub)
// and with the default one (hub-window), where wall time is mostly the
// window: compare CPU.
func BenchmarkFanoutWrite(b *testing.B) {
	write, closeSink := openSink(b)
	defer closeSink()
	for _, subs := range subscriberCounts {
		cfg := fanoutConfig{subs: subs, window: hub.NoFlushWindow, write: write}
		ours := runFanout(b, "hub", cfg, startHub)
		cfg.window = hub.DefaultFlushWindow
		windowed := runFanout(b, "hub-window", cfg, startHub)
		runFanout(b, "naive", cfg, startNaive, ours, windowed)
	}
}

// BenchmarkAtRest publishes one entry every 2 ms, a quiet topic, to
// subscribers with the default flush window, and waits each time until
// every subscriber has it. An op is one publish; latency-ns is from the
// publish to the last subscriber's receipt. At rest a batch goes out at
// once: a latency near the flush window means the window applies at rest
// again, which costs a viewer latency and saves no CPU worth having.
func BenchmarkAtRest(b *testing.B) {
	for _, subs := range []int{1, 100} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			h, err := hub.New(hub.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			got := make(chan struct{}, subs)
			var wg sync.WaitGroup
			defer wg.Wait()
			defer h.Close()
			for range subs {
				s := h.Subscribe(map[string]uint64{"t": 0})
				wg.Go(func() {
					defer s.Close()
					for {
						if _, err := s.Next(context.Background()); err != nil {
							return
						}
						got <- struct{}{}
					}
				})
			}
			data := make([]byte, entrySize)
			var latency time.Duration
			cpu0, cpuOK := cpuTime()
			for b.Loop() {
				time.Sleep(2 * time.Millisecond)
				start := time.Now()
				h.Publish("t", hub.Entry{Key: "row", Data: data})
				for range subs {
					<-got
				}
				latency += time.Since(start)
			}
			cpu1, _ := cpuTime()
			b.ReportMetric(float64(latency.Nanoseconds())/float64(b.N), "latency-ns")
			if cpuOK {
				b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N)/float64(subs), "cpu-ns/delivery")
			}
		})
	}
}

// result is a fan-out sub-benchmark's figures.
type result struct {
	name      string
	wall, cpu float64 // ns per delivery
}

// fanoutConfig describes one fan-out run.
type fanoutConfig struct {
	subs   int
	total  uint64        // entries to publish: b.N
	ack    func()        // called by a subscriber at every multiple of round, and at total
	write  func([]byte)  // writes one message; nil discards it
	window time.Duration // the hub's flush window
}

// fanout starts cfg.subs subscriber goroutines and returns the publish
// function and a stop function that ends them and waits.
type fanout func(cfg fanoutConfig) (publish func(hub.Entry), stop func(*testing.B))

// runFanout runs one fan-out sub-benchmark and returns its figures. It
// reports its ratio to each of the results in against, measured earlier in
// the same run, as x-wall-vs-NAME and x-cpu-vs-NAME: above 1 means NAME is
// that many times cheaper.
func runFanout(b *testing.B, name string, cfg fanoutConfig, start fanout, against ...result) result {
	res := result{name: name}
	b.Run(fmt.Sprintf("%s/subs=%d", name, cfg.subs), func(b *testing.B) {
		data := make([]byte, entrySize)
		keys := make([]string, 4*round)
		for i := range keys {
			keys[i] = "row-" + strconv.Itoa(i)
		}
		cfg.total = uint64(b.N)
		acks := make(chan struct{}, cfg.subs)
		cfg.ack = func() { acks <- struct{}{} }
		publish, stop := start(cfg)
		runtime.GC()
		b.ReportAllocs()
		cpu0, cpuOK := cpuTime()
		b.ResetTimer()
		start0 := time.Now()
		for i := range cfg.total {
			publish(hub.Entry{Key: keys[i%uint64(len(keys))], Data: data})
			if (i+1)%round == 0 || i+1 == cfg.total {
				for range cfg.subs {
					<-acks
				}
			}
		}
		elapsed := time.Since(start0)
		b.StopTimer()
		cpu1, _ := cpuTime()
		stop(b)
		deliveries := float64(cfg.total) * float64(cfg.subs)
		res.wall = float64(elapsed.Nanoseconds()) / deliveries
		b.ReportMetric(res.wall, "ns/delivery")
		if cpuOK {
			res.cpu = float64((cpu1 - cpu0).Nanoseconds()) / deliveries
			b.ReportMetric(res.cpu, "cpu-ns/delivery")
		}
		for _, o := range against {
			b.ReportMetric(res.wall/o.wall, "x-wall-vs-"+o.name)
			if res.cpu > 0 {
				b.ReportMetric(res.cpu/o.cpu, "x-cpu-vs-"+o.name)
			}
		}
	})
	return res
}

// startHub runs subscribers of a Hub. Each has its own context, as each
// WebSocket request has.
func startHub(cfg fanoutConfig) (func(hub.Entry), func(*testing.B)) {
	h, err := hub.New(hub.Config{FlushWindow: cfg.window})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var failed atomic.Value
	// Message buffers are pooled, as a WebSocket writer's are: one per
	// subscriber would hold a burst's bytes per viewer.
	var msgs sync.Pool
	for range cfg.subs {
		s := h.Subscribe(map[string]uint64{"t": 0})
		ctx, cancel := context.WithCancel(ctx)
		wg.Go(func() {
			defer cancel()
			defer s.Close()
			var seq uint64
			boundary := min(round, cfg.total)
			for seq < cfg.total {
				batch, err := s.Next(ctx)
				if err != nil {
					failed.Store(fmt.Sprintf("Next = %v", err))
					return
				}
				if len(batch.Resync) > 0 {
					failed.Store("resync")
					return
				}
				if cfg.write != nil {
					msg, _ := msgs.Get().(*[]byte)
					if msg == nil {
						msg = new([]byte)
					}
					*msg = (*msg)[:0]
					for _, e := range batch.Entries {
						*msg = append(*msg, e.Data...)
					}
					cfg.write(*msg)
					msgs.Put(msg)
				}
				// The publisher waits at each boundary, so seq
				// reaches it exactly.
				if seq = batch.Seqs[0].Seq; seq == boundary {
					cfg.ack()
					boundary = min(boundary+round, cfg.total)
				}
			}
		})
	}
	publish := func(e hub.Entry) { h.Publish("t", e) }
	stop := func(b *testing.B) {
		st := h.Stats()
		if st.Batches > 0 {
			b.ReportMetric(float64(st.Delivered)/float64(st.Batches), "entries/batch")
		}
		cancel()
		wg.Wait()
		h.Close()
		if msg := failed.Load(); msg != nil {
			b.Fatal(msg)
		}
	}
	return publish, stop
}

// naiveHub is the peer: one buffered channel per subscriber and one send per
// entry per subscriber, dropping a subscriber's entry when its queue is full.
type naiveHub struct {
	mu   sync.Mutex
	subs []chan []byte
}

func (h *naiveHub) subscribe() chan []byte {
	ch := make(chan []byte, naiveBuffer)
	h.mu.Lock()
	h.subs = append(h.subs, ch)
	h.mu.Unlock()
	return ch
}

func (h *naiveHub) publish(data []byte) (dropped int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.subs {
		select {
		case ch <- data:
		default:
			dropped++
		}
	}
	return dropped
}

func startNaive(cfg fanoutConfig) (func(hub.Entry), func(*testing.B)) {
	var h naiveHub
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var dropped atomic.Int64
	for range cfg.subs {
		ch := h.subscribe()
		ctx, cancel := context.WithCancel(ctx)
		wg.Go(func() {
			defer cancel()
			for got := uint64(1); got <= cfg.total; got++ {
				select {
				case data := <-ch:
					if cfg.write != nil {
						cfg.write(data)
					}
				case <-ctx.Done():
					return
				}
				if got%round == 0 || got == cfg.total {
					cfg.ack()
				}
			}
		})
	}
	publish := func(e hub.Entry) { dropped.Add(int64(h.publish(e.Data))) }
	stop := func(b *testing.B) {
		cancel()
		wg.Wait()
		if n := dropped.Load(); n > 0 {
			b.Fatalf("naive hub dropped %d entries", n)
		}
	}
	return publish, stop
}

// BenchmarkIdleSubscriberMemory holds 10,000 subscribers, each with its own
// goroutine parked in Next after receiving one entry, and reports the heap
// and stack they add, per subscriber, after a GC.
func BenchmarkIdleSubscriberMemory(b *testing.B) {
	const subs = 10_000
	b.Run("hub", func(b *testing.B) {
		for b.Loop() {
			idleMemory(b, subs, idleHub)
		}
	})
	b.Run("naive", func(b *testing.B) {
		for b.Loop() {
			idleMemory(b, subs, idleNaive)
		}
	})
}

// idleMemory measures what start adds; start returns once its subscribers
// are parked, and returns a function that ends them.
func idleMemory(b *testing.B, subs int, start func(subs int) (stop func())) {
	before := liveMemory()
	stop := start(subs)
	after := liveMemory()
	stop()
	b.ReportMetric(float64(after-before)/float64(subs), "bytes/subscriber")
}

// liveMemory returns heap in use plus goroutine stacks after a GC.
func liveMemory() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc) + int64(m.StackInuse)
}

func idleHub(subs int) func() {
	h, err := hub.New(hub.Config{})
	if err != nil {
		panic(err)
	}
	h.Publish("t", hub.Entry{Key: "row", Data: make([]byte, entrySize)})
	var wg, first sync.WaitGroup
	first.Add(subs)
	for range subs {
		s := h.Subscribe(map[string]uint64{"t": 0})
		wg.Go(func() {
			defer s.Close()
			ctx := context.Background()
			if _, err := s.Next(ctx); err != nil {
				panic(err)
			}
			first.Done()
			for {
				if _, err := s.Next(ctx); err != nil {
					return
				}
			}
		})
	}
	first.Wait()
	// Spin, not sleep: this is a benchmark's setup, and Stats says exactly
	// when every subscriber has parked.
	for h.Stats().Topics[0].Waiting < subs {
		runtime.Gosched()
	}
	return func() {
		h.Close()
		wg.Wait()
	}
}

func idleNaive(subs int) func() {
	var h naiveHub
	ctx, cancel := context.WithCancel(context.Background())
	var wg, first sync.WaitGroup
	first.Add(subs)
	for range subs {
		ch := h.subscribe()
		wg.Go(func() {
			<-ch
			first.Done()
			for {
				select {
				case <-ch:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	h.publish(make([]byte, entrySize))
	first.Wait()
	return func() {
		cancel()
		wg.Wait()
	}
}
