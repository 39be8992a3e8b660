package hub

import (
	"slices"
	"strings"
)

// Stats is a snapshot of a Hub's counters, for metrics. Counters only grow,
// except those that say what is held now. A batch returned by a Next that
// races with its own subscriber's Close may be missing from them.
type Stats struct {
	// Subscribers is the number of open subscribers now.
	Subscribers int
	// Published is the number of entries ever published, all topics.
	Published uint64
	// Skips is the number of Skip calls, all topics.
	Skips uint64
	// Delivered is the number of entries returned by Next, all
	// subscribers.
	Delivered uint64
	// Coalesced is the number of entries subscribers skipped because a
	// newer entry with the same key was in the same batch.
	Coalesced uint64
	// Resyncs is the number of topics reported in Batch.Resync.
	Resyncs uint64
	// Batches is the number of batches returned by Next.
	Batches uint64
	// Wakeups is the number of signals publishers sent to waiting
	// subscribers.
	Wakeups uint64
	// RetainedBytes is the keys and data held in history now, all topics.
	RetainedBytes int
	// Topics has one element per topic, sorted by name.
	Topics []TopicStats
}

// TopicStats is a snapshot of one topic.
type TopicStats struct {
	Topic string
	// Seq is the newest sequence number, which is also the number of
	// entries ever published to the topic plus its Skips.
	Seq uint64
	// Skips is the number of Skip calls for the topic.
	Skips uint64
	// Retained is the number of entries held in history now.
	Retained int
	// RetainedBytes is their keys and data.
	RetainedBytes int
	// Subscribers is the number of open subscribers to the topic.
	Subscribers int
	// Waiting is the number of subscribers parked in Next on this topic.
	Waiting int
	// Wakeups is the number of signals publishers sent to them.
	Wakeups uint64
}

// Stats returns a snapshot of h's counters. Its cost grows with the number
// of topics and subscribers, not entries; it is meant for a metrics scrape,
// not for every publish.
func (h *Hub) Stats() Stats {
	var st Stats
	for _, t := range h.topics.Range {
		ts := t.(*topic).stats()
		st.Published += ts.Seq - ts.Skips
		st.Skips += ts.Skips
		st.Wakeups += ts.Wakeups
		st.RetainedBytes += ts.RetainedBytes
		st.Topics = append(st.Topics, ts)
	}
	slices.SortFunc(st.Topics, func(a, b TopicStats) int { return strings.Compare(a.Topic, b.Topic) })

	var c counters
	h.smu.Lock()
	st.Subscribers = len(h.subs)
	c.add(&h.retired)
	for s := range h.subs {
		c.add(&s.counters)
	}
	h.smu.Unlock()
	st.Delivered = c.delivered.Load()
	st.Coalesced = c.coalesced.Load()
	st.Resyncs = c.resyncs.Load()
	st.Batches = c.batches.Load()
	return st
}

func (t *topic) stats() TopicStats {
	ts := TopicStats{Topic: t.name, Subscribers: int(t.subs.Load())}
	t.mu.RLock()
	ts.Seq = t.seq.Load()
	ts.Skips = t.skips
	ts.Retained = int(ts.Seq + 1 - t.first)
	ts.RetainedBytes = t.bytes
	t.mu.RUnlock()
	t.wmu.Lock()
	ts.Waiting = len(t.waiters)
	ts.Wakeups = t.wakeups
	t.wmu.Unlock()
	return ts
}
