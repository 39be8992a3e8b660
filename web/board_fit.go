package web

import (
	"fmt"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
	"github.com/offerdeck/offerdeck/ui"
)

// Where a spec typed on Launch fits, as the board's rack map shows it.
// The marks are the viewer's own, never part of a region every viewer
// shares: the Launch page draws them in its own map, refreshed with its
// preview, and a board open in the same browser lays the same marks over
// its regions (static/app.js).

// markFits marks every agent of racks with whether one instance of need
// (under cs) fits its held offers among offers, and sums it up. It runs
// outside the model's lock, on racks and offers taken under it.
func markFits(racks ui.BoardRacks, offers []scheduler.Offer, need placement.Need, cs []placement.Constraint) ui.FitMap {
	fits := map[string]*ui.AgentFit{}
	for _, g := range agentShares(offers) {
		if f := fits[g.agent]; f != nil && f.Fits {
			continue // another role's share of the agent already fits
		}
		r := placement.Fit(g.offer, need, cs, placement.Used{})
		fits[g.agent] = &ui.AgentFit{Held: true, Fits: r.Fits, Reasons: r.Reasons, Amount: placement.Usable(g.offer).String()}
	}
	n := 0
	for _, f := range fits {
		if f.Fits {
			n++
		}
	}
	for i := range racks.Groups {
		g := &racks.Groups[i]
		for j := range g.Agents {
			f := fits[g.Agents[j].ID]
			if f == nil {
				f = &ui.AgentFit{}
			}
			g.Agents[j].Fit = f
		}
	}
	return ui.FitMap{Racks: racks, Summary: fitSummary(n, len(fits))}
}

func fitSummary(fit, held int) string {
	switch {
	case held == 0:
		return "No agent has offers held right now: nothing can launch until one offers."
	case fit == 0:
		return fmt.Sprintf("It fits none of the %d agents with offers held.", held)
	case fit == held && held == 1:
		return "It fits the one agent with offers held."
	case fit == held:
		return fmt.Sprintf("It fits all %d agents with offers held.", held)
	}
	return fmt.Sprintf("It fits %d of the %d agents with offers held.", fit, held)
}
