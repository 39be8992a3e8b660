package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/hub"
	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// bareFeed is a feed with a hub and nothing else behind it: no scheduler,
// no HTTP, so what it publishes can be read straight off the hub.
func bareFeed(tb testing.TB) (*feed, *hub.Hub) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{log: slog.New(slog.DiscardHandler), hub: h}
	// As if a page of every topic had just been rendered: these tests
	// read what was published after the fact.
	for topic := range knownTopics {
		s.interest.want(topic)
	}
	return newFeed(s), h
}

// published returns the changes published to topic after since, nil if
// none were.
func published(t *testing.T, h *hub.Hub, topic string, since uint64) []change {
	t.Helper()
	if h.Seq(topic) == since {
		return nil
	}
	sub := h.Subscribe(map[string]uint64{topic: since})
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []change
	for _, e := range b.Entries {
		var c change
		if err := json.Unmarshal(e.Data, &c); err != nil {
			t.Fatalf("entry is not a change: %v", err)
		}
		out = append(out, c)
	}
	return out
}

// TestBurstOfEventsRendersTheNewest feeds a burst of events between two
// publishes and checks what reaches viewers: the newest eventsShown rows,
// oldest first so that prepending leaves the newest on top, and one entry
// each for the overview's recent events and last-heard time.
func TestBurstOfEventsRendersTheNewest(t *testing.T) {
	f, h := bareFeed(t)
	ctx := context.Background()
	const burst = 1111 // not a multiple of the trimming window
	for i := 1; i <= burst; i++ {
		typ := "UPDATE"
		if i%10 == 0 {
			typ = "HEARTBEAT"
		}
		f.apply(ctx, scheduler.Change{Kind: scheduler.EventAdded, Event: &scheduler.Event{Seq: uint64(i), Time: time.Now(), Type: typ, Summary: "event " + strconv.Itoa(i)}})
	}
	f.publish(ctx)

	sub := h.Subscribe(map[string]uint64{topicEvents: 0, topicOverview: 0})
	defer sub.Close()
	nextCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	b, err := sub.Next(nextCtx)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	recent := 0
	for _, e := range b.Entries {
		var c change
		if err := json.Unmarshal(e.Data, &c); err != nil {
			t.Fatalf("entry is not a change: %v", err)
		}
		switch {
		case c.Parent == "events-list":
			rows = append(rows, c.ID)
		case c.ID == "recent-events-list":
			recent++
			if !strings.Contains(c.HTML, "event 1111") || strings.Contains(c.HTML, "event 1110") {
				t.Errorf("recent events = %s, want event 1111 and not heartbeat 1110", c.HTML)
			}
		}
	}
	if len(rows) != eventsShown {
		t.Fatalf("%d event rows published, want the newest %d", len(rows), eventsShown)
	}
	for i, id := range rows {
		if want := "event-" + strconv.Itoa(burst-eventsShown+1+i); id != want {
			t.Fatalf("row %d = %s, want %s", i, id, want)
		}
	}
	if recent != 1 {
		t.Errorf("recent events sent %d times, want once", recent)
	}
	// Every entry is kept in the topic's bounded history, so a burst that
	// published one per event would push everything else out of it.
	if got := h.Seq(topicOverview); got != 2 {
		t.Errorf("the overview got %d entries for one burst, want 2 (recent events, last heard)", got)
	}
	if got := h.Seq(topicEvents); got != eventsShown {
		t.Errorf("the events topic got %d entries for one burst, want %d", got, eventsShown)
	}
}

// TestTaskRowShowsHealth: a health check result shows on the task's row
// while it runs, and the row carries its latest status time to the
// millisecond, which the latency bench reads.
func TestTaskRowShowsHealth(t *testing.T) {
	f, h := bareFeed(t)
	ctx := context.Background()
	at := time.UnixMilli(1795000000123)
	healthy := false
	task := &scheduler.Task{ID: "web-1", AgentID: "a1", State: mesos.TaskState_TASK_RUNNING,
		History: []scheduler.Status{{State: mesos.TaskState_TASK_RUNNING, Healthy: &healthy, Time: at}}}
	row := func() string {
		since := h.Seq(topicTasks)
		f.apply(ctx, scheduler.Change{Kind: scheduler.TaskChanged, Task: task})
		f.publish(ctx)
		for _, c := range published(t, h, topicTasks, since) {
			if c.ID == "task-web-1" {
				return c.HTML
			}
		}
		t.Fatal("no row for the task")
		return ""
	}
	got := row()
	if !strings.Contains(got, `data-updated="1795000000123"`) || !strings.Contains(got, ">unhealthy</span>") {
		t.Errorf("running, unhealthy: row = %s", got)
	}
	task.State = mesos.TaskState_TASK_FINISHED
	task.History = append(task.History, scheduler.Status{State: mesos.TaskState_TASK_FINISHED, Healthy: &healthy, Time: at.Add(time.Second)})
	if got := row(); strings.Contains(got, "healthy") || !strings.Contains(got, `data-updated="1795000001123"`) {
		t.Errorf("finished: row = %s", got)
	}
}

