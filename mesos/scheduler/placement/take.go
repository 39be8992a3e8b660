package placement

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/offerdeck/offerdeck/mesos"
)

// ErrInsufficient is wrapped by Take and Pack errors when the offer lacks
// what a Need asks for; the message names each short resource.
var ErrInsufficient = errors.New("insufficient resources")

// Taken is what one instance got from an offer.
type Taken struct {
	// Resources go into the instance's TaskInfo as they are: cpus, mem,
	// disk, gpus and ports, each in the format of the offered resource it
	// came from (pre-refinement role and reservation, or post-refinement
	// reservations), with the offer's allocation_info when it has one.
	// Several entries of one name appear when a quantity spans
	// reservations.
	Resources []*mesos.Resource
	// Ports are the port numbers taken, ascending, for $PORT0, $PORT1...
	Ports []uint64
}

// Take picks the resources for one instance needing n from offer o: see
// Remaining.Take for which ones. It does not change o. The error wraps
// ErrInsufficient when o lacks something and ErrInvalidNeed when n is
// not a valid need.
func Take(o *mesos.Offer, n Need) (Taken, error) {
	return NewRemaining(o).Take(n)
}

// Pack takes resources for every need in turn from what the previous ones
// left of offer o, as one ACCEPT launching several tasks must. It is all
// or nothing: when a need does not fit, Pack returns no Taken and an error
// naming the instance and wrapping Take's (ErrInsufficient or
// ErrInvalidNeed). It does not change o. To fill an offer as far as it
// goes, or to check constraints between instances, use a Remaining.
func Pack(o *mesos.Offer, needs []Need) ([]Taken, error) {
	r := NewRemaining(o)
	out := make([]Taken, 0, len(needs))
	for i, n := range needs {
		t, err := r.Take(n)
		if err != nil {
			return nil, fmt.Errorf("instance %d of %d: %w", i+1, len(needs), err)
		}
		out = append(out, t)
	}
	return out, nil
}

// Remaining is what is left of one offer as instances are carved from it,
// for a scheduler that places several tasks, perhaps of several specs, on
// one offer. It holds the offer's usable cpus, mem, disk, gpus and ports
// and nothing else. It reads the offer without changing it; the offer must
// not change while the Remaining is in use. A Remaining is not safe for
// concurrent use.
type Remaining struct {
	offer   *mesos.Offer
	scalars []piece     // usable scalar resources, in the order Take uses them
	ports   []portRange // usable ports, ascending, not overlapping
}

// piece is what is left of one offered scalar resource.
type piece struct {
	src  *mesos.Resource
	kind int
	left int64 // thousandths
}

// portRange is a run of free ports of one offered ports resource.
type portRange struct {
	src        *mesos.Resource
	begin, end uint64 // inclusive
}

// NewRemaining returns all of offer o's usable resources as remaining.
func NewRemaining(o *mesos.Offer) *Remaining {
	r := &Remaining{offer: o}
	role := o.GetAllocationInfo().GetRole()
	// Reserved resources go first: they are set aside for this role
	// anyway, and what a task does not take from the unreserved pool is
	// free for other frameworks once the rest of the offer is declined.
	for _, reserved := range []bool{true, false} {
		for _, res := range o.GetResources() {
			k := kindOf(res)
			if k < 0 || k == kindPorts || !usable(res, role) || (reservedRole(res) != "*") != reserved {
				continue
			}
			if m := milli(res.GetScalar().GetValue()); m > 0 {
				r.scalars = append(r.scalars, piece{src: res, kind: k, left: m})
			}
		}
	}
	for _, res := range o.GetResources() {
		if kindOf(res) != kindPorts || !usable(res, role) {
			continue
		}
		for _, rg := range res.GetRanges().GetRange() {
			if rg.GetBegin() <= rg.GetEnd() {
				r.ports = append(r.ports, portRange{src: res, begin: rg.GetBegin(), end: rg.GetEnd()})
			}
		}
	}
	r.ports = disjoint(r.ports)
	return r
}

