package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/ui"
)

// The demo board: what a room watching a projector should see at a
// glance, drawn from the same model as every page.

// topicBoard carries the board's regions.
const topicBoard = "board"

// boardAgents bounds the agents the board draws; the rest are counted.
const boardAgents = 60

func (s *Server) board(w http.ResponseWriter, r *http.Request) error {
	var v ui.Board
	layout, err := s.page(w, r, "Board", "/board", topicBoard, func(m *model) {
		v.Flow, v.Lanes, v.Racks, v.Chart = boardFlow(m), boardLanes(m), boardRacks(m), boardChart(m)
	})
	if err != nil {
		return err
	}
	v.Layout = layout
	return render(w, r, http.StatusOK, ui.BoardPage(v))
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
	f := ui.BoardFlow{Received: m.flow["received"]}
	for _, k := range flowKinds {
		n := m.flow[k[0]]
		if k[0] == "held" {
			n = len(m.offers)
		}
		it := ui.FlowItem{Key: k[0], Label: k[1], Count: n}
		if f.Received > 0 {
			it.Percent = 100 * float64(n) / float64(f.Received)
		}
		f.Items = append(f.Items, it)
	}
	return f
}

// boardLanes draws the offers of the last boardWindow before the model's
// newest moment, one lane per agent in the pages' order.
func boardLanes(m *model) ui.BoardLanes {
	l := ui.BoardLanes{Now: m.latest, Window: boardWindow, Shown: defaultLaneWindow}
	if l.Now.IsZero() {
		return l
	}
	start := l.Now.Add(-boardWindow)
	x := func(t time.Time) float64 { return t.Sub(start).Seconds() }
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
		row := ui.LaneRow{Hostname: marked(a.Hostname)}
		count := map[string]int{}
		for _, sp := range byAgent[id] {
			row.Bars = append(row.Bars, ui.LaneBar{X: x(sp.Arrived), W: max(sp.Ended.Sub(sp.Arrived).Seconds(), 0.5), How: laneHow(sp.How),
				Title: fmt.Sprintf("%s %s after %s", shortOfferID(sp.ID), sp.How, duration(sp.Ended.Sub(sp.Arrived).Round(time.Second)))})
			count[laneHow(sp.How)]++
		}
		for _, o := range m.agentOffers(id) {
			// A held offer reaches past the right edge, so that it still
			// does as the client slides the lanes on.
			row.Bars = append(row.Bars, ui.LaneBar{X: x(o.Arrived), W: x(l.Now) - x(o.Arrived) + boardWindow.Seconds(), How: "held",
				Title: shortOfferID(o.ID) + " held"})
			count["held"]++
		}
		row.Summary = laneSummary(marked(a.Hostname), count)
		l.Rows = append(l.Rows, row)
	}
	return l
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

// boardRacks groups the agents by their rack attribute (when any agent
// has one) and meters what this framework sees of each: what its tasks
// use and what is offered to it.
func boardRacks(m *model) ui.BoardRacks {
	var r ui.BoardRacks
	for _, id := range m.agentOrder {
		for _, at := range m.agents[id].Attributes {
			if at.GetName() == "rack" {
				r.By = "rack"
			}
		}
	}
	groups := map[string]*ui.RackGroup{}
	var names []string
	for i, id := range m.agentOrder {
		if i == boardAgents {
			r.More = len(m.agentOrder) - i
			break
		}
		a := m.agents[id]
		name := "all agents"
		if r.By != "" {
			name = "none"
			for _, at := range a.Attributes {
				if at.GetName() == r.By {
					name = marked(mesos.AttributeText(at))
				}
			}
		}
		if groups[name] == nil {
			groups[name] = &ui.RackGroup{Name: name}
			names = append(names, name)
		}
		groups[name].Agents = append(groups[name].Agents, boardAgent(m, id))
	}
	slices.Sort(names)
	for _, n := range names {
		r.Groups = append(r.Groups, *groups[n])
	}
	return r
}

func boardAgent(m *model, id string) ui.BoardAgent {
	a := m.agents[id]
	b := ui.BoardAgent{Hostname: marked(a.Hostname), Attributes: attrs(a.Attributes), Removed: !a.Removed.IsZero()}
	var offered []*mesos.Resource
	for _, o := range m.offersByAgent[id] {
		offered = append(offered, o.Offer.GetResources()...)
	}
	var used []*mesos.Resource
	for _, t := range m.tasksByAgent[id] {
		if !t.Terminal() {
			used = append(used, t.Resources...)
		}
	}
	for _, name := range []string{"cpus", "mem", "disk"} {
		u, o := round3(mesos.ScalarSum(used, name)), round3(mesos.ScalarSum(offered, name))
		mt := ui.Meter{Name: name}
		if total := u + o; total > 0 {
			mt.UsedPct, mt.OfferedPct = 100*u/total, 100*o/total
		}
		mt.Text = scalarText(name, u) + " used · " + scalarText(name, o) + " offered"
		b.Meters = append(b.Meters, mt)
	}
	return b
}

// chartHeight is the chart's height in its own units.
const chartHeight = 40.0

// boardChart draws the offered and used steps of cpus and mem over the
// chart window before the newest sample.
func boardChart(m *model) ui.BoardChart {
	c := ui.BoardChart{Window: chartWindow}
	if len(m.samples) == 0 {
		return c
	}
	c.Now = m.samples[len(m.samples)-1].At
	start := c.Now.Add(-chartWindow)
	x := func(t time.Time) float64 { return t.Sub(start).Seconds() }
	for _, res := range []struct {
		name string
		get  func(resourceTotals) float64
	}{
		{"cpus", func(t resourceTotals) float64 { return t.CPUs }},
		{"mem", func(t resourceTotals) float64 { return t.Mem }},
	} {
		top := 0.0
		for _, s := range m.samples {
			top = max(top, res.get(s.Offered), res.get(s.Used))
		}
		if top == 0 {
			continue
		}
		y := func(v float64) string { return num(chartHeight - v/top*(chartHeight-2)) }
		var used, offered strings.Builder
		for i, s := range m.samples {
			xs := num(max(x(s.At), -1))
			if i == 0 {
				fmt.Fprintf(&used, "M%s %s V%s", xs, num(chartHeight), y(res.get(s.Used)))
				fmt.Fprintf(&offered, "M%s %s", xs, y(res.get(s.Offered)))
				continue
			}
			fmt.Fprintf(&used, " H%s V%s", xs, y(res.get(s.Used)))
			fmt.Fprintf(&offered, " H%s V%s", xs, y(res.get(s.Offered)))
		}
		// The last step reaches past the right edge, so that it still
		// does as the client slides the chart on.
		end := num(x(c.Now) + chartWindow.Seconds())
		fmt.Fprintf(&used, " H%s V%s Z", end, num(chartHeight))
		fmt.Fprintf(&offered, " H%s", end)
		last := m.samples[len(m.samples)-1]
		c.Series = append(c.Series, ui.ChartSeries{
			Name: res.name, Max: scalarText(res.name, round3(top)), Used: used.String(), Offered: offered.String(),
			Text: fmt.Sprintf("%s now: %s used by our tasks, %s offered to us; at most %s in the last %s",
				res.name, scalarText(res.name, res.get(last.Used)), scalarText(res.name, res.get(last.Offered)),
				scalarText(res.name, round3(top)), duration(chartWindow)),
		})
	}
	return c
}

// num writes a coordinate.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }
