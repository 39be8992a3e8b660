package hub_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/offerdeck/offerdeck/hub"
)

// TestNextOrNotifyParks checks that an idle subscriber parks without a
// goroutine and that a publish, Close or Hub.Close calls its ready once.
func TestNextOrNotifyParks(t *testing.T) {
	for _, end := range []struct {
		name string
		do   func(h *hub.Hub, s *hub.Subscriber)
		want error
	}{
		{"publish", func(h *hub.Hub, _ *hub.Subscriber) { h.Publish("t", entry("k", "2")) }, nil},
		{"close", func(_ *hub.Hub, s *hub.Subscriber) { s.Close() }, hub.ErrClosed},
		{"hub close", func(h *hub.Hub, _ *hub.Subscriber) { h.Close() }, hub.ErrHubClosed},
	} {
		t.Run(end.name, func(t *testing.T) {
			h := newHub(t, hub.Config{})
			s := subscribe(t, h, map[string]uint64{"t": 0})
			var calls atomic.Int32
			ready := func() { calls.Add(1) }
			h.Publish("t", entry("k", "1"))
			if b, err := s.NextOrNotify(t.Context(), ready); err != nil || !slices.Equal(datas(b), []string{"1"}) {
				t.Fatalf("NextOrNotify = %q, %v; want [1]", datas(b), err)
			}
			if _, err := s.NextOrNotify(t.Context(), ready); !errors.Is(err, hub.ErrParked) {
				t.Fatalf("NextOrNotify with nothing new = %v, want ErrParked", err)
			}
			if n := calls.Load(); n != 0 {
				t.Fatalf("ready called %d times before anything happened", n)
			}
			end.do(h, s)
			if n := calls.Load(); n != 1 {
				t.Fatalf("ready called %d times after %s, want 1", n, end.name)
			}
			b, err := s.NextOrNotify(t.Context(), ready)
			if !errors.Is(err, end.want) {
				t.Fatalf("NextOrNotify after %s = %v, want %v", end.name, err, end.want)
			}
			if end.want == nil && !slices.Equal(datas(b), []string{"2"}) {
				t.Errorf("NextOrNotify after publish = %q, want [2]", datas(b))
			}
			h.Publish("t", entry("k", "3"))
			if n := calls.Load(); n != 1 {
				t.Errorf("ready called %d times, want once: it is not armed again until ErrParked", n)
			}
		})
	}
}

// TestNextOrNotifyWaitsWhileBusy checks that a subscriber of a busy topic
// waits for its window as Next does, rather than parking.
func TestNextOrNotifyWaitsWhileBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const window = 10 * time.Millisecond
		h := newHub(t, hub.Config{FlushWindow: window})
		s := subscribe(t, h, map[string]uint64{"t": 0})
		ready := func() { t.Error("ready called for a busy topic") }
		floodBusy(h, "t")
		start := time.Now()
		if _, err := s.NextOrNotify(t.Context(), ready); err != nil {
			t.Fatalf("NextOrNotify = %v", err)
		}
		go func() {
			time.Sleep(time.Millisecond)
			h.Publish("t", entry("a", "x"))
		}()
		b, err := s.NextOrNotify(t.Context(), ready)
		if err != nil || !slices.Equal(datas(b), []string{"x"}) || time.Since(start) != window {
			t.Errorf("NextOrNotify = %q, %v at %v; want [x] at %v", datas(b), err, time.Since(start), window)
		}
	})
}

// TestNextOrNotifyHandsOver runs a subscriber of three topics the way a
// WebSocket stream does, each batch taken by a goroutine that the previous
// ready started, while a publisher publishes numbered entries to them with
// pauses: every entry arrives once and in order (and -race finds no two
// goroutines using the subscriber at once).
func TestNextOrNotifyHandsOver(t *testing.T) {
	const total = 3000
	topics := []string{"a", "b", "c"}
	h := newHub(t, hub.Config{History: total, FlushWindow: hub.NoFlushWindow})
	s := subscribe(t, h, map[string]uint64{"a": 0, "b": 0, "c": 0})
	var (
		wg   sync.WaitGroup
		got  = map[string][]string{} // by key: all under ""
		n    int
		done = make(chan struct{})
		run  func()
	)
	ready := func() { wg.Go(run) }
	run = func() {
		for {
			b, err := s.NextOrNotify(context.Background(), ready)
			switch {
			case errors.Is(err, hub.ErrParked), errors.Is(err, hub.ErrClosed): // the end of the test
				return
			case err != nil:
				t.Errorf("NextOrNotify = %v", err)
				return
			}
			for _, e := range b.Entries {
				got[e.Key] = append(got[e.Key], string(e.Data))
				if n++; n == total {
					close(done)
				}
			}
		}
	}
	wg.Go(run)
	next := map[string]int{}
	for range total {
		topic := topics[rand.IntN(len(topics))]
		next[topic]++
		// No key, so nothing coalesces; the data names topic and number.
		h.Publish(topic, hub.Entry{Data: []byte(topic + strconv.Itoa(next[topic]))})
		if rand.IntN(8) == 0 {
			time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond)
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%d of %d entries arrived", n, total)
	}
	s.Close()
	wg.Wait()
	for _, topic := range topics {
		var want []string
		for i := 1; i <= next[topic]; i++ {
			want = append(want, topic+strconv.Itoa(i))
		}
		var all []string
		for _, vs := range got {
			for _, v := range vs {
				if v[:1] == topic {
					all = append(all, v)
				}
			}
		}
		if !slices.Equal(all, want) {
			t.Errorf("topic %s: got %d entries out of order or twice, want %d", topic, len(all), len(want))
		}
	}
}
