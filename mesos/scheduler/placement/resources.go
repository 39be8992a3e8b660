package placement

import (
	"slices"

	"github.com/offerdeck/offerdeck/mesos"
)

// Resources returns what remains, in the offered resources' format: one
// resource per offered cpus, mem, disk or gpus resource with some left,
// and one ports resource per offered one with free ports. It is what a
// launch form can still fill, not the whole offer: resources r does not
// track (other names, volumes, revocable ones, or ones reserved for other
// roles) are not in it.
func (r *Remaining) Resources() []*mesos.Resource {
	var out []*mesos.Resource
	for _, p := range r.scalars {
		if p.left > 0 {
			out = append(out, r.scalar(p.src, p.left))
		}
	}
	return append(out, r.portsResources(r.ports)...)
}

// scalar returns m thousandths of src's resource, in src's format.
func (r *Remaining) scalar(src *mesos.Resource, m int64) *mesos.Resource {
	res := r.shape(src)
	res.Scalar = &mesos.Value_Scalar{Value: new(float64(m) / 1000)}
	return res
}

// portsResources turns port ranges into ports resources, one per offered
// resource they belong to, in the order first seen.
func (r *Remaining) portsResources(rs []portRange) []*mesos.Resource {
	var out, srcs []*mesos.Resource // out[i] holds the ranges of srcs[i]
	for _, rg := range rs {
		i := slices.Index(srcs, rg.src)
		if i < 0 {
			res := r.shape(rg.src)
			res.Ranges = &mesos.Value_Ranges{}
			i, out, srcs = len(out), append(out, res), append(srcs, rg.src)
		}
		out[i].Ranges.Range = append(out[i].Ranges.Range, &mesos.Value_Range{Begin: new(rg.begin), End: new(rg.end)})
	}
	return out
}

// shape returns a new resource with src's name, type, provider and
// reservation in src's format, and no value. It carries src's
// allocation_info, or else the offer's, as MULTI_ROLE task resources must.
func (r *Remaining) shape(src *mesos.Resource) *mesos.Resource {
	res := &mesos.Resource{
		Name: new(src.GetName()),
		Type: new(src.GetType()),
	}
	if src.ProviderId != nil {
		res.ProviderId = &mesos.ResourceProviderID{Value: new(src.GetProviderId().GetValue())}
	}
	// Role is deprecated, but it is how the pre-refinement format, which
	// the master uses for frameworks without RESERVATION_REFINEMENT, says
	// whom a resource is reserved for.
	if src.Role != nil {
		res.Role = new(src.GetRole())
	}
	if src.Reservation != nil {
		res.Reservation = copyReservation(src.Reservation)
	}
	for _, ri := range src.GetReservations() {
		res.Reservations = append(res.Reservations, copyReservation(ri))
	}
	alloc := src.GetAllocationInfo()
	if alloc == nil {
		alloc = r.offer.GetAllocationInfo()
	}
	if alloc != nil {
		res.AllocationInfo = &mesos.Resource_AllocationInfo{}
		if alloc.Role != nil {
			res.AllocationInfo.Role = new(alloc.GetRole())
		}
	}
	return res
}

func copyReservation(ri *mesos.Resource_ReservationInfo) *mesos.Resource_ReservationInfo {
	out := &mesos.Resource_ReservationInfo{}
	if ri.Type != nil {
		out.Type = new(ri.GetType())
	}
	if ri.Role != nil {
		out.Role = new(ri.GetRole())
	}
	if ri.Principal != nil {
		out.Principal = new(ri.GetPrincipal())
	}
	if ri.Labels != nil {
		out.Labels = &mesos.Labels{}
		for _, l := range ri.GetLabels().GetLabels() {
			c := &mesos.Label{Key: new(l.GetKey())}
			if l.Value != nil {
				c.Value = new(l.GetValue())
			}
			out.Labels.Labels = append(out.Labels.Labels, c)
		}
	}
	return out
}
