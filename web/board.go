package web

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/cluster"
	"github.com/offerdeck/offerdeck/ui"
)

// The demo board: what a room watching a projector should see at a
// glance, drawn from the same model as every page.

// topicBoard carries the board's regions.
const topicBoard = "board"

// boardAgents bounds the agents the board draws; the rest are counted.
const boardAgents = 60

// The board's agent map is grouped by an attribute the viewer picks
// (?group=pod), by rack when not asked. Every grouping is a region of its
// own topic, rendered from the model alone like any other, and only while
// a page follows it: topicBoardMap for the default, and topicBoardMap-N
// for the Nth attribute name the model learned. The names are the
// cluster's, so their number is the cluster's, bounded by maxGroupings.
const (
	topicBoardMap   = "board-map"
	maxGroupings    = 32
	maxGroupingName = 64
)

// groupingTopic is the topic of the agent map grouped by the model's ith
// grouping, or the default's for -1.
func groupingTopic(i int) string {
	if i < 0 {
		return topicBoardMap
	}
	return topicBoardMap + "-" + strconv.Itoa(i)
}

// isGroupingTopic reports whether topic is that of a grouping the model
// knows, for a stream that asks to follow it.
func (l *live) isGroupingTopic(topic string) bool {
	if topic == topicBoardMap {
		return true
	}
	n, ok := strings.CutPrefix(topic, topicBoardMap+"-")
	if !ok {
		return false
	}
	i, err := strconv.Atoi(n)
	if err != nil || i < 0 || strconv.Itoa(i) != n {
		return false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return i < len(l.m.groupings)
}

func (s *Server) board(w http.ResponseWriter, r *http.Request) error {
	group := r.URL.Query().Get("group")
	picked := -1
	if group != "" {
		known := false
		if _, err := s.live.read(r.Context(), nil, func(m *model) { picked, known = m.groupingIndex[group] }); err != nil {
			return err
		}
		if !known {
			setFlash(w, ui.Flash{Kind: "error", Message: fmt.Sprintf("No agent offering to us has the attribute %q: the agents are grouped as usual.", group[:min(len(group), maxGroupingName)])})
			http.Redirect(w, r, "/board", http.StatusSeeOther)
			return nil
		}
	}
	var v ui.Board
	layout, err := s.pageOf(w, r, "Board", "/board", []string{topicBoard, groupingTopic(picked)}, func(m *model) {
		v.Flow, v.Lanes, v.Racks, v.Chart = boardFlow(m), boardLanes(m), boardMap(m, picked), boardChart(m)
	})
	if err != nil {
		return err
	}
	v.Layout = layout
	return render(w, r, http.StatusOK, ui.BoardPage(v))
}

// boardMap is the board's agent map grouped by the model's ith grouping
// (-1: the default), with the groupings a viewer can pick.
func boardMap(m *model, i int) ui.BoardRacks {
	by := ""
	if i >= 0 {
		by = m.groupings[i]
	}
	r := boardRacks(m, by)
	r.Picked = by
	r.Choices = slices.Sorted(slices.Values(m.groupings))
	return r
}

// flowKinds are the ways the flow counts offers, in the order shown.
var flowKinds = [][2]string{
	{"accepted", "accepted"},
	{"declined", "declined by a person"},
	{"expired", "declined by the hold policy"},
	{"rescinded", "rescinded"},
	{"held", "held now"},
}

func boardFlow(m *model) ui.BoardFlow {
	f := ui.BoardFlow{Received: m.flow["received"], ReceivedLastMinute: m.flowLastMinute("received")}
	for _, k := range flowKinds {
		n, last := m.flow[k[0]], m.flowLastMinute(k[0])
		if k[0] == "held" {
			n, last = len(m.offers), -1
		}
		it := ui.FlowItem{Key: k[0], Label: k[1], Count: n, LastMinute: last}
		if f.Received > 0 {
			it.Percent = 100 * float64(n) / float64(f.Received)
		}
		f.Items = append(f.Items, it)
	}
	return f
}

// laneStep is the step of the lanes' clock: they are drawn up to the end
// of the step the newest moment falls in (End), and the client slides them
// on to the present. Between steps, one offer coming or going re-renders
// its agent's lane alone.
const laneStep = time.Minute

// laneDay is the step of the lanes' origin: a bar's position is seconds
// from the start of the (UTC) day the newest moment falls in, so that it
// stands as drawn while the clock steps on; only the lanes' axis, which
// says where they end, goes out at a step. The lanes go out whole once a
// day, when the origin moves. (A day keeps positions small enough for the
// browser's single-precision SVG coordinates: a sixteenth of a second at
// worst.)
const laneDay = 24 * time.Hour

// boardLanes draws the offers the model keeps (those of the last
// boardWindow before its newest moment) and those held, one lane per agent
// in the pages' order.
func boardLanes(m *model) ui.BoardLanes {
	l := ui.BoardLanes{Now: m.latest, Shown: defaultLaneWindow, Kept: duration(boardWindow)}
	if l.Now.IsZero() {
		return l
	}
	l.End = m.latest.Truncate(laneStep).Add(laneStep)
	l.Origin = m.latest.Truncate(laneDay)
	x := func(t time.Time) float64 { return t.Sub(l.Origin).Seconds() }
	// A held offer reaches past the right edge as the client slides the
	// lanes on, whenever the clock stands until the origin moves.
	heldTo := x(l.Origin.Add(2*laneDay + boardWindow))
	byAgent := map[string][]offerSpan{}
	for _, sp := range m.spans {
		byAgent[sp.AgentID] = append(byAgent[sp.AgentID], sp)
	}
	for i, id := range m.agentOrder {
		if i == boardAgents {
			l.More = len(m.agentOrder) - i
			break
		}
		a := m.agents[id]
		row := ui.LaneRow{DOMID: domID("lane-of-", id), AgentID: id, Hostname: marked(a.Hostname)}
		count := map[string]int{}
		var became map[string][]string // offer id -> the tasks it became
		var tasks []string             // what its accepted offers became
		for _, sp := range byAgent[id] {
			title := fmt.Sprintf("%s %s after %s", shortOfferID(sp.ID), sp.How, duration(sp.Ended.Sub(sp.Arrived).Round(time.Second)))
			if sp.How == "accepted" {
				if became == nil {
					became = tasksByOffer(m, id)
				}
				if names := became[sp.ID]; len(names) > 0 {
					title += ": became " + taskNames(names)
					tasks = append(tasks, names...)
				}
			}
			row.Bars = append(row.Bars, ui.LaneBar{X: x(sp.Arrived), W: max(sp.Ended.Sub(sp.Arrived).Seconds(), 0.5), How: laneHow(sp.How), Title: title})
			count[laneHow(sp.How)]++
		}
		for _, o := range m.agentOffers(id) {
			row.Bars = append(row.Bars, ui.LaneBar{X: x(o.Arrived), W: heldTo - x(o.Arrived), How: "held",
				Title: shortOfferID(o.ID) + " held"})
			count["held"]++
		}
		row.Summary = laneSummary(marked(a.Hostname), count)
		if len(tasks) > 0 {
			row.Summary += "; became " + taskNames(tasks)
			row.Became, row.BecameMore = tasks[:min(len(tasks), 2)], max(len(tasks)-2, 0)
		}
		for i, k := range flowKinds {
			row.Counts[i] = count[k[0]]
		}
		l.Rows = append(l.Rows, row)
	}
	return l
}

// tasksByOffer names the tasks on agent id by the offer they were
// launched with, oldest first.
func tasksByOffer(m *model, id string) map[string][]string {
	out := map[string][]string{}
	for t := range m.agentTasks(id) {
		if t.OfferID != "" {
			out[t.OfferID] = append(out[t.OfferID], t.ID)
		}
	}
	for offer, ids := range out {
		slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(m.rank(m.current(b)), m.rank(m.current(a))) })
		for i, tid := range ids {
			ids[i] = marked(m.current(tid).Name)
		}
		out[offer] = ids
	}
	return out
}

