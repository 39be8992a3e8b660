package placement

import "github.com/offerdeck/offerdeck/mesos"

// Used holds the attribute values that a spec's placed or running
// instances already occupy, which unique constraints read: after an
// instance lands on agent-1.demo, Add(Hostname, "agent-1.demo") makes
// "hostname unique" refuse that agent for the spec's next instance.
//
// The zero Used is empty and ready to use. Copies share what was added
// once the first value is in. It is not safe for concurrent writes; reads
// (Has, and passing it to Fit) may run concurrently.
type Used struct {
	values map[usedKey]struct{}
}

type usedKey struct{ attr, value string }

// Add records that an instance occupies value of attribute attr (or of
// Hostname).
func (u *Used) Add(attr, value string) {
	if u.values == nil {
		u.values = make(map[usedKey]struct{})
	}
	u.values[usedKey{attr, value}] = struct{}{}
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

// Has reports whether an instance occupies value of attribute attr.
func (u Used) Has(attr, value string) bool {
	_, ok := u.values[usedKey{attr, value}]
	return ok
}
