package hub_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/offerdeck/offerdeck/hub"
)

// newHub returns a hub closed when the test ends.
func newHub(t *testing.T, cfg hub.Config) *hub.Hub {
	t.Helper()
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v) = %v", cfg, err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// subscribe returns a subscriber closed when the test ends.
func subscribe(t *testing.T, h *hub.Hub, since map[string]uint64) *hub.Subscriber {
	t.Helper()
	s := h.Subscribe(since)
	t.Cleanup(func() { s.Close() })
	return s
}

func entry(key, data string) hub.Entry { return hub.Entry{Key: key, Data: []byte(data)} }

// numbered returns entries whose keys and data are their sequence numbers
// from..to, so that none coalesces and each says where it came from.
func numbered(from, to int) []hub.Entry {
	var es []hub.Entry
	for i := from; i <= to; i++ {
		es = append(es, entry(strconv.Itoa(i), strconv.Itoa(i)))
	}
	return es
}

// datas returns the data of a batch's entries as strings.
func datas(b hub.Batch) []string {
	out := make([]string, 0, len(b.Entries))
	for _, e := range b.Entries {
		out = append(out, string(e.Data))
	}
	return out
}

func seqs(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

// next calls s.Next, failing the test on an error.
func next(t *testing.T, s *hub.Subscriber) hub.Batch {
	t.Helper()
	b, err := s.Next(t.Context())
	if err != nil {
		t.Fatalf("Next = %v", err)
	}
	return b
}

// nothingWithin reports whether s.Next delivers nothing for a second; in
// a synctest bubble the second passes at once.
func nothingWithin(t *testing.T, s *hub.Subscriber) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	b, err := s.Next(ctx)
	if err == nil {
		t.Logf("Next = %q, resync %q", datas(b), b.Resync)
	}
	return err == context.DeadlineExceeded
}

var noWindow = hub.Config{FlushWindow: hub.NoFlushWindow}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []hub.Config{
		{History: -1},
		{History: 1 << 30},
		{HistoryBytes: -1},
	} {
		if _, err := hub.New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error, want one", cfg)
		}
	}
}

func TestEpochDiffersBetweenHubs(t *testing.T) {
	a, b := newHub(t, hub.Config{}), newHub(t, hub.Config{})
	if a.Epoch() == b.Epoch() {
		t.Errorf("two hubs share epoch %d", a.Epoch())
	}
}

func TestSequenceNumbersPerTopic(t *testing.T) {
	h := newHub(t, hub.Config{})
	if got := h.Seq("offers"); got != 0 {
		t.Errorf("Seq(offers) before any publish = %d, want 0", got)
	}
	for want := uint64(1); want <= 3; want++ {
		if got := h.Publish("offers", entry("o", "x")); got != want {
			t.Errorf("Publish(offers) = %d, want %d", got, want)
		}
	}
	if got := h.Publish("tasks", entry("t", "x")); got != 1 {
		t.Errorf("first Publish(tasks) = %d, want 1", got)
	}
	if got := h.Publish("offers", numbered(1, 4)...); got != 7 {
		t.Errorf("Publish(offers, 4 entries) = %d, want 7", got)
	}
	if got := h.Publish("offers"); got != 7 {
		t.Errorf("Publish(offers) with no entries = %d, want 7", got)
	}
	if got, want := [2]uint64{h.Seq("offers"), h.Seq("tasks")}, [2]uint64{7, 1}; got != want {
		t.Errorf("Seq(offers), Seq(tasks) = %d, want %d", got, want)
	}
}

// TestJoinAtSeq subscribes a page rendered at various sequence numbers,
// with entries published between reading the number and subscribing.
func TestJoinAtSeq(t *testing.T) {
	for _, since := range []uint64{0, 1, 5, 7} {
		t.Run(fmt.Sprint("since=", since), func(t *testing.T) {
			h := newHub(t, noWindow)
			h.Publish("t", numbered(1, 5)...)
			h.Publish("t", numbered(6, 7)...) // after the page read Seq
			s := subscribe(t, h, map[string]uint64{"t": since})
			h.Publish("t", numbered(8, 8)...)

			b := next(t, s)
			if want := seqs(int(since)+1, 8); !slices.Equal(datas(b), want) || len(b.Resync) != 0 {
				t.Errorf("Next = %q, resync %q; want %q", datas(b), b.Resync, want)
			}
			if want := []hub.Position{{Topic: "t", Seq: 8}}; !slices.Equal(b.Seqs, want) {
				t.Errorf("Next seqs = %v, want %v", b.Seqs, want)
			}
			h.Publish("t", numbered(9, 9)...)
			if got := datas(next(t, s)); !slices.Equal(got, []string{"9"}) {
				t.Errorf("Next after one more publish = %q, want [9]", got)
			}
		})
	}
}

