package hub

import (
	"sync"
	"sync/atomic"
	"time"
)

// topic is one topic's history: a ring of the newest entries that every
// subscriber reads with its own cursor, so a publish costs the same whatever
// the number of subscribers, and an idle subscriber costs a cursor.
type topic struct {
	name string
	// seq is the newest sequence number. It is written under mu, after the
	// ring holds the entries it counts, and read without a lock to tell
	// whether a subscriber is behind.
	seq  atomic.Uint64
	subs atomic.Int64 // open subscribers
	// busy is whether publishes come often enough for subscribers to
	// batch them (see pace); a subscriber of only idle topics sends each
	// one at once.
	busy atomic.Bool

	mu sync.RWMutex
	// ring holds the entries first..seq at index seq&(len(ring)-1). It
	// grows by doubling up to the history limit, so a quiet topic is small.
	ring  []record
	first uint64 // oldest retained sequence number; seq+1 when empty
	bytes int    // keys and data retained
	skips uint64 // Skip calls
	// latest maps keys to the sequence number of their newest entry, to
	// link it to the next. It may hold evicted entries, which link
	// ignores, and is pruned when it outgrows the ring: a delete per
	// eviction costs more than the occasional sweep.
	latest map[string]uint64
	// last is the time of the latest publish and gap the moving mean of
	// the time between publishes; busyBelow is the mean gap under which
	// the topic is busy, zero for never.
	last      time.Time
	gap       time.Duration
	busyBelow time.Duration

	wmu sync.Mutex
	// waiters are the cursors of subscribers parked in Next until this
	// topic passes them. Publish takes the whole list and leaves spare in
	// its place, so it signals outside the lock without allocating.
	waiters []*cursor
	spare   []*cursor
	wakeups uint64
}

// record is one retained entry.
type record struct {
	key  string
	data []byte
	// next is the sequence number of the next entry with the same key, or
	// 0 if there is none yet. A reader that sees next within its range
	// skips this entry: that is the whole of coalescing, decided once per
	// publish instead of once per subscriber.
	next uint64
}

func newTopic(name string, busyBelow time.Duration) *topic {
	return &topic{name: name, first: 1, busyBelow: busyBelow, gap: maxGap(busyBelow)}
}

// maxGap bounds the gaps the moving mean takes in: a burst after a quiet
// spell turns a topic busy within a dozen publishes, and one stall of a
// busy publisher (a loaded machine) does not turn it idle.
func maxGap(busyBelow time.Duration) time.Duration { return 4 * busyBelow }

// pace takes the time of a publish into the moving mean of the gaps
// between publishes (weight 1/8 to the newest) and sets busy from it. A
// topic becomes busy when the mean falls below busyBelow, and idle again
// when it rises above twice that: between the two it stays as it was, so
// a publisher's jitter does not flip it. A busy topic's subscribers batch
// within their flush window; an idle one's send at once, since each
// publish costs them one write and at that rate the writes are cheap.
// Called under mu.
func (t *topic) pace(now time.Time) {
	d := min(now.Sub(t.last), maxGap(t.busyBelow))
	t.last = now
	t.gap += (d - t.gap) / 8
	switch busy := t.busy.Load(); {
	case !busy && t.gap < t.busyBelow:
		t.busy.Store(true)
	case busy && t.gap > 2*t.busyBelow:
		t.busy.Store(false)
	}
}

// size is what an entry counts against HistoryBytes.
func size(key string, data []byte) int { return len(key) + len(data) }

// append adds entries to the ring, evicting the oldest beyond the limits,
// and returns the new newest sequence number.
func (t *topic) append(entries []Entry, limit, limitBytes int) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.busyBelow > 0 {
		t.pace(time.Now())
	}
	head := t.seq.Load()
	for _, e := range entries {
		head++
		if head-t.first >= uint64(limit) {
			t.evict()
		}
		t.reserve(head - t.first + 1)
		t.ring[head&uint64(len(t.ring)-1)] = record{key: e.Key, data: e.Data}
		t.bytes += size(e.Key, e.Data)
		if e.Key != "" {
			t.link(e.Key, head, limit)
		}
		for t.bytes > limitBytes && t.first < head {
			t.evict()
		}
	}
	t.seq.Store(head)
	return head
}

