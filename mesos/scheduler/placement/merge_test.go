package placement_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

// splitOffers are agent-2 offered in two pieces, as after a task of 0.1
// cpus and 32 MB ended while the framework held the rest.
const (
	bigPiece = `{"id":{"value":"O2"},"framework_id":{"value":"F1"},"agent_id":{"value":"S2"},"hostname":"agent-2.demo",
	 "resources":[
	  {"name":"cpus","type":"SCALAR","scalar":{"value":1.9},"role":"*"},
	  {"name":"mem","type":"SCALAR","scalar":{"value":464.0},"role":"*"},
	  {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":9001,"end":10000}]},"role":"*"}],
	 "attributes":[{"name":"rack","type":"TEXT","text":{"value":"c3po"}}]}`
	smallPiece = `{"id":{"value":"O3"},"framework_id":{"value":"F1"},"agent_id":{"value":"S2"},"hostname":"agent-2.demo",
	 "resources":[
	  {"name":"cpus","type":"SCALAR","scalar":{"value":0.1},"role":"*"},
	  {"name":"mem","type":"SCALAR","scalar":{"value":32.0},"role":"*"},
	  {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":9000,"end":9000}]},"role":"*"}],
	 "attributes":[{"name":"rack","type":"TEXT","text":{"value":"c3po"}}]}`
)

func TestMerge(t *testing.T) {
	big, small := decodeOffer(t, bigPiece), decodeOffer(t, smallPiece)
	before := offerJSON(t, big) + offerJSON(t, small)
	need := placement.Need{CPUs: 2, Mem: 400}
	cs := parse(t, "rack==c3po")
	for _, o := range []*mesos.Offer{big, small} {
		if r := placement.Fit(o, need, cs, placement.Used{}); r.Fits {
			t.Fatalf("Fit(piece %s) fits; the test needs pieces too small alone", o.GetId().GetValue())
		}
	}
	merged, err := placement.Merge([]*mesos.Offer{big, small})
	if err != nil {
		t.Fatalf("Merge = %v", err)
	}
	if r := placement.Fit(merged, need, cs, placement.Used{}); !r.Fits {
		t.Fatalf("Fit(merged) = %v, want fits", r)
	}
	if got, want := placement.Usable(merged).String(), "cpus 2, mem 496 MB, 1001 ports"; got != want {
		t.Errorf("Usable(merged) = %q, want %q", got, want)
	}
	tk, err := placement.Take(merged, placement.Need{CPUs: 2, Mem: 400, Ports: 2})
	if err != nil {
		t.Fatalf("Take(merged) = %v", err)
	}
	want := "{\"name\":\"cpus\",\"type\":\"SCALAR\",\"scalar\":{\"value\":2.0},\"role\":\"*\"}\n" +
		"{\"name\":\"mem\",\"type\":\"SCALAR\",\"scalar\":{\"value\":400.0},\"role\":\"*\"}\n" +
		"{\"name\":\"ports\",\"type\":\"RANGES\",\"ranges\":{\"range\":[{\"begin\":9000,\"end\":9001}]},\"role\":\"*\"}"
	if got := encodeAll(t, tk.Resources); got != want {
		t.Errorf("Take(merged).Resources =\n%s\nwant one resource of each kind:\n%s", got, want)
	}
	if !slices.Equal(tk.Ports, []uint64{9000, 9001}) {
		t.Errorf("Take(merged).Ports = %v, want the lowest across both pieces", tk.Ports)
	}
	if after := offerJSON(t, big) + offerJSON(t, small); after != before {
		t.Errorf("Merge changed its offers")
	}
	if merged.GetId().GetValue() != "O2" || merged.GetHostname() != "agent-2.demo" {
		t.Errorf("Merge = offer %s on %s, want the first's id and host", merged.GetId().GetValue(), merged.GetHostname())
	}
}

func TestMergeRefusesMixedOffers(t *testing.T) {
	small := decodeOffer(t, smallPiece)
	other := decodeOffer(t, notebookOffer) // agent S1
	if _, err := placement.Merge([]*mesos.Offer{small, other}); !errors.Is(err, placement.ErrMixedOffers) {
		t.Errorf("Merge(two agents) = %v, want ErrMixedOffers", err)
	}
	roled := decodeOffer(t, smallPiece)
	roled.AllocationInfo = &mesos.Resource_AllocationInfo{Role: new("eng")}
	if _, err := placement.Merge([]*mesos.Offer{small, roled}); !errors.Is(err, placement.ErrMixedOffers) {
		t.Errorf("Merge(two roles) = %v, want ErrMixedOffers", err)
	}
	if _, err := placement.Merge(nil); !errors.Is(err, placement.ErrMixedOffers) {
		t.Errorf("Merge(none) = %v, want ErrMixedOffers", err)
	}
}

func TestNeedArithmetic(t *testing.T) {
	a := placement.Need{CPUs: 0.1, Mem: 32, Ports: 1}
	b := placement.Need{CPUs: 1.9, Mem: 464, Disk: 10}
	if got := a.Add(b); got != (placement.Need{CPUs: 2, Mem: 496, Disk: 10, Ports: 1}) {
		t.Errorf("Add = %+v", got)
	}
	if got := a.Max(b); got != (placement.Need{CPUs: 1.9, Mem: 464, Disk: 10, Ports: 1}) {
		t.Errorf("Max = %+v", got)
	}
	if a.Within(b) || !a.Within(a.Add(b)) {
		t.Errorf("Within: %+v in %+v = %v, want false (ports)", a, b, a.Within(b))
	}
	if got := (placement.Need{}).String(); got != "nothing" {
		t.Errorf("zero Need.String() = %q", got)
	}
}
