package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/hub"
	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// bareLive is the live side with a hub and an empty, loaded model, and
// nothing else behind it: no scheduler, no HTTP, so what it publishes can
// be read straight off the hub.
func bareLive(tb testing.TB) (*live, *hub.Hub) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{log: slog.New(slog.DiscardHandler), hub: h}
	s.live = newLive(s)
	close(s.live.loaded)
	// As if a page of every topic had just been rendered: these tests
	// read what was published after the fact.
	for topic := range knownTopics {
		s.interest.want(topic)
	}
	return s.live, h
}

// feed applies changes as one burst and publishes them.
func (l *live) feed(cs ...scheduler.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		l.apply(c)
	}
	l.publish(context.Background())
}

// published returns the changes published to topic after since, nil if
// none were.
func published(t *testing.T, h *hub.Hub, topic string, since uint64) []change {
	t.Helper()
	var out []change
	for _, e := range publishedEntries(t, h, topic, since) {
		var c change
		if err := json.Unmarshal(e.Data, &c); err != nil {
			t.Fatalf("entry is not a change: %v", err)
		}
		out = append(out, c)
	}
	return out
}

// publishedEntries returns the entries published to topic after since, as
// they go out on the wire, nil if none were.
func publishedEntries(t *testing.T, h *hub.Hub, topic string, since uint64) []hub.Entry {
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
	return b.Entries
}

func ids(cs []change) map[string]string {
	out := map[string]string{}
	for _, c := range cs {
		out[c.ID] = c.Op
	}
	return out
}

func runningTask(i int, base time.Time) *scheduler.Task {
	return &scheduler.Task{ID: "t" + strconv.Itoa(i), AgentID: "a1", State: mesos.TaskState_TASK_RUNNING,
		Launch:  &scheduler.Launch{Name: "t" + strconv.Itoa(i), Hostname: "agent-1.demo", Launched: base.Add(time.Duration(i) * time.Second)},
		History: []scheduler.Status{{State: mesos.TaskState_TASK_RUNNING, Time: base, Message: "running"}}}
}

// TestBurstOfEventsRendersTheNewest: a burst of events publishes the
// newest eventsKept rows, oldest first so that prepending leaves the
// newest on top, each with its number, and the overview's recent events
// once.
func TestBurstOfEventsRendersTheNewest(t *testing.T) {
	l, h := bareLive(t)
	const burst = 1111 // not a multiple of the trimming window
	var cs []scheduler.Change
	for i := 1; i <= burst; i++ {
		typ := "UPDATE"
		if i%10 == 0 {
			typ = "HEARTBEAT"
		}
		cs = append(cs, scheduler.Change{Kind: scheduler.EventAdded, Event: &scheduler.Event{Seq: uint64(i), Time: time.Now(), Type: typ, Summary: "event " + strconv.Itoa(i)}})
	}
	l.feed(cs...)
	var rows []change
	for _, c := range published(t, h, topicEvents, 0) {
		if c.Parent == "events-list" {
			rows = append(rows, c)
		}
	}
	if len(rows) != eventsKept {
		t.Fatalf("%d event rows published, want the newest %d", len(rows), eventsKept)
	}
	for i, c := range rows {
		if n := burst - eventsKept + 1 + i; c.ID != "event-"+strconv.Itoa(n) || c.Seq != uint64(n) {
			t.Fatalf("row %d = %s (seq %d), want event-%d", i, c.ID, c.Seq, n)
		}
	}
	recent := 0
	for _, c := range published(t, h, topicOverview, 0) {
		if c.ID == "recent-events-list" {
			recent++
			if !strings.Contains(c.HTML, "event 1111") || strings.Contains(c.HTML, "event 1110") {
				t.Errorf("recent events = %s, want event 1111 and not heartbeat 1110", c.HTML)
			}
		}
	}
	if recent != 1 {
		t.Errorf("recent events sent %d times, want once", recent)
	}
}

