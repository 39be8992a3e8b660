package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"

	"github.com/offerdeck/offerdeck/hub"
	"github.com/offerdeck/offerdeck/mesos/cluster"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// live owns the model and keeps the pages' regions equal to it: the feed
// goroutine (Server.Run) applies the scheduler's changes to the model,
// re-renders the regions whose data changed with the same components the
// pages use, and publishes those that render differently from what it
// published last. Page handlers read the model and their topics' positions
// together (see read), so a page and its stream can never disagree.
type live struct {
	s  *Server
	mu sync.RWMutex // guards m, and orders publishes with reads
	m  *model
	// loaded is closed once m holds the scheduler's state; since is the
	// sequence number of the last change that state includes.
	loaded chan struct{}
	since  uint64

	// The rest is the feed goroutine's alone.
	dirty   dirt
	pending map[string][]hub.Entry
	skipped map[string]bool
	// quiet holds the topics skipped since a stream or page last
	// followed them: no page holds a position after their skip, so
	// skipping them again would tell the hub nothing.
	quiet map[string]bool
	// shown hashes each region's bytes as last published, by topic and
	// element id; a topic left unrendered forgets its own.
	shown map[string]map[string]uint64
	seed  maphash.Seed
	// chartDrawn is the clock step the board's chart was last drawn to.
	chartDrawn time.Time
	// batch and latest are run's: the changes taken at once, and the
	// index of each task's last change among them; cbatch the cluster
	// view's changes taken at once.
	batch  []scheduler.Change
	latest map[string]int
	cbatch []cluster.Change
}

// dirt is what changed in the model since the last publish.
type dirt struct {
	parts   part                       // which parts of the model changed
	agents  map[string]bool            // agents whose card or row may show something else
	lanes   map[string]bool            // agents whose board lane lost an old offer or gained a task
	tasks   map[string]*scheduler.Task // tasks that changed, with their value at the last publish (nil: new)
	added   []string                   // the new ones among them
	queue   map[string]bool            // queued specs that changed
	events  []*scheduler.Event         // arrived since the last publish
	audit   []scheduler.AuditEntry     // added since the last publish
	calls   []*scheduler.Call          // sent since the last publish
	order   bool                       // the tasks table's order changed beyond appends
	cluster clusterDirt                // what changed of the whole cluster's view
}

// part names a part of the model; a region says which parts it shows, and
// is re-rendered whenever one of them changed.
type part uint16

const (
	partConn   part = 1 << iota // the connection, master and framework
	partOffers                  // offers and agents
	partTasks                   // the current registration's tasks
	partOlder                   // tasks of removed registrations
	partQueue
	partEvents
	partAudit
	partCalls
	partCluster       // the whole cluster's view: its numbers, agents and tasks
	partClusterStatus // where the cluster's view comes from
	partFrameworks    // the cluster's frameworks
	partChart         // the board chart's clock step
	partTaskCount     // how many tasks the table holds: one came or left
)

func newLive(s *Server) *live {
	m := newModel()
	m.cluster.on = s.cfg.Cluster != nil
	return &live{
		s: s, m: m, loaded: make(chan struct{}),
		pending: map[string][]hub.Entry{}, skipped: map[string]bool{}, quiet: map[string]bool{}, shown: map[string]map[string]uint64{},
		seed: maphash.MakeSeed(), latest: map[string]int{},
		dirty: newDirt(),
	}
}

func newDirt() dirt {
	var d dirt
	d.reset()
	return d
}

// read runs fn on the model together with the positions of topics, which
// the page then carries: what fn reads is exactly the state after those
// positions. It waits for the model's first load. fn must not keep the
// model, only what it copied or built from it.
func (l *live) read(ctx context.Context, topics []string, fn func(m *model)) (positions string, err error) {
	select {
	case <-l.loaded:
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for the dashboard's state: %w", ctx.Err())
	}
	l.s.interest.want(topics...) // before the positions: see interest
	l.mu.RLock()
	defer l.mu.RUnlock()
	fn(l.m)
	return l.s.positions(topics...), nil
}

