package placement

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/offerdeck/offerdeck/mesos"
)

// ErrInvalidNeed is wrapped by errors about a Need no task can have:
// negative, not a number, absurdly large, or asking for nothing at all.
var ErrInvalidNeed = errors.New("invalid need")

// Need is what one instance of a spec asks for. A zero field asks for
// none of that resource.
type Need struct {
	CPUs  float64 // "cpus", kept to 3 decimal places
	Mem   float64 // "mem", in MB, kept to 3 decimal places
	Disk  float64 // "disk", in MB, kept to 3 decimal places
	GPUs  int     // "gpus", which Mesos hands out whole
	Ports int     // how many numbers from the "ports" ranges
}

// Limits on a Need, far above any agent, so that fixed-point sums cannot
// overflow and Take never builds a huge port list.
const (
	maxScalar = 1e12
	maxGPUs   = 1 << 20
	maxPorts  = 1 << 16
)

// The scalar resources a Need asks for, indexing amounts.scalars.
const (
	cpus = iota
	mem
	disk
	gpus
	numScalars
)

var scalarNames = [numScalars]string{"cpus", "mem", "disk", "gpus"}

// amounts is a quantity of resources: scalars in thousandths, as Mesos
// keeps them, so that sums and differences are exact.
type amounts struct {
	scalars [numScalars]int64
	ports   uint64
}

// Result is the outcome of Fit.
type Result struct {
	// Fits reports whether one instance fits the offer.
	Fits bool
	// Reasons holds, when it does not fit, every reason why, in a fixed
	// order: short resources (cpus, mem, disk, gpus, ports), then failing
	// constraints in the order given. It is nil when it fits.
	Reasons []string
	// Short names the resources that are short ("cpus", "mem", "disk",
	// "gpus", "ports"), and Unmet the constraints not met, in their
	// canonical form ("rack==r2d2"), in the order of Reasons: what a
	// summary of many offers counts.
	Short []string
	Unmet []string
}

// String returns "fits" or the reasons joined by "; ".
func (r Result) String() string {
	if r.Fits {
		return "fits"
	}
	return strings.Join(r.Reasons, "; ")
}

// Fit reports whether one instance needing n fits offer o and satisfies
// constraints cs, given what the spec's other instances occupy (used).
// Every reason it does not is in the Result, such as "needs mem 512,
// agent-2.demo has 496" or "needs 2 ports, agent-1.demo has 0".
//
// Only resources the offer's role may use are counted (see the package
// documentation). Fit reads o and used and changes neither; it does not
// allocate when the instance fits, so it is cheap to call for every held
// offer on every keystroke. It is safe for concurrent use.
func Fit(o *mesos.Offer, n Need, cs []Constraint, used Used) Result {
	return fit(o, n, offerAmounts(o), cs, used)
}

func fit(o *mesos.Offer, n Need, have amounts, cs []Constraint, used Used) Result {
	if err := n.validate(); err != nil {
		return Result{Reasons: []string{err.Error()}}
	}
	need := n.amounts()
	reasons := shortages(agentName(o), need, have)
	var r Result
	if len(reasons) > 0 {
		for k, name := range scalarNames {
			if need.scalars[k] > have.scalars[k] {
				r.Short = append(r.Short, name)
			}
		}
		if need.ports > have.ports {
			r.Short = append(r.Short, "ports")
		}
	}
	for _, c := range cs {
		if reason, ok := c.Check(o, used); !ok {
			reasons = append(reasons, reason)
			r.Unmet = append(r.Unmet, c.String())
		}
	}
	r.Fits, r.Reasons = len(reasons) == 0, reasons
	return r
}

// shortages names each resource of need that have lacks; nil when none.
func shortages(host string, need, have amounts) []string {
	var reasons []string
	for k, name := range scalarNames {
		if need.scalars[k] > have.scalars[k] {
			reasons = append(reasons, fmt.Sprintf("needs %s %s, %s has %s",
				name, formatMilli(need.scalars[k]), host, formatMilli(have.scalars[k])))
		}
	}
	if need.ports > have.ports {
		unit := "ports"
		if need.ports == 1 {
			unit = "port"
		}
		reasons = append(reasons, fmt.Sprintf("needs %d %s, %s has %d", need.ports, unit, host, have.ports))
	}
	return reasons
}

