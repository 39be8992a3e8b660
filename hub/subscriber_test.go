package hub_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/offerdeck/offerdeck/hub"
)

// TestNextStops checks that a Next parked or in its flush window returns
// promptly, with an error telling why.
func TestNextStops(t *testing.T) {
	tests := []struct {
		name string
		stop func(cancel context.CancelFunc, h *hub.Hub, s *hub.Subscriber)
		want error
	}{
		{"ctx cancelled", func(cancel context.CancelFunc, _ *hub.Hub, _ *hub.Subscriber) { cancel() }, context.Canceled},
		{"subscriber closed", func(_ context.CancelFunc, _ *hub.Hub, s *hub.Subscriber) { s.Close() }, hub.ErrClosed},
		{"hub closed", func(_ context.CancelFunc, h *hub.Hub, _ *hub.Subscriber) { h.Close() }, hub.ErrHubClosed},
	}
	for _, tc := range tests {
		for _, inWindow := range []bool{false, true} {
			name := tc.name + " while parked"
			if inWindow {
				name = tc.name + " in flush window"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					h := newHub(t, hub.Config{FlushWindow: time.Hour})
					s := subscribe(t, h, map[string]uint64{"t": 0})
					if inWindow {
						floodBusy(h, "t")
						next(t, s)
						h.Publish("t", entry("a", "2"))
					}
					ctx, cancel := context.WithCancel(t.Context())
					defer cancel()
					errc := make(chan error, 1)
					go func() {
						_, err := s.Next(ctx)
						errc <- err
					}()
					synctest.Wait()
					start := time.Now()
					tc.stop(cancel, h, s)
					if err := <-errc; !errors.Is(err, tc.want) {
						t.Errorf("Next = %v, want %v", err, tc.want)
					}
					if d := time.Since(start); d != 0 {
						t.Errorf("Next returned %v after the stop, want at once", d)
					}
					if tc.want == context.Canceled {
						return
					}
					if _, err := s.Next(context.Background()); !errors.Is(err, tc.want) {
						t.Errorf("Next again = %v, want %v", err, tc.want)
					}
				})
			})
		}
	}
}

// floodBusy publishes to topic often enough, within no time, to make it
// busy: its subscribers then wait for their flush window.
func floodBusy(h *hub.Hub, topic string) {
	for i := range 64 {
		h.Publish(topic, entry("a", strconv.Itoa(i)))
	}
}

func TestNextErrorsAreDistinct(t *testing.T) {
	if errors.Is(hub.ErrClosed, hub.ErrHubClosed) || errors.Is(hub.ErrClosed, context.Canceled) || errors.Is(hub.ErrHubClosed, context.Canceled) {
		t.Errorf("ErrClosed, ErrHubClosed and context.Canceled must differ")
	}
}

// TestCloseRemovesSubscriber covers subscribers that are parked, that gave
// up waiting, and that never waited.
func TestCloseRemovesSubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, hub.Config{})
		parked := h.Subscribe(map[string]uint64{"t": 0})
		gaveUp := h.Subscribe(map[string]uint64{"t": 0, "u": 0})
		idle := h.Subscribe(map[string]uint64{"t": 0})
		errc := make(chan error, 1)
		go func() {
			_, err := parked.Next(context.Background())
			errc <- err
		}()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := gaveUp.Next(ctx); err != context.DeadlineExceeded {
			t.Fatalf("Next = %v, want %v", err, context.DeadlineExceeded)
		}
		synctest.Wait()
		st := h.Stats()
		if got, want := [3]int{st.Subscribers, st.Topics[0].Subscribers, st.Topics[0].Waiting}, [3]int{3, 3, 2}; got != want {
			t.Errorf("before Close: subscribers, on topic t, waiting = %d, want %d", got, want)
		}
		for _, s := range []*hub.Subscriber{parked, gaveUp, idle} {
			if err := s.Close(); err != nil {
				t.Errorf("Close = %v", err)
			}
		}
		<-errc
		st = h.Stats()
		for _, ts := range st.Topics {
			if ts.Subscribers != 0 || ts.Waiting != 0 {
				t.Errorf("after Close: topic %s has %d subscribers, %d waiting; want 0", ts.Topic, ts.Subscribers, ts.Waiting)
			}
		}
		if st.Subscribers != 0 {
			t.Errorf("after Close: Stats().Subscribers = %d, want 0", st.Subscribers)
		}
		if err := parked.Close(); err != nil {
			t.Errorf("second Close = %v, want nil", err)
		}
	})
}

