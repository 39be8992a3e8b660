package web

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// pageRows is the tasks-body of a page as its script keeps it: row ids in
// order, with each row's HTML.
type pageRows struct {
	ids  []string
	html map[string]string
}

// loadPage renders page n's rows as the page handler does.
func loadPage(t *testing.T, l *live, n int) pageRows {
	t.Helper()
	_, tasks := tasksPage(l.m, n)
	p := pageRows{html: map[string]string{}}
	for _, task := range tasks {
		id := domID("task-", task.ID)
		html, ok := l.render(context.Background(), ui.TaskRowView(taskRow(task)))
		if !ok {
			t.Fatalf("row of %s did not render", task.ID)
		}
		p.ids = append(p.ids, id)
		p.html[id] = html
	}
	return p
}

// applyRows applies a page's changes to its tasks-body as app.js does
// (apply and applyAll), and reports whether the page asked to re-render
// it.
func (p *pageRows) applyRows(cs []change) (resync bool) {
	var later []change
	for _, c := range cs {
		resync = p.applyRow(c, &later) || resync
	}
	for len(later) > 0 {
		waiting := later
		later = nil
		for _, c := range waiting {
			resync = p.applyRow(c, &later) || resync
		}
		if len(later) == len(waiting) {
			for _, c := range later {
				p.applyRow(c, nil)
			}
			break
		}
	}
	return resync
}

func (p *pageRows) applyRow(c change, later *[]change) (resync bool) {
	switch c.Op {
	case "resync":
		return c.ID == "tasks-body"
	case "del":
		if i := slices.Index(p.ids, c.ID); i >= 0 {
			p.ids = slices.Delete(p.ids, i, i+1)
			delete(p.html, c.ID)
		}
	case "put":
		if _, ok := p.html[c.ID]; ok {
			p.html[c.ID] = c.HTML
			return false
		}
		if c.Parent != "tasks-body" {
			return false
		}
		if !c.Window {
			return true // a paged list cannot place it
		}
		i := slices.Index(p.ids, c.Before)
		switch {
		case c.Before != "" && i >= 0:
			p.ids = slices.Insert(p.ids, i, c.ID)
		case c.Before != "" && later != nil:
			*later = append(*later, c)
			return false
		default:
			p.ids = append(p.ids, c.ID)
		}
		p.html[c.ID] = c.HTML
	}
	return false
}

// TestTaskPagesEqualTheirReload: each live page of the tasks table, kept
// by its own topic's changes only, shows what a reload of it shows, while
// tasks arrive (mostly newest, some launched earlier), change, and leave
// with their registration, and while the page reads several bursts at
// once.
func TestTaskPagesEqualTheirReload(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 19))
			l, h := bareLive(t)
			base := time.Now().Add(-time.Hour)
			next := 0
			newTask := func() *scheduler.Task {
				task := runningTask(next, base)
				if rng.IntN(8) == 0 { // launched before others the table has
					task.Launched = base.Add(time.Duration(rng.IntN(next+1)) * time.Second).Add(-time.Millisecond)
				}
				next++
				return task
			}
			var start []scheduler.Change
			for range 2*tasksPerPage + 17 {
				start = append(start, scheduler.Change{Kind: scheduler.TaskChanged, Task: newTask()})
			}
			l.feed(start...)

			pages := []int{1, 2, 3, 4}
			shown := map[int]pageRows{}
			seqs := map[int]uint64{}
			for _, n := range pages {
				shown[n], seqs[n] = loadPage(t, l, n), h.Seq(tasksPageTopic(n))
			}
			for round := range 60 {
				var cs []scheduler.Change
				for range 1 + rng.IntN(6) {
					switch k := rng.IntN(10); {
					case k < 4:
						cs = append(cs, scheduler.Change{Kind: scheduler.TaskChanged, Task: newTask()})
					case k < 9 && len(l.m.order) > 0:
						old := l.m.order[rng.IntN(len(l.m.order))].t
						task := *old
						task.History = append(slices.Clip(old.History), scheduler.Status{State: mesos.TaskState_TASK_RUNNING,
							Time: base.Add(time.Duration(round) * time.Second), Message: "health " + strconv.Itoa(round)})
						task.Statuses++
						if rng.IntN(4) == 0 {
							task.State = mesos.TaskState_TASK_FAILED
						}
						cs = append(cs, scheduler.Change{Kind: scheduler.TaskChanged, Task: &task})
					case len(l.m.order) > 0:
						old := l.m.order[rng.IntN(len(l.m.order))].t
						cs = append(cs, scheduler.Change{Kind: scheduler.TaskChanged, Task: old, Archived: true})
					}
				}
				l.feed(cs...)
				if rng.IntN(3) == 0 && round != 59 {
					continue // the pages read the next bursts together
				}
				for _, n := range pages {
					topic := tasksPageTopic(n)
					p := shown[n]
					if p.applyRows(published(t, h, topic, seqs[n])) {
						p = loadPage(t, l, n)
					}
					shown[n], seqs[n] = p, h.Seq(topic)
					want := loadPage(t, l, n)
					if !slices.Equal(p.ids, want.ids) {
						t.Fatalf("round %d: page %d shows %v,\nits reload %v", round, n, p.ids, want.ids)
					}
					for _, id := range want.ids {
						if p.html[id] != want.html[id] {
							t.Fatalf("round %d: page %d shows row %s as\n%s\nits reload as\n%s", round, n, id, p.html[id], want.html[id])
						}
					}
				}
			}
		})
	}
}

