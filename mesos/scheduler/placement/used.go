package placement

import (
	"fmt"
	"slices"

	"github.com/offerdeck/offerdeck/mesos"
)

// Used holds where a spec's placed or running instances are, which the
// unique, max-per and group-by constraints read: after an instance lands
// on agent-1.demo, AddOffer of its offer makes "hostname unique" refuse
// that agent for the spec's next instance. It also holds the attribute
// values known on agents (Know), over which group-by spreads instances.
//
// The zero Used is empty and ready to use. Copies share what was added
// once the first value is in. It is not safe for concurrent writes; reads
// (Count, and passing it to Fit) may run concurrently.
type Used struct {
	counts map[usedKey]int
	known  map[string][]string // attribute → values seen on agents, in order seen
}

type usedKey struct{ attr, value string }

// Add records that an instance occupies value of attribute attr (or of
// Hostname).
func (u *Used) Add(attr, value string) {
	if u.counts == nil {
		u.counts = make(map[usedKey]int)
	}
	u.counts[usedKey{attr, value}]++
	u.know(attr, value)
}

// AddOffer records that an instance was placed on o's agent: its hostname
// under Hostname and the text of each of its attributes.
func (u *Used) AddOffer(o *mesos.Offer) {
	u.Add(Hostname, o.GetHostname())
	for _, a := range o.GetAttributes() {
		if a.GetName() != Hostname {
			u.Add(a.GetName(), mesos.AttributeText(a))
		}
	}
}

// Know records that an agent with o's hostname and attributes exists, so
// that group-by counts its values, with no instance yet, among those to
// spread over.
func (u *Used) Know(o *mesos.Offer) {
	u.know(Hostname, o.GetHostname())
	for _, a := range o.GetAttributes() {
		if a.GetName() != Hostname {
			u.know(a.GetName(), mesos.AttributeText(a))
		}
	}
}

func (u *Used) know(attr, value string) {
	if u.known == nil {
		u.known = make(map[string][]string)
	}
	if !slices.Contains(u.known[attr], value) {
		u.known[attr] = append(u.known[attr], value)
	}
}

// Has reports whether an instance occupies value of attribute attr.
func (u Used) Has(attr, value string) bool {
	return u.counts[usedKey{attr, value}] > 0
}

// Count returns how many instances occupy value of attribute attr.
func (u Used) Count(attr, value string) int {
	return u.counts[usedKey{attr, value}]
}

// Values returns how many distinct values of attr are known.
func (u Used) Values(attr string) int {
	return len(u.known[attr])
}

// fewest returns the fewest instances on any known value of attr, and
// where, in words ("r2d2 has 1"). With n > 0, values not yet known count
// as having none while fewer than n are known: group-by n spreads over n
// values even before all of them have offered.
func (u Used) fewest(attr string, n int) (int, string) {
	vs := u.known[attr]
	if len(vs) == 0 || (n > 0 && len(vs) < n) {
		return 0, "another " + attr + " has none"
	}
	best, at := -1, ""
	for _, v := range vs {
		if c := u.counts[usedKey{attr, v}]; best < 0 || c < best {
			best, at = c, v
		}
	}
	return best, fmt.Sprintf("%s %s has %s", attr, at, instances(best))
}