// maxBurst is the longest the feed applies changes before it publishes
// them: a bound on what a steady flood of changes adds to their latency.
const maxBurst = 5 * time.Millisecond

// maxTake is the most changes the feed takes at once.
const maxTake = 16384

// Run loads the model and then consumes the scheduler's changes until they
// end or ctx is done, publishing what they change on every page.
func (s *Server) Run(ctx context.Context) {
	defer s.streams.Wait()
	defer s.hub.Close() // ends the streams
	if err := s.live.load(ctx); err != nil {
		if ctx.Err() == nil {
			s.log.Error("live pages stopped: cannot read the scheduler's state", "err", err)
		}
		return
	}
	var clusterChanges <-chan cluster.Change
	if s.cfg.Cluster != nil {
		clusterChanges = s.cfg.Cluster.Changes()
	}
	s.live.run(ctx, s.sched.Changes(), clusterChanges)
}

// load fills the model from one snapshot; the changes it includes are
// skipped when they arrive.
func (l *live) load(ctx context.Context) error {
	snap, err := l.s.sched.Snapshot(ctx)
	if err != nil {
		return err
	}
	audit, err := l.s.sched.AuditLog(0, auditPage)
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	l.mu.Lock()
	l.m.load(snap, audit)
	l.mu.Unlock()
	l.since = snap.Seq
	close(l.loaded)
	return nil
}

// run applies and publishes changes until they end or ctx is done.
//
// It takes every change that waits, not one at a time: a burst then costs
// one publish, and when the feed has fallen behind, a task that changed
// several times in the backlog is applied once, in its latest state.
func (l *live) run(ctx context.Context, changes <-chan scheduler.Change, clusterChanges <-chan cluster.Change) {
	step := time.NewTimer(untilChartStep(time.Now()))
	defer step.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-step.C:
			l.tick(ctx, now)
			step.Reset(untilChartStep(time.Now()))
			continue
		case c, ok := <-changes:
			if !ok {
				return
			}
			l.batch = append(l.batch[:0], c)
		case c, ok := <-clusterChanges:
			if !ok {
				clusterChanges = nil // the cluster view stopped; the framework's pages go on
				continue
			}
			l.cbatch = append(l.cbatch[:0], c)
		}
		open := true
	take:
		for len(l.batch)+len(l.cbatch) < maxTake {
			select {
			case c, ok := <-changes:
				if !ok {
					open = false
					break take
				}
				l.batch = append(l.batch, c)
			case c, ok := <-clusterChanges:
				if !ok {
					clusterChanges = nil
					break take
				}
				l.cbatch = append(l.cbatch, c)
			default:
				break take
			}
		}
		l.applyBatch(ctx)
		if !open {
			return
		}
	}
}

// untilChartStep is how long from now until the board chart's next step.
func untilChartStep(now time.Time) time.Duration {
	return now.Truncate(chartStep).Add(chartStep).Sub(now)
}

// tick samples the board's chart at the start of a step, so that the
// chart moves on while nothing changes.
func (l *live) tick(ctx context.Context, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m.sample(now)
	l.publish(ctx)
}

