package hub

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults used for the zero fields of Config.
const (
	// DefaultHistory is the number of entries a topic retains: at the
	// 2k changes/s the dashboard is sized for, four seconds of catch-up
	// for a viewer whose writes stalled, or for a page that took long to
	// render under load, before it has to resync. Less made a busy
	// dashboard unusable: at 5k changes/s a page rendered while the
	// scheduler was busy took longer than a 1024-entry history lasted, so
	// every page load and every re-render after a resync resynced again.
	DefaultHistory = 8192
	// DefaultHistoryBytes bounds a topic's retained keys and data: 8192
	// rows of about 2 KB.
	DefaultHistoryBytes = 16 << 20
	// DefaultFlushWindow is the least time between two batches of one
	// subscriber of a busy topic: under load every viewer gets at most 200
	// messages a second, each holding everything that changed. A topic
	// becomes busy when it is published more often than every quarter
	// window (800 a second) on a moving mean, and idle again below every
	// half window (400 a second); an idle topic's entries go out at once,
	// since sending each costs little at that rate and waiting costs the
	// viewer latency (cmd/bench's M1 at rest). Measured with cmd/bench
	// (100 viewers, 2k events/s): 5 ms halves the latency of 10 ms
	// (p50 2.9 against 5.9 ms) for 1.2 against 0.8 µs of CPU per delivered
	// event, still below the raw TCP floor's 1.8 µs; 2 ms costs 1.8 µs.
	DefaultFlushWindow = 5 * time.Millisecond
)

// NoFlushWindow, as Config.FlushWindow, makes Next return a batch as soon as
// anything is available.
const NoFlushWindow time.Duration = -1

// maxHistory keeps the ring's power-of-two size within int on every
// platform; a topic that needs more history needs a different design.
const maxHistory = 1 << 24

// Errors returned by Subscriber.Next, NextOrNotify and Resume.
var (
	// ErrClosed reports that the Subscriber was closed.
	ErrClosed = errors.New("hub: subscriber closed")
	// ErrHubClosed reports that the Hub was closed: the server is going
	// away, and a WebSocket handler should close with "going away".
	ErrHubClosed = errors.New("hub: hub closed")
	// ErrParked reports that NextOrNotify parked the subscriber: its
	// ready will be called.
	ErrParked = errors.New("hub: parked until ready is called")
)

// Config tunes a Hub. The zero value of every field is a documented default.
type Config struct {
	// History is the number of entries each topic retains for
	// subscribers that are behind or joining. Zero means DefaultHistory.
	History int
	// HistoryBytes bounds the bytes (keys plus data) each topic retains;
	// the newest entry is retained whatever its size. Zero means
	// DefaultHistoryBytes.
	HistoryBytes int
	// FlushWindow is the least time between two batches returned by one
	// subscriber's Next while one of its topics is busy (published more
	// often than every quarter window, until less often than every half
	// window); entries published meanwhile wait and go out together.
	// Entries of quiet topics go out at once. Zero
	// means DefaultFlushWindow; negative (NoFlushWindow) means no window.
	FlushWindow time.Duration
}

// Entry is one rendered change: Data replaces the target named by Key. The
// hub never reads or modifies Data; the publisher must not modify it after
// Publish, because every subscriber receives the same slice.
type Entry struct {
	// Key names the target Data updates, for example a DOM id. Of several
	// entries with the same non-empty Key that a subscriber has not yet
	// received, it receives only the newest. An empty Key marks an entry
	// that is never coalesced, such as a row appended to a list.
	Key  string
	Data []byte
}

// Hub fans entries out from publishers to subscribers, per topic, with
// sequence numbers. It starts no goroutine. Create it with New; all its
// methods are safe for concurrent use.
type Hub struct {
	history      int
	historyBytes int
	window       time.Duration
	epoch        uint64
	closed       atomic.Bool

	// topics maps names to *topic. Publish looks its topic up every time
	// and topics are rarely added, which is what sync.Map is for.
	topics sync.Map
	// buffers holds *entryBuffer for the batches of subscribers that are
	// not parked, so that a parked one holds none.
	buffers sync.Pool

	smu     sync.Mutex
	subs    map[*Subscriber]struct{}
	retired counters // of closed subscribers
}

