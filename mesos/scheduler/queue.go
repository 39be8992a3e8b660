package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

// queued is a spec waiting for offers, as stored.
type queued struct {
	ID       string    `json:"id"`
	Spec     TaskSpec  `json:"spec"`
	Left     int       `json:"left"` // instances still to place
	Queued   time.Time `json:"queued"`
	Launched []string  `json:"launched,omitempty"`
	// Retries counts instances put back after the master refused their
	// ACCEPT; bounded so a master that always refuses cannot loop us.
	Retries int `json:"retries,omitempty"`

	// seen is what the latest offers said about the spec, newest last, at
	// most matchesKept; kept in memory only.
	seen []match
}

// match is what one agent's offers (by their ids) said about a queued
// spec: why it did not place there, or "placed".
type match struct {
	offers, why string
}

// matchesKept is how many offers the queue's summary counts, per spec.
const matchesKept = 50

// saw records what an agent's offers said about q; a share seen again
// (the spec waited through another round) replaces its earlier word.
func (q *queued) saw(offers, why string) {
	if i := slices.IndexFunc(q.seen, func(m match) bool { return m.offers == offers }); i >= 0 {
		q.seen[i].why = why
		return
	}
	q.seen = append(q.seen, match{offers, why})
	if len(q.seen) > matchesKept {
		q.seen = slices.Delete(q.seen, 0, len(q.seen)-matchesKept)
	}
}

// tally counts what the last offers said about a queued spec, most
// frequent first.
func (q *queued) tally() []OfferTally {
	counts := map[string]int{}
	for _, m := range q.seen {
		counts[m.why]++
	}
	out := make([]OfferTally, 0, len(counts))
	for why, n := range counts {
		out = append(out, OfferTally{Why: why, Offers: n})
	}
	slices.SortFunc(out, func(a, b OfferTally) int {
		if a.Offers != b.Offers {
			return b.Offers - a.Offers
		}
		return strings.Compare(a.Why, b.Why)
	})
	return out
}

// whyNot is the one word a summary counts an offer under: the first short
// resource, else the first constraint not met.
func whyNot(r placement.Result) string {
	switch {
	case len(r.Short) > 0:
		return "short of " + r.Short[0]
	case len(r.Unmet) > 0:
		return "failed " + r.Unmet[0]
	case len(r.Reasons) > 0:
		return r.Reasons[0]
	}
	return "did not fit"
}

// OfferTally is one reason the last offers gave a queued spec, with how
// many offers gave it: "short of mem" 30, "failed rack==c3po" 12, "fitted
// but another spec took them" 8, "placed" 1.
type OfferTally struct {
	Why    string
	Offers int
}

// Why the summary counts an offer a spec fitted whole, but that specs
// queued before it had taken part of.
const takenByOthers = "fitted but another spec took them"

// maxRequeues bounds how often a spec's instances are put back in the
// queue after the master refused to launch them.
const maxRequeues = 3

// placedKept bounds how many fully placed specs are remembered, so their
// instances can be put back if their ACCEPT is refused.
const placedKept = 256

// Queued is a spec waiting for offers, as the dashboard shows it.
type Queued struct {
	ID       string
	Spec     TaskSpec
	Left     int
	Queued   time.Time
	Launched []string
	// Why says, per held offer, why it does not fit; empty when there is
	// no offer at all.
	Why []Misfit
	// Tally sums up what the last offers (up to 50, Seen of them) said,
	// most frequent first, as Marathon's offer-matching summary does.
	Tally []OfferTally
	Seen  int
}

// Misfit is why one offer does not take a queued instance.
type Misfit struct {
	OfferID, Hostname string
	Reasons           []string
}

// Launch queues a spec: its instances are placed on the next offers that
// fit, the flow of the Mesos tutorials' "POST ?cmd=" endpoint. It answers
// once the spec is queued (and placed where held offers fit already). A
// spec that no agent seen so far could run is refused with a
// *NeverFitsError, unless spec.Wait asks to wait for a bigger agent.
func (s *Scheduler) Launch(ctx context.Context, who Actor, spec TaskSpec) (Result, error) {
	return s.act(ctx, who, "launch", spec.Name, describeSpecs([]TaskSpec{spec}), func(st *state) (plan, error) {
		c, err := compile(spec)
		if err != nil {
			return plan{}, err
		}
		if !c.spec.Wait {
			if err := st.neverFits(c); err != nil {
				return plan{}, err // its words are for the user as they are
			}
		}
		q := &queued{ID: newTaskID("q"), Spec: c.spec, Left: c.spec.Instances, Queued: time.Now()}
		st.queue = append(st.queue, q)
		st.pending.queuePut = append(st.pending.queuePut, q)
		st.placeQueued()
		msg := fmt.Sprintf("queued %s of %s", plural(c.spec.Instances, "instance", "instances"), c.spec.Name)
		if c.spec.Agent != "" {
			msg = fmt.Sprintf("queued %s of %s: %s", plural(c.spec.Instances, "instance", "instances"), c.spec.Name, st.waitingFor(c.spec.Agent))
		}
		if q.Left < c.spec.Instances {
			msg = fmt.Sprintf("placed %d of %s of %s at once", c.spec.Instances-q.Left, plural(c.spec.Instances, "instance", "instances"), c.spec.Name)
		}
		return plan{result: Result{Message: msg, TaskIDs: slices.Clone(q.Launched)}, undo: func(st *state) { st.unqueue(q) }}, nil
	})
}