// taskNames says which tasks an offer became: "task web", "tasks web and
// db", "tasks web, db and 3 more".
func taskNames(names []string) string {
	switch len(names) {
	case 1:
		return "task " + names[0]
	case 2:
		return "tasks " + names[0] + " and " + names[1]
	}
	return "tasks " + names[0] + ", " + names[1] + " and " + strconv.Itoa(len(names)-2) + " more"
}

// laneHow is the class of an offer's end: the kinds the legend names,
// anything else (dropped on resubscribing, say) counted as rescinded.
func laneHow(why string) string {
	switch why {
	case "accepted", "declined", "expired", "rescinded":
		return why
	}
	return "rescinded"
}

func laneSummary(host string, count map[string]int) string {
	var parts []string
	for _, k := range flowKinds {
		if n := count[k[0]]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k[1]))
		}
	}
	if len(parts) == 0 {
		return host + ": no offers in the last " + duration(boardWindow)
	}
	return host + ", offers in the last " + duration(boardWindow) + ": " + strings.Join(parts, ", ")
}

func shortOfferID(id string) string {
	if i := strings.LastIndex(id, "-"); i >= 0 && i < len(id)-1 {
		return id[i+1:]
	}
	return id
}

// boardRacks groups the agents by the attribute by, or by their rack
// attribute (when any agent has one) for "", and meters what this
// framework sees of each: what its tasks use and what is offered to it. A
// group of several agents gets a line of its totals. Past boardAgents
// agents in all, the map shows the boardGroups busiest groups (by cpus
// used), each with its busiest agents, and counts the rest.
func boardRacks(m *model, by string) ui.BoardRacks {
	r := ui.BoardRacks{By: by}
	for _, id := range m.agentOrder {
		if r.By != "" {
			break
		}
		if rackOf(m, id, "rack") != "" {
			r.By = "rack"
		}
	}
	members := map[string][]string{}
	var names []string
	for _, id := range m.agentOrder {
		name := groupOf(m, id, r.By)
		if members[name] == nil {
			names = append(names, name)
		}
		members[name] = append(members[name], id)
	}
	slices.Sort(names)
	perGroup := len(m.agentOrder)
	if perGroup > boardAgents {
		if len(names) > boardGroups {
			busy := make(map[string]float64, len(names)) // cpus used, by group
			for name, ids := range members {
				for _, id := range ids {
					busy[name] += agentBusy(m, id)
				}
			}
			shown := slices.Clone(names)
			slices.SortStableFunc(shown, func(a, b string) int { return cmp.Compare(busy[b], busy[a]) })
			shown = shown[:boardGroups]
			for _, name := range names {
				if !slices.Contains(shown, name) {
					r.MoreGroups++
					r.More += len(members[name])
				}
			}
			slices.Sort(shown)
			names = shown
		}
		perGroup = max(1, boardAgents/len(names))
	}
	for _, name := range names {
		ids := members[name]
		g := ui.RackGroup{DOMID: domID("rack-", name), Name: marked(name), Size: len(ids)}
		if len(ids) > 1 {
			var used, offered resourceTotals
			var whole *cluster.Agent
			for _, id := range ids {
				used, offered = used.plus(m.agentUsed[id]), offered.plus(m.agentOffered[id])
				if a := m.cluster.agents[id]; a != nil {
					if whole == nil {
						whole = &cluster.Agent{}
					}
					whole.Total, whole.Used = whole.Total.Add(a.Total), whole.Used.Add(a.Used)
				}
			}
			// A group's totals meter the two resources that decide most
			// placements; its agents' cards meter all four. Each offer
			// change sends its agent's card and its group's totals, and
			// the four meters of both would not fit a live update's 4 KB.
			g.Total = meters(used, offered, whole)[:2]
		}
		if len(ids) > perGroup {
			ids = slices.Clone(ids)
			slices.SortStableFunc(ids, func(a, b string) int { return cmp.Compare(agentBusy(m, b), agentBusy(m, a)) })
			ids = ids[:perGroup]
			r.More += g.Size - perGroup
		}
		for _, id := range ids {
			a := boardAgent(m, id)
			a.DOMID = domID("rackagent-", id)
			g.Agents = append(g.Agents, a)
		}
		r.Groups = append(r.Groups, g)
	}
	return r
}