// TestJoinWhilePublishing joins at many points of a running publisher and
// checks each subscriber gets exactly the entries after the Seq it read.
func TestJoinWhilePublishing(t *testing.T) {
	const (
		total   = 20_000
		joiners = 4
		joins   = 25
	)
	h := newHub(t, hub.Config{History: total, FlushWindow: hub.NoFlushWindow})
	var wg sync.WaitGroup
	// The publisher cues a join now and then but does not wait for it, so
	// joins spread over the run and race with publishes.
	cue := make(chan struct{}, joiners*joins)
	wg.Go(func() {
		defer close(cue)
		for i := 1; i <= total; i++ {
			h.Publish("t", entry(strconv.Itoa(i), strconv.Itoa(i)))
			if i%(total/(joiners*joins)) == 0 {
				cue <- struct{}{}
			}
		}
	})
	type join struct {
		since uint64
		s     *hub.Subscriber
	}
	var (
		mu  sync.Mutex
		all []join
	)
	for range joiners {
		wg.Go(func() {
			for range cue {
				since := h.Seq("t")
				j := join{since, subscribe(t, h, map[string]uint64{"t": since})}
				mu.Lock()
				all = append(all, j)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	distinct := map[uint64]bool{}
	for _, j := range all {
		distinct[j.since] = true
		var got []string
		for seq := j.since; seq < total; {
			b := next(t, j.s)
			if len(b.Resync) != 0 {
				t.Fatalf("subscriber since %d: resync %q", j.since, b.Resync)
			}
			got = append(got, datas(b)...)
			seq = b.Seqs[0].Seq
		}
		if want := seqs(int(j.since)+1, total); !slices.Equal(got, want) {
			t.Errorf("subscriber since %d got %d entries, want %d from %d on", j.since, len(got), len(want), j.since+1)
		}
	}
	t.Logf("%d joins at %d distinct sequence numbers", len(all), len(distinct))
}

func TestResyncInsteadOfGap(t *testing.T) {
	tests := []struct {
		name   string
		cfg    hub.Config
		topic  string // subscribed with since
		since  uint64
		resync bool
		want   []string
	}{
		{name: "all retained", cfg: hub.Config{History: 4}, topic: "t", since: 6, want: seqs(7, 10)},
		{name: "next evicted", cfg: hub.Config{History: 4}, topic: "t", since: 5, resync: true},
		{name: "long evicted", cfg: hub.Config{History: 4}, topic: "t", since: 0, resync: true},
		{name: "byte limit", cfg: hub.Config{HistoryBytes: 10}, topic: "t", since: 7, resync: true},
		{name: "within byte limit", cfg: hub.Config{HistoryBytes: 10}, topic: "t", since: 8, want: seqs(9, 10)},
		{name: "at current", cfg: hub.Config{}, topic: "t", since: 10},
		{name: "beyond current", cfg: hub.Config{}, topic: "t", since: 11, resync: true},
		{name: "restart", cfg: hub.Config{}, topic: "t", since: math.MaxUint64, resync: true},
		{name: "unknown topic beyond", cfg: hub.Config{}, topic: "u", since: 3, resync: true},
		{name: "unknown topic at 0", cfg: hub.Config{}, topic: "u", since: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tc.cfg.FlushWindow = hub.NoFlushWindow
				h := newHub(t, tc.cfg)
				// Entries 1..9 count 3 bytes ("k1", "1"), 10 counts 5: ten bytes
				// hold only 9 and 10.
				for i := 1; i <= 10; i++ {
					h.Publish("t", entry("k"+strconv.Itoa(i), strconv.Itoa(i)))
				}
				s := subscribe(t, h, map[string]uint64{tc.topic: tc.since})
				if !tc.resync && len(tc.want) == 0 {
					if !nothingWithin(t, s) {
						t.Errorf("Next delivered something, want nothing")
					}
					return
				}
				b := next(t, s)
				var want []string
				if tc.resync {
					want = []string{tc.topic}
				}
				if !slices.Equal(b.Resync, want) || !slices.Equal(datas(b), tc.want) {
					t.Errorf("Next = %q, resync %q; want %q, resync %q", datas(b), b.Resync, tc.want, want)
				}
			})
		})
	}
}

// TestResume shows that a resynced topic stays quiet until Resume and then
// continues after the position of the caller's re-render.
func TestResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, hub.Config{History: 2, FlushWindow: hub.NoFlushWindow})
		h.Publish("t", numbered(1, 5)...)
		s := subscribe(t, h, map[string]uint64{"t": 1})
		if b := next(t, s); !slices.Equal(b.Resync, []string{"t"}) || len(b.Entries) != 0 {
			t.Fatalf("Next = %q, resync %q; want only resync [t]", datas(b), b.Resync)
		}
		h.Publish("t", numbered(6, 6)...)
		if !nothingWithin(t, s) {
			t.Errorf("Next before Resume delivered something, want nothing")
		}
		rendered := h.Seq("t")
		h.Publish("t", numbered(7, 7)...)
		if err := s.Resume("t", rendered); err != nil {
			t.Fatalf("Resume(t, %d) = %v", rendered, err)
		}
		if got := datas(next(t, s)); !slices.Equal(got, []string{"7"}) {
			t.Errorf("Next after Resume = %q, want [7]", got)
		}
		if err := s.Resume("other", 0); err == nil {
			t.Errorf("Resume(other) = nil, want an error for a topic not subscribed")
		}
		s.Close()
		if err := s.Resume("t", 0); err != hub.ErrClosed {
			t.Errorf("Resume after Close = %v, want %v", err, hub.ErrClosed)
		}
	})
}

