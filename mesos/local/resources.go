package local

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// resKey names one kind of resource in one role.
type resKey struct {
	role string // "*" for unreserved
	name string
}

// pool is a bag of resources, keyed by role and name. Scalars are kept in
// thousandths, the fixed point Mesos uses, so sums never drift. The zero
// value is an empty pool; pools are values owned by one goroutine at a time.
type pool struct {
	scalars map[resKey]int64       // milli-units
	ranges  map[resKey][][2]uint64 // sorted, merged, inclusive
	sets    map[resKey][]string    // sorted, unique
}

func milli(v float64) int64 { return int64(math.Round(v * 1000)) }

// resourceRole returns the role a resource is reserved for, "*" when none,
// reading both the pre- and post-refinement formats.
func resourceRole(r *mesos.Resource) string {
	if rs := r.GetReservations(); len(rs) > 0 {
		return rs[len(rs)-1].GetRole()
	}
	return r.GetRole() // "*" by default
}

// poolOf validates rs as the master does and returns them as a pool. The
// error texts follow src/common/resources.cpp.
func poolOf(rs []*mesos.Resource) (pool, error) {
	var p pool
	for _, r := range rs {
		if r.GetName() == "" {
			return pool{}, errors.New("Empty resource name")
		}
		k := resKey{role: resourceRole(r), name: r.GetName()}
		switch r.GetType() {
		case mesos.Value_SCALAR:
			v := r.GetScalar().GetValue()
			if r.GetScalar() == nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return pool{}, fmt.Errorf("Invalid scalar resource %s: value is not a finite number", k.name)
			}
			if v < 0 {
				return pool{}, fmt.Errorf("Invalid scalar resource %s: value <= 0", k.name)
			}
			p.addScalar(k, milli(v))
		case mesos.Value_RANGES:
			var rgs [][2]uint64
			for _, rg := range r.GetRanges().GetRange() {
				if rg.GetBegin() > rg.GetEnd() {
					return pool{}, fmt.Errorf("Invalid ranges resource %s: begin > end", k.name)
				}
				rgs = append(rgs, [2]uint64{rg.GetBegin(), rg.GetEnd()})
			}
			if overlapping(rgs) {
				return pool{}, fmt.Errorf("Invalid ranges resource %s: overlapping ranges", k.name)
			}
			p.addRanges(k, rgs)
		case mesos.Value_SET:
			items := r.GetSet().GetItem()
			seen := map[string]bool{}
			for _, it := range items {
				if seen[it] {
					return pool{}, fmt.Errorf("Invalid set resource %s: duplicated elements", k.name)
				}
				seen[it] = true
			}
			p.addSet(k, items)
		default:
			return pool{}, fmt.Errorf("Unsupported resource type %s for %s", r.GetType(), k.name)
		}
	}
	return p, nil
}

func overlapping(rgs [][2]uint64) bool {
	s := slices.Clone(rgs)
	slices.SortFunc(s, func(a, b [2]uint64) int { return cmp.Compare(a[0], b[0]) })
	for i := 1; i < len(s); i++ {
		if s[i][0] <= s[i-1][1] {
			return true
		}
	}
	return false
}

func (p *pool) addScalar(k resKey, v int64) {
	if p.scalars == nil {
		p.scalars = map[resKey]int64{}
	}
	p.scalars[k] += v
	if p.scalars[k] == 0 {
		delete(p.scalars, k)
	}
}

func (p *pool) addRanges(k resKey, rgs [][2]uint64) {
	if len(rgs) == 0 {
		return
	}
	if p.ranges == nil {
		p.ranges = map[resKey][][2]uint64{}
	}
	p.ranges[k] = mergeRanges(append(slices.Clone(p.ranges[k]), rgs...))
}

func (p *pool) addSet(k resKey, items []string) {
	if len(items) == 0 {
		return
	}
	if p.sets == nil {
		p.sets = map[resKey][]string{}
	}
	s := append(slices.Clone(p.sets[k]), items...)
	slices.Sort(s)
	p.sets[k] = slices.Compact(s)
}