// boardGroups bounds the groups the map shows past boardAgents agents.
const boardGroups = 12

// agentBusy is how busy an agent is for the map: the cpus its tasks use,
// all frameworks' when the cluster's view knows it, else ours.
func agentBusy(m *model, id string) float64 {
	if a := m.cluster.agents[id]; a != nil {
		return a.Used.CPUs
	}
	return m.agentUsed[id].CPUs
}

// groupOf is the name of the map's group of the agent id when grouped by
// the attribute by ("" groups them all together).
func groupOf(m *model, id, by string) string {
	if by == "" {
		return "all agents"
	}
	return cmp.Or(rackOf(m, id, by), "none")
}

// rackOf is the agent's value of the attribute by, "" when it has none.
func rackOf(m *model, id, by string) string {
	for _, at := range m.agents[id].Attributes {
		if at.GetName() == by {
			return mesos.AttributeText(at)
		}
	}
	return ""
}

func boardAgent(m *model, id string) ui.BoardAgent {
	a := m.agents[id]
	return ui.BoardAgent{ID: id, Hostname: marked(a.Hostname), Attributes: attrs(a.Attributes), Removed: !a.Removed.IsZero(),
		Meters: meters(m.agentUsed[id], m.agentOffered[id], m.cluster.agents[id])}
}

