package mesos

import (
	"math"

	"google.golang.org/protobuf/proto"
)

// Scalar returns an unreserved SCALAR resource, such as Scalar("cpus", 0.5)
// or Scalar("mem", 128) (megabytes).
func Scalar(name string, v float64) *Resource {
	return &Resource{
		Name:   proto.String(name),
		Type:   Value_SCALAR.Enum(),
		Scalar: &Value_Scalar{Value: proto.Float64(v)},
	}
}

// PortRange returns an unreserved "ports" resource covering begin to end,
// both included.
func PortRange(begin, end uint64) *Resource {
	return &Resource{
		Name: proto.String("ports"),
		Type: Value_RANGES.Enum(),
		Ranges: &Value_Ranges{Range: []*Value_Range{
			{Begin: proto.Uint64(begin), End: proto.Uint64(end)},
		}},
	}
}

// ScalarSum returns the total of the SCALAR resources named name in rs,
// whatever their role or reservation, rounded to the three decimal places
// Mesos keeps.
func ScalarSum(rs []*Resource, name string) float64 {
	var sum float64
	for _, r := range rs {
		if r.GetName() == name && r.GetType() == Value_SCALAR {
			sum += r.GetScalar().GetValue()
		}
	}
	return math.Round(sum*1000) / 1000
}

// Ranges returns the ranges of the RANGES resources named name in rs, in
// the order they appear, as inclusive [begin, end] pairs. For "ports" these
// are port numbers.
func Ranges(rs []*Resource, name string) [][2]uint64 {
	var out [][2]uint64
	for _, r := range rs {
		if r.GetName() != name || r.GetType() != Value_RANGES {
			continue
		}
		for _, rg := range r.GetRanges().GetRange() {
			out = append(out, [2]uint64{rg.GetBegin(), rg.GetEnd()})
		}
	}
	return out
}

// RangeCount returns how many values the inclusive ranges cover, so 1001 for
// [9000, 10000]. Overlaps are counted twice, a range whose begin exceeds its
// end counts nothing, and the total saturates at math.MaxUint64.
func RangeCount(ranges [][2]uint64) uint64 {
	var n uint64
	for _, rg := range ranges {
		if rg[0] > rg[1] {
			continue
		}
		size := rg[1] - rg[0] + 1
		if size == 0 || n > math.MaxUint64-size { // size 0: the full uint64 span
			return math.MaxUint64
		}
		n += size
	}
	return n
}

// SetItems returns the items of the SET resources named name in rs, in the
// order they appear.
func SetItems(rs []*Resource, name string) []string {
	var out []string
	for _, r := range rs {
		if r.GetName() == name && r.GetType() == Value_SET {
			out = append(out, r.GetSet().GetItem()...)
		}
	}
	return out
}

// RoleText describes whom r is reserved for, for display:
//   - "*" when unreserved;
//   - "eng (static)" for a static reservation;
//   - "eng (dynamic, principal p)" for a dynamic one, or "eng (dynamic)"
//     when no principal is recorded.
//
// It reads both resource formats: pre-refinement (role plus an optional
// reservation) and post-refinement (the reservations stack, whose last
// entry is the one in effect).
func RoleText(r *Resource) string {
	if rs := r.GetReservations(); len(rs) > 0 {
		last := rs[len(rs)-1]
		switch last.GetType() {
		case Resource_ReservationInfo_STATIC:
			return last.GetRole() + " (static)"
		case Resource_ReservationInfo_DYNAMIC:
			return dynamicText(last.GetRole(), last.GetPrincipal())
		}
		return last.GetRole()
	}
	role := r.GetRole() // "*" when unset
	if role == "*" {
		return "*"
	}
	if r.GetReservation() != nil {
		return dynamicText(role, r.GetReservation().GetPrincipal())
	}
	return role + " (static)"
}

func dynamicText(role, principal string) string {
	if principal == "" {
		return role + " (dynamic)"
	}
	return role + " (dynamic, principal " + principal + ")"
}
