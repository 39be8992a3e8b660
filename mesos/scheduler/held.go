package scheduler

import (
	"cmp"
	"slices"
	"strings"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

// held is every offer held of one agent for one role, taken as one: what
// one ACCEPT may list, since the master takes several offers at once only
// of one agent and one allocation role (mesos-api.md §3.3). When a task
// ends while the framework holds the rest of its agent, the master offers
// the agent in two pieces; only together do they fit a spec that needs
// the agent's whole share.
type held struct {
	offers []*Offer
	// whole is the offers merged: the first's agent and hostname, every
	// offer's resources, and as ID the offers' ids joined by ", ".
	whole *Offer
}

// newHeld takes offers of one agent and role as one.
func newHeld(offers []*Offer) (*held, error) {
	ps := make([]*mesos.Offer, len(offers))
	ids := make([]string, len(offers))
	for i, o := range offers {
		ps[i], ids[i] = o.Offer, o.ID
	}
	merged, err := placement.Merge(ps)
	if err != nil {
		return nil, err
	}
	w := *offers[0]
	w.ID, w.Offer = strings.Join(ids, ", "), merged
	return &held{offers: offers, whole: &w}, nil
}

// offerIDs are the ids an ACCEPT of h lists.
func (h *held) offerIDs() []*mesos.OfferID {
	out := make([]*mesos.OfferID, len(h.offers))
	for i, o := range h.offers {
		out[i] = o.Offer.GetId()
	}
	return out
}

// heldGroups returns the offers held, one held per agent and role, the
// group with the oldest offer first.
func (st *state) heldGroups() []*held {
	var out []*held
	for _, offers := range st.byAgent {
		out = append(out, groupByRole(offers)...)
	}
	slices.SortFunc(out, func(a, b *held) int {
		return cmp.Or(a.offers[0].Arrived.Compare(b.offers[0].Arrived), strings.Compare(a.offers[0].ID, b.offers[0].ID))
	})
	return out
}

// heldWith returns the offers held of o's agent and role, o first.
func (st *state) heldWith(o *Offer) *held {
	role := o.Offer.GetAllocationInfo().GetRole()
	offers := []*Offer{o}
	for _, h := range st.byAgent[o.AgentID] {
		if h != o && h.Offer.GetAllocationInfo().GetRole() == role {
			offers = append(offers, h)
		}
	}
	g, err := newHeld(offers)
	if err != nil { // cannot happen: one agent, one role
		g = &held{offers: []*Offer{o}, whole: o}
	}
	return g
}

// groupByRole splits one agent's offers (oldest first) by allocation role.
func groupByRole(offers []*Offer) []*held {
	var roles []string
	byRole := map[string][]*Offer{}
	for _, o := range offers {
		r := o.Offer.GetAllocationInfo().GetRole()
		if _, ok := byRole[r]; !ok {
			roles = append(roles, r)
		}
		byRole[r] = append(byRole[r], o)
	}
	out := make([]*held, 0, len(roles))
	for _, r := range roles {
		if h, err := newHeld(byRole[r]); err == nil {
			out = append(out, h)
		}
	}
	return out
}