// applyBatch applies the changes taken, skipping a task's change when a
// later one of the same task follows, and publishes at least every
// maxBurst while it works.
func (l *live) applyBatch(ctx context.Context) {
	many := len(l.batch) > 1
	if many {
		for i, c := range l.batch {
			if c.Kind == scheduler.TaskChanged {
				l.latest[c.Task.ID] = i
			}
		}
	}
	start := time.Now()
	l.mu.Lock()
	for i, c := range l.batch {
		if c.Seq <= l.since {
			continue // the loaded snapshot has it
		}
		l.apiChange(c) // every change, before a task's are merged below
		if many && c.Kind == scheduler.TaskChanged && !c.Archived && l.latest[c.Task.ID] != i {
			l.s.feed.coalesced.Add(1)
			continue
		}
		l.apply(c)
		l.s.feed.rendered.Add(1)
		if i%64 == 63 && time.Since(start) >= maxBurst {
			l.publish(ctx)
			l.mu.Unlock()
			l.mu.Lock() // let waiting pages read between slices
			start = time.Now()
		}
	}
	for i, c := range l.cbatch {
		l.applyCluster(c)
		if i%64 == 63 && time.Since(start) >= maxBurst {
			l.publish(ctx)
			l.mu.Unlock()
			l.mu.Lock()
			start = time.Now()
		}
	}
	l.publish(ctx)
	l.mu.Unlock()
	clear(l.cbatch)
	l.cbatch = l.cbatch[:0]
	if many {
		for _, c := range l.batch {
			if c.Kind == scheduler.TaskChanged {
				delete(l.latest, c.Task.ID)
			}
		}
	}
	clear(l.batch) // drop the tasks it holds
	l.batch = l.batch[:0]
}

// apply changes the model and notes what changed.
func (l *live) apply(c scheduler.Change) {
	m, d := l.m, &l.dirty
	switch c.Kind {
	case scheduler.ConnectionChanged:
		m.conn = *c.Conn
		d.parts |= partConn
	case scheduler.OfferAdded:
		m.addOffer(*c.Offer)
		d.parts |= partOffers
		d.agents[c.Offer.AgentID] = true
	case scheduler.AgentRemoved:
		if a := m.agents[c.AgentID]; a != nil {
			a.Removed = c.At
			d.parts |= partOffers
			d.agents[c.AgentID] = true
		}
	case scheduler.OfferRemoved:
		if agent, ok := m.removeOffer(c.OfferID, c.Why, c.At, c.Until); ok {
			d.parts |= partOffers
			d.agents[agent] = true
			for id := range m.spansDropped {
				d.lanes[id] = true
			}
			clear(m.spansDropped)
		}
	case scheduler.TaskChanged:
		t := c.Task
		if c.Archived {
			if _, noted := d.tasks[t.ID]; !noted {
				d.tasks[t.ID] = m.current(t.ID)
			}
			m.archive(t)
			d.parts |= partTasks | partOlder | partTaskCount
			d.order = true
			d.agents[t.AgentID] = true
			return
		}
		old := m.putTask(t)
		if _, noted := d.tasks[t.ID]; !noted {
			d.tasks[t.ID] = old
		}
		d.parts |= partTasks
		if old == nil {
			d.added = append(d.added, t.ID)
			d.parts |= partTaskCount
		}
		if old == nil || old.AgentID != t.AgentID || old.Terminal() != t.Terminal() {
			d.agents[t.AgentID] = true
			if old != nil {
				d.agents[old.AgentID] = true
			}
		}
		if old == nil && t.OfferID != "" {
			d.lanes[t.AgentID] = true // its offer's bar names it
		}
		if old != nil && !sameLaunchTime(old, t) {
			d.order = true
		}
	case scheduler.QueueChanged:
		m.putQueued(*c.Queued)
		d.parts |= partQueue
		d.queue[c.Queued.ID] = true
	case scheduler.EventAdded:
		m.addEvent(*c.Event)
		d.parts |= partEvents
		d.events = append(d.events, c.Event)
		if len(d.events) >= 2*eventsKept {
			d.events = d.events[len(d.events)-eventsKept:]
		}
	case scheduler.CallAdded:
		m.addCall(*c.Call)
		d.parts |= partCalls
		d.calls = append(d.calls, c.Call)
		if len(d.calls) >= 2*callsKept {
			d.calls = d.calls[len(d.calls)-callsKept:]
		}
	case scheduler.AuditAdded:
		m.addAudit(*c.Audit)
		d.parts |= partAudit
		d.audit = append(d.audit, *c.Audit)
	}
}

