package hub

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"
)

// entryBuffer backs Batch.Entries. A subscriber takes one from its hub's
// pool when it has entries to return and gives it back when it parks, so
// thousands of idle viewers hold none while busy ones reuse them.
type entryBuffer struct {
	entries []Entry
}

// Batch is what one Next returns: everything a subscriber has not yet
// received, to be written as one message. Its slices are valid until the
// next call to Next on the same Subscriber (Resume leaves them alone); the
// Data slices in its entries stay valid for ever and must not be modified.
type Batch struct {
	// Entries are the new entries, topic after topic in the order of the
	// topic names, each topic's in publish order. Of several entries with
	// the same non-empty key only the newest is here, at its own place.
	Entries []Entry
	// Seqs holds, for each topic with entries in this batch, the sequence
	// number the subscriber has now consumed, coalesced entries included.
	// A client that resumes later subscribes from these.
	Seqs []Position
	// Resync lists topics whose entries the subscriber can no longer
	// receive: it fell behind the retained history, or it asked for a
	// sequence number the topic has not reached. Their delivery stops
	// until the caller re-renders them and calls Resume.
	Resync []string
}

// Position is a sequence number within a topic.
type Position struct {
	Topic string
	Seq   uint64
}

// Subscriber receives the entries of a fixed set of topics. Next and Resume
// must be called from one goroutine at a time; Close may be called from any
// goroutine at any time. The caller must Close it.
type Subscriber struct {
	h       *Hub
	wake    chan struct{} // capacity 1: a wakeup is a flag, never a count
	closed  atomic.Bool
	cursors []cursor // sorted by topic name; never resized, waiters point into it
	window  time.Duration
	ready   time.Time // earliest return of the next batch, with a window
	timer   *time.Timer
	batch   Batch
	buf     *entryBuffer // nil while parked
	// notify, while set, is called instead of a wakeup: NextOrNotify
	// parked without a goroutine. Whoever swaps it out calls it.
	notify atomic.Pointer[func()]
	counters
}

// cursor is a subscriber's place in one topic.
type cursor struct {
	t     *topic
	sub   *Subscriber
	seq   uint64 // newest sequence number consumed
	state cursorState
	widx  int // index in t.waiters or -1; guarded by t.wmu
}

type cursorState uint8

const (
	active    cursorState = iota
	resyncDue             // to be reported in the next batch
	paused                // reported; waiting for Resume
)

// counters are a subscriber's contributions to Stats. Only the goroutine
// calling Next adds to them, so the atomics are never contended.
type counters struct {
	delivered, coalesced, resyncs, batches atomic.Uint64
}

func (c *counters) add(o *counters) {
	c.delivered.Add(o.delivered.Load())
	c.coalesced.Add(o.coalesced.Load())
	c.resyncs.Add(o.resyncs.Load())
	c.batches.Add(o.batches.Load())
}

// Subscribe returns a Subscriber to the topics that are the keys of since,
// each from the sequence number after its value: since[topic] is the
// sequence number of the state the caller already shows (see the package
// doc). A topic whose entries after since are no longer all retained, or
// whose since is beyond its current sequence number, is reported in the
// first batch's Resync. Subscribe does not block on publishers.
func (h *Hub) Subscribe(since map[string]uint64) *Subscriber {
	s := &Subscriber{
		h:       h,
		wake:    make(chan struct{}, 1),
		cursors: make([]cursor, 0, len(since)),
		window:  h.window,
	}
	names := make([]string, 0, len(since))
	for name := range since {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t := h.topic(name)
		t.subs.Add(1)
		s.cursors = append(s.cursors, cursor{t: t, sub: s, widx: -1})
		s.cursors[len(s.cursors)-1].seek(since[name])
	}
	h.smu.Lock()
	h.subs[s] = struct{}{}
	h.smu.Unlock()
	return s
}

// seek moves c to just after seq.
func (c *cursor) seek(seq uint64) {
	c.seq, c.state = seq, active
	if seq > c.t.seq.Load() {
		c.state = resyncDue
	}
}