func TestCoalescing(t *testing.T) {
	tests := []struct {
		name    string
		before  []hub.Entry // received in a batch of their own first
		publish []hub.Entry
		want    []string
		dropped uint64
	}{
		{
			name:    "latest wins at its place",
			publish: []hub.Entry{entry("a", "a1"), entry("b", "b1"), entry("a", "a2"), entry("c", "c1"), entry("a", "a3")},
			want:    []string{"b1", "c1", "a3"},
			dropped: 2,
		},
		{
			name:    "empty keys never coalesce",
			publish: []hub.Entry{entry("", "x"), entry("", "y"), entry("a", "a1"), entry("", "z"), entry("a", "a2")},
			want:    []string{"x", "y", "z", "a2"},
			dropped: 1,
		},
		{
			name:    "only within what the subscriber has not received",
			before:  []hub.Entry{entry("a", "a1"), entry("b", "b1")},
			publish: []hub.Entry{entry("a", "a2"), entry("c", "c1"), entry("b", "b2")},
			want:    []string{"a2", "c1", "b2"},
		},
		{
			name:    "distinct keys kept in order",
			publish: numbered(1, 5),
			want:    seqs(1, 5),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHub(t, noWindow)
			s := subscribe(t, h, map[string]uint64{"t": 0})
			if len(tc.before) > 0 {
				h.Publish("t", tc.before...)
				next(t, s)
			}
			var last uint64
			for _, e := range tc.publish {
				last = h.Publish("t", e)
			}
			b := next(t, s)
			if !slices.Equal(datas(b), tc.want) {
				t.Errorf("Next = %q, want %q", datas(b), tc.want)
			}
			if want := []hub.Position{{Topic: "t", Seq: last}}; !slices.Equal(b.Seqs, want) {
				t.Errorf("Next seqs = %v, want %v: the cursor passes coalesced entries", b.Seqs, want)
			}
			if got := h.Stats().Coalesced; got != tc.dropped {
				t.Errorf("Stats().Coalesced = %d, want %d", got, tc.dropped)
			}
		})
	}
}

