package placement_test

import (
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

// notebookOffer is the offer of the Mesos notebook tutorial, as a
// framework without MULTI_ROLE or RESERVATION_REFINEMENT receives it, on
// the demo cluster's first agent.
const notebookOffer = `{"id":{"value":"O1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S1"},
 "hostname":"agent-1.demo",
 "resources":[
  {"name":"cpus","type":"SCALAR","scalar":{"value":2.0},"role":"*"},
  {"name":"mem","type":"SCALAR","scalar":{"value":496.0},"role":"*"},
  {"name":"disk","type":"SCALAR","scalar":{"value":4930.0},"role":"*"},
  {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":9000,"end":10000}]},"role":"*"}],
 "attributes":[
  {"name":"rack","type":"TEXT","text":{"value":"r2d2"}},
  {"name":"pod","type":"TEXT","text":{"value":"demo,dev"}}]}`

// decodeOffer decodes an offer written as the master writes it.
func decodeOffer(t testing.TB, js string) *mesos.Offer {
	t.Helper()
	o := &mesos.Offer{}
	if err := mesos.UnmarshalJSON([]byte(js), o); err != nil {
		t.Fatalf("UnmarshalJSON(offer) = %v", err)
	}
	return o
}

// encode writes m as the master would read it, for comparisons.
func encode(t testing.TB, m *mesos.Resource) string {
	t.Helper()
	b, err := mesos.MarshalJSON(m)
	if err != nil {
		t.Fatalf("MarshalJSON(%v) = %v", m, err)
	}
	return string(b)
}

// encodeAll writes rs one per line.
func encodeAll(t testing.TB, rs []*mesos.Resource) string {
	t.Helper()
	var lines []string
	for _, r := range rs {
		lines = append(lines, encode(t, r))
	}
	return strings.Join(lines, "\n")
}

// parse parses constraints that the test knows to be valid.
func parse(t testing.TB, s string) []placement.Constraint {
	t.Helper()
	cs, err := placement.ParseConstraints(s)
	if err != nil {
		t.Fatalf("ParseConstraints(%q) = %v", s, err)
	}
	return cs
}

// strs returns the canonical forms of cs.
func strs(cs []placement.Constraint) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}