// Resume restarts delivery of topic after since, the sequence number of the
// state the caller now shows, typically after re-rendering a topic listed in
// Batch.Resync. It works like Subscribe for that one topic, and may be
// called for any subscribed topic at any time. It reports an error if the
// subscriber is closed or was not subscribed to topic.
func (s *Subscriber) Resume(topic string, since uint64) error {
	if s.closed.Load() {
		return ErrClosed
	}
	i, ok := slices.BinarySearchFunc(s.cursors, topic, func(c cursor, name string) int {
		switch {
		case c.t.name < name:
			return -1
		case c.t.name > name:
			return 1
		}
		return 0
	})
	if !ok {
		return fmt.Errorf("hub: resume %q: not subscribed", topic)
	}
	s.cursors[i].seek(since)
	return nil
}

// Next blocks until the subscriber has something to receive, then returns
// it all as one Batch. With a flush window, a batch of a busy topic (see
// Config.FlushWindow) is
// returned no sooner than the window after the previous batch, so entries
// published meanwhile share a batch; entries of quiet topics, and the first
// batch after a quiet spell, go out at once. So latency follows the load:
// a viewer at rest is sent each change as it comes, and one of a busy
// topic gets at most one message a window. Next
// returns ctx.Err() when ctx is done, ErrClosed after Close and ErrHubClosed
// after Hub.Close. In steady state it does not allocate.
func (s *Subscriber) Next(ctx context.Context) (Batch, error) {
	return s.next(ctx, nil)
}

// NextOrNotify is Next for a caller that keeps no goroutine waiting while
// its subscriber is idle. Where Next would wait for entries and none of
// the subscriber's topics is busy, NextOrNotify arranges for ready to be
// called once, when something arrives or the subscriber or the hub is
// closed, and returns ErrParked at once; the caller then calls it again,
// typically from a goroutine that ready starts. While a topic is busy it
// waits as Next does, so a busy viewer keeps its goroutine rather than
// starting one per batch. ready runs on the goroutine of a Publish, Skip,
// Close or Hub.Close: it must not block, nor call the hub or the
// subscriber other than Close. After ErrParked, no method but Close may be
// called until ready has been.
func (s *Subscriber) NextOrNotify(ctx context.Context, ready func()) (Batch, error) {
	return s.next(ctx, ready)
}

func (s *Subscriber) next(ctx context.Context, ready func()) (Batch, error) {
	s.reset()
	for {
		if err := s.err(); err != nil {
			return Batch{}, err
		}
		if !s.pending() {
			if ready != nil && !s.anyBusy() {
				if s.parkNotify(ready) {
					return Batch{}, ErrParked
				}
				continue
			}
			if err := s.park(ctx); err != nil {
				return Batch{}, err
			}
			continue
		}
		if s.window > 0 && s.busy() {
			if d := time.Until(s.ready); d > 0 {
				if err := s.sleep(ctx, d); err != nil {
					return Batch{}, err
				}
			}
		}
		s.collect()
		if s.window > 0 {
			s.ready = time.Now().Add(s.window)
		}
		s.batches.Add(1)
		return s.batch, nil
	}
}

// busy reports whether a topic with entries pending is busy: then the
// batch waits for the flush window, gathering more; otherwise (the viewer's
// topics are quiet) it goes at once.
func (s *Subscriber) busy() bool {
	for i := range s.cursors {
		c := &s.cursors[i]
		if c.state == active && c.t.seq.Load() != c.seq && c.t.busy.Load() {
			return true
		}
	}
	return false
}

// reset empties the batch, dropping its references to entries.
func (s *Subscriber) reset() {
	if s.buf != nil {
		clear(s.buf.entries)
		s.buf.entries = s.buf.entries[:0]
	}
	s.batch.Entries = nil
	s.batch.Seqs = s.batch.Seqs[:0]
	s.batch.Resync = s.batch.Resync[:0]
}

func (s *Subscriber) err() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.h.closed.Load() {
		return ErrHubClosed
	}
	return nil
}

// pending reports whether a batch would not be empty.
func (s *Subscriber) pending() bool {
	for i := range s.cursors {
		c := &s.cursors[i]
		if c.state == resyncDue || c.state == active && c.t.seq.Load() != c.seq {
			return true
		}
	}
	return false
}

// park waits for a publish to one of the active topics, Close, Hub.Close or
// ctx. It may return early; the caller checks again.
func (s *Subscriber) park(ctx context.Context) error {
	if s.buf != nil {
		s.h.buffers.Put(s.buf)
		s.buf = nil
	}
	for i := range s.cursors {
		c := &s.cursors[i]
		if c.state == active && !c.t.await(c) {
			// Cursors registered so far will cost a spurious wakeup
			// at most.
			return nil
		}
	}
	select {
	case <-s.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// anyBusy reports whether one of the active topics is busy.
func (s *Subscriber) anyBusy() bool {
	for i := range s.cursors {
		if c := &s.cursors[i]; c.state == active && c.t.busy.Load() {
			return true
		}
	}
	return false
}

// parkNotify registers ready to be called by the next publish to an active
// topic, Close or Hub.Close, and reports true; or reports false, ready
// not to be called, if there is no need to wait: something arrived or
// closed meanwhile. Once ready is stored a signal may call it at any time,
// and the goroutine it starts owns the subscriber: from then on this one
// touches only notify and wake, which are safe to share.
func (s *Subscriber) parkNotify(ready func()) bool {
	if s.buf != nil {
		s.h.buffers.Put(s.buf)
		s.buf = nil
	}
	select {
	case <-s.wake: // stale: everything up to now is checked below
	default:
	}
	for i := range s.cursors {
		if c := &s.cursors[i]; c.state == active && !c.t.await(c) {
			return false
		}
	}
	if s.err() != nil {
		return false
	}
	f := &ready
	s.notify.Store(f)
	// A signal between the checks above and the Store found no ready
	// and left a wakeup instead.
	select {
	case <-s.wake:
		if s.notify.CompareAndSwap(f, nil) {
			return false
		}
		// A later signal took ready: its goroutine may be waiting
		// for this wakeup.
		s.signal()
	default:
	}
	return true
}

// sleep waits for d, returning early only if ctx is done or a Close
// happened.
func (s *Subscriber) sleep(ctx context.Context, d time.Duration) error {
	if s.timer == nil {
		s.timer = time.NewTimer(d)
	} else {
		s.timer.Reset(d)
	}
	for {
		select {
		case <-s.timer.C:
			return nil
		case <-s.wake:
			// A wakeup from a topic registered before the last batch is
			// stale; only a Close ends the window early.
			if err := s.err(); err != nil {
				s.timer.Stop()
				return err
			}
		case <-ctx.Done():
			s.timer.Stop()
			return ctx.Err()
		}
	}
}

// collect fills the batch from every cursor.
func (s *Subscriber) collect() {
	if s.buf == nil {
		if b, ok := s.h.buffers.Get().(*entryBuffer); ok {
			s.buf = b
		} else {
			s.buf = new(entryBuffer)
		}
	}
	var delivered, dropped int
	for i := range s.cursors {
		c := &s.cursors[i]
		if c.state == paused || c.state == active && c.t.seq.Load() == c.seq {
			continue
		}
		if c.state == active {
			n := len(s.buf.entries)
			d, ok := c.t.read(c, &s.buf.entries, &s.batch.Seqs)
			delivered += len(s.buf.entries) - n
			dropped += int(d)
			if ok {
				continue
			}
		}
		c.state = paused
		s.batch.Resync = append(s.batch.Resync, c.t.name)
		s.resyncs.Add(1)
	}
	s.batch.Entries = s.buf.entries
	s.delivered.Add(uint64(delivered))
	s.coalesced.Add(uint64(dropped))
}

// signal wakes the subscriber's Next, if it waits, or calls the ready of
// its NextOrNotify, without blocking.
func (s *Subscriber) signal() {
	if f := s.notify.Swap(nil); f != nil {
		(*f)()
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Close removes the subscriber from the hub and makes every Next, pending or
// future, return ErrClosed. It returns nil; closing twice is harmless.
func (s *Subscriber) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	for i := range s.cursors {
		c := &s.cursors[i]
		c.t.unwait(c)
		c.t.subs.Add(-1)
	}
	h := s.h
	h.smu.Lock()
	delete(h.subs, s)
	h.retired.add(&s.counters)
	h.smu.Unlock()
	s.signal()
	return nil
}