// TestTaskPagesReceiveTheirOwnRows: a change of a task on page 2 goes to
// page 2's topic alone; a new task goes to page 1 and pushes a row from
// each page to the next.
func TestTaskPagesReceiveTheirOwnRows(t *testing.T) {
	l, h := bareLive(t)
	base := time.Now().Add(-time.Hour)
	const n = 3*tasksPerPage + 10 // ranks: t(n-1) is 0
	var cs []scheduler.Change
	for i := range n {
		cs = append(cs, scheduler.Change{Kind: scheduler.TaskChanged, Task: runningTask(i, base)})
	}
	l.feed(cs...)
	seqs := func() []uint64 {
		return []uint64{h.Seq(tasksPageTopic(1)), h.Seq(tasksPageTopic(2)), h.Seq(tasksPageTopic(3)), h.Seq(topicTasks)}
	}
	task := func(rank int) string { return "task-t" + strconv.Itoa(n-1-rank) }

	before := seqs()
	onTwo := runningTask(n-1-60, base) // rank 60
	onTwo.History[0].Message = "healthy"
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: onTwo})
	if got := ids(published(t, h, tasksPageTopic(2), before[1])); len(got) != 1 || got[task(60)] != "put" {
		t.Errorf("page 2 after its task changed: %v, want that row", got)
	}
	for i, topic := range []string{tasksPageTopic(1), tasksPageTopic(3)} {
		if got := published(t, h, topic, before[[]int{0, 2}[i]]); len(got) != 0 {
			t.Errorf("%s after a task of page 2 changed: %v, want nothing", topic, ids(got))
		}
	}
	if got := ids(published(t, h, topicTasks, before[3])); len(got) != 1 || got[task(60)] != "put" {
		t.Errorf("the filtered pages' topic after a task changed: %v, want its row alone", got)
	}
	// A task that fails may join or leave a filtered page: those re-render.
	before = seqs()
	failed := runningTask(n-1-60, base)
	failed.State = mesos.TaskState_TASK_FAILED
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: failed})
	if got := ids(published(t, h, topicTasks, before[3])); got[task(60)] != "put" || got["tasks-body"] != "resync" {
		t.Errorf("the filtered pages' topic after a task failed: %v, want its row and a resync", got)
	}
	if got := ids(published(t, h, tasksPageTopic(2), before[1])); len(got) != 1 || got[task(60)] != "put" {
		t.Errorf("page 2 after its task failed: %v, want that row", got)
	}

	before = seqs()
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: runningTask(n, base)})
	for page, want := range map[int][]string{
		1: {"put task-t" + strconv.Itoa(n) + " before " + task(0), "del " + task(tasksPerPage-1)},
		2: {"put " + task(tasksPerPage-1) + " before " + task(tasksPerPage), "del " + task(2*tasksPerPage-1)},
	} {
		var got []string
		pager := false
		for _, c := range published(t, h, tasksPageTopic(page), before[page-1]) {
			if c.ID == "tasks-pager" {
				pager = strings.Contains(c.HTML, "of "+strconv.Itoa(n+1)+" tasks")
				continue
			}
			s := c.Op + " " + c.ID
			if c.Before != "" {
				s += " before " + c.Before
			}
			if c.Op == "put" && !c.Window {
				t.Errorf("page %d: %s is not kept by the server's window", page, c.ID)
			}
			got = append(got, s)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("page %d after a new task: %v, want %v", page, got, want)
		}
		if !pager {
			t.Errorf("page %d's pager does not count the new task", page)
		}
	}
}

