package local

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// maxRefuse caps refuse_seconds at 365 days, as the allocator does.
const maxRefuse = 365 * 24 * time.Hour

// offer is an outstanding offer: one agent's resources for one role, held
// by one framework until accepted, declined, rescinded or discarded.
type offer struct {
	id        string
	framework *framework
	agent     *agent
	role      string
	res       pool
	created   time.Time
	timer     *time.Timer // offer timeout, if configured
}

func (o *offer) stopTimer() {
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
}

// filterKey is where a filter applies: one agent, one role.
type filterKey struct{ agent, role string }

// filter is a refused-resources filter: the framework does not want these
// resources of this agent for this role until it expires.
type filter struct {
	agent   string
	role    string
	res     pool
	expires time.Time
}

// allocator offers free resources every allocation interval, and at once
// when something asks for it, until ctx is done.
func (m *Master) allocator(ctx context.Context) {
	t := time.NewTicker(m.cfg.AllocationInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.allocateNow:
		}
		m.allocate()
	}
}

// allocate runs one allocation: agents in random order; for each, the
// eligible (framework, role) with the lowest dominant share gets all that
// is free there for that role (§6.2). One OFFERS event per framework.
func (m *Master) allocate() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || len(m.frameworks) == 0 {
		return
	}
	now := time.Now()
	total := m.clusterTotalLocked()
	frameworks := make([]*framework, 0, len(m.frameworks))
	for _, f := range m.frameworks {
		if f.connected() {
			frameworks = append(frameworks, f)
		}
	}
	slices.SortFunc(frameworks, func(a, b *framework) int { return cmp.Compare(a.id, b.id) })
	made := map[*framework][]*mesos.Offer{}

	order := rand.Perm(len(m.agentOrder))
	for _, i := range order {
		a := m.agentOrder[i]
		if a.gone || a.partitioned || a.free.empty() {
			continue
		}
		var best *framework
		var bestRole string
		var bestRes pool
		bestShare := math.Inf(1)
		for _, f := range frameworks {
			for _, role := range f.roles {
				if f.suppressed[role] {
					continue
				}
				avail := a.free.forRoles("*", role)
				if !avail.allocatable() || m.filteredLocked(f, a, role, avail, now) {
					continue
				}
				if s := f.share(total); s < bestShare {
					best, bestRole, bestRes, bestShare = f, role, avail, s
				}
			}
		}
		if best == nil {
			continue
		}
		o := m.newOfferLocked(best, a, bestRole, bestRes, now)
		made[best] = append(made[best], m.offerProto(o))
	}
	for f, offers := range made {
		f.send(&mesos.Event{Type: mesos.Event_OFFERS.Enum(), Offers: &mesos.Event_Offers{Offers: offers}})
	}
}

// share is the framework's dominant share of the cluster.
func (f *framework) share(total map[string]int64) float64 {
	var s float64
	for name, v := range f.allocated {
		if t := total[name]; t > 0 {
			s = max(s, float64(v)/float64(t))
		}
	}
	return s
}

func (m *Master) clusterTotalLocked() map[string]int64 {
	total := map[string]int64{}
	for _, a := range m.agentOrder {
		if a.gone {
			continue
		}
		for k, v := range a.total.scalars {
			total[k.name] += v
		}
	}
	return total
}

// filteredLocked reports whether a live filter refuses avail; expired
// filters are dropped on the way.
func (m *Master) filteredLocked(f *framework, a *agent, role string, avail pool, now time.Time) bool {
	k := filterKey{a.id, role}
	fs := slices.DeleteFunc(f.filters[k], func(fl *filter) bool { return now.After(fl.expires) })
	if len(fs) == 0 {
		delete(f.filters, k)
		return false
	}
	f.filters[k] = fs
	for _, fl := range fs {
		if fl.res.contains(avail) {
			return true
		}
	}
	return false
}

func (m *Master) newOfferLocked(f *framework, a *agent, role string, res pool, now time.Time) *offer {
	o := &offer{id: fmt.Sprintf("%s-O%d", m.id, m.nextOffer), framework: f, agent: a, role: role, res: res, created: now}
	m.nextOffer++
	a.free = a.free.sub(res)
	f.hold(res)
	f.offers[o.id] = o
	m.offers[o.id] = o
	if m.cfg.OfferTimeout > 0 {
		o.timer = time.AfterFunc(m.cfg.OfferTimeout, func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.offers[o.id] == o && !m.closed {
				m.rescindOfferLocked(o)
			}
		})
	}
	return o
}

