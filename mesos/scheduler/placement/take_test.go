package placement_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

// multiRoleOffer is the OFFERS example of mesos-api.md §4.3: a MULTI_ROLE
// framework's offer, with allocation_info on the offer and every resource.
const multiRoleOffer = `{"id":{"value":"O17"},"framework_id":{"value":"F1"},"agent_id":{"value":"S0"},
 "hostname":"agent-1.example",
 "resources":[
  {"name":"cpus","type":"SCALAR","scalar":{"value":3.5},"role":"*","allocation_info":{"role":"dash"}},
  {"name":"mem","type":"SCALAR","scalar":{"value":14720.0},"role":"*","allocation_info":{"role":"dash"}},
  {"name":"disk","type":"SCALAR","scalar":{"value":45000.0},"role":"*","allocation_info":{"role":"dash"}},
  {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31004},{"begin":31006,"end":32000}]},"role":"*","allocation_info":{"role":"dash"}}],
 "attributes":[{"name":"rack","type":"TEXT","text":{"value":"r12"}},{"name":"gen","type":"SCALAR","scalar":{"value":3.0}}],
 "allocation_info":{"role":"dash"}}`

func TestTake(t *testing.T) {
	tests := []struct {
		name  string
		offer string
		need  placement.Need
		want  []string // Taken.Resources as JSON
		ports []uint64
	}{
		{"notebook offer", notebookOffer, placement.Need{CPUs: 0.5, Mem: 128, Ports: 1},
			[]string{
				`{"name":"cpus","type":"SCALAR","scalar":{"value":0.5},"role":"*"}`,
				`{"name":"mem","type":"SCALAR","scalar":{"value":128.0},"role":"*"}`,
				`{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":9000,"end":9000}]},"role":"*"}`,
			}, []uint64{9000}},
		{"lowest ports across ranges", `{"id":{"value":"O1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S1"},"hostname":"a",
			"resources":[{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31005,"end":31010},{"begin":31000,"end":31000}]}}]}`,
			placement.Need{Ports: 3},
			[]string{`{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31000},{"begin":31005,"end":31006}]}}`},
			[]uint64{31000, 31005, 31006}},
		{"multi-role offer", multiRoleOffer, placement.Need{CPUs: 0.2, Mem: 64, Disk: 10, Ports: 6},
			[]string{
				`{"name":"cpus","type":"SCALAR","scalar":{"value":0.2},"role":"*","allocation_info":{"role":"dash"}}`,
				`{"name":"mem","type":"SCALAR","scalar":{"value":64.0},"role":"*","allocation_info":{"role":"dash"}}`,
				`{"name":"disk","type":"SCALAR","scalar":{"value":10.0},"role":"*","allocation_info":{"role":"dash"}}`,
				`{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31004},{"begin":31006,"end":31006}]},"role":"*","allocation_info":{"role":"dash"}}`,
			}, []uint64{31000, 31001, 31002, 31003, 31004, 31006}},
		{"offer allocation copied to resources without one", `{"id":{"value":"O1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S1"},"hostname":"a",
			"allocation_info":{"role":"dash"},
			"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1}}]}`,
			placement.Need{CPUs: 1},
			[]string{`{"name":"cpus","type":"SCALAR","scalar":{"value":1.0},"allocation_info":{"role":"dash"}}`}, nil},
		{"pre-refinement reservation kept", `{"id":{"value":"O1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S1"},"hostname":"a",
			"resources":[
			 {"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"eng"},
			 {"name":"mem","type":"SCALAR","scalar":{"value":256},"role":"eng","reservation":{"principal":"ops","labels":{"labels":[{"key":"team","value":"web"}]}}},
			 {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":8000,"end":8009}]},"role":"eng"}]}`,
			placement.Need{CPUs: 0.5, Mem: 100, Ports: 1},
			[]string{
				`{"name":"cpus","type":"SCALAR","scalar":{"value":0.5},"role":"eng"}`,
				`{"name":"mem","type":"SCALAR","scalar":{"value":100.0},"role":"eng","reservation":{"principal":"ops","labels":{"labels":[{"key":"team","value":"web"}]}}}`,
				`{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":8000,"end":8000}]},"role":"eng"}`,
			}, []uint64{8000}},
		{"post-refinement, reserved first, split", `{"id":{"value":"O1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S1"},"hostname":"a",
			"allocation_info":{"role":"eng"},
			"resources":[
			 {"name":"cpus","type":"SCALAR","scalar":{"value":2},"allocation_info":{"role":"eng"}},
			 {"name":"cpus","type":"SCALAR","scalar":{"value":1.5},"reservations":[{"type":"STATIC","role":"eng"}],"allocation_info":{"role":"eng"}},
			 {"name":"mem","type":"SCALAR","scalar":{"value":64},"reservations":[{"type":"DYNAMIC","role":"eng","principal":"p"}],"allocation_info":{"role":"eng"}},
			 {"name":"mem","type":"SCALAR","scalar":{"value":512},"allocation_info":{"role":"eng"}}]}`,
			placement.Need{CPUs: 2.5, Mem: 128},
			[]string{
				`{"name":"cpus","type":"SCALAR","scalar":{"value":1.5},"allocation_info":{"role":"eng"},"reservations":[{"type":"STATIC","role":"eng"}]}`,
				`{"name":"cpus","type":"SCALAR","scalar":{"value":1.0},"allocation_info":{"role":"eng"}}`,
				`{"name":"mem","type":"SCALAR","scalar":{"value":64.0},"allocation_info":{"role":"eng"},"reservations":[{"type":"DYNAMIC","role":"eng","principal":"p"}]}`,
				`{"name":"mem","type":"SCALAR","scalar":{"value":64.0},"allocation_info":{"role":"eng"}}`,
			}, nil},
		{"gpus whole", `{"id":{"value":"O1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S1"},"hostname":"a",
			"resources":[{"name":"gpus","type":"SCALAR","scalar":{"value":4}}]}`,
			placement.Need{GPUs: 2},
			[]string{`{"name":"gpus","type":"SCALAR","scalar":{"value":2.0}}`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := decodeOffer(t, tc.offer)
			before := offerJSON(t, o)
			got, err := placement.Take(o, tc.need)
			if err != nil {
				t.Fatalf("Take(%+v) = %v", tc.need, err)
			}
			if want := strings.Join(tc.want, "\n"); encodeAll(t, got.Resources) != want {
				t.Errorf("Take(%+v).Resources =\n%s\nwant\n%s", tc.need, encodeAll(t, got.Resources), want)
			}
			if !slices.Equal(got.Ports, tc.ports) {
				t.Errorf("Take(%+v).Ports = %v, want %v", tc.need, got.Ports, tc.ports)
			}
			if after := offerJSON(t, o); after != before {
				t.Errorf("Take changed the offer:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

func offerJSON(t *testing.T, o *mesos.Offer) string {
	t.Helper()
	b, err := mesos.MarshalJSON(o)
	if err != nil {
		t.Fatalf("MarshalJSON(offer) = %v", err)
	}
	return string(b)
}

func TestTakeErrors(t *testing.T) {
	tests := []struct {
		name   string
		need   placement.Need
		target error
		want   string
	}{
		{"short", placement.Need{CPUs: 3, Mem: 512, Ports: 2000}, placement.ErrInsufficient,
			"take from offer O1: insufficient resources: needs cpus 3, agent-1.demo has 2; " +
				"needs mem 512, agent-1.demo has 496; needs 2000 ports, agent-1.demo has 1001"},
		{"empty", placement.Need{CPUs: 0.0004}, placement.ErrInvalidNeed,
			"take from offer O1: invalid need: needs no resources, and a task must have some"},
		{"negative", placement.Need{Mem: -5}, placement.ErrInvalidNeed,
			"take from offer O1: invalid need: mem -5, want 0 to 1e+12"},
		{"too many ports", placement.Need{Ports: 1 << 20}, placement.ErrInvalidNeed,
			"take from offer O1: invalid need: 1048576 ports, want 0 to 65536"},
	}
	o := decodeOffer(t, notebookOffer)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := placement.Take(o, tc.need)
			if !errors.Is(err, tc.target) || err.Error() != tc.want {
				t.Errorf("Take(%+v) = %v, %v; want %q wrapping %v", tc.need, got, err, tc.want, tc.target)
			}
			if got.Resources != nil || got.Ports != nil {
				t.Errorf("Take(%+v) returned %v with its error, want nothing", tc.need, got)
			}
		})
	}
}

func TestPack(t *testing.T) {
	half := placement.Need{CPUs: 0.5}
	tests := []struct {
		name    string
		needs   []placement.Need
		wantErr string
		ports   [][]uint64
	}{
		{"four halves on two cpus", slices.Repeat([]placement.Need{half}, 4), "", [][]uint64{nil, nil, nil, nil}},
		{"a fifth does not fit", slices.Repeat([]placement.Need{half}, 5),
			"instance 5 of 5: take from offer O1: insufficient resources: needs cpus 0.5, agent-1.demo has 0", nil},
		{"distinct ports", slices.Repeat([]placement.Need{{CPUs: 0.1, Mem: 32, Ports: 2}}, 3), "",
			[][]uint64{{9000, 9001}, {9002, 9003}, {9004, 9005}}},
		{"mixed specs", []placement.Need{{CPUs: 1.5, Mem: 400}, {CPUs: 0.5, Mem: 96, Disk: 4930, Ports: 1}}, "",
			[][]uint64{nil, {9000}}},
		{"none", nil, "", [][]uint64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := decodeOffer(t, notebookOffer)
			got, err := placement.Pack(o, tc.needs)
			if tc.wantErr != "" {
				if !errors.Is(err, placement.ErrInsufficient) || err.Error() != tc.wantErr || got != nil {
					t.Fatalf("Pack(%d needs) = %d taken, %v; want none and %q", len(tc.needs), len(got), err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Pack(%d needs) = %v", len(tc.needs), err)
			}
			var ports [][]uint64
			for i, tk := range got {
				ports = append(ports, tk.Ports)
				if c := mesos.ScalarSum(tk.Resources, "cpus"); c != tc.needs[i].CPUs {
					t.Errorf("Pack: instance %d got cpus %v, want %v", i+1, c, tc.needs[i].CPUs)
				}
			}
			if len(got) != len(tc.needs) || !slices.EqualFunc(ports, tc.ports, slices.Equal) {
				t.Errorf("Pack(%d needs) ports = %v, want %v", len(tc.needs), ports, tc.ports)
			}
		})
	}
}

// TestRemainingFixedPoint takes 0.1 cpus three times: in float64, 2 - 0.1
// - 0.1 - 0.1 is 1.7000000000000002, but Mesos keeps three decimals, and
// so must what remains.
func TestRemainingFixedPoint(t *testing.T) {
	r := placement.NewRemaining(decodeOffer(t, notebookOffer))
	for i := range 3 {
		tk, err := r.Take(placement.Need{CPUs: 0.1})
		if err != nil {
			t.Fatalf("Take %d: %v", i+1, err)
		}
		if got := tk.Resources[0].GetScalar().GetValue(); len(tk.Resources) != 1 || got != 0.1 {
			t.Errorf("Take %d = %s, want one cpus 0.1", i+1, encodeAll(t, tk.Resources))
		}
	}
	left := r.Resources()
	want := strings.Join([]string{
		`{"name":"cpus","type":"SCALAR","scalar":{"value":1.7},"role":"*"}`,
		`{"name":"mem","type":"SCALAR","scalar":{"value":496.0},"role":"*"}`,
		`{"name":"disk","type":"SCALAR","scalar":{"value":4930.0},"role":"*"}`,
		`{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":9000,"end":10000}]},"role":"*"}`,
	}, "\n")
	if got := encodeAll(t, left); got != want {
		t.Errorf("Resources() after 3 x 0.1 cpus =\n%s\nwant\n%s", got, want)
	}
	if got := left[0].GetScalar().GetValue(); got != 1.7 {
		t.Errorf("cpus left = %v, want exactly 1.7", got)
	}
	if res := r.Fit(placement.Need{CPUs: 1.7}, nil, placement.Used{}); !res.Fits {
		t.Errorf("Remaining.Fit(cpus 1.7) = %v, want fits", res)
	}
	if res := r.Fit(placement.Need{CPUs: 1.701}, nil, placement.Used{}); res.String() != "needs cpus 1.701, agent-1.demo has 1.7" {
		t.Errorf("Remaining.Fit(cpus 1.701) = %v, want short by a thousandth", res)
	}
}

func TestRemaining(t *testing.T) {
	o := decodeOffer(t, notebookOffer)
	r := placement.NewRemaining(o)
	cs := parse(t, "rack==r2d2; hostname unique")
	need := placement.Need{CPUs: 0.5, Mem: 200, Ports: 500}

	if res := r.Fit(need, cs, placement.Used{}); !res.Fits {
		t.Fatalf("Remaining.Fit first = %v, want fits", res)
	}
	if _, err := r.Take(need); err != nil {
		t.Fatalf("Take first = %v", err)
	}
	var used placement.Used
	used.AddOffer(o)
	res := r.Fit(need, cs, used)
	if want := "hostname unique: agent-1.demo already runs an instance"; res.String() != want {
		t.Errorf("Remaining.Fit after one instance = %v, want %q", res, want)
	}
	if _, err := r.Take(need); err != nil {
		t.Fatalf("Take second = %v", err)
	}
	res = r.Fit(need, nil, placement.Used{})
	if want := "needs mem 200, agent-1.demo has 96; needs 500 ports, agent-1.demo has 1"; res.String() != want {
		t.Errorf("Remaining.Fit after two instances = %v, want %q", res, want)
	}
	before := encodeAll(t, r.Resources())
	if _, err := r.Take(need); !errors.Is(err, placement.ErrInsufficient) {
		t.Errorf("Take third = %v, want ErrInsufficient", err)
	}
	if after := encodeAll(t, r.Resources()); after != before {
		t.Errorf("failed Take changed what remains:\n%s\nwas\n%s", after, before)
	}
	tk, err := r.Take(placement.Need{Ports: 1})
	if err != nil || !slices.Equal(tk.Ports, []uint64{10000}) {
		t.Errorf("Take(last port) = %v, %v; want port 10000", tk.Ports, err)
	}
	if got := mesos.Ranges(r.Resources(), "ports"); got != nil {
		t.Errorf("ports left after taking all = %v, want none", got)
	}
}