// publish renders the regions that what changed may have changed, and
// hands every topic's entries to the hub. It runs under l.mu, so that no
// page reads the model between its change and the publish.
func (l *live) publish(ctx context.Context) {
	l.renderPending(ctx)
	// A topic that had changes skipped publishes none of this burst: an
	// older entry must not follow the skip's position.
	for topic := range l.skipped {
		delete(l.pending, topic)
		delete(l.shown, topic)
		l.s.hub.Skip(topic)
		l.quiet[topic] = true
	}
	clear(l.skipped)
	for topic, entries := range l.pending {
		if len(entries) > 0 {
			l.s.hub.Publish(topic, entries...)
		}
		delete(l.pending, topic)
	}
}

// renderPending renders what the dirt calls for into the pending entries.
func (l *live) renderPending(ctx context.Context) {
	if l.dirty.parts&(partOffers|partTasks) != 0 {
		l.m.sample(time.Now())
	}
	if drawn := l.m.chartAt.Truncate(chartStep); !drawn.Equal(l.chartDrawn) {
		l.chartDrawn = drawn
		l.dirty.parts |= partChart
	}
	renderer{l: l, ctx: ctx}.all()
	l.dirty.reset()
}

// reset makes d clean for the next publish. Its sets are emptied and kept,
// as they grew to the last publish's size: made anew, each publish grew
// them again, table by table (the tables' rehashing was a tenth of the
// feed's CPU in the steady run's profile, at 26,000 updates a second).
func (d *dirt) reset() {
	*d = dirt{
		agents: emptied(d.agents), lanes: emptied(d.lanes), tasks: emptied(d.tasks), queue: emptied(d.queue),
		cluster: clusterDirt{agents: emptied(d.cluster.agents), tasks: emptied(d.cluster.tasks), frameworks: emptied(d.cluster.frameworks)},
	}
}

// maxKeptDirt bounds the sets a dirt keeps between publishes: an emptied
// map keeps its room, and ranging over it costs that room.
const maxKeptDirt = 4096

// emptied returns m emptied, or a new map when m grew past maxKeptDirt.
func emptied[K comparable, V any](m map[K]V) map[K]V {
	if m == nil || len(m) > maxKeptDirt {
		return map[K]V{}
	}
	clear(m)
	return m
}

// follows reports whether a stream follows topic or a page was rendered
// for it lately; if not, it notes the topic as skipped (once until it is
// followed again, see quiet), and the caller leaves the change
// unrendered.
func (l *live) follows(topic string) bool {
	if l.s.hub.Subscribed(topic) || l.s.interest.recent(topic) {
		if len(l.quiet) > 0 {
			delete(l.quiet, topic)
		}
		return true
	}
	if !l.quiet[topic] {
		l.skipped[topic] = true
	}
	return false
}

// change is one entry as the client script applies it, by element id:
//   - put: replace the element with html; when the page does not have it,
//     insert it into parent, before the element named by before when the
//     page has that one, else at the end (at the top with prepend);
//   - del: remove the element, marked with why first so the reader sees
//     it go;
//   - resync: re-render the page's regions (a list whose members changed
//     in a way only a fresh render can place).
//
// Every change is idempotent, so a change applied twice (a page rendered
// just after it was published) does no harm.
type change struct {
	Op      string `json:"op"`
	ID      string `json:"id"`
	Parent  string `json:"parent,omitempty"`
	Before  string `json:"before,omitempty"`
	Prepend bool   `json:"prepend,omitempty"`
	// Window says the server keeps the list's window itself (it deletes
	// what leaves it), so an insertion into a paged list is placed, not
	// resynced.
	Window bool   `json:"window,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`
	HTML   string `json:"html,omitempty"`
	Mark   string `json:"mark,omitempty"`
}

