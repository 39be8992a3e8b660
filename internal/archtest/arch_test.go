package archtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/offerdeck/offerdeck"

// allowed lists, for every package of the module, which of the module's
// other packages it may depend on, directly or through others. A package
// missing here fails the test, so every new package gets a conscious place
// in the flow: events down, actions up (ARCHITECTURE.md, "Who may import
// whom").
var allowed = map[string][]string{
	"mesos/recordio": nil,
	"mesos/detect":   nil,
	"mesos":          {"mesos/recordio", "mesos/detect"},
	// The operator API's types and client, beside the scheduler API's.
	"mesos/master": {"mesos", "mesos/recordio", "mesos/detect"},
	// The whole cluster as the pages show it, from the operator API.
	"mesos/cluster": {"mesos", "mesos/master", "mesos/recordio", "mesos/detect"},
	// The stand-in and the scheduler meet only over HTTP.
	"mesos/local":          {"mesos", "mesos/master", "mesos/recordio", "mesos/detect", "mesos/local/executor", "mesos/local/internal/answer"},
	"mesos/local/executor": {"mesos", "mesos/recordio", "mesos/detect", "mesos/local/internal/answer"},
	// How the stand-in's master and agents write JSON answers.
	"mesos/local/internal/answer": nil,
	"mesos/scheduler":             {"mesos", "mesos/recordio", "mesos/detect", "mesos/scheduler/placement"},
	"mesos/scheduler/placement":   {"mesos", "mesos/recordio", "mesos/detect"},
	"hub":                         nil,
	"static":                      nil,
	// ui may use the scheduler's and the cluster's view data types,
	// nothing that does I/O.
	"ui":                    {"mesos/scheduler", "mesos/scheduler/placement", "mesos/cluster", "mesos/master", "mesos", "mesos/recordio", "mesos/detect"},
	"web":                   {"hub", "ui", "static", "mesos/scheduler", "mesos/scheduler/placement", "mesos/cluster", "mesos/master", "mesos", "mesos/recordio", "mesos/detect"},
	"cmd/dashboard":         {"*"},
	"cmd/bench":             {"*"},
	"internal/archtest":     nil,
	"internal/zktest":       nil,
	"mesos/local/localtest": {"mesos/local", "mesos", "mesos/master", "mesos/recordio", "mesos/detect", "mesos/local/executor", "mesos/local/internal/answer"},
}

// testOnly packages may be imported by tests only.
var testOnly = []string{"internal/zktest", "mesos/local/localtest"}

type pkg struct {
	ImportPath string
	Name       string
	Dir        string
	Doc        string
	GoFiles    []string
	Deps       []string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps=false", "-json", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 8 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	return pkgs
}

func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

// violations returns one line per forbidden edge among pkgs.
func violations(pkgs []pkg, allowed map[string][]string, testOnly []string) []string {
	var out []string
	for _, p := range pkgs {
		name := rel(p.ImportPath)
		may, known := allowed[name]
		if !known {
			out = append(out, fmt.Sprintf("%s: package has no entry in the import rules; give it a place in the flow", name))
			continue
		}
		for _, dep := range p.Deps {
			if !strings.HasPrefix(dep, module+"/") {
				continue
			}
			d := rel(dep)
			switch {
			case slices.Contains(testOnly, d):
				out = append(out, fmt.Sprintf("%s: imports the test-only package %s outside tests", name, d))
			case slices.Contains(may, "*"), slices.Contains(may, d):
			default:
				out = append(out, fmt.Sprintf("%s: must not depend on %s", name, d))
			}
		}
	}
	return out
}

func TestImportRules(t *testing.T) {
	for _, v := range violations(listPackages(t), allowed, testOnly) {
		t.Error(v)
	}
}

// TestImportRulesCatchViolations proves the checker can fail: each case is a
// shape the architecture forbids.
func TestImportRulesCatchViolations(t *testing.T) {
	tests := []struct {
		name string
		p    pkg
		want string
	}{
		{"scheduler imports stand-in", pkg{ImportPath: module + "/mesos/scheduler", Deps: []string{module + "/mesos", module + "/mesos/local"}}, "must not depend on mesos/local"},
		{"hub knows html", pkg{ImportPath: module + "/hub", Deps: []string{module + "/ui"}}, "must not depend on ui"},
		{"ui does io", pkg{ImportPath: module + "/ui", Deps: []string{module + "/hub"}}, "must not depend on hub"},
		{"mesos knows policy", pkg{ImportPath: module + "/mesos", Deps: []string{module + "/mesos/scheduler"}}, "must not depend on mesos/scheduler"},
		{"web uses stand-in", pkg{ImportPath: module + "/web", Deps: []string{module + "/mesos/local"}}, "must not depend on mesos/local"},
		{"test helper in product", pkg{ImportPath: module + "/cmd/dashboard", Deps: []string{module + "/internal/zktest"}}, "test-only"},
		{"unknown package", pkg{ImportPath: module + "/util"}, "no entry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := violations([]pkg{tc.p}, allowed, testOnly)
			if len(got) != 1 || !strings.Contains(got[0], tc.want) {
				t.Errorf("violations(%s) = %q, want one containing %q", tc.name, got, tc.want)
			}
		})
	}
	ok := pkg{ImportPath: module + "/web", Deps: []string{module + "/hub", module + "/ui", "net/http"}}
	if got := violations([]pkg{ok}, allowed, testOnly); len(got) != 0 {
		t.Errorf("violations(allowed web) = %q, want none", got)
	}
}

func TestEveryPackageIsDocumented(t *testing.T) {
	for _, p := range listPackages(t) {
		want := "Package " + p.Name + " "
		if p.Name == "main" {
			want = "Command " + filepath.Base(p.ImportPath) + " "
		}
		if !strings.HasPrefix(p.Doc+" ", want) {
			t.Errorf("%s: package doc comment = %q, want one starting %q that says what the package is for", rel(p.ImportPath), p.Doc, strings.TrimSpace(want))
		}
	}
}

// TestOnlyCommandsReadConfiguration enforces that flags and environment
// variables are read in cmd/ alone; everything else takes a Config.
func TestOnlyCommandsReadConfiguration(t *testing.T) {
	for _, p := range listPackages(t) {
		name := rel(p.ImportPath)
		if strings.HasPrefix(name, "cmd/") || slices.Contains(testOnly, name) {
			continue
		}
		if slices.Contains(p.Imports, "flag") {
			t.Errorf("%s imports package flag; only cmd/ reads flags", name)
		}
		for _, f := range p.GoFiles {
			for _, call := range envReads(t, filepath.Join(p.Dir, f)) {
				t.Errorf("%s: %s reads the environment; only cmd/ does", name, call)
			}
		}
	}
}

func envReads(t *testing.T, file string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == "os" {
			switch sel.Sel.Name {
			case "Getenv", "LookupEnv", "Environ":
				found = append(found, fmt.Sprintf("%s: os.%s", fset.Position(sel.Pos()), sel.Sel.Name))
			}
		}
		return true
	})
	return found
}
