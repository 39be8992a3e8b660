package placement_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

func TestParseConstraints(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // canonical forms
	}{
		{"empty", "", nil},
		{"blank", " ;\n\t; \r\n", nil},
		{"equal", "rack==r2d2", []string{"rack==r2d2"}},
		{"not equal", "rack!=c3po", []string{"rack!=c3po"}},
		{"match", "pod~demo", []string{"pod~demo"}},
		{"not match", "pod!~test", []string{"pod!~test"}},
		{"anchored", "pod~^demo$", []string{"pod~^demo$"}},
		{"unique", "rack unique", []string{"rack unique"}},
		{"hostname", "hostname==agent-1.demo", []string{"hostname==agent-1.demo"}},
		{"hostname unique", "hostname unique", []string{"hostname unique"}},
		{"spacing", "  rack  ==  r2d2 ", []string{"rack==r2d2"}},
		{"spacing before regex", "pod ~ ^demo", []string{"pod~^demo"}},
		{"tab before unique", "rack\t unique", []string{"rack unique"}},
		{"semicolons", "rack==r2d2;pod~demo; hostname unique;", []string{"rack==r2d2", "pod~demo", "hostname unique"}},
		{"newlines", "rack!=c3po\npod!~test\r\n\nhostname unique\n", []string{"rack!=c3po", "pod!~test", "hostname unique"}},
		{"mixed separators", "a==1;\n b==2 ;c==3", []string{"a==1", "b==2", "c==3"}},
		{"value punctuation", "pod==demo,dev", []string{"pod==demo,dev"}},
		{"value with = and :", "label==k=v:w.x-y", []string{"label==k=v:w.x-y"}},
		{"value with inner space", "desc == two words ", []string{"desc==two words"}},
		{"name punctuation", "topology.io/zone_a-1==eu-1a", []string{"topology.io/zone_a-1==eu-1a"}},
		{"range value", "zone==[1-3]", []string{"zone==[1-3]"}},
		{"unicode value", "city==Zürich", []string{"city==Zürich"}},
		{"the word unique as a value", "mode==unique", []string{"mode==unique"}},
		{"like", "rack like r[0-9]+", []string{"rack like r[0-9]+"}},
		{"unlike", "rack  unlike  c3po|bb8", []string{"rack unlike c3po|bb8"}},
		{"group-by", "rack group-by", []string{"rack group-by"}},
		{"group-by n", "rack group-by 3", []string{"rack group-by 3"}},
		{"max-per", "hostname max-per 2", []string{"hostname max-per 2"}},
		{"words in any case", "rack UNIQUE; pod Like demo.*", []string{"rack unique", "pod like demo.*"}},
		{"marathon unique", "hostname:UNIQUE", []string{"hostname unique"}},
		{"marathon cluster", "rack:CLUSTER:r2d2", []string{"rack==r2d2"}},
		{"marathon is", "rack:IS:r2d2", []string{"rack==r2d2"}},
		{"marathon like", "rack:LIKE:r[0-9]", []string{"rack like r[0-9]"}},
		{"marathon unlike", "rack:UNLIKE:c3po", []string{"rack unlike c3po"}},
		{"marathon group_by", "rack:GROUP_BY", []string{"rack group-by"}},
		{"marathon group_by n", "rack:GROUP_BY:2", []string{"rack group-by 2"}},
		{"marathon max_per", "rack:max_per:3", []string{"rack max-per 3"}},
		{"marathon value with colons", "label:LIKE:a:b", []string{"label like a:b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := placement.ParseConstraints(tc.in)
			if err != nil {
				t.Fatalf("ParseConstraints(%q) = %v", tc.in, err)
			}
			if got := strs(cs); !slices.Equal(got, tc.want) {
				t.Fatalf("ParseConstraints(%q) = %q, want %q", tc.in, got, tc.want)
			}
			// The canonical form reads back to the same constraints.
			again, err := placement.ParseConstraints(strings.Join(strs(cs), "; "))
			if err != nil {
				t.Fatalf("ParseConstraints(canonical %q) = %v", strs(cs), err)
			}
			for i := range cs {
				if again[i].Attr() != cs[i].Attr() || again[i].Op() != cs[i].Op() || again[i].Value() != cs[i].Value() {
					t.Errorf("round trip of %q = %q %q %q, want %q %q %q", cs[i],
						again[i].Attr(), again[i].Op(), again[i].Value(), cs[i].Attr(), cs[i].Op(), cs[i].Value())
				}
			}
		})
	}
}