// TestCoalescingAcrossEviction keeps a key's newest entry reachable after
// its older ones left the history.
func TestCoalescingAcrossEviction(t *testing.T) {
	h := newHub(t, hub.Config{History: 3, FlushWindow: hub.NoFlushWindow})
	for i := 1; i <= 10; i++ {
		h.Publish("t", entry("a", "a"+strconv.Itoa(i)), entry(strconv.Itoa(i), strconv.Itoa(i)))
	}
	// Retained: 18 is "9", 19 is "a10", 20 is "10".
	s := subscribe(t, h, map[string]uint64{"t": 18})
	if got, want := datas(next(t, s)), []string{"a10", "10"}; !slices.Equal(got, want) {
		t.Errorf("Next = %q, want %q", got, want)
	}
	late := subscribe(t, h, map[string]uint64{"t": 18})
	h.Publish("t", entry("a", "a11"))
	if got := datas(next(t, s)); !slices.Equal(got, []string{"a11"}) {
		t.Errorf("Next = %q, want [a11]", got)
	}
	if got, want := datas(next(t, late)), []string{"10", "a11"}; !slices.Equal(got, want) {
		t.Errorf("Next of a later joiner = %q, want %q", got, want)
	}
}

func TestBatchSpansTopics(t *testing.T) {
	h := newHub(t, noWindow)
	s := subscribe(t, h, map[string]uint64{"tasks": 0, "offers": 0, "agents": 0})
	h.Publish("tasks", entry("t1", "t1"))
	h.Publish("offers", entry("o1", "o1"), entry("o2", "o2"))
	h.Publish("tasks", entry("t2", "t2"))
	b := next(t, s)
	if want := []string{"o1", "o2", "t1", "t2"}; !slices.Equal(datas(b), want) {
		t.Errorf("Next = %q, want %q (topics in name order)", datas(b), want)
	}
	if want := []hub.Position{{"offers", 2}, {"tasks", 2}}; !slices.Equal(b.Seqs, want) {
		t.Errorf("Next seqs = %v, want %v", b.Seqs, want)
	}
}

// TestSkip: a topic's skipped entries make every older position resync,
// while a subscriber from the skip's position, or one waiting when it
// happens at the current position, gets what follows and nothing stale.
func TestSkip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHub(t, hub.Config{FlushWindow: hub.NoFlushWindow})
		if h.Subscribed("t") {
			t.Fatal("Subscribed before any subscriber")
		}
		h.Publish("t", numbered(1, 3)...)
		old := h.Seq("t")
		at := h.Skip("t")
		if at != old+1 || h.Seq("t") != at {
			t.Fatalf("Skip = %d, Seq %d; want both %d", at, h.Seq("t"), old+1)
		}
		h.Publish("t", entry("k", "after"))
		if st := h.Stats(); st.Published != 4 || st.Skips != 1 {
			t.Errorf("Stats: %d published, %d skips; want 4 and 1", st.Published, st.Skips)
		}

		for _, since := range []uint64{0, 2, old} {
			s := subscribe(t, h, map[string]uint64{"t": since})
			if b := next(t, s); !slices.Equal(b.Resync, []string{"t"}) || len(b.Entries) != 0 {
				t.Errorf("since %d: Next = %q, resync %q; want a resync alone", since, datas(b), b.Resync)
			}
			s.Close()
		}
		s := subscribe(t, h, map[string]uint64{"t": at})
		if !h.Subscribed("t") || h.Subscribed("u") {
			t.Errorf("Subscribed(t) = %v, Subscribed(u) = %v; want true, false", h.Subscribed("t"), h.Subscribed("u"))
		}
		if b := next(t, s); !slices.Equal(datas(b), []string{"after"}) || len(b.Resync) != 0 {
			t.Errorf("since the skip: Next = %q, resync %q; want the entry after it", datas(b), b.Resync)
		}
		// A subscriber waiting at the current position when a skip happens
		// missed what was skipped: it is told to resync.
		done := make(chan hub.Batch)
		go func() { done <- next(t, s) }()
		synctest.Wait()
		h.Skip("t")
		if b := <-done; !slices.Equal(b.Resync, []string{"t"}) {
			t.Errorf("waiting across a skip: Next = %q, resync %q; want a resync", datas(b), b.Resync)
		}
		s.Close()
		if h.Subscribed("t") {
			t.Error("Subscribed after the last subscriber closed")
		}
	})
}
