// Package hub is a publish/subscribe hub that fans rendered bytes out to
// many subscribers per topic, with sequence numbers, so that a live page
// never misses or repeats a change.
//
// A publisher (the web layer, after rendering a change once) calls Publish
// with entries: a key naming the target, such as a DOM id, and the bytes
// that replace it. Each topic numbers its entries 1, 2, 3, ... and retains
// the newest of them, bounded by Config.History and Config.HistoryBytes, in
// one ring that every subscriber reads with its own cursor. Publishing copies
// the entries into the ring and signals the subscribers that are waiting; it
// never blocks on a subscriber and never buffers per subscriber. Each
// viewer's goroutine calls Subscriber.Next, which returns everything the
// viewer has not yet received as one Batch, to be written as one message:
// of several entries for the same key only the newest is kept. Latency
// follows the load: a topic becomes busy when it is published more than
// four times a Config.FlushWindow (on a moving mean), and quiet again below
// twice; each publish of a quiet topic goes to a waiting viewer at once,
// and a busy topic's batches are at least a window apart, so it costs one
// write per viewer per window rather than one per change.
//
// # Joining without a gap
//
// A page shows the state after some entries of each topic. If it shows
// exactly the state after the entries up to sequence number S of a topic,
// it subscribes with since[topic] = S and then receives exactly the entries
// after S: those published while the page rendered and loaded included, as
// long as the history still holds them.
//
// The hub cannot know which state a page shows, so the caller keeps state
// and sequence numbers paired. The goroutine that publishes a topic's
// changes (one per topic, so that the order of publishes is the order of
// changes) applies a change to its view state, publishes the rendered
// entries and then records the state together with the sequence number
// Publish returned, as one immutable value, for example behind an
// atomic.Pointer. A page handler loads one such value, renders from its
// state and embeds its sequence numbers and the hub's Epoch in the page. A
// page rendered from a value recorded before the latest publish is still
// consistent: it receives that publish as new. Reading Seq separately from
// the state is not enough: reading it after the state can lose the entries
// published in between, and reading it before can deliver them twice, which
// is harmless only for keyed entries.
//
// A subscriber receives a Resync for a topic instead of entries when the
// entries after its position are no longer all retained (it joined late or
// fell behind), or when its position is beyond the topic's sequence number
// (it comes from before a restart), or when the publisher left entries of
// the topic unpublished after it (Skip, for a topic nobody followed). It is
// never silently skipped. Delivery
// of that topic then stops until the caller re-renders the region from one
// recorded value, as above, and calls Subscriber.Resume with that value's
// sequence number. Positions from another hub (another Epoch) are
// meaningless here; such a client must be re-rendered whole.
//
// Topics are created by their first Publish, Skip or Subscribe and live as long as
// the hub, so their names must come from a small set, such as one per page
// or region, not one per task.
//
// The hub knows nothing of Mesos, HTML, JSON or WebSockets and imports none
// of Offerdeck's other packages. It starts no goroutine and logs nothing;
// Stats gives its counters.
package hub