// meters are cpus, mem, disk and ports (for an agent that has any) as
// used by our tasks and offered to us, as bars and words. When the
// cluster's view knows the agent (whole), the bars are shares of
// everything it has, with what other frameworks' tasks use and what is
// idle besides; otherwise of what this framework sees of it (used and
// offered together).
func meters(used, offered resourceTotals, whole *cluster.Agent) []ui.Meter {
	var out []ui.Meter
	for _, res := range []struct {
		name string
		u, o float64
		all  func(cluster.Resources) float64
	}{
		{"cpus", used.CPUs, offered.CPUs, func(r cluster.Resources) float64 { return r.CPUs }},
		{"mem", used.Mem, offered.Mem, func(r cluster.Resources) float64 { return r.Mem }},
		{"disk", used.Disk, offered.Disk, func(r cluster.Resources) float64 { return r.Disk }},
		{"ports", used.Ports, offered.Ports, func(r cluster.Resources) float64 { return float64(r.Ports) }},
	} {
		if res.name == "ports" && res.u+res.o == 0 && (whole == nil || whole.Total.Ports == 0) {
			continue // an agent without ports
		}
		mt := ui.Meter{Name: res.name, Text: scalarText(res.name, res.u) + " used · " + scalarText(res.name, res.o) + " offered"}
		total := res.u + res.o
		var others float64
		if whole != nil && res.all(whole.Total) > 0 {
			total = res.all(whole.Total)
			others = max(0, round3(res.all(whole.Used)-res.u))
			idle := max(0, round3(total-res.u-others-res.o))
			mt.More = " · " + scalarText(res.name, others) + " by others · " + scalarText(res.name, idle) + " idle of " + scalarText(res.name, total)
		}
		if total > 0 {
			mt.UsedPct, mt.OthersPct, mt.OfferedPct = min(100, 100*res.u/total), 100*others/total, 100*res.o/total
			mt.OthersPct = min(mt.OthersPct, 100-mt.UsedPct)
			mt.OfferedPct = min(mt.OfferedPct, 100-mt.UsedPct-mt.OthersPct)
		}
		out = append(out, mt)
	}
	return out
}

// chartHeight is the chart's height in its own units.
const chartHeight = 100