// add encodes a change into a topic's pending entries.
//
// It leaves <, > and & as they are: json.Marshal would write each as a
// six-byte escape, which made a task row's change a third bigger, for
// every viewer. The message is parsed by JSON.parse, never placed in HTML.
func (l *live) add(topic, key string, c change) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		l.s.log.Error("encode live change", "err", err)
		return
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	l.pending[topic] = append(l.pending[topic], hub.Entry{Key: key, Data: b})
}

// render renders a component to a string.
func (l *live) render(ctx context.Context, c templ.Component) (string, bool) {
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		l.s.log.Error("render live region", "err", err)
		return "", false
	}
	return buf.String(), true
}

// put renders a region and publishes it when it differs from what topic
// last published for that id.
func (l *live) put(ctx context.Context, topic string, c change, comp templ.Component) {
	if html, ok := l.render(ctx, comp); ok {
		l.putHTML(topic, c, html)
	}
}

// putHTML publishes a region already rendered, when it differs from what
// topic last published for that id: a row two topics carry is rendered
// once.
func (l *live) putHTML(topic string, c change, html string) {
	h := maphash.String(l.seed, html)
	shown := l.shown[topic]
	if shown == nil {
		shown = map[string]uint64{}
		l.shown[topic] = shown
	}
	if old, ok := shown[c.ID]; ok && old == h {
		return
	}
	shown[c.ID] = h
	c.Op, c.HTML = "put", html
	l.add(topic, c.ID, c)
}

// putShaped publishes a list region whole when its shape (what decides
// its layout: the members it shows, in order) differs from the shape it
// last went out with, and reports whether it did. Between such changes
// the list goes out part by part (putPart). After it goes out whole, what
// its parts last sent is forgotten (the ids starting with prefixes), so
// that each part goes out anew.
func (l *live) putShaped(ctx context.Context, topic, id, shape string, comp templ.Component, prefixes ...string) bool {
	key, h := id+" shape", maphash.String(l.seed, shape)
	if old, ok := l.shown[topic][key]; ok && old == h {
		return false
	}
	for _, p := range prefixes {
		l.forget(topic, p)
	}
	l.put(ctx, topic, change{ID: id}, comp)
	if shown := l.shown[topic]; shown != nil {
		shown[key] = h
	}
	return true
}

// noteHead notes the head of the card id (what it shows besides the parts
// that go out on their own) as last published on topic, and reports
// whether it differs from the one noted before: then the card goes out
// whole.
func (l *live) noteHead(topic, id, head string) bool {
	key, h := id+" head", maphash.String(l.seed, head)
	shown := l.shown[topic]
	if shown == nil {
		shown = map[string]uint64{}
		l.shown[topic] = shown
	}
	if old, ok := shown[key]; ok && old == h {
		return false
	}
	shown[key] = h
	return true
}

// putPart publishes a part of the list region, which then differs from
// what it last went out as: its next render goes out whatever it is.
func (l *live) putPart(ctx context.Context, topic, region string, c change, comp templ.Component) {
	delete(l.shown[topic], region)
	l.put(ctx, topic, c, comp)
}

// del publishes the removal of an element.
func (l *live) del(topic, id, mark string) {
	delete(l.shown[topic], id)
	l.add(topic, id, change{Op: "del", ID: id, Mark: mark})
}

// forget drops what topic last published for the ids starting with
// prefix: a list that re-renders as a whole shows what its page renders,
// so the next change of any of its rows must be published, even one that
// renders as the row last published did.
func (l *live) forget(topic, prefix string) {
	for id := range l.shown[topic] {
		if strings.HasPrefix(id, prefix) {
			delete(l.shown[topic], id)
		}
	}
}

// resync tells the pages of topic to re-render their regions.
func (l *live) resync(topic, region string) {
	l.add(topic, "resync:"+region, change{Op: "resync", ID: region})
}
