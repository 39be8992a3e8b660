package web

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// scaleOffers numbers the scale cluster's offers.
var scaleOffers atomic.Int64

// scaleOffer is an offer of the scale cluster's agent i, its id as a
// master makes them (its own id, "-O" and a counter).
func scaleOffer(i int, at time.Time) scheduler.Change {
	id := fmt.Sprintf("9f3c6e2a-41d8-4b7e-a0c5-7e2f1d6b8a90-O%d", scaleOffers.Add(1))
	agent, host := fmt.Sprintf("agent-%05d", i), fmt.Sprintf("scale-%05d.demo", i)
	o := &mesos.Offer{Id: &mesos.OfferID{Value: &id}, AgentId: &mesos.AgentID{Value: &agent}, Hostname: &host,
		Attributes: []*mesos.Attribute{mesos.TextAttribute("rack", fmt.Sprintf("r%03d", i/40))},
		Resources:  []*mesos.Resource{mesos.Scalar("cpus", 7), mesos.Scalar("mem", 31488), mesos.Scalar("disk", 100000), mesos.PortRange(31000, 32000)}}
	return scheduler.Change{Kind: scheduler.OfferAdded, Offer: &scheduler.Offer{ID: id, AgentID: agent, Hostname: host, Offer: o, Arrived: at, HoldUntil: at.Add(time.Minute)}}
}