// boardChart draws the offered and used cpus and mem over the chart
// window up to the start of its clock's step, one value a step: each
// step's value is the totals' last sample before the step ended.
func boardChart(m *model) ui.BoardChart {
	c := ui.BoardChart{Window: chartWindow, Step: chartStep}
	if len(m.samples) == 0 {
		return c
	}
	c.Now = m.chartAt.Truncate(chartStep)
	start := c.Now.Add(-chartWindow)
	steps := make([]sample, 0, chartWindow/chartStep)
	first := -1 // the first step with a value
	next := 0   // the next sample not yet taken
	var last *sample
	for i := range int(chartWindow / chartStep) {
		end := start.Add(time.Duration(i+1) * chartStep)
		for next < len(m.samples) && m.samples[next].At.Before(end) {
			last = &m.samples[next]
			next++
		}
		if last == nil {
			steps = append(steps, sample{})
			continue
		}
		if first < 0 {
			first = i
		}
		steps = append(steps, *last)
	}
	if first < 0 {
		c.Pending = true
		return c
	}
	for i, s := range steps[first:] {
		if end := start.Add(time.Duration(first+i+1) * chartStep); end.Truncate(time.Minute).Equal(end) {
			c.Minutes = append(c.Minutes, ui.ChartMinute{At: end, CPUsUsed: scalarText("cpus", s.Used.CPUs), CPUsOffered: scalarText("cpus", s.Offered.CPUs),
				MemUsed: scalarText("mem", s.Used.Mem), MemOffered: scalarText("mem", s.Offered.Mem)})
		}
	}
	steps = steps[first:]
	x0 := first * int(chartStep/time.Second)
	stepSecs := int(chartStep / time.Second)
	// The last step reaches past the right edge, so that it still does
	// as the client slides the chart on.
	end := 2 * int(chartWindow/time.Second)
	for _, res := range []struct {
		name string
		get  func(resourceTotals) float64
	}{
		{"cpus", func(t resourceTotals) float64 { return t.CPUs }},
		{"mem", func(t resourceTotals) float64 { return t.Mem }},
	} {
		top := 0.0
		for _, s := range steps {
			top = max(top, res.get(s.Offered), res.get(s.Used))
		}
		if top == 0 {
			continue
		}
		y := func(v float64) int { return chartHeight - int(math.Round(v/top*(chartHeight-4))) }
		used := stepPath(steps, x0, stepSecs, end, func(s sample) int { return y(res.get(s.Used)) }, true)
		offered := stepPath(steps, x0, stepSecs, end, func(s sample) int { return y(res.get(s.Offered)) }, false)
		now := steps[len(steps)-1]
		c.Series = append(c.Series, ui.ChartSeries{
			Name: res.name, Max: scalarText(res.name, round3(top)), Used: used, Offered: offered,
			Text: fmt.Sprintf("%s: %s used by our tasks, %s offered to us at the last step; at most %s in the last %s",
				res.name, scalarText(res.name, res.get(now.Used)), scalarText(res.name, res.get(now.Offered)),
				scalarText(res.name, round3(top)), duration(chartWindow)),
		})
	}
	return c
}

// stepPath is SVG path data in whole units for one value a step from x0,
// as an area down to the chart's foot or as a line: it names a height
// only where it changes, so a steady value costs nothing per step.
func stepPath(steps []sample, x0, step, end int, y func(sample) int, area bool) string {
	var b strings.Builder
	prev := y(steps[0])
	if area {
		fmt.Fprintf(&b, "M%d %dV%d", x0, chartHeight, prev)
	} else {
		fmt.Fprintf(&b, "M%d %d", x0, prev)
	}
	for i, s := range steps[1:] {
		if v := y(s); v != prev {
			fmt.Fprintf(&b, "H%dV%d", x0+(i+1)*step, v)
			prev = v
		}
	}
	fmt.Fprintf(&b, "H%d", end)
	if area {
		fmt.Fprintf(&b, "V%dZ", chartHeight)
	}
	return b.String()
}