func mergeRanges(rgs [][2]uint64) [][2]uint64 {
	slices.SortFunc(rgs, func(a, b [2]uint64) int { return cmp.Compare(a[0], b[0]) })
	var out [][2]uint64
	for _, rg := range rgs {
		if n := len(out); n > 0 && (rg[0] <= out[n-1][1] || rg[0] == out[n-1][1]+1) {
			out[n-1][1] = max(out[n-1][1], rg[1])
			continue
		}
		out = append(out, rg)
	}
	return out
}

// subtractRanges removes b from a; both sorted and merged.
func subtractRanges(a, b [][2]uint64) [][2]uint64 {
	var out [][2]uint64
	for _, rg := range a {
		cur := [][2]uint64{rg}
		for _, s := range b {
			var next [][2]uint64
			for _, c := range cur {
				if s[1] < c[0] || s[0] > c[1] {
					next = append(next, c)
					continue
				}
				if s[0] > c[0] {
					next = append(next, [2]uint64{c[0], s[0] - 1})
				}
				if s[1] < c[1] {
					next = append(next, [2]uint64{s[1] + 1, c[1]})
				}
			}
			cur = next
		}
		out = append(out, cur...)
	}
	return out
}

func rangesContain(a, b [][2]uint64) bool {
	return len(subtractRanges(b, a)) == 0
}

// add returns p plus q.
func (p pool) add(q pool) pool {
	r := p.clone()
	for k, v := range q.scalars {
		r.addScalar(k, v)
	}
	for k, v := range q.ranges {
		r.addRanges(k, v)
	}
	for k, v := range q.sets {
		r.addSet(k, v)
	}
	return r
}

// sub returns p minus q; q must be contained in p.
func (p pool) sub(q pool) pool {
	r := p.clone()
	for k, v := range q.scalars {
		r.addScalar(k, -v)
	}
	for k, v := range q.ranges {
		left := subtractRanges(r.ranges[k], v)
		if len(left) == 0 {
			delete(r.ranges, k)
		} else {
			r.ranges[k] = left
		}
	}
	for k, v := range q.sets {
		left := slices.DeleteFunc(slices.Clone(r.sets[k]), func(s string) bool { return slices.Contains(v, s) })
		if len(left) == 0 {
			delete(r.sets, k)
		} else {
			r.sets[k] = left
		}
	}
	return r
}

// contains reports whether q fits inside p.
func (p pool) contains(q pool) bool {
	for k, v := range q.scalars {
		if p.scalars[k] < v {
			return false
		}
	}
	for k, v := range q.ranges {
		if !rangesContain(p.ranges[k], v) {
			return false
		}
	}
	for k, v := range q.sets {
		for _, it := range v {
			if !slices.Contains(p.sets[k], it) {
				return false
			}
		}
	}
	return true
}

func (p pool) clone() pool {
	r := pool{}
	if p.scalars != nil {
		r.scalars = make(map[resKey]int64, len(p.scalars))
		for k, v := range p.scalars {
			r.scalars[k] = v
		}
	}
	if p.ranges != nil {
		r.ranges = make(map[resKey][][2]uint64, len(p.ranges))
		for k, v := range p.ranges {
			r.ranges[k] = slices.Clone(v)
		}
	}
	if p.sets != nil {
		r.sets = make(map[resKey][]string, len(p.sets))
		for k, v := range p.sets {
			r.sets[k] = slices.Clone(v)
		}
	}
	return r
}

func (p pool) empty() bool {
	return len(p.scalars) == 0 && len(p.ranges) == 0 && len(p.sets) == 0
}

// forRoles keeps the resources reserved for one of roles.
func (p pool) forRoles(roles ...string) pool {
	r := pool{}
	for k, v := range p.scalars {
		if slices.Contains(roles, k.role) {
			r.addScalar(k, v)
		}
	}
	for k, v := range p.ranges {
		if slices.Contains(roles, k.role) {
			r.addRanges(k, v)
		}
	}
	for k, v := range p.sets {
		if slices.Contains(roles, k.role) {
			r.addSet(k, v)
		}
	}
	return r
}

