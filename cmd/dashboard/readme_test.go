package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"testing"
)

// TestReadmeListsEveryFlag: the README's configuration table names every
// flag the dashboard takes, and no flag it does not; it once lacked
// --agents-file, and nothing noticed.
func TestReadmeListsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(readme, []byte("## Configuration"))
	if start < 0 {
		t.Fatal("README.md has no Configuration section")
	}
	section := readme[start:]
	if end := bytes.Index(section[3:], []byte("\n## ")); end >= 0 {
		section = section[:end+3]
	}
	inTable := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| *`--([a-z-]+)`(?:, `--([a-z-]+)`)?").FindAllSubmatch(section, -1) {
		for _, name := range m[1:] {
			if len(name) > 0 {
				inTable[string(name)] = true
			}
		}
	}
	var help bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &help, &help); code != 0 {
		t.Fatalf("--help exited %d: %s", code, help.String())
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z-]+)$`).FindAllStringSubmatch(help.String(), -1) {
		flags[m[1]] = true
	}
	if len(flags) < 5 {
		t.Fatalf("found %d flags in --help, the test no longer reads it right:\n%s", len(flags), help.String())
	}
	for f := range flags {
		if !inTable[f] {
			t.Errorf("--%s is not in README.md's configuration table", f)
		}
	}
	for f := range inTable {
		if !flags[f] {
			t.Errorf("README.md's configuration table names --%s, which the dashboard does not take", f)
		}
	}
}
