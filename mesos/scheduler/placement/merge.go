package placement

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// ErrMixedOffers is wrapped by Merge's error when the offers cannot go in
// one ACCEPT: the master takes several offers at once only when they are
// all of one agent and allocated to one role.
var ErrMixedOffers = errors.New("offers of different agents or roles cannot be combined")

// Merge returns one offer holding all the resources of offers, as the
// master sees them when one ACCEPT lists several offer ids: the first
// offer's id, agent, hostname, attributes and allocation, and the sum of
// every offer's resources. Scalars of the same kind and reservation are
// added (in thousandths, as Mesos keeps them) and ranges of the same kind
// are joined, so a task carved from the whole gets one cpus resource, not
// one per offer. The offers must be of one agent and one allocation role;
// otherwise the error wraps ErrMixedOffers. Merge changes none of offers;
// with one offer it returns that offer itself.
func Merge(offers []*mesos.Offer) (*mesos.Offer, error) {
	switch len(offers) {
	case 0:
		return nil, fmt.Errorf("merge offers: %w: no offer", ErrMixedOffers)
	case 1:
		return offers[0], nil
	}
	first := offers[0]
	out := &mesos.Offer{
		Id:             first.GetId(),
		FrameworkId:    first.GetFrameworkId(),
		AgentId:        first.GetAgentId(),
		Hostname:       first.Hostname,
		Url:            first.GetUrl(),
		Attributes:     first.GetAttributes(),
		AllocationInfo: first.GetAllocationInfo(),
	}
	for _, o := range offers {
		if o.GetAgentId().GetValue() != first.GetAgentId().GetValue() {
			return nil, fmt.Errorf("merge offers: %w: offer %s is of agent %s, offer %s of agent %s", ErrMixedOffers,
				o.GetId().GetValue(), o.GetAgentId().GetValue(), first.GetId().GetValue(), first.GetAgentId().GetValue())
		}
		if o.GetAllocationInfo().GetRole() != first.GetAllocationInfo().GetRole() {
			return nil, fmt.Errorf("merge offers: %w: offer %s is for role %q, offer %s for role %q", ErrMixedOffers,
				o.GetId().GetValue(), o.GetAllocationInfo().GetRole(), first.GetId().GetValue(), first.GetAllocationInfo().GetRole())
		}
		for _, r := range o.GetResources() {
			out.Resources = addResource(out.Resources, r)
		}
	}
	return out, nil
}

// addResource adds r to rs: to a resource of the same shape when r is a
// scalar or ranges and one exists, else as a copy at the end.
func addResource(rs []*mesos.Resource, r *mesos.Resource) []*mesos.Resource {
	t := r.GetType()
	if t == mesos.Value_SCALAR || t == mesos.Value_RANGES {
		shape := valueless(r)
		for i, have := range rs {
			if have.GetType() != t || !proto.Equal(valueless(have), shape) {
				continue
			}
			sum := proto.Clone(have).(*mesos.Resource)
			if t == mesos.Value_SCALAR {
				m := addMilli(milli(have.GetScalar().GetValue()), milli(r.GetScalar().GetValue()))
				sum.Scalar = &mesos.Value_Scalar{Value: new(float64(m) / 1000)}
			} else {
				for _, rg := range r.GetRanges().GetRange() {
					sum.Ranges.Range = append(sum.Ranges.Range, proto.Clone(rg).(*mesos.Value_Range))
				}
			}
			return slices.Replace(slices.Clip(rs), i, i+1, sum)
		}
	}
	return append(rs, proto.Clone(r).(*mesos.Resource))
}

// valueless is r without its value: what two resources must share to be
// added up.
func valueless(r *mesos.Resource) *mesos.Resource {
	c := proto.Clone(r).(*mesos.Resource)
	c.Scalar, c.Ranges, c.Set = nil, nil, nil
	return c
}

// Usable returns what a task could take from o at most: the usable cpus,
// mem, disk and gpus (whole ones) and the number of free ports, as a Need.
func Usable(o *mesos.Offer) Need {
	return offerAmounts(o).need()
}

// need turns amounts back into a Need, saturating ports and gpus.
func (a amounts) need() Need {
	return Need{
		CPUs:  float64(a.scalars[cpus]) / 1000,
		Mem:   float64(a.scalars[mem]) / 1000,
		Disk:  float64(a.scalars[disk]) / 1000,
		GPUs:  int(min(a.scalars[gpus]/1000, maxGPUs)),
		Ports: int(min(a.ports, maxPorts)),
	}
}

// Add returns n and m added, resource by resource.
func (n Need) Add(m Need) Need {
	a, b := n.amounts(), m.amounts()
	for k := range a.scalars {
		a.scalars[k] = addMilli(a.scalars[k], b.scalars[k])
	}
	a.ports = addSat(a.ports, b.ports)
	return a.need()
}

// Max returns the larger of n and m, resource by resource.
func (n Need) Max(m Need) Need {
	a, b := n.amounts(), m.amounts()
	for k := range a.scalars {
		a.scalars[k] = max(a.scalars[k], b.scalars[k])
	}
	a.ports = max(a.ports, b.ports)
	return a.need()
}

// Within reports whether n asks for no more of any resource than have.
func (n Need) Within(have Need) bool {
	a, b := n.amounts(), have.amounts()
	for k := range a.scalars {
		if a.scalars[k] > b.scalars[k] {
			return false
		}
	}
	return a.ports <= b.ports
}

// String writes the resources n asks for, such as "cpus 2, mem 496 MB,
// 1001 ports"; "nothing" when none.
func (n Need) String() string {
	a := n.amounts()
	var parts []string
	for k, name := range scalarNames {
		if a.scalars[k] == 0 {
			continue
		}
		switch k {
		case mem, disk:
			parts = append(parts, name+" "+formatMilli(a.scalars[k])+" MB")
		default:
			parts = append(parts, name+" "+formatMilli(a.scalars[k]))
		}
	}
	if a.ports > 0 {
		unit := " ports"
		if a.ports == 1 {
			unit = " port"
		}
		parts = append(parts, fmt.Sprint(a.ports)+unit)
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}