// skip numbers one position for unpublished entries and empties the
// history, so every older position is out of it.
func (t *topic) skip() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	head := t.seq.Load()
	for t.first <= head {
		t.evict()
	}
	clear(t.latest)
	t.skips++
	head++
	t.first = head + 1 // empty
	t.seq.Store(head)
	return head
}

// link records seq as the newest entry of key and points the previous one
// at it.
func (t *topic) link(key string, seq uint64, limit int) {
	if t.latest == nil {
		t.latest = make(map[string]uint64)
	}
	// latest[key] is the newest entry ever published with key, so if it
	// is still retained it is the one to link.
	if prev, ok := t.latest[key]; ok && prev >= t.first {
		t.ring[prev&uint64(len(t.ring)-1)].next = seq
	} else if !ok && len(t.latest) >= 2*limit {
		t.prune()
	}
	t.latest[key] = seq
}

// prune forgets the keys whose newest entry was evicted. At least limit
// new keys come between two prunes, so its cost per publish is constant.
func (t *topic) prune() {
	for key, seq := range t.latest {
		if seq < t.first {
			delete(t.latest, key)
		}
	}
}

// evict drops the oldest retained entry.
func (t *topic) evict() {
	r := &t.ring[t.first&uint64(len(t.ring)-1)]
	t.bytes -= size(r.key, r.data)
	*r = record{}
	t.first++
}

// reserve grows the ring to hold n entries.
func (t *topic) reserve(n uint64) {
	if n <= uint64(len(t.ring)) {
		return
	}
	// The ring is full: it holds first..first+len(t.ring)-1.
	ring := make([]record, max(8, 2*len(t.ring)))
	for seq := t.first; seq < t.first+uint64(len(t.ring)); seq++ {
		ring[seq&uint64(len(ring)-1)] = t.ring[seq&uint64(len(t.ring)-1)]
	}
	t.ring = ring
}

// read appends the entries after c.seq, coalesced, to entries and the new
// position to seqs, and advances c. It reports false, leaving c alone, if
// the entries after c.seq are no longer all retained or c.seq is ahead of
// the topic.
func (t *topic) read(c *cursor, entries *[]Entry, seqs *[]Position) (dropped uint64, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	head := t.seq.Load()
	if c.seq > head || c.seq+1 < t.first {
		return 0, false
	}
	if c.seq == head {
		return 0, true
	}
	mask := uint64(len(t.ring) - 1)
	for seq := c.seq + 1; seq <= head; seq++ {
		r := &t.ring[seq&mask]
		if r.next != 0 && r.next <= head {
			dropped++
			continue
		}
		*entries = append(*entries, Entry{Key: r.key, Data: r.data})
	}
	c.seq = head
	*seqs = append(*seqs, Position{Topic: t.name, Seq: head})
	return dropped, true
}

// await registers c to be woken by the next publish and reports true, or
// reports false if there is no need to wait: the topic has passed c already
// or the subscriber is closed.
func (t *topic) await(c *cursor) bool {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	// Checked under wmu, which Publish takes after storing seq and Close
	// after setting closed, so neither can slip between check and
	// registration.
	if t.seq.Load() != c.seq || c.sub.closed.Load() {
		return false
	}
	if c.widx < 0 {
		c.widx = len(t.waiters)
		t.waiters = append(t.waiters, c)
	}
	return true
}

// unwait removes c from the waiters, if it is there.
func (t *topic) unwait(c *cursor) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if c.widx < 0 {
		return
	}
	last := len(t.waiters) - 1
	moved := t.waiters[last]
	t.waiters[c.widx] = moved
	moved.widx = c.widx
	t.waiters[last] = nil
	t.waiters = t.waiters[:last]
	c.widx = -1
}

// wake signals every waiting subscriber once.
func (t *topic) wake() {
	t.wmu.Lock()
	ws := t.waiters
	if len(ws) == 0 {
		t.wmu.Unlock()
		return
	}
	t.waiters, t.spare = t.spare[:0], nil
	for _, c := range ws {
		c.widx = -1
	}
	t.wakeups += uint64(len(ws))
	t.wmu.Unlock()

	for _, c := range ws {
		c.sub.signal()
	}
	clear(ws)
	t.wmu.Lock()
	// A concurrent Publish may have left its own list as spare already;
	// then this one goes to the garbage collector.
	if t.spare == nil {
		t.spare = ws[:0]
	}
	t.wmu.Unlock()
}