// TestBoardStaysSmallAtScale: at 10,000 agents, each offering, with the
// lanes' history full, the board's first load stays within 300 KB and
// one offer coming or going costs a viewer at most 4 KB (issue 15).
func TestBoardStaysSmallAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("scale cluster in -short")
	}
	l := scaleLive(t)
	l.s.interest.want(topicBoardMap)
	for _, a := range l.m.agents {
		l.m.noteGroupings(a.Attributes)
	}
	h := l.s.hub
	// The moments: base is a step of the lanes' clock, and the offers
	// below arrive shortly before it and end shortly after, so that a
	// change crosses the step, within one day of the lanes' origin (they
	// go out whole when it moves, once a day).
	base := time.Now().Truncate(laneStep)
	if base.Add(time.Minute).Truncate(laneDay) != base.Add(-boardWindow).Truncate(laneDay) {
		base = base.Add(-time.Hour)
	}
	now := base.Add(-20 * time.Second)
	// The history: offers that came and went over the window, spread
	// over the agents, the last ended before now.
	start := base.Add(-boardWindow + 10*time.Second)
	var cs []scheduler.Change
	for i := range spansKept {
		at := start.Add(time.Duration(i) * (boardWindow - time.Minute) / spansKept)
		c := scaleOffer(i*7%scaleAgents, at)
		cs = append(cs, c, scheduler.Change{Kind: scheduler.OfferRemoved, OfferID: c.Offer.ID, Why: []string{"declined", "expired", "rescinded", "accepted"}[i%4], At: at.Add(20 * time.Second)})
	}
	for i := range scaleAgents {
		cs = append(cs, scaleOffer(i, now))
	}
	l.feed(cs...)

	var v ui.Board
	if _, err := l.read(context.Background(), nil, func(m *model) {
		v.Flow, v.Lanes, v.Racks, v.Chart = boardFlow(m), boardLanes(m), boardMap(m, -1), boardChart(m)
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ui.BoardPage(v).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("/board: %d KB", buf.Len()/1024)
	if buf.Len() > 300<<10 {
		t.Errorf("/board is %d KB at scale, want at most 300 KB", buf.Len()/1024)
	}
	if !strings.Contains(buf.String(), `class="board-racks board-racks-big"`) {
		t.Errorf("the map at scale is not marked big: its groups off the screen would be rendered")
	}

	// What one offer coming or going sends every viewer: the lanes send
	// the lane of its agent when they show it, the map the agent's card
	// and its group's totals when it shows it, never either whole. The
	// sizes are logged.
	for _, c := range []struct {
		what   string
		change scheduler.Change
		card   []string // the map cards the change must send, and no other
		lane   string   // the lane it must send
	}{
		{"an offer arrives", scaleOffer(4242, now.Add(time.Second)), nil, ""},
		{"an offer is declined", scheduler.Change{Kind: scheduler.OfferRemoved, OfferID: cs[len(cs)-1].Offer.ID, Why: "declined", At: now.Add(2 * time.Second)}, nil, ""},
		{"an offer of a shown agent is declined", scheduler.Change{Kind: scheduler.OfferRemoved, OfferID: cs[len(cs)-scaleAgents].Offer.ID, Why: "declined", At: now.Add(3 * time.Second)},
			[]string{"rack-r000-total-meters", "rackagent-agent-00000-meters"}, "lane-of-agent-00000"},
		// The lanes' clock steps on: the axis goes out, the lanes stand.
		{"an offer arrives in the next step", scaleOffer(4243, base.Add(5*time.Second)), nil, ""},
		{"an offer of a shown agent is declined after that", scheduler.Change{Kind: scheduler.OfferRemoved, OfferID: cs[len(cs)-scaleAgents+1].Offer.ID, Why: "declined", At: base.Add(6 * time.Second)},
			[]string{"rack-r000-total-meters", "rackagent-agent-00001-meters"}, "lane-of-agent-00001"},
	} {
		board, racks := h.Seq(topicBoard), h.Seq(topicBoardMap)
		var end time.Time
		if _, err := l.read(context.Background(), nil, func(m *model) { end = boardLanes(m).End }); err != nil {
			t.Fatal(err)
		}
		l.feed(c.change)
		stepped, axis := c.change.At.After(end) || c.change.Offer != nil && c.change.Offer.Arrived.After(end), false
		size := 0
		var lanes []string
		for _, ch := range published(t, h, topicBoard, board) {
			axis = axis || ch.ID == "lanes-axis"
			if ch.ID == "board-chart" {
				t.Logf("%s: the chart's step passed meanwhile: board-chart %d bytes", c.what, len(ch.HTML))
				continue
			}
			size += len(ch.HTML)
			if ch.ID == "board-lanes" || strings.HasPrefix(ch.ID, "lane-of-") && !strings.HasSuffix(ch.ID, "-numbers") {
				lanes = append(lanes, strings.TrimSuffix(ch.ID, "-bars"))
			}
			t.Logf("%s: %s %d bytes", c.what, ch.ID, len(ch.HTML))
		}
		// Besides its own, a lane whose oldest offer the history let go
		// (it keeps spansKept) may go out.
		if slices.Contains(lanes, "board-lanes") || len(lanes) > 2 || c.lane != "" && !slices.Contains(lanes, c.lane) {
			t.Errorf("%s: the lanes sent %q, want the lane %q and at most one more", c.what, lanes, c.lane)
		}
		if axis != stepped {
			t.Errorf("%s: the lanes' axis went out: %v, want %v (the clock stepped on: %v)", c.what, axis, stepped, stepped)
		}
		var cards []string
		for _, ch := range published(t, h, topicBoardMap, racks) {
			size += len(ch.HTML)
			cards = append(cards, ch.ID)
			t.Logf("%s: %s %d bytes", c.what, ch.ID, len(ch.HTML))
		}
		if !slices.Equal(cards, c.card) {
			t.Errorf("%s: the map sent %q, want %q", c.what, cards, c.card)
		}
		// On the wire: each change as the stream sends it, JSON with its
		// id and HTML. The chart goes out on its own clock, when the wall
		// clock passes one of its steps, whatever changed (its bound is
		// TestChartStaysSmall's).
		wire := 0
		for _, e := range publishedEntries(t, h, topicBoard, board) {
			if !strings.Contains(string(e.Data), `"id":"board-chart"`) {
				wire += len(e.Data)
			}
		}
		for _, e := range publishedEntries(t, h, topicBoardMap, racks) {
			wire += len(e.Data)
		}
		t.Logf("%s: %d bytes of HTML, %d on the wire, to every board viewer", c.what, size, wire)
		if wire > 4<<10 {
			t.Errorf("%s: %d bytes on the wire to every board viewer, want at most 4 KB", c.what, wire)
		}
	}
}

// TestFlowCountsTheLastMinute: the flow's rates count what happened in
// the minute up to the board's newest moment, whatever came before.
func TestFlowCountsTheLastMinute(t *testing.T) {
	l, _ := bareLive(t)
	base := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var cs []scheduler.Change
	for i := range 100 { // one offer a second for 100 s, declined 5 s later
		c := scaleOffer(i%scaleAgents, base.Add(time.Duration(i)*time.Second))
		cs = append(cs, c, scheduler.Change{Kind: scheduler.OfferRemoved, OfferID: c.Offer.ID, Why: "declined", At: base.Add(time.Duration(i+5) * time.Second)})
	}
	l.feed(cs...)
	f := boardFlow(l.m)
	// The newest moment is the last decline, at 104 s: the minute after
	// 44 s holds arrivals 45..99 and declines 45..104.
	if f.Received != 100 || f.ReceivedLastMinute != 55 {
		t.Errorf("received %d, %d in the last minute; want 100, 55", f.Received, f.ReceivedLastMinute)
	}
	for _, it := range f.Items {
		want := map[string][2]int{"declined": {100, 60}, "accepted": {0, 0}, "held": {0, -1}}[it.Key]
		if it.Key == "declined" || it.Key == "accepted" || it.Key == "held" {
			if it.Count != want[0] || it.LastMinute != want[1] {
				t.Errorf("%s: %d, %d in the last minute; want %d, %d", it.Key, it.Count, it.LastMinute, want[0], want[1])
			}
		}
	}
	// An offer that arrives ten minutes on leaves nothing of the old
	// minute in the new one.
	l.feed(scaleOffer(7, base.Add(10*time.Minute)))
	if f := boardFlow(l.m); f.ReceivedLastMinute != 1 || f.Items[1].LastMinute != 0 {
		t.Errorf("ten minutes on: %d received and %d declined in the last minute, want 1 and 0", f.ReceivedLastMinute, f.Items[1].LastMinute)
	}
}

// TestChartMovesOnByTheStep: the chart is drawn up to the start of its
// clock's step, one value a step, and goes out to the board's viewers when
// the step changes, not with every offer.
func TestChartMovesOnByTheStep(t *testing.T) {
	l, h := bareLive(t)
	ctx := context.Background()
	chartOut := func(since uint64) string {
		t.Helper()
		var html string
		for _, c := range published(t, h, topicBoard, since) {
			if c.ID == "board-chart" {
				html = c.HTML
			}
		}
		return html
	}
	reload := func() string {
		t.Helper()
		var v ui.BoardChart
		if _, err := l.read(ctx, nil, func(m *model) { v = boardChart(m) }); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := ui.BoardChartView(v).Render(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	next := time.Now().Truncate(chartStep).Add(chartStep)

	seq := h.Seq(topicBoard)
	l.feed(scaleOffer(1, time.Now())) // 7 cpus offered, in this step
	if got := chartOut(seq); got != "" && !strings.Contains(got, "draws its first step") {
		t.Errorf("an offer in the chart's first step drew the chart: %s", got)
	}

	seq = h.Seq(topicBoard)
	l.tick(ctx, next)
	got := chartOut(seq)
	if !strings.Contains(got, "cpus: 0 used by our tasks, 7 offered to us at the last step") || !strings.Contains(got, `d="M590 4H1200"`) {
		t.Errorf("the step's end drew %s, want the 7 cpus offered in the step that ended", got)
	}
	if got != reload() {
		t.Errorf("the chart sent differs from its reload:\n%s\n%s", got, reload())
	}

	seq = h.Seq(topicBoard)
	l.feed(scaleOffer(2, time.Now())) // 14 cpus offered, in the step now running
	if got := chartOut(seq); got != "" {
		t.Errorf("an offer within a step sent the chart: %s", got)
	}

	seq = h.Seq(topicBoard)
	l.tick(ctx, next.Add(chartStep))
	got = chartOut(seq)
	// Two steps, scaled to the 14 cpus at the top: 7 is half way down.
	if !strings.Contains(got, "cpus: 0 used by our tasks, 14 offered to us at the last step") || !strings.Contains(got, `d="M580 52H590V4H1200"`) ||
		!strings.Contains(got, `d="M580 100V100H1200V100Z"`) {
		t.Errorf("the next step drew %s, want 7 then 14 cpus offered and none used", got)
	}
	if got != reload() {
		t.Errorf("the chart sent differs from its reload:\n%s\n%s", got, reload())
	}
}

// TestChartStaysSmall: a chart whose every second differs, cpus and mem
// offered and used alike, still goes out in at most 4 KB once a step:
// one value a step, in whole units.
func TestChartStaysSmall(t *testing.T) {
	l, h := bareLive(t)
	start := time.Now().Truncate(chartStep).Add(-chartWindow)
	l.mu.Lock()
	for i := range int(chartWindow / time.Second) {
		v := float64(i%97) * 1.5
		l.m.offered = resourceTotals{CPUs: 1000 + v, Mem: 300000 + 97*v}
		l.m.used = resourceTotals{CPUs: 500 - v, Mem: 200000 - 89*v}
		l.m.sample(start.Add(time.Duration(i) * time.Second))
	}
	l.mu.Unlock()
	seq := h.Seq(topicBoard)
	l.tick(context.Background(), start.Add(chartWindow))
	var wire int
	for _, e := range publishedEntries(t, h, topicBoard, seq) {
		wire += len(e.Data)
	}
	t.Logf("a full chart: %d bytes on the wire", wire)
	if wire == 0 || wire > 4<<10 {
		t.Errorf("a full chart went out in %d bytes, want some and at most 4 KB", wire)
	}
}

// TestAcceptedOfferNamesItsTask: an accepted offer's bar says which task
// it became, live (the task's arrival sends its lane again) and on a
// reload.
func TestAcceptedOfferNamesItsTask(t *testing.T) {
	l, h := bareLive(t)
	at := time.Now()
	o := scaleOffer(3, at)
	l.feed(o)
	l.feed(scheduler.Change{Kind: scheduler.OfferRemoved, OfferID: o.Offer.ID, Why: "accepted", At: at.Add(2 * time.Second)})
	seq := h.Seq(topicBoard)
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: &scheduler.Task{ID: "web-1", AgentID: o.Offer.AgentID, State: mesos.TaskState_TASK_STAGING,
		Launch: &scheduler.Launch{Name: "web", OfferID: o.Offer.ID, Launched: at.Add(2 * time.Second)}}})
	want := "accepted after 2 s: became task web"
	var sent string
	for _, c := range published(t, h, topicBoard, seq) {
		if c.ID == "board-lanes" || strings.HasPrefix(c.ID, "lane-of-") {
			sent += c.HTML
		}
	}
	if !strings.Contains(sent, want) {
		t.Errorf("the task's arrival sent the lanes %q, want a bar saying %q", sent, want)
	}
	// A bar's title is a pointer's alone: the lane's label and its row of
	// the lanes' table name the task too, for a keyboard and a reader.
	for _, w := range []string{`aria-label="scale-00003.demo, offers in the last 15 min: 1 accepted; became task web"`, `<td>task <span class="name">web</span></td>`} {
		if !strings.Contains(sent, w) {
			t.Errorf("the task's arrival sent the lanes %q, want them to say %q", sent, w)
		}
	}
	var titles []string
	if _, err := l.read(context.Background(), nil, func(m *model) {
		for _, r := range boardLanes(m).Rows {
			for _, b := range r.Bars {
				titles = append(titles, b.Title)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(titles, func(s string) bool { return strings.HasSuffix(s, want) }) {
		t.Errorf("a reload's bars say %q, want one saying %q", titles, want)
	}
}

// TestLanesStandAsDrawnWhileTheirClockSteps: a bar's position counts from
// the lanes' origin, the start of the day, so that as the clock steps on
// only the axis goes out and a lane already drawn stands; when the day
// turns the origin moves, and the lanes go out whole, drawn from it.
func TestLanesStandAsDrawnWhileTheirClockSteps(t *testing.T) {
	l, h := bareLive(t)
	day := time.Now().UTC().Truncate(laneDay).Add(-laneDay)
	lanes := func() ui.BoardLanes {
		var v ui.BoardLanes
		if _, err := l.read(context.Background(), nil, func(m *model) { v = boardLanes(m) }); err != nil {
			t.Fatal(err)
		}
		return v
	}
	sent := func(seq uint64) []string {
		var ids []string
		for _, c := range published(t, h, topicBoard, seq) {
			if c.ID == "board-lanes" || c.ID == "lanes-axis" || strings.HasPrefix(c.ID, "lane-of-") {
				ids = append(ids, c.ID)
			}
		}
		return ids
	}
	first := day.Add(laneDay - 3*laneStep + 10*time.Second) // 23:57:10
	o := scaleOffer(1, first)
	l.feed(o, scheduler.Change{Kind: scheduler.OfferRemoved, OfferID: o.Offer.ID, Why: "declined", At: first.Add(5 * time.Second)})
	v := lanes()
	if !v.Origin.Equal(day) || len(v.Rows) != 1 || len(v.Rows[0].Bars) != 1 {
		t.Fatalf("lanes from %v with rows %+v, want one bar of agent 1 counted from %v", v.Origin, v.Rows, day)
	}
	if b := v.Rows[0].Bars[0]; b.X != first.Sub(day).Seconds() || b.W != 5 {
		t.Errorf("the bar stands at %v for %v s, want %v for 5 s", b.X, b.W, first.Sub(day).Seconds())
	}

	// The clock steps on (23:58:20): the axis goes out, and agent 2's
	// new lane with the lanes, which now show one more; agent 1's bar
	// stands where it was.
	seq := h.Seq(topicBoard)
	l.feed(scaleOffer(2, first.Add(70*time.Second)))
	if got := sent(seq); !slices.Equal(got, []string{"board-lanes"}) {
		t.Errorf("a lane more sent %q, want the lanes whole", got)
	}
	seq = h.Seq(topicBoard)
	l.feed(scaleOffer(2, first.Add(130*time.Second))) // 23:59:20
	if got := sent(seq); !slices.Equal(got, []string{"lanes-axis", "lane-of-agent-00002-bars", "lane-of-agent-00002-numbers"}) {
		t.Errorf("a step and an offer of agent 2 sent %q, want the axis and agent 2's lane alone", got)
	}
	if w := lanes(); w.Rows[0].Bars[0] != v.Rows[0].Bars[0] {
		t.Errorf("agent 1's bar moved from %+v to %+v as the clock stepped", v.Rows[0].Bars[0], w.Rows[0].Bars[0])
	}

	// The day turns: the lanes go out whole, counted from the new day.
	seq = h.Seq(topicBoard)
	l.feed(scaleOffer(2, day.Add(laneDay+10*time.Second)))
	if got := sent(seq); !slices.Contains(got, "board-lanes") {
		t.Errorf("the day's turn sent %q, want the lanes whole", got)
	}
	if w := lanes(); !w.Origin.Equal(day.Add(laneDay)) || w.Rows[0].Bars[0].X != v.Rows[0].Bars[0].X-laneDay.Seconds() {
		t.Errorf("after the day's turn the lanes count from %v, agent 1's bar at %v; want %v and %v",
			w.Origin, w.Rows[0].Bars[0].X, day.Add(laneDay), v.Rows[0].Bars[0].X-laneDay.Seconds())
	}
}

// TestChartNumbersChangeByTheMinute: the chart's table holds what was
// used and offered at the end of each whole minute it draws, and goes out
// when a minute passes, not with each of the chart's steps.
func TestChartNumbersChangeByTheMinute(t *testing.T) {
	l, h := bareLive(t)
	start := time.Now().Truncate(time.Minute).Add(-3 * time.Minute)
	set := func(cpus float64, at time.Time) {
		l.mu.Lock()
		l.m.offered, l.m.used = resourceTotals{CPUs: cpus + 1, Mem: 2048}, resourceTotals{CPUs: cpus, Mem: 512}
		l.m.sample(at)
		l.mu.Unlock()
	}
	numbers := func(seq uint64) (string, bool) {
		for _, c := range published(t, h, topicBoard, seq) {
			if c.ID == "chart-numbers" {
				return c.HTML, true
			}
		}
		return "", false
	}
	set(2, start.Add(5*time.Second))
	set(3, start.Add(65*time.Second))
	seq := h.Seq(topicBoard)
	l.tick(context.Background(), start.Add(2*time.Minute))
	table, sent := numbers(seq)
	row := func(at time.Time, cpus float64) string {
		return fmt.Sprintf(`<tr><th scope="row">%s</th><td>%s</td><td>%s</td><td>512 MB</td><td>2.0 GB</td></tr>`,
			at.Local().Format("15:04"), scalarText("cpus", cpus), scalarText("cpus", cpus+1))
	}
	if want := row(start.Add(time.Minute), 2) + row(start.Add(2*time.Minute), 3); !sent || !strings.Contains(table, want) {
		t.Fatalf("the chart's first render sent its table %v: %q, want the rows %q", sent, table, want)
	}
	set(4, start.Add(125*time.Second))
	seq = h.Seq(topicBoard)
	l.tick(context.Background(), start.Add(2*time.Minute+20*time.Second))
	if table, sent := numbers(seq); sent {
		t.Errorf("a step within a minute sent the chart's table: %q", table)
	}
	seq = h.Seq(topicBoard)
	l.tick(context.Background(), start.Add(3*time.Minute))
	if table, sent := numbers(seq); !sent || !strings.Contains(table, row(start.Add(3*time.Minute), 4)) {
		t.Errorf("the minute's end sent the chart's table %v: %q, want a row for it", sent, table)
	}
}