// unqueue takes back a spec whose Launch was answered with a failure to
// save it: it leaves the queue, and its instances placed meanwhile were
// settled as not launched (their ACCEPT was held back with the commit).
func (st *state) unqueue(q *queued) {
	st.placed = slices.DeleteFunc(st.placed, func(p *queued) bool { return p == q })
	i := slices.Index(st.queue, q)
	if i < 0 {
		st.pending.queueDelete = append(st.pending.queueDelete, q.ID)
		return
	}
	q.Left = 0
	st.dropQueued(i)
	st.placed = slices.DeleteFunc(st.placed, func(p *queued) bool { return p == q })
}

// Unqueue removes a queued spec; instances already launched keep running.
func (s *Scheduler) Unqueue(ctx context.Context, who Actor, id string) (Result, error) {
	return s.act(ctx, who, "unqueue", id, "", func(st *state) (plan, error) {
		i := slices.IndexFunc(st.queue, func(q *queued) bool { return q.ID == id })
		if i < 0 {
			return plan{}, fmt.Errorf("unqueue %s: %w", id, ErrUnknownQueued)
		}
		st.dropQueued(i)
		return plan{result: Result{Message: "removed " + id + " from the queue"}}, nil
	})
}

func (st *state) dropQueued(i int) {
	q := st.queue[i]
	st.queue = slices.Delete(st.queue, i, i+1)
	if q.Left == 0 {
		st.placed = append(st.placed, q)
		if len(st.placed) > placedKept {
			st.placed = st.placed[1:]
		}
	}
	st.pending.queueDelete = append(st.pending.queueDelete, q.ID)
	st.change(Change{Kind: QueueChanged, Queued: &Queued{ID: q.ID, Spec: q.Spec, Left: 0, Queued: q.Queued, Launched: q.Launched}})
}

// placeQueued places queued instances on held offers, oldest spec first,
// one ACCEPT per agent with every offer held of it (see held); specs
// whose instances are all placed leave the queue. Every spec that still
// waits gets the reasons each agent does not fit.
func (st *state) placeQueued() {
	if len(st.queue) == 0 {
		return
	}
	for _, h := range st.heldGroups() {
		pinned := func(q *queued) bool { return q.Spec.Agent != "" && q.Spec.Agent != h.whole.AgentID }
		rem := placement.NewRemaining(h.whole.Offer)
		var tasks []*Task
		var infos []*mesos.TaskInfo
		for _, q := range st.queue {
			if q.Left == 0 || pinned(q) {
				continue
			}
			c, err := compile(q.Spec)
			if err != nil {
				continue // validated when queued; a newer build may differ
			}
			used := st.usedBy(q, c.constraints)
			placed := false
			for q.Left > 0 {
				if r := rem.Fit(c.need, c.constraints, used); !r.Fits {
					switch {
					case placed:
					case placement.Fit(h.whole.Offer, c.need, c.constraints, used).Fits:
						q.saw(h.whole.ID, takenByOthers)
					default:
						q.saw(h.whole.ID, whyNot(r))
					}
					break
				}
				taken, err := rem.Take(c.need)
				if err != nil {
					break
				}
				t, ti := st.newTask(c, h.whole, taken, q.ID)
				tasks = append(tasks, t)
				infos = append(infos, ti)
				q.Left--
				placed = true
				q.saw(h.whole.ID, "placed")
				q.Launched = append(q.Launched, t.ID)
				used.AddOffer(h.whole.Offer)
				st.pending.queuePut = append(st.pending.queuePut, q)
			}
		}
		if len(tasks) == 0 {
			continue
		}
		for _, o := range h.offers {
			st.removeOffer(o.ID, "accepted", st.s.cfg.RefuseSeconds)
		}
		st.call(Cause{Kind: CauseQueue}, acceptCall(h, infos, st.s.cfg.RefuseSeconds), func(st *state, err error) {
			if _, lerr := st.launched(h, tasks, err); lerr != nil && refused(err) {
				st.requeue(tasks, err)
			}
		})
	}
	for i := len(st.queue) - 1; i >= 0; i-- {
		if st.queue[i].Left == 0 {
			st.dropQueued(i)
		}
	}
	for _, q := range st.queue {
		st.change(Change{Kind: QueueChanged, Queued: st.describeQueued(q)})
	}
}

