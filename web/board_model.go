package web

import (
	"slices"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// The board's memory of offers: what the offer lanes draw and the flow
// counts, kept by the model as offers come and go.

// boardWindow is how far back the offer lanes reach: the longest window a
// viewer can pick; they show defaultLaneWindow of it unless asked.
const (
	boardWindow       = 15 * time.Minute
	defaultLaneWindow = 5 * time.Minute
)

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
	m.noteFlow(laneHow(why), at)
	if at.After(m.latest) {
		m.latest = at
	}
	m.spans = append(m.spans, offerSpan{ID: o.ID, AgentID: o.AgentID, Arrived: o.Arrived, Ended: at, How: why})
	from := m.latest.Add(-boardWindow)
	drop := 0
	for drop < len(m.spans) && (m.spans[drop].Ended.Before(from) || len(m.spans)-drop > spansKept) {
		if m.spansDropped == nil {
			m.spansDropped = map[string]bool{}
		}
		m.spansDropped[m.spans[drop].AgentID] = true
		drop++
	}
	m.spans = slices.Delete(m.spans, 0, drop)
}

// flowKeys are what the offer flow counts, in the order of flowSecond's
// counts: offers received, and how they ended.
var flowKeys = []string{"received", "accepted", "declined", "expired", "rescinded"}

// flowSecond counts what the flow counts in one second.
type flowSecond struct {
	sec int64
	n   [5]int // by flowKeys
}

// noteFlow counts one offer received or ended (key) at at, in the ring of
// the last minute's seconds.
func (m *model) noteFlow(key string, at time.Time) {
	k := slices.Index(flowKeys, key)
	if k < 0 || at.IsZero() {
		return
	}
	sec := at.Unix()
	slot := &m.lastMinute[sec%int64(len(m.lastMinute))]
	switch {
	case slot.sec == sec:
	case slot.sec < sec:
		*slot = flowSecond{sec: sec}
	default:
		return // older than the minute the slot holds
	}
	slot.n[k]++
}

// flowLastMinute counts what the flow counts in the minute up to the
// board's newest moment.
func (m *model) flowLastMinute(key string) int {
	k := slices.Index(flowKeys, key)
	if k < 0 {
		return 0
	}
	from, n := m.latest.Unix()-int64(len(m.lastMinute)), 0
	for _, slot := range m.lastMinute {
		if slot.sec > from {
			n += slot.n[k]
		}
	}
	return n
}

// chartWindow is how far back the board's chart of offered and used
// resources reaches.
const chartWindow = 10 * time.Minute

// chartStep is the chart's clock step: it is drawn up to the start of the
// step its clock is in, one value a step, so that it changes once a step
// (the feed also samples on a timer at each step's start) rather than with
// every offer.
const chartStep = 10 * time.Second

// samplesKept bounds the chart's steps, whatever the window holds.
const samplesKept = 1200

// resourceTotals are the cpus, mem and disk of a set of resources, and
// how many ports.
type resourceTotals struct{ CPUs, Mem, Disk, Ports float64 }

// add adds (n = 1) or takes away (n = -1) rs.
func (t *resourceTotals) add(rs []*mesos.Resource, n float64) {
	t.CPUs = round3(t.CPUs + n*mesos.ScalarSum(rs, "cpus"))
	t.Mem = round3(t.Mem + n*mesos.ScalarSum(rs, "mem"))
	t.Disk = round3(t.Disk + n*mesos.ScalarSum(rs, "disk"))
	t.Ports += n * float64(mesos.RangeCount(mesos.Ranges(rs, "ports")))
}

// plus is t and u together.
func (t resourceTotals) plus(u resourceTotals) resourceTotals {
	return resourceTotals{round3(t.CPUs + u.CPUs), round3(t.Mem + u.Mem), round3(t.Disk + u.Disk), t.Ports + u.Ports}
}

// addTo adds rs to the totals of key in m, forgetting totals that fall to
// nothing.
func addTo(m map[string]resourceTotals, key string, rs []*mesos.Resource, n float64) {
	t := m[key]
	t.add(rs, n)
	if t == (resourceTotals{}) {
		delete(m, key)
		return
	}
	m[key] = t
}

// sample is the offered and used totals from At until the next sample.
type sample struct {
	At            time.Time
	Offered, Used resourceTotals
}

// sample notes the totals at now when they changed: one step per second
// at most, the steps of the window kept, and the last one before it,
// which says where the chart starts.
func (m *model) sample(now time.Time) {
	if now.Before(m.chartAt) {
		now = m.chartAt // the clock went back: the chart does not
	}
	m.chartAt = now
	s := sample{At: now.Truncate(time.Second), Offered: m.offered, Used: m.used}
	if n := len(m.samples); n > 0 {
		last := &m.samples[n-1]
		if last.Offered == s.Offered && last.Used == s.Used {
			return
		}
		if last.At.Equal(s.At) {
			last.Offered, last.Used = s.Offered, s.Used
			return
		}
	}
	m.samples = append(m.samples, s)
	from := s.At.Add(-chartWindow)
	drop := 0
	for drop+1 < len(m.samples) && (!m.samples[drop+1].At.After(from) || len(m.samples)-drop > samplesKept) {
		drop++
	}
	m.samples = slices.Delete(m.samples, 0, drop)
}
