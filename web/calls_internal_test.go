package web

import (
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// TestABurstOfAcknowledgementsReadsAsOne: a call kept for a pipelined
// burst says how many requests it stands for and how many were not
// accepted, and the calls page counts each of them among the
// acknowledgements.
func TestABurstOfAcknowledgementsReadsAsOne(t *testing.T) {
	burst := scheduler.Call{Seq: 2, Type: "ACKNOWLEDGE", Count: 64, Failed: 2, Status: 503, Answer: "busy",
		JSON: []byte(`{"type":"ACKNOWLEDGE"}`), JSONSize: 22, TaskIDs: []string{"web-1", "web-2"}}
	row := callRow(burst)
	if row.Times != "×64" || !strings.Contains(row.Status, "(2 of 64 not accepted)") || !strings.Contains(row.Note, "64 requests pipelined") {
		t.Errorf("a burst's row: times %q, status %q, note %q; want ×64, 2 of 64 not accepted, and a note of the 64 requests", row.Times, row.Status, row.Note)
	}
	single := scheduler.Call{Seq: 1, Type: "ACKNOWLEDGE", Status: 202, JSON: []byte(`{}`), JSONSize: 2}
	if row := callRow(single); row.Times != "" || strings.Contains(row.Note, "pipelined") {
		t.Errorf("a single call's row: times %q, note %q; want neither", row.Times, row.Note)
	}
	m := newModel()
	m.calls = []scheduler.Call{single, burst, {Seq: 3, Type: "DECLINE", Count: 1}}
	if n := acks(m); n != 65 {
		t.Errorf("the calls page counts %d acknowledgements, want 65", n)
	}
}
