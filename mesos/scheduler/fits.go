package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

// ErrNeverFits is wrapped by the error of a Launch whose spec no agent
// seen so far could ever run: too big for every agent's capacity, or
// asking for attributes no agent has. TaskSpec.Wait queues it anyway.
var ErrNeverFits = errors.New("no agent seen can run this spec")

// NeverFitsError says why no agent seen can run a spec, in words for the
// user ("no agent has 5000 MB; the largest has 992 MB"). It wraps
// ErrNeverFits.
type NeverFitsError struct {
	Reasons []string
}

// Error joins the reasons with "; ".
func (e *NeverFitsError) Error() string { return strings.Join(e.Reasons, "; ") }

// Unwrap returns ErrNeverFits.
func (e *NeverFitsError) Unwrap() error { return ErrNeverFits }

// neverFits reports, as a *NeverFitsError, a spec that no agent seen could
// run: none satisfies its static constraints, none has the capacity for
// one instance, or its unique and max-per constraints need more distinct
// values than the agents seen have. A spec pinned to an agent is held
// against that agent alone. Nil when some agent could, or when no agent
// has been seen yet (nothing to judge by).
func (st *state) neverFits(c compiled) error {
	if len(st.agents) == 0 {
		return nil
	}
	agents := make([]*Agent, 0, len(st.agents))
	for _, a := range st.agents {
		if c.spec.Agent == "" || a.ID == c.spec.Agent {
			agents = append(agents, a)
		}
	}
	if len(agents) == 0 {
		return nil // pinned to an agent not seen since a restart: its offer will say
	}
	slices.SortFunc(agents, func(a, b *Agent) int { return strings.Compare(a.Hostname, b.Hostname) })

	var static []placement.Constraint
	for _, k := range c.constraints {
		if k.Op().Static() {
			static = append(static, k)
		}
	}
	var candidates []*Agent
	for _, a := range agents {
		if satisfies(a, static) {
			candidates = append(candidates, a)
		}
	}
	if len(candidates) == 0 {
		return &NeverFitsError{Reasons: constraintMisses(agents, static)}
	}
	var reasons []string
	largest := placement.Need{}
	fits := 0
	for _, a := range candidates {
		largest = largest.Max(a.Capacity)
		if c.need.Within(a.Capacity) {
			fits++
		}
	}
	if fits == 0 {
		pinned := ""
		if c.spec.Agent != "" {
			pinned = candidates[0].Hostname
		}
		reasons = tooBig(c.need, largest, len(static) > 0, pinned)
		if len(reasons) == 0 {
			reasons = []string{fmt.Sprintf("no agent has %s at once", c.need)}
		}
		return &NeverFitsError{Reasons: reasons}
	}
	for _, k := range c.constraints {
		per := 0
		switch k.Op() {
		case placement.OpUnique:
			per = 1
		case placement.OpMaxPer:
			fmt.Sscan(k.Value(), &per)
		default:
			continue
		}
		values := map[string]bool{}
		for _, a := range candidates {
			if v, ok := agentValue(a, k.Attr()); ok {
				values[v] = true
			}
		}
		if n := len(values) * per; c.spec.Instances > n {
			reasons = append(reasons, fmt.Sprintf("%s allows %d of %d instances on the agents seen (%d with %s)",
				k, n, c.spec.Instances, len(values), k.Attr()))
		}
	}
	if len(reasons) > 0 {
		return &NeverFitsError{Reasons: reasons}
	}
	return nil
}

// agentOffer is an offer-shaped view of an agent, for constraint checks.
func agentOffer(a *Agent) *mesos.Offer {
	return &mesos.Offer{Hostname: &a.Hostname, AgentId: &mesos.AgentID{Value: &a.ID}, Attributes: a.Attributes}
}

func satisfies(a *Agent, cs []placement.Constraint) bool {
	o := agentOffer(a)
	for _, k := range cs {
		if _, ok := k.Check(o, placement.Used{}); !ok {
			return false
		}
	}
	return true
}

// agentValue is the text of the agent's attribute name, or its hostname.
func agentValue(a *Agent, name string) (string, bool) {
	if name == placement.Hostname {
		return a.Hostname, true
	}
	for _, at := range a.Attributes {
		if at.GetName() == name {
			return mesos.AttributeText(at), true
		}
	}
	return "", false
}

// constraintMisses says which static constraints no agent satisfies, with
// the values the agents have; or, when each is met by some agent, that
// none meets them all.
func constraintMisses(agents []*Agent, cs []placement.Constraint) []string {
	var out []string
	for _, k := range cs {
		var values []string
		met := false
		for _, a := range agents {
			if satisfies(a, []placement.Constraint{k}) {
				met = true
				break
			}
			if v, ok := agentValue(a, k.Attr()); ok && !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		slices.Sort(values)
		switch {
		case met:
			continue
		case len(values) == 0:
			out = append(out, fmt.Sprintf("no agent has %s: none of the %d agents seen has attribute %s", k, len(agents), k.Attr()))
		default:
			out = append(out, fmt.Sprintf("no agent has %s: the agents seen have %s %s", k, k.Attr(), strings.Join(values, ", ")))
		}
	}
	if len(out) == 0 {
		names := make([]string, len(cs))
		for i, k := range cs {
			names[i] = k.String()
		}
		out = append(out, "no agent has "+strings.Join(names, " and ")+" at once")
	}
	return out
}

// tooBig names each resource need asks for beyond the largest agent's:
// "no agent has 5000 MB; the largest has 992 MB".
// For a spec pinned to an agent (host): "agent-2.demo has 496 MB at
// most, not 900 MB".
func tooBig(need, largest placement.Need, constrained bool, host string) []string {
	which := "agent"
	if constrained {
		which = "agent that meets the constraints"
	}
	var out []string
	add := func(want, have string) {
		if host != "" {
			out = append(out, fmt.Sprintf("%s has %s at most, not %s", host, have, want))
			return
		}
		out = append(out, fmt.Sprintf("no %s has %s; the largest has %s", which, want, have))
	}
	if need.CPUs > largest.CPUs {
		add(fmt.Sprintf("%g cpus", need.CPUs), fmt.Sprintf("%g", largest.CPUs))
	}
	if need.Mem > largest.Mem {
		add(fmt.Sprintf("%g MB", need.Mem), fmt.Sprintf("%g MB", largest.Mem))
	}
	if need.Disk > largest.Disk {
		add(fmt.Sprintf("%g MB of disk", need.Disk), fmt.Sprintf("%g MB", largest.Disk))
	}
	if need.GPUs > largest.GPUs {
		add(fmt.Sprintf("%d gpus", need.GPUs), fmt.Sprintf("%d", largest.GPUs))
	}
	if need.Ports > largest.Ports {
		add(fmt.Sprintf("%d ports", need.Ports), fmt.Sprintf("%d", largest.Ports))
	}
	return out
}