// TestFlushWindow checks that latency follows the load: entries of a
// quiet topic go out at once, even within a window of the previous batch;
// once publishes come more often than every quarter window (on a moving
// mean) the topic is busy, and its batches are a window apart, gathering
// what was published meanwhile; once they come less often than every half
// window it is idle again.
func TestFlushWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const window = 10 * time.Millisecond
		h := newHub(t, hub.Config{FlushWindow: window})
		s := subscribe(t, h, map[string]uint64{"t": 0})
		start := time.Now()
		expect := func(at time.Duration, data ...string) {
			t.Helper()
			b := next(t, s)
			if got := time.Since(start); got != at || !slices.Equal(datas(b), data) {
				t.Errorf("Next at %v = %q, want %q at %v", got, datas(b), data, at)
			}
		}
		// At rest: each publish is sent at once.
		h.Publish("t", entry("1", "1"))
		expect(0, "1")
		time.Sleep(2 * time.Millisecond)
		h.Publish("t", entry("2", "2"))
		expect(2*time.Millisecond, "2")
		time.Sleep(3 * time.Millisecond)
		h.Publish("t", entry("3", "3"))
		expect(5*time.Millisecond, "3")

		// A flood of publishes makes the topic busy: the batch waits for
		// the window after the previous one and takes them all.
		for i := 10; i < 40; i++ {
			h.Publish("t", entry(strconv.Itoa(i), strconv.Itoa(i)))
		}
		expect(5*time.Millisecond+window, seqs(10, 39)...)
		time.Sleep(time.Millisecond)
		h.Publish("t", entry("40", "40"))
		expect(5*time.Millisecond+2*window, "40")

		// A quiet spell: the next publish goes out at once, its window
		// long past, but the topic is still busy, so one a millisecond
		// later waits for the window.
		time.Sleep(time.Second)
		at := time.Since(start)
		h.Publish("t", entry("41", "41"))
		expect(at, "41")
		time.Sleep(time.Millisecond)
		h.Publish("t", entry("42", "42"))
		expect(at+window, "42")
		// Publishes a window apart or more make it idle again within a
		// few (the mean of the gaps rises above half a window), and then
		// one a millisecond after the previous goes out at once too.
		for i := 43; i < 48; i++ {
			time.Sleep(2 * window)
			at = time.Since(start)
			h.Publish("t", entry(strconv.Itoa(i), strconv.Itoa(i)))
			expect(at, strconv.Itoa(i))
		}
		time.Sleep(time.Millisecond)
		h.Publish("t", entry("48", "48"))
		expect(at+time.Millisecond, "48")
	})
}

// TestBatchPublishWakesOnce checks that a publish of many entries costs each
// waiting subscriber one wakeup and reaches it as one batch.
func TestBatchPublishWakesOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const subscribers = 3
		h := newHub(t, noWindow)
		batches := make(chan hub.Batch, subscribers)
		for range subscribers {
			s := subscribe(t, h, map[string]uint64{"t": 0})
			go func() {
				b, err := s.Next(t.Context())
				if err != nil {
					t.Errorf("Next = %v", err)
				}
				batches <- b
			}()
		}
		synctest.Wait()
		h.Publish("t", numbered(1, 10)...)
		for range subscribers {
			if b := <-batches; !slices.Equal(datas(b), seqs(1, 10)) {
				t.Errorf("Next = %q, want %q", datas(b), seqs(1, 10))
			}
		}
		if st := h.Stats(); st.Wakeups != subscribers || st.Batches != subscribers {
			t.Errorf("Stats() wakeups, batches = %d, %d; want %d, %d", st.Wakeups, st.Batches, subscribers, subscribers)
		}
	})
}

// TestSlowSubscriberNeverBlocksPublisher publishes 100,000 entries past a
// subscriber that never reads: the history stays bounded, publishing does
// not allocate once the history is full, and the subscriber is resynced.
func TestSlowSubscriberNeverBlocksPublisher(t *testing.T) {
	const history = 8
	h := newHub(t, hub.Config{History: history, FlushWindow: hub.NoFlushWindow})
	s := subscribe(t, h, map[string]uint64{"t": 0})
	data := make([]byte, 300)
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	for i := range 100_000 {
		h.Publish("t", hub.Entry{Key: keys[i%len(keys)], Data: data})
	}
	allocs := testing.AllocsPerRun(1000, func() { h.Publish("t", hub.Entry{Key: "a", Data: data}) })
	if allocs != 0 {
		t.Errorf("Publish past a stalled subscriber allocates %v times, want 0", allocs)
	}
	st := h.Stats()
	if ts := st.Topics[0]; ts.Retained != history || ts.RetainedBytes != history*(300+1) {
		t.Errorf("topic retains %d entries, %d bytes; want %d, %d", ts.Retained, ts.RetainedBytes, history, history*301)
	}
	b := next(t, s)
	if !slices.Equal(b.Resync, []string{"t"}) || len(b.Entries) != 0 {
		t.Errorf("Next = %d entries, resync %q; want only resync [t]", len(b.Entries), b.Resync)
	}
	if got := h.Stats().Resyncs; got != 1 {
		t.Errorf("Stats().Resyncs = %d, want 1", got)
	}
}