// scalar returns the total of a scalar across roles, in whole units.
func (p pool) scalar(name string) float64 {
	var sum int64
	for k, v := range p.scalars {
		if k.name == name {
			sum += v
		}
	}
	return float64(sum) / 1000
}

// allocatable reports whether p is worth offering: Mesos's default
// --min_allocatable_resources is "cpus:0.01|mem:32", either one sufficing.
// roles lists the roles p holds resources of, sorted.
func (p pool) roles() []string {
	var out []string
	for k := range p.scalars {
		out = append(out, k.role)
	}
	for k := range p.ranges {
		out = append(out, k.role)
	}
	for k := range p.sets {
		out = append(out, k.role)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (p pool) allocatable() bool {
	return p.scalar("cpus") >= 0.01 || p.scalar("mem") >= 32
}

// nameOrder sorts the conventional resources first, as an agent lists them.
func nameOrder(a, b resKey) int {
	rank := func(n string) int {
		switch n {
		case "cpus":
			return 0
		case "gpus":
			return 1
		case "mem":
			return 2
		case "disk":
			return 3
		case "ports":
			return 4
		}
		return 5
	}
	return cmp.Or(cmp.Compare(rank(a.name), rank(b.name)), cmp.Compare(a.name, b.name), cmp.Compare(a.role, b.role))
}

// resources renders p in the pre-refinement format Mesos sends frameworks
// without RESERVATION_REFINEMENT: each resource carries its role. With
// allocationRole set (MULTI_ROLE frameworks), each carries allocation_info.
func (p pool) resources(allocationRole string) []*mesos.Resource {
	type entry struct {
		k resKey
		r *mesos.Resource
	}
	var es []entry
	for k, v := range p.scalars {
		es = append(es, entry{k, &mesos.Resource{Name: proto.String(k.name), Type: mesos.Value_SCALAR.Enum(),
			Scalar: &mesos.Value_Scalar{Value: proto.Float64(float64(v) / 1000)}}})
	}
	for k, v := range p.ranges {
		rs := &mesos.Value_Ranges{}
		for _, rg := range v {
			rs.Range = append(rs.Range, &mesos.Value_Range{Begin: proto.Uint64(rg[0]), End: proto.Uint64(rg[1])})
		}
		es = append(es, entry{k, &mesos.Resource{Name: proto.String(k.name), Type: mesos.Value_RANGES.Enum(), Ranges: rs}})
	}
	for k, v := range p.sets {
		es = append(es, entry{k, &mesos.Resource{Name: proto.String(k.name), Type: mesos.Value_SET.Enum(),
			Set: &mesos.Value_Set{Item: slices.Clone(v)}}})
	}
	slices.SortFunc(es, func(a, b entry) int { return nameOrder(a.k, b.k) })
	out := make([]*mesos.Resource, len(es))
	for i, e := range es {
		e.r.Role = proto.String(e.k.role)
		if allocationRole != "" {
			e.r.AllocationInfo = &mesos.Resource_AllocationInfo{Role: proto.String(allocationRole)}
		}
		out[i] = e.r
	}
	return out
}

// String renders p the way Mesos prints resources in messages, e.g.
// "cpus:0.5; mem:128; ports:[31000-31000]".
func (p pool) String() string {
	var parts []string
	for _, r := range p.resources("") {
		name := r.GetName()
		if role := r.GetRole(); role != "*" {
			name += "(" + role + ")"
		}
		switch r.GetType() {
		case mesos.Value_SCALAR:
			parts = append(parts, name+":"+strconv.FormatFloat(r.GetScalar().GetValue(), 'f', -1, 64))
		case mesos.Value_RANGES:
			var rs []string
			for _, rg := range r.GetRanges().GetRange() {
				rs = append(rs, fmt.Sprintf("%d-%d", rg.GetBegin(), rg.GetEnd()))
			}
			parts = append(parts, name+":["+strings.Join(rs, ", ")+"]")
		case mesos.Value_SET:
			parts = append(parts, name+":{"+strings.Join(r.GetSet().GetItem(), ", ")+"}")
		}
	}
	if len(parts) == 0 {
		return "{}"
	}
	return strings.Join(parts, "; ")
}
