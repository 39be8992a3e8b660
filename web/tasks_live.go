package web

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/a-h/templ"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// The tasks' live topics. A viewer receives the changes of what its page
// shows, not of every task: at 2,000 updates a second a page that took
// every task's row to find its own fifty received over 2 MB a second.
//
//   - The unfiltered tasks table's pages 1 to livePages each have a topic
//     (tasksPageTopic) carrying the rows of that page's window of the
//     table, newest first: a changed row in it, a row that the newer tasks
//     pushed into it and the deletion of one pushed out of it.
//   - A task's own page follows its task's group (taskTopic): one of
//     taskGroups topics, so that a page receives a small share of the
//     changes and the hub keeps a bounded number of topics.
//
// Filtered pages, and pages past livePages, follow topicTasks.
const (
	livePages  = 20
	taskGroups = 64
)

// tasksPageTopic is the topic of the unfiltered tasks table's page n,
// counted from 1 up to livePages.
func tasksPageTopic(n int) string { return tasksPageTopics[n-1] }

var tasksPageTopics = func() (names [livePages]string) {
	for i := range names {
		names[i] = "tasks-page-" + strconv.Itoa(i+1)
	}
	return names
}()

// taskTopic is the topic of the group of tasks a task's page follows.
func taskTopic(id string) string { return taskGroupTopics[taskGroup(id)] }

// taskGroup is the group of a task: FNV-1a of its id, written out so
// that the feed hashes every changed task without an allocation.
func taskGroup(id string) int {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return int(h % taskGroups)
}

// taskGroupTopics names the groups' topics.
var taskGroupTopics = func() (names [taskGroups]string) {
	for i := range names {
		names[i] = "task-" + strconv.Itoa(i)
	}
	return names
}()

// tasksTopics are the topic names of livePages and taskGroups, for the
// streams' check of what a page may follow.
func tasksTopics() []string {
	return append(slices.Clone(tasksPageTopics[:]), taskGroupTopics[:]...)
}

// tasksPage is page n, counted from 1, of the tasks table without a
// filter: its pager and its rows, newest first. Page n always holds the
// tasks ranked (n-1)*tasksPerPage up to n*tasksPerPage, so that a live
// page keeps its window as the table grows; a page past the last one is
// empty and points back at the last one.
func tasksPage(m *model, n int) (ui.Pager, []*scheduler.Task) {
	total := len(m.order)
	lo, hi := (n-1)*tasksPerPage, min(n*tasksPerPage, total)
	var p ui.Pager
	link := func(n int) string { return "/tasks?page=" + strconv.Itoa(n) }
	switch {
	case lo >= total && n > 1:
		last := max(1, (total+tasksPerPage-1)/tasksPerPage)
		p = ui.Pager{Showing: fmt.Sprintf("no tasks: page %d is past the last one, page %d", n, last), Prev: link(last)}
		return p, nil
	case total > tasksPerPage:
		p = ui.Pager{Showing: fmt.Sprintf("%d–%d of %d tasks", lo+1, hi, total), Limit: hi - lo}
		if n > 1 {
			p.Prev = link(n - 1)
		}
		if hi < total {
			p.Next = link(n + 1)
		}
	}
	rows := make([]*scheduler.Task, 0, max(0, hi-lo))
	for r := lo; r < hi; r++ {
		rows = append(rows, m.rankedTask(r))
	}
	return p, rows
}

// tasksPageRegions are the single regions of each live page of the tasks
// table: its pager and the tasks of removed registrations.
func tasksPageRegions() []region {
	var out []region
	for n := 1; n <= livePages; n++ {
		out = append(out,
			region{tasksPageTopic(n), "tasks-pager", partTaskCount, func(m *model, cfg Config) templ.Component {
				p, rows := tasksPage(m, n)
				return ui.TasksPager(p, len(m.order), len(rows), 0)
			}},
			region{tasksPageTopic(n), "tasks-older", partOlder, func(m *model, cfg Config) templ.Component {
				return ui.TasksOlder(olderRows(m))
			}})
	}
	return out
}

