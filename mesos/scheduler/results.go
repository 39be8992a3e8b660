package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/offerdeck/offerdeck/mesos"
)

// Bounds of the remembered answers: a repeat is a double click, a retried
// POST or a browser resending after a restart, all within minutes; a day
// covers them with room, and the count bounds the bucket whatever the rate.
const (
	resultsKept   = 4096
	resultsMaxAge = 24 * time.Hour
)

var bucketRequests = []byte("requests")

// requestKey is what a remembered answer is found by: who asked, for
// which action, on what, and the request id. One user's id never answers
// another user's request, nor a different action or target with the
// same id. Empty when the request has no id. Each field is length-prefixed,
// so no field's content can make two keys equal.
func requestKey(who Actor, action, target string) string {
	if who.RequestID == "" {
		return ""
	}
	return fmt.Sprintf("%d:%s%d:%s%d:%s%s", len(who.User), who.User, len(action), action, len(target), target, who.RequestID)
}

// actionResult is the answer an action gave, as remembered and stored.
type actionResult struct {
	Time    time.Time `json:"time"`
	Request string    `json:"request"` // the request id, for the audit log
	Message string    `json:"message,omitempty"`
	TaskIDs []string  `json:"task_ids,omitempty"`
	// Err is the error's text; Kind names the sentinel it wrapped and
	// Master the master's refusal, so a replay maps to the same status.
	Err    string          `json:"error,omitempty"`
	Kind   string          `json:"kind,omitempty"`
	Master *mesos.APIError `json:"master,omitempty"`

	err error // the error itself, in the process that made it
}

// sentinels are the errors a stored answer can name as its Kind.
var sentinels = []error{ErrUnknownOffer, ErrUnknownTask, ErrTaskFinished, ErrNotConnected, ErrDoesNotFit,
	ErrStopped, ErrUnknownQueued, ErrBadSpec, ErrStorage, ErrTaskUnknown, ErrNeverFits}

func newActionResult(now time.Time, request string, res Result, err error) *actionResult {
	r := &actionResult{Time: now, Request: request, Message: res.Message, TaskIDs: slices.Clone(res.TaskIDs), err: err}
	if err != nil {
		r.Err = err.Error()
		for _, s := range sentinels {
			if errors.Is(err, s) {
				r.Kind = s.Error()
				break
			}
		}
		var apiErr *mesos.APIError
		if errors.As(err, &apiErr) {
			c := *apiErr
			r.Master = &c
		}
	}
	return r
}

// answer is the remembered answer, as the action gave it.
func (r *actionResult) answer() (Result, error) {
	res := Result{Message: r.Message, TaskIDs: slices.Clone(r.TaskIDs)}
	switch {
	case r.err != nil:
		return res, r.err
	case r.Err == "":
		return res, nil
	}
	e := &replayedError{msg: r.Err}
	for _, s := range sentinels {
		if s.Error() == r.Kind {
			e.kind = s
		}
	}
	if r.Master != nil {
		e.master = r.Master
	}
	return res, e
}

// replayedError is a stored answer's error after a restart: its text,
// and the sentinel or the master's refusal it wrapped.
type replayedError struct {
	msg    string
	kind   error
	master *mesos.APIError
}

func (e *replayedError) Error() string { return e.msg }

func (e *replayedError) Unwrap() []error {
	var out []error
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.master != nil {
		out = append(out, e.master)
	}
	return out
}

// results remembers the answers to actions by requestKey, so a repeated
// request gets the first answer and sends nothing twice, also after a
// restart: each answer is stored in the transaction that stores the
// action's audit entry and what it changed. It keeps the newest
// resultsKept answers of the last resultsMaxAge.
type results struct {
	order []string // keys, oldest first
	byKey map[string]*actionResult
}

func newResults() *results { return &results{byKey: map[string]*actionResult{}} }

// restoreResults builds the remembered answers from the stored ones; the
// ones past the bounds are deleted at the first commit.
func restoreResults(stored map[string]*actionResult, now time.Time, w *write) *results {
	r := newResults()
	keys := make([]string, 0, len(stored))
	for k := range stored {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return stored[keys[i]].Time.Before(stored[keys[j]].Time) })
	for _, k := range keys {
		r.order = append(r.order, k)
		r.byKey[k] = stored[k]
	}
	r.evict(now, w)
	return r
}

// get returns the answer remembered for key, if any and not too old.
func (r *results) get(key string, now time.Time) (*actionResult, bool) {
	if key == "" {
		return nil, false
	}
	v, ok := r.byKey[key]
	if !ok || now.Sub(v.Time) > resultsMaxAge {
		return nil, false
	}
	return v, true
}

// put remembers v for key and has w store it.
func (r *results) put(key string, v *actionResult, now time.Time, w *write) {
	if key == "" {
		return
	}
	if _, ok := r.byKey[key]; !ok {
		r.order = append(r.order, key)
	}
	r.byKey[key] = v
	w.results = append(w.results, resultRecord{key, v})
	r.evict(now, w)
}

// evict forgets the oldest answers past the bounds, and has w delete them.
func (r *results) evict(now time.Time, w *write) {
	n := 0
	for n < len(r.order) && (len(r.order)-n > resultsKept || now.Sub(r.byKey[r.order[n]].Time) > resultsMaxAge) {
		delete(r.byKey, r.order[n])
		w.resultDeletes = append(w.resultDeletes, r.order[n])
		n++
	}
	if n > 0 {
		r.order = slices.Delete(r.order, 0, n)
	}
}

// resultRecord is an answer to store.
type resultRecord struct {
	key string
	r   *actionResult
}

// loadResults returns the stored answers by key.
func (s *store) loadResults() (map[string]*actionResult, error) {
	out := map[string]*actionResult{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRequests).ForEach(func(k, v []byte) error {
			r := new(actionResult)
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("%w: request answer %q: %v", ErrStateCorrupt, k, err)
			}
			out[string(k)] = r
			return nil
		})
	})
	return out, err
}

// forget drops the answer remembered for key, which was never stored.
func (r *results) forget(key string) {
	if _, ok := r.byKey[key]; !ok {
		return
	}
	delete(r.byKey, key)
	if i := slices.Index(r.order, key); i >= 0 {
		r.order = slices.Delete(r.order, i, i+1)
	}
}
