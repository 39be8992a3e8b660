package web

import (
	"sync"
	"time"
)

// followFor is how long a page's topics count as followed after the page
// was rendered, before its stream subscribes: the feed keeps rendering them
// meanwhile, so the stream resumes from the page's positions without a gap.
const followFor = time.Minute

// interest remembers when a page was last rendered for each topic. The
// feed renders a topic's changes only while a stream follows it or a page
// was rendered for it lately; for the others it tells the hub it skipped
// them (hub.Skip), and a page that subscribes later is re-rendered. A
// dashboard that nobody watches renders nothing.
type interest struct {
	mu sync.Mutex
	at map[string]time.Time
}

// want records that a page is being rendered for topics; call it before
// reading their positions.
func (in *interest) want(topics ...string) {
	now := time.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.at == nil {
		in.at = map[string]time.Time{}
	}
	for _, t := range topics {
		in.at[t] = now
	}
}

// recent reports whether a page was rendered for topic within followFor.
func (in *interest) recent(topic string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	at, ok := in.at[topic]
	return ok && time.Since(at) < followFor
}