// tasksPages publishes the live pages' rows (see tasksPageTopic): rows
// renders a changed task's row once for all of them. A page whose window
// moved in a way other than newer tasks pushing it down re-renders.
func (r renderer) tasksPages(rows func(id string) (string, bool)) {
	l, m, d := r.l, r.l.m, &r.l.dirty
	// The tasks new in this burst push the older ones down, each by one
	// for every new task above it: note their ranks now, in order.
	var added []int
	for _, id := range d.added {
		if rank := m.rankOf(id); rank >= 0 {
			added = append(added, rank)
		}
	}
	slices.Sort(added)
	// The pages the burst may change: all of them after a big burst or a
	// move of the order; else those of the changed tasks, and every page
	// from the first new task's on. Only those are asked whether anyone
	// follows them (a page nobody follows is skipped in the hub).
	touched := func(int) bool { return true }
	if !d.order && len(d.tasks) < livePages {
		var mark [livePages + 1]bool
		for id := range d.tasks {
			if rank := m.rankOf(id); rank >= 0 {
				if n := rank/tasksPerPage + 1; n <= livePages {
					mark[n] = true
				}
			}
		}
		from := livePages + 1
		if len(added) > 0 {
			from = added[0]/tasksPerPage + 1
		}
		touched = func(n int) bool { return mark[n] || n >= from }
	}
	var pages []int
	for n := 1; n <= livePages; n++ {
		if touched(n) && l.follows(tasksPageTopic(n)) {
			pages = append(pages, n)
		}
	}
	if len(pages) == 0 {
		return
	}
	for _, n := range pages {
		topic := tasksPageTopic(n)
		if d.order {
			l.forget(topic, "task-")
			l.resync(topic, "tasks-body")
			continue
		}
		lo, hi := (n-1)*tasksPerPage, n*tasksPerPage
		in, _ := slices.BinarySearch(added, hi) // new tasks ranked above the window's end
		if in > tasksPerPage {
			l.forget(topic, "task-")
			l.resync(topic, "tasks-body")
			continue
		}
		// The rows to put: those that changed, and those that entered the
		// window from above (ranked above lo before the new tasks above
		// them came).
		var put []int
		newAbove, _ := slices.BinarySearch(added, lo)
		for rank := lo; rank < min(hi, len(m.order)); rank++ {
			t := m.rankedTask(rank)
			isNew := newAbove < len(added) && added[newAbove] == rank
			if isNew {
				newAbove++
			}
			if _, isChanged := d.tasks[t.ID]; isChanged || (!isNew && rank-newAbove < lo) {
				put = append(put, rank)
			}
		}
		// Oldest first, each before the next older row, which the page
		// has by then.
		for _, rank := range slices.Backward(put) {
			t := m.rankedTask(rank)
			row, ok := rows(t.ID)
			if !ok {
				continue
			}
			c := change{ID: domID("task-", t.ID), Parent: "tasks-body", Window: true}
			if next := m.rankedTask(rank + 1); next != nil && rank+1 < hi {
				c.Before = domID("task-", next.ID)
			}
			if _, isChanged := d.tasks[t.ID]; !isChanged {
				delete(l.shown[topic], c.ID) // new to this page, whatever it showed before
			}
			l.putHTML(topic, c, row)
		}
		// The rows pushed past the window's end leave it: those that were
		// ranked above hi before the new tasks came, counted past the new
		// tasks ranked among them.
		newAbove = in
		for rank := hi; rank < len(m.order); rank++ {
			if newAbove < len(added) && added[newAbove] == rank {
				newAbove++
				continue // new, never on the page
			}
			if rank-newAbove >= hi {
				break
			}
			l.del(topic, domID("task-", m.rankedTask(rank).ID), "")
		}
	}
}