func TestConstraintParts(t *testing.T) {
	tests := []struct {
		in              string
		attr, op, value string
	}{
		{"rack == r2d2", "rack", "==", "r2d2"},
		{"rack!=c3po", "rack", "!=", "c3po"},
		{"pod~de(mo|v)", "pod", "~", "de(mo|v)"},
		{"pod !~ test", "pod", "!~", "test"},
		{"hostname unique", "hostname", "unique", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			c := parse(t, tc.in)[0]
			if c.Attr() != tc.attr || c.Op().String() != tc.op || c.Value() != tc.value {
				t.Errorf("ParseConstraints(%q) = attr %q op %q value %q, want %q %q %q",
					tc.in, c.Attr(), c.Op(), c.Value(), tc.attr, tc.op, tc.value)
			}
		})
	}
}

func TestParseConstraintsErrors(t *testing.T) {
	const ops = "want ==, !=, ~, !~, like, unlike, unique, group-by or max-per"
	tests := []struct {
		name   string
		in     string
		want   string
		offset int // of the fault in the whole text
	}{
		{"single equals", "rack=r2d2", `constraint "rack=r2d2", character 5 (rack‸=r2d2): a single = is not an operator: want == to compare`, 4},
		{"four equals", "rack====r2d2", `constraint "rack====r2d2", character 7 (rack==‸==r2d2): a value may not start with "=": one operator per constraint`, 6},
		{"no name", "==r2d2", `constraint "==r2d2", character 1 (‸==r2d2): want an attribute name (letters, digits and _-./) or hostname first`, 0},
		{"name only", "rack", `constraint "rack", character 5 (rack‸): want an operator after rack: ==, !=, ~, !~, like, unlike, unique, group-by or max-per`, 4},
		{"unique glued", "rackunique", `constraint "rackunique", character 11 (rackunique‸): want an operator after rackunique: ==, !=, ~, !~, like, unlike, unique, group-by or max-per`, 10},
		{"unique with extra", "rack unique please", `constraint "rack unique please", character 13 (rack unique ‸please): nothing may follow rack unique`, 12},
		{"unknown word", "rack is r2d2", `constraint "rack is r2d2", character 6 (rack ‸is r2d2): "is" is not an operator; ` + ops, 5},
		{"perl match", "pod=~demo", `constraint "pod=~demo", character 4 (pod‸=~demo): =~ is not an operator: want ~ to match a regex`, 3},
		{"colon without operator", "rack:r2d2", `constraint "rack:r2d2", character 6 (rack:‸r2d2): "r2d2" is not an operator; want UNIQUE, CLUSTER, IS, LIKE, UNLIKE, GROUP_BY or MAX_PER`, 5},
		{"marathon without value", "rack:CLUSTER", `constraint "rack:CLUSTER", character 13 (rack:CLUSTER‸): want a value: rack:CLUSTER:value`, 12},
		{"marathon unique with value", "rack:UNIQUE:x", `constraint "rack:UNIQUE:x", character 12 (rack:UNIQUE‸:x): UNIQUE takes no value`, 11},
		{"max-per without count", "rack max-per", `constraint "rack max-per", character 13 (rack max-per‸): want a count after max-per, such as rack max-per 2`, 12},
		{"max-per zero", "rack:MAX_PER:0", `constraint "rack:MAX_PER:0", character 14 (rack:MAX_PER:‸0): want a whole number from 1 to 1000 after max-per, not "0"`, 13},
		{"group-by word", "rack group-by many", `constraint "rack group-by many", character 15 (rack group-by ‸many): want a whole number from 1 to 1000 after group-by, not "many"`, 14},
		{"space in name", "my rack==r2d2", `constraint "my rack==r2d2", character 4 (my ‸rack==r2d2): "rack==r2d2" is not an operator; ` + ops, 3},
		{"second of several", "rack==r2d2; pod", `constraint "pod", character 4 (pod‸): want an operator after pod: ==, !=, ~, !~, like, unlike, unique, group-by or max-per`, 15},
		{"second line", "rack==r2d2\n  pod=~x", `constraint "pod=~x", character 4 (pod‸=~x): =~ is not an operator: want ~ to match a regex`, 16},
		{"empty value", "rack==", `constraint "rack==", character 7 (rack==‸): want a value after ==`, 6},
		{"blank value", "rack !=  ", `constraint "rack !=", character 8 (rack !=‸): want a value after !=`, 7},
		{"empty regex", "pod~", `constraint "pod~", character 5 (pod~‸): want a value after ~`, 4},
		{"bad regex", "pod~(demo", `constraint "pod~(demo", character 5 (pod~‸(demo): invalid regex "(demo": missing closing )`, 4},
		{"bad regex part", "pod!~a**", `constraint "pod!~a**", character 7 (pod!~a‸**): invalid regex "a**": invalid nested repetition operator at "**"`, 6},
		{"bad like", "pod like [a-", `constraint "pod like [a-", character 10 (pod like ‸[a-): invalid regex "[a-": missing closing ]`, 9},
		{"huge repeat", "pod~a{1001}", `constraint "pod~a{1001}", character 6 (pod~a‸{1001}): invalid regex "a{1001}": invalid repeat count at "{1001}"`, 5},
		{"control character", "rack==r2\x01d2", `constraint "rack==r2\x01d2", character 9 (rack==r2‸\x01d2): a control character`, 8},
		{"tab in value", "rack==r2\td2", `constraint "rack==r2\td2", character 9 (rack==r2‸\td2): a value may not hold a control character`, 8},
		{"not utf-8", "rack==r2\xffd2", "constraint \"rack==r2\ufffdd2\", character 9 (rack==r2‸\ufffdd2): want UTF-8 text", 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := placement.ParseConstraints(tc.in)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("ParseConstraints(%q) = %q, %v; want error %q", tc.in, strs(cs), err, tc.want)
			}
			var ce *placement.ConstraintError
			if !errors.As(err, &ce) || ce.Offset != tc.offset {
				t.Errorf("ParseConstraints(%q) error %#v, want a *ConstraintError at offset %d", tc.in, err, tc.offset)
			}
		})
	}
}

