package placement_test

import (
	"math"
	"slices"
	"testing"

	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

func TestFitNotebookOffer(t *testing.T) {
	o := decodeOffer(t, notebookOffer)
	var usedHost placement.Used
	usedHost.Add(placement.Hostname, "agent-1.demo")
	tests := []struct {
		name        string
		need        placement.Need
		constraints string
		used        placement.Used
		want        []string // reasons; nil when it fits
	}{
		{"small task", placement.Need{CPUs: 0.5, Mem: 128, Ports: 1}, "", placement.Used{}, nil},
		{"whole offer", placement.Need{CPUs: 2, Mem: 496, Disk: 4930, Ports: 1001}, "", placement.Used{}, nil},
		{"nothing", placement.Need{}, "", placement.Used{}, nil},
		{"too much mem", placement.Need{CPUs: 0.5, Mem: 512}, "", placement.Used{},
			[]string{"needs mem 512, agent-1.demo has 496"}},
		{"cpus by a thousandth", placement.Need{CPUs: 2.001}, "", placement.Used{},
			[]string{"needs cpus 2.001, agent-1.demo has 2"}},
		{"rounded, not truncated", placement.Need{CPUs: 4.015}, "", placement.Used{}, // 4.015*1000 is 4014.9999999999995
			[]string{"needs cpus 4.015, agent-1.demo has 2"}},
		{"below a thousandth", placement.Need{CPUs: 2.0004}, "", placement.Used{}, nil},
		{"disk", placement.Need{Disk: 5000.5}, "", placement.Used{},
			[]string{"needs disk 5000.5, agent-1.demo has 4930"}},
		{"gpus", placement.Need{GPUs: 1}, "", placement.Used{},
			[]string{"needs gpus 1, agent-1.demo has 0"}},
		{"one port too many", placement.Need{Ports: 1002}, "", placement.Used{},
			[]string{"needs 1002 ports, agent-1.demo has 1001"}},
		{"rack==r2d2", placement.Need{CPUs: 0.5}, "rack==r2d2", placement.Used{}, nil},
		{"rack==c3po", placement.Need{CPUs: 0.5}, "rack==c3po", placement.Used{},
			[]string{"rack==c3po wanted, agent-1.demo is r2d2"}},
		{"pod~demo", placement.Need{CPUs: 0.5}, "pod~demo", placement.Used{}, nil},
		{"pod~^demo$", placement.Need{CPUs: 0.5}, "pod~^demo$", placement.Used{},
			[]string{"pod~^demo$ wanted, agent-1.demo is demo,dev"}},
		{"missing attribute", placement.Need{CPUs: 0.5}, "zone==eu-1a", placement.Used{},
			[]string{"agent-1.demo has no attribute zone"}},
		{"hostname==", placement.Need{CPUs: 0.5}, "hostname==agent-1.demo", placement.Used{}, nil},
		{"hostname unique, free", placement.Need{CPUs: 0.5}, "hostname unique", placement.Used{}, nil},
		{"hostname unique, used", placement.Need{CPUs: 0.5}, "hostname unique", usedHost,
			[]string{"hostname unique: agent-1.demo already runs an instance"}},
		{"all constraints pass", placement.Need{CPUs: 1, Mem: 256, Ports: 2},
			"rack==r2d2; rack!=c3po; pod~demo; pod!~test; hostname==agent-1.demo; hostname unique", placement.Used{}, nil},
		{"several reasons", placement.Need{CPUs: 4, Mem: 512, Disk: 100, Ports: 2000},
			"rack==c3po\npod~dev\npod~^demo$\nhostname unique\nzone unique", usedHost,
			[]string{
				"needs cpus 4, agent-1.demo has 2",
				"needs mem 512, agent-1.demo has 496",
				"needs 2000 ports, agent-1.demo has 1001",
				"rack==c3po wanted, agent-1.demo is r2d2",
				"pod~^demo$ wanted, agent-1.demo is demo,dev",
				"hostname unique: agent-1.demo already runs an instance",
				"agent-1.demo has no attribute zone",
			}},
		{"negative cpus", placement.Need{CPUs: -1}, "", placement.Used{},
			[]string{"invalid need: cpus -1, want 0 to 1e+12"}},
		{"NaN mem", placement.Need{Mem: math.NaN()}, "", placement.Used{},
			[]string{"invalid need: mem NaN, want 0 to 1e+12"}},
		{"infinite disk", placement.Need{Disk: math.Inf(1)}, "", placement.Used{},
			[]string{"invalid need: disk +Inf, want 0 to 1e+12"}},
		{"negative ports", placement.Need{Ports: -1}, "", placement.Used{},
			[]string{"invalid need: -1 ports, want 0 to 65536"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := placement.Fit(o, tc.need, parse(t, tc.constraints), tc.used)
			if got.Fits != (tc.want == nil) || !slices.Equal(got.Reasons, tc.want) {
				t.Errorf("Fit(%+v, %q) = %v %q, want reasons %q", tc.need, tc.constraints, got.Fits, got.Reasons, tc.want)
			}
		})
	}
}

// TestFitRoles checks which resources count: those the offer's role may
// use, and no volumes, revocable or shared ones.
func TestFitRoles(t *testing.T) {
	tests := []struct {
		name  string
		offer string
		want  string // Result.String for cpus 100, which never fits
	}{
		{"multi-role offer", `{"id":{"value":"O2"},"framework_id":{"value":"F1"},"agent_id":{"value":"S2"},"hostname":"a",
			"allocation_info":{"role":"dash"},
			"resources":[
			 {"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"*","allocation_info":{"role":"dash"}},
			 {"name":"cpus","type":"SCALAR","scalar":{"value":2},"role":"dash","allocation_info":{"role":"dash"}},
			 {"name":"cpus","type":"SCALAR","scalar":{"value":4},"role":"eng","allocation_info":{"role":"dash"}},
			 {"name":"cpus","type":"SCALAR","scalar":{"value":8},"role":"*","allocation_info":{"role":"eng"}},
			 {"name":"cpus","type":"SCALAR","scalar":{"value":16},"role":"*","allocation_info":{"role":"dash"},"revocable":{}}]}`,
			"needs cpus 100, a has 3; needs disk 11, a has 0"},
		{"sub-role uses parent reservation", `{"id":{"value":"O2"},"framework_id":{"value":"F1"},"agent_id":{"value":"S2"},"hostname":"a",
			"allocation_info":{"role":"eng/web"},
			"resources":[
			 {"name":"cpus","type":"SCALAR","scalar":{"value":1},"reservations":[{"type":"STATIC","role":"eng"}],"allocation_info":{"role":"eng/web"}},
			 {"name":"cpus","type":"SCALAR","scalar":{"value":2},"reservations":[{"type":"STATIC","role":"eng"},{"type":"DYNAMIC","role":"eng/web","principal":"p"}],"allocation_info":{"role":"eng/web"}},
			 {"name":"cpus","type":"SCALAR","scalar":{"value":4},"reservations":[{"type":"STATIC","role":"engine"}],"allocation_info":{"role":"eng/web"}},
			 {"name":"cpus","type":"SCALAR","scalar":{"value":8},"allocation_info":{"role":"eng/web"}}]}`,
			"needs cpus 100, a has 11; needs disk 11, a has 0"},
		{"single-role offer counts what the master sent", `{"id":{"value":"O2"},"framework_id":{"value":"F1"},"agent_id":{"value":"S2"},"hostname":"a",
			"resources":[
			 {"name":"cpus","type":"SCALAR","scalar":{"value":1},"role":"*"},
			 {"name":"cpus","type":"SCALAR","scalar":{"value":2},"role":"dash","reservation":{"principal":"p"}}]}`,
			"needs cpus 100, a has 3; needs disk 11, a has 0"},
		{"volumes and shared resources are not taken as plain disk", `{"id":{"value":"O2"},"framework_id":{"value":"F1"},"agent_id":{"value":"S2"},"hostname":"a",
			"resources":[
			 {"name":"cpus","type":"SCALAR","scalar":{"value":0.25}},
			 {"name":"cpus","type":"SCALAR","scalar":{"value":1},"shared":{}},
			 {"name":"disk","type":"SCALAR","scalar":{"value":10}},
			 {"name":"disk","type":"SCALAR","scalar":{"value":20},"role":"dash","disk":{"persistence":{"id":"v1"},"volume":{"mode":"RW","container_path":"data"}}},
			 {"name":"disk","type":"SCALAR","scalar":{"value":40},"disk":{"source":{"type":"MOUNT","mount":{"root":"/mnt/a"}}}}]}`,
			"needs cpus 100, a has 0.25; needs disk 11, a has 10"},
		{"other names and types are ignored", `{"id":{"value":"O2"},"framework_id":{"value":"F1"},"agent_id":{"value":"S2"},"hostname":"a",
			"resources":[
			 {"name":"cpu","type":"SCALAR","scalar":{"value":200}},
			 {"name":"cpus","type":"SET","set":{"item":["1"]}},
			 {"name":"ports","type":"SCALAR","scalar":{"value":5}}]}`,
			"needs cpus 100, a has 0; needs disk 11, a has 0"},
	}
	need := placement.Need{CPUs: 100, Disk: 11}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := decodeOffer(t, tc.offer)
			if got := placement.Fit(o, need, nil, placement.Used{}).String(); got != tc.want {
				t.Errorf("Fit(%+v) = %q, want %q", need, got, tc.want)
			}
		})
	}
}