// usedBy collects the attribute values the spec's instances occupy, for
// unique, max-per and group-by constraints (cs), and for group-by the
// values of every agent known.
func (st *state) usedBy(q *queued, cs []placement.Constraint) placement.Used {
	var used placement.Used
	for _, id := range q.Launched {
		t := st.tasks[id]
		if t == nil || t.Terminal() {
			continue
		}
		used.Add(placement.Hostname, t.Hostname)
		for name, value := range t.Attributes {
			used.Add(name, value)
		}
	}
	if slices.ContainsFunc(cs, func(c placement.Constraint) bool { return c.Op() == placement.OpGroupBy }) {
		// group-by spreads over the values every known agent has.
		for _, a := range st.agents {
			used.Know(&mesos.Offer{Hostname: &a.Hostname, Attributes: a.Attributes})
		}
	}
	return used
}

// describeQueued explains why a queued spec waits.
func (st *state) describeQueued(q *queued) *Queued {
	out := &Queued{ID: q.ID, Spec: q.Spec, Left: q.Left, Queued: q.Queued, Launched: slices.Clone(q.Launched),
		Tally: q.tally(), Seen: len(q.seen)}
	c, err := compile(q.Spec)
	if err != nil {
		out.Why = []Misfit{{Reasons: []string{err.Error()}}}
		return out
	}
	used := st.usedBy(q, c.constraints)
	for _, h := range st.heldGroups() {
		if q.Spec.Agent != "" && h.whole.AgentID != q.Spec.Agent {
			continue
		}
		if r := placement.Fit(h.whole.Offer, c.need, c.constraints, used); !r.Fits {
			out.Why = append(out.Why, Misfit{OfferID: h.whole.ID, Hostname: h.whole.Hostname, Reasons: r.Reasons})
		}
	}
	if q.Spec.Agent != "" && len(out.Why) == 0 {
		out.Why = []Misfit{{Hostname: st.agentName(q.Spec.Agent), Reasons: []string{st.waitingFor(q.Spec.Agent)}}}
	}
	sort.Slice(out.Why, func(i, j int) bool { return out.Why[i].Hostname < out.Why[j].Hostname })
	return out
}

// refused reports an ACCEPT the master answered with a refusal, so nothing
// was launched (as opposed to an answer lost on the way).
func refused(err error) bool {
	var apiErr *mesos.APIError
	return errors.As(err, &apiErr) || errors.Is(err, ErrNotConnected) || errors.Is(err, mesos.ErrNotSubscribed) ||
		errors.Is(err, ErrStorage) // held back, never sent
}

// requeue puts the instances of queued specs whose ACCEPT was refused
// (with err) back in the queue, to be placed on the next offers that fit.
// An ACCEPT held back because the state could not be saved was never
// sent: its instances go back without counting a retry, and wait for the
// next offers rather than trying the failing disk again at once.
func (st *state) requeue(tasks []*Task, err error) {
	unsaved := errors.Is(err, ErrStorage)
	for _, t := range tasks {
		if t.QueueID == "" {
			continue
		}
		q := st.findQueued(t.QueueID)
		if q == nil || (q.Retries >= maxRequeues && !unsaved) {
			continue
		}
		if !unsaved {
			q.Retries++
		}
		q.Left++
		if !slices.Contains(st.queue, q) {
			st.queue = append(st.queue, q)
			st.placed = slices.DeleteFunc(st.placed, func(p *queued) bool { return p == q })
		}
		t.editHistory()[len(t.History)-1].Message += " (queued again)"
		st.taskChanged(t)
		st.pending.queuePut = append(st.pending.queuePut, q)
	}
	if !unsaved {
		st.placeQueued()
		return
	}
	for _, q := range st.queue {
		st.change(Change{Kind: QueueChanged, Queued: st.describeQueued(q)})
	}
}

func (st *state) findQueued(id string) *queued {
	for _, q := range st.queue {
		if q.ID == id {
			return q
		}
	}
	for _, q := range st.placed {
		if q.ID == id {
			return q
		}
	}
	return nil
}

// agentName is the agent's hostname, or its id when it was never seen.
func (st *state) agentName(id string) string {
	if a := st.agents[id]; a != nil && a.Hostname != "" {
		return a.Hostname
	}
	return "agent " + id
}

// waitingFor says that a spec pinned to the agent waits for its next offer.
func (st *state) waitingFor(agentID string) string {
	return "waiting for " + st.agentName(agentID) + "'s next offer"
}