// TestRegionsPublishOnlyWhatChanged: a region is published when its
// bytes change, and not again for a change that leaves it as it was.
func TestRegionsPublishOnlyWhatChanged(t *testing.T) {
	l, h := bareLive(t)
	base := time.Now()
	unacked := runningTask(1, base)
	unacked.History[0].UUID, unacked.Unacked = testUUID("u1"), []int{1}
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: unacked})
	first := ids(published(t, h, topicOverview, 0))
	if first["tasks-card"] != "put" {
		t.Fatalf("a new task did not re-render the tasks card: %v", first)
	}
	// An acknowledgement changes the task, not what the card shows.
	seq := h.Seq(topicOverview)
	acked := runningTask(1, base)
	acked.History[0].UUID = testUUID("u1")
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: acked})
	if got := published(t, h, topicOverview, seq); len(got) != 0 {
		t.Errorf("the overview got %v for an acknowledgement, want nothing", ids(got))
	}
	// The task fails: the card says so.
	failed := runningTask(1, base)
	failed.State = mesos.TaskState_TASK_FAILED
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: failed})
	got := published(t, h, topicOverview, seq)
	if len(got) != 1 || got[0].ID != "tasks-card" || !strings.Contains(got[0].HTML, "failed") {
		t.Errorf("after a failure the overview got %v, want the tasks card saying failed", got)
	}
}

// TestAgentsStayBetweenOffers: an agent whose offer was declined stays on
// the offers page, saying until when, in the agents' order.
func TestAgentsStayBetweenOffers(t *testing.T) {
	l, h := bareLive(t)
	now := time.Now()
	offer := func(id, agent, host string) scheduler.Change {
		o := &mesos.Offer{Id: &mesos.OfferID{Value: &id}, AgentId: &mesos.AgentID{Value: &agent}, Hostname: &host,
			Resources: []*mesos.Resource{mesos.Scalar("cpus", 1)}}
		return scheduler.Change{Kind: scheduler.OfferAdded, Offer: &scheduler.Offer{ID: id, AgentID: agent, Hostname: host, Offer: o, Arrived: now, HoldUntil: now.Add(30 * time.Second)}}
	}
	l.feed(offer("o2", "a2", "b.demo"), offer("o1", "a1", "a.demo"), offer("o3", "a3", "c.demo"))
	if got := strings.Join(l.m.agentOrder, ","); got != "a1,a2,a3" {
		t.Fatalf("agents listed as %s, want by hostname a1,a2,a3", got)
	}
	seq := h.Seq(topicOffers)
	l.feed(scheduler.Change{Kind: scheduler.OfferRemoved, OfferID: "o2", Why: "declined", At: now, Until: now.Add(time.Minute)})
	got := published(t, h, topicOffers, seq)
	var card *change
	for i, c := range got {
		if c.Op == "del" {
			t.Errorf("an agent's card was deleted when its offer was declined: %+v", c)
		}
		if c.ID == "agent-a2" {
			card = &got[i]
		}
	}
	if card == nil || !strings.Contains(card.HTML, "Declined") || !strings.Contains(card.HTML, `data-rel="in"`) || card.Before != "agent-a3" {
		t.Fatalf("the declined agent's card = %+v, want it kept before a3, saying until when", card)
	}
}

// TestTimelineLinesFollowTheHistory: a new status adds its line, an
// acknowledgement changes its line, and nothing else is re-sent.
func TestTimelineLinesFollowTheHistory(t *testing.T) {
	l, h := bareLive(t)
	base := time.Now()
	t1 := runningTask(1, base)
	t1.History[0].UUID = testUUID("u1")
	t1.Unacked = []int{1}
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: t1})
	seq := h.Seq(taskTopic("t1"))
	t2 := runningTask(1, base)
	t2.History = []scheduler.Status{t1.History[0], {State: mesos.TaskState_TASK_FINISHED, Time: base.Add(time.Second), UUID: testUUID("u2")}}
	t2.Unacked = []int{2} // the first acknowledged, the second not yet
	t2.State = mesos.TaskState_TASK_FINISHED
	t2.Statuses = 2
	l.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: t2})
	got := ids(published(t, h, taskTopic("t1"), seq))
	line1, line2 := timelineLineID("t1", 1), timelineLineID("t1", 2)
	if got[line1] != "put" || got[line2] != "put" || got["task-head-task-t1"] != "put" {
		t.Errorf("after a second status: %v, want lines %s and %s and the head", got, line1, line2)
	}
	if _, again := got["task-facts-t1"]; again {
		t.Errorf("what the task was launched with was re-sent unchanged: %v", got)
	}
}