func TestFitPorts(t *testing.T) {
	tests := []struct {
		name   string
		ranges string
		ports  int
		want   string
	}{
		{"no ports resource", "", 2, "needs 2 ports, agent-1.demo has 0"},
		{"one needed", "", 1, "needs 1 port, agent-1.demo has 0"},
		{"split ranges", `{"begin":31000,"end":31000},{"begin":31005,"end":31010}`, 7, "fits"},
		{"split ranges short", `{"begin":31000,"end":31000},{"begin":31005,"end":31010}`, 8, "needs 8 ports, agent-1.demo has 7"},
		{"whole space", `{"begin":0,"end":18446744073709551615}`, 65536, "fits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := ""
			if tc.ranges != "" {
				res = `{"name":"ports","type":"RANGES","ranges":{"range":[` + tc.ranges + `]}}`
			}
			o := decodeOffer(t, `{"id":{"value":"O1"},"framework_id":{"value":"F1"},"agent_id":{"value":"S1"},
				"hostname":"agent-1.demo","resources":[`+res+`]}`)
			if got := placement.Fit(o, placement.Need{Ports: tc.ports}, nil, placement.Used{}).String(); got != tc.want {
				t.Errorf("Fit(%d ports) = %q, want %q", tc.ports, got, tc.want)
			}
		})
	}
}

// TestFitAllocations holds Fit to its promise of not allocating when an
// instance fits, which the launch form's live preview relies on.
func TestFitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	o := decodeOffer(t, notebookOffer)
	cs := parse(t, "rack!=c3po; pod~demo; hostname unique")
	var used placement.Used
	used.Add(placement.Hostname, "agent-2.demo")
	need := placement.Need{CPUs: 0.5, Mem: 128, Disk: 100, Ports: 2}
	if r := placement.Fit(o, need, cs, used); !r.Fits {
		t.Fatalf("Fit = %v, want fits", r)
	}
	if n := testing.AllocsPerRun(100, func() { placement.Fit(o, need, cs, used) }); n != 0 {
		t.Errorf("Fit allocates %v times per call, want 0", n)
	}
}
