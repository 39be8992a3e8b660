package web

import (
	"slices"
	"strings"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// newest tracks the tasks on the first page of the tasks table: the n
// most recently launched, in the snapshot's order (launch time, newest
// first, then id). Viewers of that page, the one most viewers watch,
// follow a topic of their own that carries these tasks' rows alone, so a
// change to one of 100,000 tasks reaches only the pages that show it.
type newest struct {
	n     int
	tasks []*scheduler.Task // sorted, at most n
}

// before reports whether a sorts before b in the tasks table.
func before(a, b *scheduler.Task) bool {
	if !a.Launched.Equal(b.Launched) {
		return a.Launched.After(b.Launched)
	}
	return strings.Compare(a.ID, b.ID) < 0
}

// update records t's latest value and reports whether it is among the
// newest n, and whether it just entered them.
func (w *newest) update(t *scheduler.Task) (in, entered bool) {
	if i := slices.IndexFunc(w.tasks, func(o *scheduler.Task) bool { return o.ID == t.ID }); i >= 0 {
		if w.tasks[i].Launched.Equal(t.Launched) {
			w.tasks[i] = t
			return true, false
		}
		// Its place changed (launch times are set once, so this is
		// rare). If it now falls off the end, the list is one short
		// until the next task enters: the task that would take its
		// place is not known here, and the page shows one row fewer.
		w.tasks = slices.Delete(w.tasks, i, i+1)
	}
	if len(w.tasks) == w.n && !before(t, w.tasks[w.n-1]) {
		return false, false
	}
	i, _ := slices.BinarySearchFunc(w.tasks, t, func(a, b *scheduler.Task) int {
		if before(a, b) {
			return -1
		}
		return 1
	})
	w.tasks = slices.Insert(w.tasks, i, t)
	if len(w.tasks) > w.n {
		w.tasks[w.n] = nil
		w.tasks = w.tasks[:w.n]
	}
	return true, true
}
