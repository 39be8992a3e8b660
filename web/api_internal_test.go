package web

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// FuzzAPILaunchSpec feeds arbitrary bodies to the API's launch spec: never
// a panic; a refusal lists fields, each with what is wrong; an accepted
// spec is valid to the scheduler and reads back the same from its JSON.
func FuzzAPILaunchSpec(f *testing.F) {
	f.Add([]byte(`{"name":"hello","command":"echo hello world","cpus":0.1,"mem":32}`))
	f.Add([]byte(`{"name":"a/b","cpus":-1,"mem":"lots","ports":1000,"instances":0,"env":{"A=B":"x"},"kill_grace_seconds":1e300}`))
	f.Add([]byte(`{"argv":["ls","-l"],"cpus":1,"env":{"PORT0":"1"},"constraints":"rack==r2d2; hostname unique","kill_grace_seconds":2.5}`))
	f.Add([]byte(`{"image":"nginx:1.25","mem":64,"instances":100,"ports":3,"disk":1e308}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"command":"true","cpus":1,"command":"false","x":null}`))
	f.Add([]byte(`{"name":null,"argv":[""],"cpus":1}`))
	f.Add([]byte("{\"name\":\"\u202e\",\"command\":\"\\u0000\",\"mem\":1,\"constraints\":\"a~(\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		spec, err := decodeSpec(body)
		if err != nil {
			var inv *invalidRequest
			if !errors.As(err, &inv) || len(inv.errs) == 0 {
				t.Fatalf("decodeSpec(%q) = %v, want field errors", body, err)
			}
			for _, e := range inv.errs {
				if e.In != "body" || e.Detail == "" || (e.Name != "" && !slices.Contains(specFields, e.Name) && !strings.Contains(e.Detail, "unknown field")) {
					t.Fatalf("decodeSpec(%q): error %+v", body, e)
				}
			}
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("decodeSpec(%q) accepted a spec the scheduler refuses: %v", body, err)
		}
		if spec.KillGrace < 0 || spec.KillGrace > time.Hour {
			t.Fatalf("decodeSpec(%q): kill grace %v", body, spec.KillGrace)
		}
		again, err := json.Marshal(specJSON(spec))
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeSpec(again)
		if err != nil {
			t.Fatalf("the spec's own JSON %s is refused: %v", again, err)
		}
		if spec.Instances == 0 {
			spec.Instances = 1 // shown as the 1 it means
		}
		for _, s := range []*scheduler.TaskSpec{&spec, &back} { // empty is empty
			if len(s.Argv) == 0 {
				s.Argv = nil
			}
			if len(s.Env) == 0 {
				s.Env = nil
			}
		}
		if !reflect.DeepEqual(spec, back) {
			t.Fatalf("spec %+v reads back as %+v", spec, back)
		}
	})
}

// TestProblemTypesDocumented: docs/api.md, where every problem type's URI
// points, has a section for each.
func TestProblemTypesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problemTypes {
		if !strings.Contains(string(doc), "\n### "+p.name+"\n") {
			t.Errorf("docs/api.md has no section ### %s", p.name)
		}
	}
	if !strings.HasSuffix(problemBase, "docs/api.md#") {
		t.Errorf("problem types point at %s, not docs/api.md", problemBase)
	}
}