// disjoint sorts rs, trims overlaps, so that no port is handed out twice
// even if an offer repeats one, and joins adjacent runs of one resource.
func disjoint(rs []portRange) []portRange {
	slices.SortStableFunc(rs, func(a, b portRange) int { return cmp.Compare(a.begin, b.begin) })
	out := rs[:0]
	for _, rg := range rs {
		if n := len(out); n > 0 {
			last := out[n-1].end
			if last == math.MaxUint64 || rg.end <= last {
				continue
			}
			rg.begin = max(rg.begin, last+1)
			if rg.begin == last+1 && rg.src == out[n-1].src {
				out[n-1].end = rg.end // adjacent: one run, as merged offers' ranges often are
				continue
			}
		}
		out = append(out, rg)
	}
	return out
}

// Fit reports whether one more instance needing n fits in what remains
// and satisfies cs, like the package's Fit. It does not change r.
func (r *Remaining) Fit(n Need, cs []Constraint, used Used) Result {
	return fit(r.offer, n, r.amounts(), cs, used)
}

func (r *Remaining) amounts() amounts {
	var a amounts
	for _, p := range r.scalars {
		a.scalars[p.kind] = addMilli(a.scalars[p.kind], p.left)
	}
	for _, rg := range r.ports {
		a.ports = addSat(a.ports, rangeSize(rg.begin, rg.end))
	}
	return a
}

// Take removes the resources for one instance needing n from r and
// returns them. Scalars come from reserved resources before unreserved
// ones, each class in offer order, split across resources when one does
// not hold enough; ports are the lowest free numbers. On error r is
// unchanged; the error wraps ErrInsufficient, naming every short
// resource, or ErrInvalidNeed.
func (r *Remaining) Take(n Need) (Taken, error) {
	id := r.offer.GetId().GetValue()
	if err := n.validate(); err != nil {
		return Taken{}, fmt.Errorf("take from offer %s: %w", id, err)
	}
	need := n.amounts()
	if need == (amounts{}) {
		return Taken{}, fmt.Errorf("take from offer %s: %w: needs no resources, and a task must have some", id, ErrInvalidNeed)
	}
	if short := shortages(agentName(r.offer), need, r.amounts()); short != nil {
		return Taken{}, fmt.Errorf("take from offer %s: %w: %s", id, ErrInsufficient, strings.Join(short, "; "))
	}
	var t Taken
	for k := range numScalars {
		want := need.scalars[k]
		for i := range r.scalars {
			p := &r.scalars[i]
			if want == 0 {
				break
			}
			if p.kind != k || p.left == 0 {
				continue
			}
			m := min(want, p.left)
			p.left -= m
			want -= m
			t.Resources = append(t.Resources, r.scalar(p.src, m))
		}
	}
	if n.Ports > 0 {
		taken := r.takePorts(n.Ports)
		t.Ports = make([]uint64, 0, n.Ports)
		for _, rg := range taken {
			for p := rg.begin; ; p++ {
				t.Ports = append(t.Ports, p)
				if p == rg.end {
					break
				}
			}
		}
		t.Resources = append(t.Resources, r.portsResources(taken)...)
	}
	return t, nil
}

// takePorts removes the lowest want free ports from r and returns them as
// ranges. The caller has checked that r holds want ports.
func (r *Remaining) takePorts(want int) []portRange {
	var taken []portRange
	for want > 0 {
		rg := &r.ports[0]
		got := *rg
		if uint64(want-1) < rg.end-rg.begin {
			got.end = rg.begin + uint64(want-1)
			rg.begin = got.end + 1
		} else {
			r.ports = r.ports[1:]
		}
		want -= int(got.end-got.begin) + 1 // at most want, so it fits an int
		taken = append(taken, got)
	}
	return taken
}