// TestTaskChangeReachesOnlyItsPages: a task's change puts its row on the
// tasks topic and its timeline and badge on the task page's topic only,
// and counts that did not change are not sent again.
func TestTaskChangeReachesOnlyItsPages(t *testing.T) {
	f, h := bareFeed(t)
	ctx := context.Background()
	ids := func(topic string, since uint64) []string {
		var out []string
		for _, c := range published(t, h, topic, since) {
			out = append(out, c.ID)
		}
		slices.Sort(out)
		return out
	}
	healthy := true
	task := &scheduler.Task{ID: "web-1", State: mesos.TaskState_TASK_RUNNING,
		History: []scheduler.Status{{State: mesos.TaskState_TASK_RUNNING, Time: time.Now()}}}
	for i, wantHeader := range [][]string{{"nav-count-agents", "nav-count-offers", "nav-count-tasks"}, nil} {
		if i == 1 { // the health flips: the counts stay
			task.History = append(task.History, scheduler.Status{State: mesos.TaskState_TASK_RUNNING, Healthy: &healthy, Time: time.Now()})
		}
		tasks, task1, header := h.Seq(topicTasks), h.Seq(topicTask), h.Seq(topicHeader)
		// Each change carries a copy of the task, as the scheduler's do.
		c := *task
		c.History = slices.Clone(task.History)
		f.apply(ctx, scheduler.Change{Kind: scheduler.TaskChanged, Task: &c})
		f.publish(ctx)
		if got := ids(topicTasks, tasks); !slices.Equal(got, []string{"task-web-1"}) {
			t.Errorf("change %d: tasks topic got %v, want the row alone", i, got)
		}
		// The first change puts the whole timeline; the next, its new line.
		wantTask := []string{"task-state-web-1", "timeline-web-1"}
		if i == 1 {
			wantTask = []string{"task-state-web-1", "tl2-web-1"}
		}
		if got := ids(topicTask, task1); !slices.Equal(got, wantTask) {
			t.Errorf("change %d: task topic got %v, want %v", i, got, wantTask)
		}
		if got := ids(topicHeader, header); !slices.Equal(got, wantHeader) {
			t.Errorf("change %d: header got %v, want %v", i, got, wantHeader)
		}
	}
	// An acknowledgement changes the task, not its row.
	tasks := h.Seq(topicTasks)
	task.History[len(task.History)-1].Acked = true
	f.apply(ctx, scheduler.Change{Kind: scheduler.TaskChanged, Task: task})
	f.publish(ctx)
	if got := ids(topicTasks, tasks); got != nil {
		t.Errorf("acknowledged: tasks topic got %v, want nothing", got)
	}
}

// TestFloodStillPublishes: changes that keep coming faster than they are
// rendered are still published, in slices, while they come.
func TestFloodStillPublishes(t *testing.T) {
	f, h := bareFeed(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan scheduler.Change, 1024)
	stop := make(chan struct{})
	flooded := make(chan struct{})
	go func() { // keeps the channel from ever draining
		defer close(flooded)
		for i := 0; ; i++ {
			task := &scheduler.Task{ID: "t" + strconv.Itoa(i%5000), State: mesos.TaskState_TASK_RUNNING,
				History: []scheduler.Status{{State: mesos.TaskState_TASK_RUNNING, Time: time.UnixMilli(int64(i))}}}
			select {
			case changes <- scheduler.Change{Kind: scheduler.TaskChanged, Task: task}:
			case <-stop:
				return
			}
		}
	}()
	ran := make(chan struct{})
	go func() { defer close(ran); f.run(ctx, changes) }()
	defer func() { cancel(); close(stop); <-flooded; <-ran }()

	sub := h.Subscribe(map[string]uint64{topicTasks: 0})
	defer sub.Close()
	nextCtx, cancelNext := context.WithTimeout(ctx, 2*time.Second)
	defer cancelNext()
	b, err := sub.Next(nextCtx)
	if err != nil {
		t.Fatalf("nothing published within 2 s of a flood: %v", err)
	}
	if len(b.Entries) == 0 && len(b.Resync) == 0 {
		t.Fatal("an empty batch")
	}
}