// TestTaskPageFollowsItsGroup: a task's page follows its task's group;
// another group's task changes do not reach it.
func TestTaskPageFollowsItsGroup(t *testing.T) {
	l, h := bareLive(t)
	base := time.Now()
	mine := runningTask(1, base)
	other := -1
	for i := 2; other < 0; i++ {
		if taskTopic("t"+strconv.Itoa(i)) != taskTopic(mine.ID) {
			other = i
		}
	}
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: mine}, scheduler.Change{Kind: scheduler.TaskChanged, Task: runningTask(other, base)})
	seq := h.Seq(taskTopic(mine.ID))
	changed := runningTask(other, base)
	changed.State = mesos.TaskState_TASK_FAILED
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: changed})
	if got := published(t, h, taskTopic(mine.ID), seq); len(got) != 0 {
		t.Errorf("t1's page received another group's task: %v", ids(got))
	}
	mine = runningTask(1, base)
	mine.State = mesos.TaskState_TASK_FAILED
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: mine})
	if got := ids(published(t, h, taskTopic(mine.ID), seq)); got["task-head-task-t1"] != "put" {
		t.Errorf("t1's page after it failed: %v, want its head", got)
	}
	// A stream may follow the groups and live pages there are, no more:
	// the hub keeps every topic it ever saw.
	for topic, want := range map[string]bool{taskTopic("x"): true, "task-63": true, "task-64": false, "task-01": false,
		tasksPageTopic(1): true, tasksPageTopic(livePages): true, "tasks-page-21": false, "tasks-page-0": false} {
		if knownTopics[topic] != want {
			t.Errorf("a stream may follow %s: %t, want %t", topic, knownTopics[topic], want)
		}
	}
}

// TestTasksPagePager: a page says which tasks it holds and links to its
// neighbours; a page past the last says so and links back to the last.
func TestTasksPagePager(t *testing.T) {
	l, _ := bareLive(t)
	base := time.Now()
	var cs []scheduler.Change
	for i := range tasksPerPage + 7 {
		cs = append(cs, scheduler.Change{Kind: scheduler.TaskChanged, Task: runningTask(i, base)})
	}
	l.feed(cs...)
	for n, want := range map[int]ui.Pager{
		1: {Showing: "1–50 of 57 tasks", Next: "/tasks?page=2", Limit: 50},
		2: {Showing: "51–57 of 57 tasks", Prev: "/tasks?page=1", Limit: 7},
		3: {Showing: "no tasks: page 3 is past the last one, page 2", Prev: "/tasks?page=2"},
	} {
		p, rows := tasksPage(l.m, n)
		if p != want {
			t.Errorf("page %d: pager %+v, want %+v", n, p, want)
		}
		if len(rows) != want.Limit {
			t.Errorf("page %d holds %d tasks, want %d", n, len(rows), want.Limit)
		}
	}
	if _, rows := tasksPage(l.m, 2); rows[0].ID != "t6" || rows[6].ID != "t0" {
		t.Errorf("page 2 holds %s to %s, want the oldest, t6 to t0", rows[0].ID, rows[6].ID)
	}
}