func (n Need) validate() error {
	for k, v := range [...]float64{cpus: n.CPUs, mem: n.Mem, disk: n.Disk} {
		if math.IsNaN(v) || v < 0 || v > maxScalar {
			return fmt.Errorf("%w: %s %v, want 0 to %g", ErrInvalidNeed, scalarNames[k], v, float64(maxScalar))
		}
	}
	if n.GPUs < 0 || n.GPUs > maxGPUs {
		return fmt.Errorf("%w: gpus %d, want 0 to %d", ErrInvalidNeed, n.GPUs, maxGPUs)
	}
	if n.Ports < 0 || n.Ports > maxPorts {
		return fmt.Errorf("%w: %d ports, want 0 to %d", ErrInvalidNeed, n.Ports, maxPorts)
	}
	return nil
}

func (n Need) amounts() amounts {
	return amounts{
		scalars: [numScalars]int64{milli(n.CPUs), milli(n.Mem), milli(n.Disk), int64(n.GPUs) * 1000},
		ports:   uint64(n.Ports),
	}
}

// offerAmounts sums the resources of o that its role may use.
func offerAmounts(o *mesos.Offer) amounts {
	var a amounts
	role := o.GetAllocationInfo().GetRole()
	for _, r := range o.GetResources() {
		k := kindOf(r)
		if k < 0 || !usable(r, role) {
			continue
		}
		if k == kindPorts {
			for _, rg := range r.GetRanges().GetRange() {
				a.ports = addSat(a.ports, rangeSize(rg.GetBegin(), rg.GetEnd()))
			}
			continue
		}
		a.scalars[k] = addMilli(a.scalars[k], milli(r.GetScalar().GetValue()))
	}
	return a
}

// kindPorts marks the "ports" resource in kindOf.
const kindPorts = numScalars

// kindOf returns the index in amounts.scalars of a scalar resource a Need
// may ask for, kindPorts for the ports ranges, or -1 for anything else.
func kindOf(r *mesos.Resource) int {
	k := -1
	switch r.GetName() {
	case "cpus":
		k = cpus
	case "mem":
		k = mem
	case "disk":
		k = disk
	case "gpus":
		k = gpus
	case "ports":
		if r.GetType() == mesos.Value_RANGES {
			return kindPorts
		}
		return -1
	}
	if k < 0 || r.GetType() != mesos.Value_SCALAR {
		return -1
	}
	return k
}

// usable reports whether a task may take from r in an offer to role (""
// when the offer carries no allocation_info, for a framework of one role:
// the master then offers only what that role may use).
func usable(r *mesos.Resource, role string) bool {
	if d := r.GetDisk(); d.GetPersistence() != nil || d.GetSource() != nil || d.GetVolume() != nil {
		return false // a volume or a disk with a source is taken whole, by name
	}
	if r.GetRevocable() != nil || r.GetShared() != nil {
		return false
	}
	if role == "" {
		return true
	}
	if a := r.GetAllocationInfo(); a != nil && a.GetRole() != role {
		return false
	}
	rr := reservedRole(r)
	if rr == "*" || rr == role {
		return true
	}
	// A reservation for a role is shared with its sub-roles: "eng" serves "eng/web".
	return len(role) > len(rr) && role[len(rr)] == '/' && role[:len(rr)] == rr
}

// reservedRole returns the role r is reserved for, "*" when unreserved, in
// either resource format.
func reservedRole(r *mesos.Resource) string {
	if rs := r.GetReservations(); len(rs) > 0 {
		return rs[len(rs)-1].GetRole()
	}
	return r.GetRole() // "*" when unset
}

// milli converts a scalar to thousandths, rounding as Mesos does. Negative
// and NaN values count as 0, and huge ones are capped so sums stay exact.
func milli(v float64) int64 {
	if !(v > 0) {
		return 0
	}
	if v > maxScalar {
		v = maxScalar
	}
	return int64(math.Round(v * 1000))
}

func addMilli(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// formatMilli writes thousandths as a decimal: 496000 as "496", 1700 as
// "1.7".
func formatMilli(m int64) string {
	return strconv.FormatFloat(float64(m)/1000, 'f', -1, 64)
}

// rangeSize returns how many numbers [begin, end] holds, saturating.
func rangeSize(begin, end uint64) uint64 {
	if begin > end {
		return 0
	}
	if begin == 0 && end == math.MaxUint64 {
		return math.MaxUint64
	}
	return end - begin + 1
}

func addSat(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}