// TestNextDoesNotAllocate checks the steady state of a subscriber that keeps
// up: publish a few entries, take them.
func TestNextDoesNotAllocate(t *testing.T) {
	h := newHub(t, hub.Config{History: 64, FlushWindow: hub.NoFlushWindow})
	s := subscribe(t, h, map[string]uint64{"t": 0, "u": 0})
	es := numbered(1, 3)
	round := func() {
		h.Publish("t", es...)
		h.Publish("u", es[0])
		if b, err := s.Next(t.Context()); err != nil || len(b.Entries) != 4 {
			t.Fatalf("Next = %d entries, %v; want 4", len(b.Entries), err)
		}
	}
	for range 64 {
		round()
	}
	if allocs := testing.AllocsPerRun(100, round); allocs != 0 {
		t.Errorf("publish and Next allocate %v times, want 0", allocs)
	}
}

// TestManySubscribers runs 1,000 subscribers against a publisher; each must
// see every entry exactly once, in order, or a resync for what it missed.
func TestManySubscribers(t *testing.T) {
	const (
		subscribers = 1000
		total       = 2000
	)
	for _, history := range []int{total, 64} {
		t.Run("history="+strconv.Itoa(history), func(t *testing.T) {
			h := newHub(t, hub.Config{History: history, FlushWindow: hub.NoFlushWindow})
			var wg sync.WaitGroup
			for range subscribers {
				s := subscribe(t, h, map[string]uint64{"t": 0})
				wg.Go(func() { receiveAll(t, h, s, total) })
			}
			for i := 1; i <= total; i++ {
				h.Publish("t", entry(strconv.Itoa(i), strconv.Itoa(i)))
			}
			wg.Wait()
			st := h.Stats()
			t.Logf("%d entries delivered in %d batches, %d resyncs, %d wakeups", st.Delivered, st.Batches, st.Resyncs, st.Wakeups)
			if history >= total && (st.Resyncs != 0 || st.Delivered != subscribers*total) {
				t.Errorf("with all entries retained: %d delivered, %d resyncs; want %d, 0", st.Delivered, st.Resyncs, subscribers*total)
			}
		})
	}
}

// receiveAll reads s until it passed seq total, checking that entries come
// in order without gaps unless a resync says so.
func receiveAll(t *testing.T, h *hub.Hub, s *hub.Subscriber, total uint64) {
	var seq uint64
	for seq < total {
		b, err := s.Next(t.Context())
		if err != nil {
			t.Errorf("Next = %v", err)
			return
		}
		if len(b.Resync) > 0 {
			seq = h.Seq("t") // the region re-rendered
			if err := s.Resume("t", seq); err != nil {
				t.Errorf("Resume = %v", err)
				return
			}
			continue
		}
		for _, d := range datas(b) {
			if want := strconv.FormatUint(seq+1, 10); d != want {
				t.Errorf("entry %s after %d, want %s", d, seq, want)
				return
			}
			seq++
		}
		if got := b.Seqs[0].Seq; got != seq {
			t.Errorf("batch seq %d after entry %d", got, seq)
			return
		}
	}
}

// TestNoSubscriberLeftBehind: subscribers of two topics published from two
// goroutines at once, reading with a short flush window, each reach the
// last entry of both topics: no wakeup is lost, whatever the interleaving.
func TestNoSubscriberLeftBehind(t *testing.T) {
	h, err := hub.New(hub.Config{FlushWindow: time.Millisecond, History: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	const subs, perTopic = 50, 20000
	topics := []string{"a", "b"}
	var wg sync.WaitGroup
	reached := make(chan error, subs)
	for range subs {
		s := h.Subscribe(map[string]uint64{"a": 0, "b": 0})
		wg.Go(func() {
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			got := map[string]uint64{}
			for got["a"] < perTopic || got["b"] < perTopic {
				b, err := s.Next(ctx)
				if err != nil {
					reached <- fmt.Errorf("at %v: %w", got, err)
					return
				}
				if len(b.Resync) > 0 {
					reached <- fmt.Errorf("resync %v", b.Resync)
					return
				}
				for _, p := range b.Seqs {
					got[p.Topic] = p.Seq
				}
			}
			reached <- nil
		})
	}
	for _, name := range topics {
		wg.Go(func() {
			for i := range perTopic {
				h.Publish(name, hub.Entry{Key: strconv.Itoa(i), Data: []byte("x")})
				if i%64 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	wg.Wait()
	for range subs {
		if err := <-reached; err != nil {
			t.Error("a subscriber was left behind:", err)
		}
	}
}