// TestUnfollowedTopicsAreSkipped: a topic nobody follows is skipped, not
// rendered, and what it last published is forgotten, so a page rendered
// later gets every region it shows again.
func TestUnfollowedTopicsAreSkipped(t *testing.T) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{log: slog.New(slog.DiscardHandler), hub: h}
	s.live = newLive(s)
	close(s.live.loaded)
	s.interest.want(topicHeader)
	base := time.Now()
	s.live.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: runningTask(1, base)})
	if h.Seq(topicOverview) != 1 {
		t.Fatalf("overview position %d after a skip, want 1", h.Seq(topicOverview))
	}
	if got := published(t, h, topicHeader, 0); ids(got)["nav-count-tasks"] != "put" {
		t.Errorf("the followed header got %v", ids(got))
	}
	if len(s.live.shown[topicOverview]) != 0 {
		t.Errorf("a skipped topic kept what it published: %v", s.live.shown[topicOverview])
	}

	// Skipped again, it tells the hub nothing new: no page holds a
	// position after the skip.
	s.live.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: runningTask(2, base)})
	if h.Seq(topicOverview) != 1 {
		t.Errorf("overview position %d after a second skip with nobody following, want 1", h.Seq(topicOverview))
	}
	// A page is rendered for it: the next change is published, and once
	// the page's interest has lapsed the topic is skipped anew, so that
	// the page, resuming from its position, re-renders.
	s.interest.want(topicOverview)
	s.live.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: runningTask(3, base)})
	if got := ids(published(t, h, topicOverview, 1)); got["tasks-card"] != "put" {
		t.Fatalf("the overview, followed again, got %v", got)
	}
	seq := h.Seq(topicOverview)
	s.interest.mu.Lock()
	s.interest.at[topicOverview] = time.Now().Add(-2 * followFor)
	s.interest.mu.Unlock()
	s.live.feed(scheduler.Change{Kind: scheduler.TaskChanged, Task: runningTask(4, base)})
	if h.Seq(topicOverview) != seq+1 {
		t.Errorf("overview position %d after its page's interest lapsed, want a skip at %d", h.Seq(topicOverview), seq+1)
	}
}

// place applies puts to a list of ids as the page's script does: a member
// the list has is replaced where it stands; a new one goes before the
// member the change names when the list has it, else at the end (or the
// top, for a prepend).
func place(list []string, cs []change, parent string) []string {
	for _, c := range cs {
		if c.Op != "put" || c.Parent != parent || slices.Contains(list, c.ID) {
			continue
		}
		switch i := slices.Index(list, c.Before); {
		case c.Before != "" && i >= 0:
			list = slices.Insert(list, i, c.ID)
		case c.Prepend:
			list = slices.Insert(list, 0, c.ID)
		default:
			list = append(list, c.ID)
		}
	}
	return list
}

// TestNewAgentsArriveInOrder: agents that first offer in the same burst
// land in the agents' order on a page that already lists a later agent,
// as after a restart, when a page shows the first agent heard of and the
// others follow together. Placed one by one from the first, each would
// name a neighbour the page does not have yet and fall to the end.
func TestNewAgentsArriveInOrder(t *testing.T) {
	l, h := bareLive(t)
	now := time.Now()
	offer := func(id, agent, host string) scheduler.Change {
		o := &mesos.Offer{Id: &mesos.OfferID{Value: &id}, AgentId: &mesos.AgentID{Value: &agent}, Hostname: &host,
			Resources: []*mesos.Resource{mesos.Scalar("cpus", 1)}}
		return scheduler.Change{Kind: scheduler.OfferAdded, Offer: &scheduler.Offer{ID: id, AgentID: agent, Hostname: host, Offer: o, Arrived: now, HoldUntil: now.Add(30 * time.Second)}}
	}
	l.feed(offer("o4", "a4", "d.demo"))
	offers, agents := h.Seq(topicOffers), h.Seq(topicAgents)
	l.feed(offer("o1", "a1", "a.demo"), offer("o3", "a3", "c.demo"), offer("o2", "a2", "b.demo"), offer("o5", "a5", "e.demo"))
	want := []string{"agent-a1", "agent-a2", "agent-a3", "agent-a4", "agent-a5"}
	if got := place([]string{"agent-a4"}, published(t, h, topicOffers, offers), "offers-list"); !slices.Equal(got, want) {
		t.Errorf("offer cards placed as %v, want %v", got, want)
	}
	for i := range want {
		want[i] = strings.Replace(want[i], "agent-", "agentrow-", 1)
	}
	if got := place([]string{"agentrow-a4"}, published(t, h, topicAgents, agents), "agents-body"); !slices.Equal(got, want) {
		t.Errorf("agent rows placed as %v, want %v", got, want)
	}
}

// testUUID is a uuid for tests that begins with name.
func testUUID(name string) scheduler.UUID {
	b := []byte("................")
	copy(b, name)
	return scheduler.UUIDOf(b)
}
