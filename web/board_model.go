package web

import (
	"slices"
	"time"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// The board's memory of offers: what the offer lanes draw and the flow
// counts, kept by the model as offers come and go.

// boardWindow is how far back the offer lanes reach.
const boardWindow = 5 * time.Minute

// spansKept bounds the ended offers kept, whatever the window holds.
const spansKept = 2000

// offerSpan is an offer that ended: when it came and went, and how.
type offerSpan struct {
	ID, AgentID    string
	Arrived, Ended time.Time
	How            string // "accepted", "declined", "expired", "rescinded", ...
}

// endSpan notes that o ended at at, why, and forgets the spans that
// ended before the window.
func (m *model) endSpan(o scheduler.Offer, why string, at time.Time) {
	if at.IsZero() {
		at = o.Arrived
	}
	m.flow[why]++
	if at.After(m.latest) {
		m.latest = at
	}
	m.spans = append(m.spans, offerSpan{ID: o.ID, AgentID: o.AgentID, Arrived: o.Arrived, Ended: at, How: why})
	from := m.latest.Add(-boardWindow)
	drop := 0
	for drop < len(m.spans) && (m.spans[drop].Ended.Before(from) || len(m.spans)-drop > spansKept) {
		drop++
	}
	m.spans = slices.Delete(m.spans, 0, drop)
}