// TestFirstPageTopic: the first page's topic carries the rows of the
// newest tasksPerPage tasks alone: a change to an older task goes to the
// tasks topic only, and a new task enters the first page's topic.
func TestFirstPageTopic(t *testing.T) {
	f, h := bareFeed(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	task := func(i int) *scheduler.Task {
		return &scheduler.Task{ID: "t" + strconv.Itoa(i), State: mesos.TaskState_TASK_RUNNING, Launched: base.Add(time.Duration(i) * time.Second),
			History: []scheduler.Status{{State: mesos.TaskState_TASK_RUNNING, Time: time.Now()}}}
	}
	const n = tasksPerPage + 50
	for i := range n {
		f.apply(ctx, scheduler.Change{Kind: scheduler.TaskChanged, Task: task(i)})
	}
	f.publish(ctx)
	ids := func(topic string, since uint64) map[string]bool {
		out := map[string]bool{}
		for _, c := range published(t, h, topic, since) {
			out[c.ID] = true
		}
		return out
	}
	if got := f.newest.tasks; len(got) != tasksPerPage || got[0].ID != "t"+strconv.Itoa(n-1) || got[len(got)-1].ID != "t50" {
		t.Fatalf("first page holds %d tasks, from %s to %s; want the newest %d, t%d to t50", len(got), got[0].ID, got[len(got)-1].ID, tasksPerPage, n-1)
	}

	// An old task changes: the tasks topic only.
	all, top := h.Seq(topicTasks), h.Seq(topicTasksFirst)
	old := task(3)
	old.State = mesos.TaskState_TASK_FAILED
	f.apply(ctx, scheduler.Change{Kind: scheduler.TaskChanged, Task: old})
	f.publish(ctx)
	if got := ids(topicTasks, all); !got["task-t3"] {
		t.Errorf("tasks topic after an old task changed: %v", got)
	}
	if got := ids(topicTasksFirst, top); len(got) != 0 {
		t.Errorf("first page topic after an old task changed: %v, want nothing", got)
	}

	// A new task enters the first page.
	top = h.Seq(topicTasksFirst)
	f.apply(ctx, scheduler.Change{Kind: scheduler.TaskChanged, Task: task(n)})
	f.publish(ctx)
	if got := ids(topicTasksFirst, top); !got["task-t"+strconv.Itoa(n)] {
		t.Errorf("first page topic after a new task: %v", got)
	}
}

func TestOnAgent(t *testing.T) {
	task := &scheduler.Task{AgentID: "S12", Hostname: "agent-00012.Scale"}
	for f, want := range map[string]bool{"S12": true, "S1": false, "00012": true, "agent-00012.scale": true, "00013": false} {
		if got := onAgent(task, f); got != want {
			t.Errorf("onAgent(%q) = %v, want %v", f, got, want)
		}
	}
}

// TestAgentRowOnlyWhenItsCountsChange: an agent's row counts its tasks and
// the live ones; a task's first update and its end change them, a health
// check does not.
func TestAgentRowOnlyWhenItsCountsChange(t *testing.T) {
	f, h := bareFeed(t)
	ctx := context.Background()
	f.agents["a1"] = scheduler.Agent{ID: "a1", Hostname: "agent-1.demo"}
	healthy := true
	for _, step := range []struct {
		name  string
		state mesos.TaskState
		want  bool
	}{
		{"launched", mesos.TaskState_TASK_RUNNING, true},
		{"health check", mesos.TaskState_TASK_RUNNING, false},
		{"finished", mesos.TaskState_TASK_FINISHED, true},
	} {
		healthy = !healthy
		// Each change carries a copy of the task, as the scheduler's do.
		task := &scheduler.Task{ID: "web-1", AgentID: "a1", State: step.state,
			History: []scheduler.Status{{State: step.state, Healthy: &healthy, Time: time.Now()}}}
		since := h.Seq(topicAgents)
		f.apply(ctx, scheduler.Change{Kind: scheduler.TaskChanged, Task: task})
		f.publish(ctx)
		var row string
		for _, c := range published(t, h, topicAgents, since) {
			if c.ID == "agentrow-a1" {
				row = c.HTML
			}
		}
		if (row != "") != step.want {
			t.Errorf("%s: agent row sent = %v, want %v", step.name, row != "", step.want)
		}
	}
}

// TestTimelineLinesFollowTheHistory: a page that applies the timeline's
// live changes, line by line, shows what a fresh render of the task's
// history shows, through new statuses, acknowledgements and statuses
// leaving a full history.
func TestTimelineLinesFollowTheHistory(t *testing.T) {
	f, h := bareFeed(t)
	ctx := context.Background()
	const kept = 100 // the scheduler's history length: the first status and the latest 99
	lineRE := regexp.MustCompile(`(?s)<li id="([^"]+)">.*?</li>`)
	type line struct{ id, html string }
	parse := func(html string) []line {
		var out []line
		for _, m := range lineRE.FindAllStringSubmatch(html, -1) {
			out = append(out, line{m[1], m[0]})
		}
		return out
	}
	var page []line // the timeline's lines as the page holds them
	apply := func(c change) {
		switch {
		case c.Op == "put" && c.ID == "timeline-web-1":
			page = parse(c.HTML)
		case c.Op == "put" && c.Parent == "timeline-web-1":
			l := parse(c.HTML)[0]
			if i := slices.IndexFunc(page, func(p line) bool { return p.id == c.ID }); i >= 0 {
				page[i] = l
			} else {
				page = append(page, l)
			}
		case c.Op == "del":
			page = slices.DeleteFunc(page, func(p line) bool { return p.id == c.ID })
		}
	}
	at := time.UnixMilli(1795000000000)
	status := func(n int, acked bool) scheduler.Status {
		return scheduler.Status{State: mesos.TaskState_TASK_RUNNING, Message: "status " + strconv.Itoa(n),
			Time: at.Add(time.Duration(n) * time.Second), UUID: []byte{byte(n)}, Acked: acked}
	}
	// task is a copy of the task after n statuses, the last acknowledged or
	// not, as the scheduler would emit it.
	task := func(n int, lastAcked bool) *scheduler.Task {
		tk := &scheduler.Task{ID: "web-1", State: mesos.TaskState_TASK_RUNNING, Statuses: n}
		tk.History = append(tk.History, status(1, n > 1 || lastAcked))
		for k := max(2, n-kept+2); k <= n; k++ {
			tk.History = append(tk.History, status(k, k < n || lastAcked))
		}
		return tk
	}
	var sentLines int
	for n := 1; n <= kept+30; n++ {
		for _, acked := range []bool{false, true} {
			tk := task(n, acked)
			since := h.Seq(topicTask)
			f.apply(ctx, scheduler.Change{Kind: scheduler.TaskChanged, Task: tk})
			f.publish(ctx)
			for _, c := range published(t, h, topicTask, since) {
				apply(c)
				if c.Parent == "timeline-web-1" {
					sentLines++
				}
			}
			want := parse(f.html(ctx, ui.Timeline(tk.ID, historyLines(tk))))
			if !slices.Equal(page, want) {
				t.Fatalf("after status %d (acknowledged %v): the page has %d lines, a fresh render %d; first differing: %v",
					n, acked, len(page), len(want), firstDiff(page, want))
			}
		}
	}
	// One line for each new status and one for each acknowledgement, not
	// the whole timeline each time.
	if want := 2*(kept+30) - 1; sentLines != want {
		t.Errorf("%d lines sent, want %d", sentLines, want)
	}
	// A requeue adds to the latest status's message: its line changes.
	tk := task(kept+30, true)
	tk.History[len(tk.History)-1].Message += " (queued again)"
	since := h.Seq(topicTask)
	f.apply(ctx, scheduler.Change{Kind: scheduler.TaskChanged, Task: tk})
	f.publish(ctx)
	for _, c := range published(t, h, topicTask, since) {
		apply(c)
	}
	if want := parse(f.html(ctx, ui.Timeline(tk.ID, historyLines(tk)))); !slices.Equal(page, want) {
		t.Fatalf("after a message changed: the page differs from a fresh render: %v", firstDiff(page, want))
	}
}

func firstDiff[T comparable](a, b []T) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("at %d: %v != %v", i, a[i], b[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(a), len(b))
}

// TestBacklogRendersEachTaskOnce: changes that wait together are rendered
// once per task, in its latest state, and nothing of the skipped change is
// lost: both new statuses get their timeline lines.
func TestBacklogRendersEachTaskOnce(t *testing.T) {
	f, h := bareFeed(t)
	ctx := context.Background()
	at := time.UnixMilli(1795000000000)
	task := func(state mesos.TaskState, statuses int) *scheduler.Task {
		tk := &scheduler.Task{ID: "web-1", State: state, Statuses: statuses}
		for n := 1; n <= statuses; n++ {
			tk.History = append(tk.History, scheduler.Status{State: mesos.TaskState_TASK_RUNNING, Time: at.Add(time.Duration(n) * time.Second)})
		}
		tk.History[statuses-1].State = state
		return tk
	}
	f.apply(ctx, scheduler.Change{Kind: scheduler.TaskChanged, Task: task(mesos.TaskState_TASK_RUNNING, 1)})
	f.publish(ctx)
	rows, lines := h.Seq(topicTasks), h.Seq(topicTask)

	backlog := make(chan scheduler.Change, 3)
	backlog <- scheduler.Change{Kind: scheduler.TaskChanged, Task: task(mesos.TaskState_TASK_KILLING, 2)}
	backlog <- scheduler.Change{Kind: scheduler.TaskChanged, Task: &scheduler.Task{ID: "web-2", State: mesos.TaskState_TASK_RUNNING}}
	backlog <- scheduler.Change{Kind: scheduler.TaskChanged, Task: task(mesos.TaskState_TASK_KILLED, 3)}
	close(backlog)
	f.run(ctx, backlog)

	var puts []string
	for _, c := range published(t, h, topicTasks, rows) {
		if c.ID == "task-web-1" {
			puts = append(puts, c.HTML)
		}
	}
	if len(puts) != 1 || !strings.Contains(puts[0], `data-state="TASK_KILLED"`) {
		t.Errorf("web-1's row was put %d times, want once, killed: %v", len(puts), puts)
	}
	var ids []string
	for _, c := range published(t, h, topicTask, lines) {
		ids = append(ids, c.ID)
	}
	for _, want := range []string{"tl2-web-1", "tl3-web-1", "task-state-web-2"} {
		if !slices.Contains(ids, want) {
			t.Errorf("task topic got %v, want %s among them", ids, want)
		}
	}
	if len(f.latest) != 0 {
		t.Errorf("the feed kept %d entries of the batch's index", len(f.latest))
	}
	if got := f.s.feed.coalesced.Load(); got != 1 {
		t.Errorf("%d changes coalesced, want 1: web-1's first in the backlog", got)
	}
}

// TestUnfollowedTopicsAreSkipped: with no stream and no page rendered for
// a topic, the feed renders nothing for it and tells the hub so (an older
// position resyncs); once a page is rendered for it, its changes flow
// again.
func TestUnfollowedTopicsAreSkipped(t *testing.T) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{log: slog.New(slog.DiscardHandler), hub: h}
	f := newFeed(s)
	ctx := context.Background()
	healthy := true
	change := func() {
		healthy = !healthy
		tk := &scheduler.Task{ID: "web-1", State: mesos.TaskState_TASK_RUNNING,
			History: []scheduler.Status{{State: mesos.TaskState_TASK_RUNNING, Healthy: &healthy, Time: time.Now()}}}
		f.apply(ctx, scheduler.Change{Kind: scheduler.TaskChanged, Task: tk})
		f.publish(ctx)
	}

	change()
	for _, topic := range []string{topicTasks, topicTasksFirst, topicTask, topicHeader} {
		if h.Seq(topic) != 1 {
			t.Errorf("%s: seq %d after a change nobody follows, want 1 (a skip)", topic, h.Seq(topic))
		}
	}
	if st := h.Stats(); st.Published != 0 {
		t.Errorf("%d entries published for topics nobody follows", st.Published)
	}
	sub := h.Subscribe(map[string]uint64{topicTasks: 0})
	b, err := sub.Next(ctx)
	sub.Close()
	if err != nil || !slices.Equal(b.Resync, []string{topicTasks}) {
		t.Errorf("a page from before the skip: resync %v, %v; want a resync", b.Resync, err)
	}

	s.interest.want(topicHeader, topicTasks)
	rows, header := h.Seq(topicTasks), h.Seq(topicHeader)
	change()
	if got := published(t, h, topicTasks, rows); len(got) != 1 || got[0].ID != "task-web-1" {
		t.Errorf("followed: tasks topic got %v, want the row", got)
	}
	// The counts did not change since the page was rendered: nothing to
	// send, and no skip either.
	if got := published(t, h, topicHeader, header); len(got) != 0 || h.Seq(topicHeader) != header {
		t.Errorf("followed, counts unchanged: header got %v, seq %d → %d; want nothing", got, header, h.Seq(topicHeader))
	}
	if h.Seq(topicTask) != 2 {
		t.Errorf("task topic seq %d, want 2: still nobody follows it", h.Seq(topicTask))
	}
}
