package placement_test

import (
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
	const want = "want attr==value, attr!=value, attr~regex, attr!~regex or attr unique"
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"single equals", "rack=r2d2", `constraint "rack=r2d2": ` + want},
		{"no name", "==r2d2", `constraint "==r2d2": ` + want},
		{"name only", "rack", `constraint "rack": ` + want},
		{"unique glued", "rackunique", `constraint "rackunique": ` + want},
		{"unique with extra", "rack unique please", `constraint "rack unique please": ` + want},
		{"unique upper case", "rack UNIQUE", `constraint "rack UNIQUE": ` + want},
		{"perl match", "pod=~demo", `constraint "pod=~demo": ` + want},
		{"colon", "rack:r2d2", `constraint "rack:r2d2": ` + want},
		{"space in name", "my rack==r2d2", `constraint "my rack==r2d2": ` + want},
		{"second of several", "rack==r2d2; pod", `constraint "pod": ` + want},
		{"empty value", "rack==", `constraint "rack==": want a value after ==`},
		{"blank value", "rack !=  ", `constraint "rack !=": want a value after !=`},
		{"empty regex", "pod~", `constraint "pod~": want a value after ~`},
		{"bad regex", "pod~(demo", `constraint "pod~(demo": invalid regex "(demo": missing closing )`},
		{"bad regex part", "pod!~a**", `constraint "pod!~a**": invalid regex "a**": invalid nested repetition operator at "**"`},
		{"huge repeat", "pod~a{1001}", `constraint "pod~a{1001}": invalid regex "a{1001}": invalid repeat count at "{1001}"`},
		{"control character", "rack==r2\x01d2", `constraint "rack==r2\x01d2": value has a control character`},
		{"not utf-8", "rack==r2\xffd2", `constraint "rack==r2\xffd2": want UTF-8 text`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := placement.ParseConstraints(tc.in)
			if err == nil || err.Error() != tc.want {
				t.Errorf("ParseConstraints(%q) = %q, %v; want error %q", tc.in, strs(cs), err, tc.want)
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