// New validates cfg and returns an empty hub.
func New(cfg Config) (*Hub, error) {
	if cfg.History < 0 || cfg.History > maxHistory {
		return nil, fmt.Errorf("hub: history %d: want 0 (default) to %d entries", cfg.History, maxHistory)
	}
	if cfg.HistoryBytes < 0 {
		return nil, fmt.Errorf("hub: history bytes %d: must not be negative", cfg.HistoryBytes)
	}
	h := &Hub{
		history:      cmp.Or(cfg.History, DefaultHistory),
		historyBytes: cmp.Or(cfg.HistoryBytes, DefaultHistoryBytes),
		window:       cmp.Or(cfg.FlushWindow, DefaultFlushWindow),
		epoch:        rand.Uint64(),
		subs:         make(map[*Subscriber]struct{}),
	}
	return h, nil
}

// Epoch returns a random number fixed for the life of h. Sequence numbers
// are meaningful only within one Hub: a page that records its positions
// should record the epoch too, and a client resuming with another epoch
// (the server restarted) must be re-rendered, for example by subscribing
// with since = math.MaxUint64, which always resyncs.
func (h *Hub) Epoch() uint64 { return h.epoch }

// Publish appends entries to topic's history, numbering them with the next
// sequence numbers of the topic, and wakes the topic's waiting subscribers
// once for the whole call. It returns the sequence number of the last entry,
// or the topic's current one if entries is empty. It never waits for a
// subscriber to read: its work is the copy into the history plus one
// non-blocking signal per waiting subscriber, and the topic's lock is only
// ever held for such copies.
//
// Publishes to one topic are numbered in the order they take the topic's
// lock; a caller that needs its own order (every caller does, see the
// package doc) publishes each topic from one goroutine.
func (h *Hub) Publish(topic string, entries ...Entry) uint64 {
	t := h.topic(topic)
	if len(entries) == 0 {
		return t.seq.Load()
	}
	seq := t.append(entries, h.history, h.historyBytes)
	t.wake()
	return seq
}

// Subscribed reports whether the named topic has an open subscriber now.
// A publisher that renders entries only for topics someone follows asks
// it, and calls Skip for what it left out.
func (h *Hub) Subscribed(name string) bool {
	t, ok := h.topics.Load(name)
	return ok && t.(*topic).subs.Load() > 0
}

// Skip stands for entries of the named topic that were left unpublished:
// it numbers one position for them and drops the topic's history, so a
// subscriber starting from an older position (a page whose snapshot came
// before them) is told to resync rather than miss them, and one starting
// from the returned position misses nothing. It wakes the topic's waiting
// subscribers, if any raced in. Like Publish, it is called from the
// topic's one publishing goroutine.
func (h *Hub) Skip(name string) uint64 {
	t := h.topic(name)
	seq := t.skip()
	t.wake()
	return seq
}

// Seq returns the sequence number of the newest entry published to the
// named topic (or of its latest Skip, if that came after), or 0 if none
// was. See the package doc for reading it
// consistently with the state a page shows.
func (h *Hub) Seq(name string) uint64 {
	t, ok := h.topics.Load(name)
	if !ok {
		return 0
	}
	return t.(*topic).seq.Load()
}

// Close makes every Next, pending or future, return ErrHubClosed. Publish
// and Subscribe keep working, but no entry is delivered any more. Close
// returns nil; closing twice is harmless.
func (h *Hub) Close() error {
	if h.closed.Swap(true) {
		return nil
	}
	h.smu.Lock()
	subs := make([]*Subscriber, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.smu.Unlock()
	// Outside the lock: a NextOrNotify's ready may close its subscriber.
	for _, s := range subs {
		s.signal()
	}
	return nil
}

// topic returns the named topic, creating it empty if needed. Topics live
// as long as the hub.
func (h *Hub) topic(name string) *topic {
	if t, ok := h.topics.Load(name); ok {
		return t.(*topic)
	}
	t, _ := h.topics.LoadOrStore(name, newTopic(name, h.window/4))
	return t.(*topic)
}