// offerProto renders an offer as its framework sees it.
func (m *Master) offerProto(o *offer) *mesos.Offer {
	allocRole := ""
	if o.framework.multiRole() {
		allocRole = o.role
	}
	host, port := m.agentAddress()
	p := &mesos.Offer{
		Id:          &mesos.OfferID{Value: proto.String(o.id)},
		FrameworkId: &mesos.FrameworkID{Value: proto.String(o.framework.id)},
		AgentId:     &mesos.AgentID{Value: proto.String(o.agent.id)},
		Hostname:    proto.String(o.agent.hostname),
		Url: &mesos.URL{
			Scheme:  proto.String("http"),
			Address: &mesos.Address{Hostname: proto.String(o.agent.hostname), Ip: proto.String(host), Port: proto.Int32(port)},
			Path:    proto.String("/" + o.agent.processID()),
		},
		Resources:  o.res.resources(allocRole),
		Attributes: o.agent.attributes,
	}
	if allocRole != "" {
		p.AllocationInfo = &mesos.Resource_AllocationInfo{Role: proto.String(allocRole)}
	}
	return p
}

// removeOfferLocked takes an offer out of the books and returns its
// resources to the agent.
func (m *Master) removeOfferLocked(o *offer) {
	o.stopTimer()
	delete(m.offers, o.id)
	delete(o.framework.offers, o.id)
	o.framework.release(o.res)
	if !o.agent.gone {
		o.agent.free = o.agent.free.add(o.res)
	}
}

// discardOfferLocked drops an offer without telling the framework (failover,
// teardown, disconnect, invalid ACCEPT); no filter is installed.
func (m *Master) discardOfferLocked(o *offer) { m.removeOfferLocked(o) }

// rescindOfferLocked withdraws an offer and tells the framework.
func (m *Master) rescindOfferLocked(o *offer) {
	m.removeOfferLocked(o)
	o.framework.send(&mesos.Event{Type: mesos.Event_RESCIND.Enum(), Rescind: &mesos.Event_Rescind{OfferId: &mesos.OfferID{Value: proto.String(o.id)}}})
}

// refuseLocked returns an offer's unused resources with a refuse filter
// (§6.3): refuse_seconds defaults to 5, 0 means no filter, negative means
// the default, and the filter lives at least one allocation interval.
func (m *Master) refuseLocked(f *framework, o *offer, unused pool, filters *mesos.Filters) {
	if unused.empty() {
		return
	}
	refuse := filters.GetRefuseSeconds() // 5 when unset
	if math.IsNaN(refuse) || refuse < 0 {
		refuse = 5
	}
	if refuse == 0 {
		return
	}
	d := maxRefuse
	if refuse < maxRefuse.Seconds() {
		d = time.Duration(refuse * float64(time.Second))
	}
	d = max(d, m.cfg.AllocationInterval)
	if f.filters == nil {
		f.filters = map[filterKey][]*filter{}
	}
	k := filterKey{o.agent.id, o.role}
	f.filters[k] = append(f.filters[k], &filter{agent: o.agent.id, role: o.role, res: unused, expires: time.Now().Add(d)})
}

// declineLocked handles DECLINE: unknown or used offers are skipped
// silently; the others return with a filter.
func (m *Master) declineLocked(f *framework, d *mesos.Call_Decline) {
	for _, id := range d.GetOfferIds() {
		o := f.offers[id.GetValue()]
		if o == nil {
			m.log.Debug("decline of an unknown offer ignored", "offer_id", id.GetValue(), "framework_id", f.id)
			continue
		}
		m.removeOfferLocked(o)
		m.refuseLocked(f, o, o.res, d.GetFilters())
	}
}

// reviveLocked clears the filters of the given roles (all when empty),
// un-suppresses them and allocates at once. A role the framework is not
// subscribed to makes the whole call a no-op, as on a real master.
func (m *Master) reviveLocked(f *framework, roles []string) {
	if !m.knownRoles(f, roles) {
		m.log.Info("revive with an unknown role ignored", "framework_id", f.id, "roles", roles)
		return
	}
	if len(roles) == 0 {
		roles = f.roles
	}
	for k := range f.filters {
		if slices.Contains(roles, k.role) {
			delete(f.filters, k)
		}
	}
	for _, r := range roles {
		delete(f.suppressed, r)
	}
	m.triggerAllocation()
}

// suppressLocked stops offers for the roles (all when empty); outstanding
// offers stay valid.
func (m *Master) suppressLocked(f *framework, roles []string) {
	if !m.knownRoles(f, roles) {
		m.log.Info("suppress with an unknown role ignored", "framework_id", f.id, "roles", roles)
		return
	}
	if len(roles) == 0 {
		roles = f.roles
	}
	for _, r := range roles {
		f.suppressed[r] = true
	}
}

func (m *Master) knownRoles(f *framework, roles []string) bool {
	for _, r := range roles {
		if !slices.Contains(f.roles, r) {
			return false
		}
	}
	return true
}

// agentAddress is where agents' /files endpoints are served: the master's
// own listener, which serves every simulated agent's sandboxes.
func (m *Master) agentAddress() (string, int32) {
	info := m.masterInfo()
	return info.GetAddress().GetIp(), info.GetAddress().GetPort()
}
