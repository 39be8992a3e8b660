package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
)

// TestResultsAreBounded: remembered answers are bounded by count and by
// age, and what is forgotten is deleted from the store too.
func TestResultsAreBounded(t *testing.T) {
	now := time.Now()
	r := newResults()
	var w write
	for i := range resultsKept + 10 {
		key := requestKey(Actor{User: "ann", RequestID: fmt.Sprint(i)}, "launch", "x")
		r.put(key, &actionResult{Time: now}, now, &w)
	}
	if len(r.order) != resultsKept || len(r.byKey) != resultsKept || len(w.resultDeletes) != 10 {
		t.Fatalf("after %d answers: %d kept (%d by key), %d deleted; want %d and 10", resultsKept+10, len(r.order), len(r.byKey), len(w.resultDeletes), resultsKept)
	}
	if _, ok := r.get(requestKey(Actor{User: "ann", RequestID: "0"}, "launch", "x"), now); ok {
		t.Error("the oldest answer is still remembered")
	}

	stored := map[string]*actionResult{
		"old":   {Time: now.Add(-resultsMaxAge - time.Minute)},
		"fresh": {Time: now.Add(-time.Minute)},
	}
	w = write{}
	r = restoreResults(stored, now, &w)
	if _, ok := r.get("fresh", now); !ok {
		t.Error("a fresh answer was forgotten at restore")
	}
	if _, ok := r.get("old", now); ok || len(w.resultDeletes) != 1 || w.resultDeletes[0] != "old" {
		t.Errorf("an answer past its age: remembered %v, deletes %v; want forgotten and deleted", ok, w.resultDeletes)
	}
	if _, ok := r.get("fresh", now.Add(resultsMaxAge)); ok {
		t.Error("an answer is given past its age")
	}
}

// TestRequestKeysNeverCollide: user, action, target and id each count.
func TestRequestKeysNeverCollide(t *testing.T) {
	keys := map[string]bool{}
	for _, k := range []string{
		requestKey(Actor{User: "ann", RequestID: "1"}, "launch", "web"),
		requestKey(Actor{User: "bob", RequestID: "1"}, "launch", "web"),
		requestKey(Actor{User: "ann", RequestID: "1"}, "kill", "web"),
		requestKey(Actor{User: "ann", RequestID: "1"}, "launch", "db"),
		requestKey(Actor{User: "ann", RequestID: "2"}, "launch", "web"),
		requestKey(Actor{User: "an", RequestID: "1"}, "nlaunch", "web"),
	} {
		if keys[k] {
			t.Errorf("key %q made twice", k)
		}
		keys[k] = true
	}
	if requestKey(Actor{User: "ann"}, "launch", "web") != "" {
		t.Error("a request without an id has a key")
	}
}

// TestStoredAnswerKeepsItsKind: an error answer read back after a restart
// still says what kind of error it was, so it maps to the same status.
func TestStoredAnswerKeepsItsKind(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("accept o-1: %w", ErrUnknownOffer),
		fmt.Errorf("kill t: %w", &mesos.APIError{Op: "KILL", Status: 400, Message: "bad"}),
	} {
		b, _ := json.Marshal(newActionResult(time.Now(), "r", Result{}, err))
		var back actionResult
		if e := json.Unmarshal(b, &back); e != nil {
			t.Fatal(e)
		}
		_, got := back.answer()
		var apiErr *mesos.APIError
		if got == nil || got.Error() != err.Error() ||
			(errors.Is(err, ErrUnknownOffer) != errors.Is(got, ErrUnknownOffer)) || (errors.As(err, &apiErr) != errors.As(got, &apiErr)) {
			t.Errorf("stored %v, read back %v: want the same text and kind", err, got)
		}
	}
}