func TestParseConstraintsLimits(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("a==")
			b.WriteString(strings.Repeat("x", i+1))
			b.WriteString(";")
		}
		return b.String()
	}
	long := func(n int) string { return "rack==" + strings.Repeat("a", n-len("rack==")) }
	tests := []struct {
		name string
		in   string
		want string // "" for success
	}{
		{"32 constraints", many(placement.MaxConstraints), ""},
		{"33 constraints", many(placement.MaxConstraints + 1), "more than 32 constraints"},
		{"256 bytes", long(placement.MaxConstraintLen), ""},
		{"257 bytes", long(placement.MaxConstraintLen + 1),
			`constraint "rack==aaaaaaaaaaaaaaaaaaaaaaaaaa..." is 257 bytes, want at most 256`},
		{"257 bytes cut at a rune", "city==x" + strings.Repeat("ü", 125),
			`constraint "city==xüüüüüüüüüüüü..." is 257 bytes, want at most 256`},
		{"padding", strings.Repeat(" ", 20000) + "rack==r2d2", "constraints are 20010 bytes, want at most 16384"},
		{"a megabyte", strings.Repeat("rack==r2d2;", 100000), "constraints are 1100000 bytes, want at most 16384"},
		{"separators only", strings.Repeat(";", 16384), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := placement.ParseConstraints(tc.in)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("ParseConstraints(%d bytes) = %v, want success", len(tc.in), err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("ParseConstraints(%d bytes) = %d constraints, %v; want error %q", len(tc.in), len(cs), err, tc.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	notebook := decodeOffer(t, notebookOffer)
	agent3 := decodeOffer(t, `{"id":{"value":"O3"},"framework_id":{"value":"F1"},"agent_id":{"value":"S3"},
		"hostname":"agent-3.demo",
		"attributes":[{"name":"rack","type":"TEXT","text":{"value":"bb8"}},
		 {"name":"gen","type":"SCALAR","scalar":{"value":3.0}},
		 {"name":"zone","type":"RANGES","ranges":{"range":[{"begin":1,"end":3}]}}]}`)
	var usedHost, usedRack, usedOther placement.Used
	usedHost.Add(placement.Hostname, "agent-1.demo")
	usedRack.Add("rack", "r2d2")
	usedOther.AddOffer(agent3)
	var usedTwoRacks placement.Used
	usedTwoRacks.Add("rack", "r2d2")
	usedTwoRacks.Know(agent3)

	tests := []struct {
		constraint string
		offer      string // "1" for the notebook offer, "3" for agent-3
		used       placement.Used
		want       string // "" when satisfied
	}{
		{"rack==r2d2", "1", placement.Used{}, ""},
		{"rack==c3po", "1", placement.Used{}, "rack==c3po wanted, agent-1.demo is r2d2"},
		{"rack==r2d2", "3", placement.Used{}, "rack==r2d2 wanted, agent-3.demo is bb8"},
		{"rack!=c3po", "1", placement.Used{}, ""},
		{"rack!=r2d2", "1", placement.Used{}, "rack!=r2d2 wanted, agent-1.demo is r2d2"},
		{"pod~demo", "1", placement.Used{}, ""},
		{"pod~^demo$", "1", placement.Used{}, "pod~^demo$ wanted, agent-1.demo is demo,dev"},
		{"pod~^demo,dev$", "1", placement.Used{}, ""},
		{"pod!~test", "1", placement.Used{}, ""},
		{"pod!~dev", "1", placement.Used{}, "pod!~dev wanted, agent-1.demo is demo,dev"},
		{"pod==demo", "3", placement.Used{}, "agent-3.demo has no attribute pod"},
		{"pod~demo", "3", placement.Used{}, "agent-3.demo has no attribute pod"},
		{"pod unique", "3", placement.Used{}, "agent-3.demo has no attribute pod"},
		{"pod!=demo", "3", placement.Used{}, ""},
		{"pod!~demo", "3", placement.Used{}, ""},
		{"gen==3", "3", placement.Used{}, ""},
		{"gen==3.0", "3", placement.Used{}, "gen==3.0 wanted, agent-3.demo is 3"},
		{`zone~^\[1-3\]$`, "3", placement.Used{}, ""},
		{"hostname==agent-1.demo", "1", placement.Used{}, ""},
		{"hostname==agent-2.demo", "1", placement.Used{}, "hostname==agent-2.demo wanted, this is agent-1.demo"},
		{`hostname~^agent-[12]\.`, "1", placement.Used{}, ""},
		{`hostname!~\.demo$`, "3", placement.Used{}, `hostname!~\.demo$ wanted, this is agent-3.demo`},
		{"hostname unique", "1", placement.Used{}, ""},
		{"hostname unique", "1", usedHost, "hostname unique: agent-1.demo already runs an instance"},
		{"hostname unique", "3", usedHost, ""},
		{"hostname unique", "3", usedOther, "hostname unique: agent-3.demo already runs an instance"},
		{"rack unique", "1", usedRack, "rack unique: an instance already runs on rack r2d2"},
		{"rack unique", "3", usedRack, ""},
		{"gen unique", "3", usedOther, "gen unique: an instance already runs on gen 3"},
		{"pod unique", "1", usedRack, ""},
		{"pod like demo", "1", placement.Used{}, "pod like demo wanted, agent-1.demo is demo,dev"},
		{"pod like demo.*", "1", placement.Used{}, ""},
		{"pod like demo", "3", placement.Used{}, "agent-3.demo has no attribute pod"},
		{"pod unlike demo", "1", placement.Used{}, ""},
		{"pod unlike demo,dev", "1", placement.Used{}, "pod unlike demo,dev wanted, agent-1.demo is demo,dev"},
		{"pod unlike demo", "3", placement.Used{}, ""},
		{"rack max-per 1", "1", usedRack, "rack max-per 1: rack r2d2 already runs 1 instance"},
		{"rack max-per 2", "1", usedRack, ""},
		{"rack max-per 1", "3", usedRack, ""},
		{"rack group-by", "1", placement.Used{}, ""},
		{"rack group-by", "1", usedRack, ""}, // r2d2 is the only rack known
		{"rack group-by", "1", usedTwoRacks, "rack group-by: rack r2d2 runs 1 instance, rack bb8 has 0 instances"},
		{"rack group-by", "3", usedTwoRacks, ""},
		{"rack group-by 2", "1", usedRack, "rack group-by 2: rack r2d2 runs 1 instance, another rack has none"},
	}
	for _, tc := range tests {
		t.Run(tc.constraint+" on "+tc.offer, func(t *testing.T) {
			o := notebook
			if tc.offer == "3" {
				o = agent3
			}
			c := parse(t, tc.constraint)[0]
			reason, ok := c.Check(o, tc.used)
			if ok != (tc.want == "") || reason != tc.want {
				t.Errorf("%s.Check(%s) = %q, %v; want %q", c, o.GetHostname(), reason, ok, tc.want)
			}
		})
	}

	if reason, ok := (placement.Constraint{}).Check(notebook, placement.Used{}); !ok {
		t.Errorf("zero Constraint.Check = %q, false; want it satisfied", reason)
	}
}

func TestUsed(t *testing.T) {
	var u placement.Used
	if u.Has("rack", "r2d2") {
		t.Errorf("zero Used.Has(rack, r2d2) = true, want false")
	}
	u.AddOffer(decodeOffer(t, notebookOffer))
	for _, tc := range []struct {
		attr, value string
		want        bool
	}{
		{placement.Hostname, "agent-1.demo", true},
		{"rack", "r2d2", true},
		{"pod", "demo,dev", true},
		{"pod", "demo", false},
		{"rack", "c3po", false},
		{"r2d2", "rack", false},
	} {
		if got := u.Has(tc.attr, tc.value); got != tc.want {
			t.Errorf("Used.Has(%q, %q) after AddOffer = %v, want %v", tc.attr, tc.value, got, tc.want)
		}
	}
}
