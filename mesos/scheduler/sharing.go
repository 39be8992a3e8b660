package scheduler

import (
	"maps"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// sharing keeps one copy of what many tasks hold alike: the attributes
// (as text) and the URL of the agent a task runs on, and the resources
// it was launched with, which the instances of one spec have in the same
// shape and amounts. Each task held copies of its own: at 100,000 tasks
// on 10,000 agents about a quarter of the dashboard's heap, several
// small objects a task that the collector marks on every cycle.
//
// What sharing hands out is shared by many tasks, so nothing may change
// it: a task's Attributes and Resources are replaced, never edited.
// Both tables are bounded; a full table is emptied, which only ends the
// sharing of later tasks with earlier ones.
type sharing struct {
	agents    map[string]agentText
	resources map[string]*mesos.Resource // by wire form
}

// agentText is what tasks on one agent share.
type agentText struct {
	attributes map[string]string
	url        string
}

// maxShared bounds each of sharing's tables: far more agents, and far
// more distinct resources, than tasks are launched on or with at once.
const maxShared = 1 << 16

func newSharing() *sharing {
	return &sharing{agents: map[string]agentText{}, resources: map[string]*mesos.Resource{}}
}

// agent returns attributes and url as the last task on agent id holds
// them, when they are equal, and otherwise keeps them for the next task.
func (sh *sharing) agent(id string, attributes map[string]string, url string) (map[string]string, string) {
	if sh == nil {
		return attributes, url
	}
	if old, ok := sh.agents[id]; ok && old.url == url && maps.Equal(old.attributes, attributes) {
		return old.attributes, old.url
	}
	if len(sh.agents) >= maxShared {
		clear(sh.agents)
	}
	sh.agents[id] = agentText{attributes, url}
	return attributes, url
}

// resource returns the resource whose wire form is wire, decoding it
// only the first time.
func (sh *sharing) resource(wire []byte) (*mesos.Resource, error) {
	if sh != nil {
		if r, ok := sh.resources[string(wire)]; ok {
			return r, nil
		}
	}
	r := new(mesos.Resource)
	if err := proto.Unmarshal(wire, r); err != nil {
		return nil, err
	}
	sh.keep(string(wire), r)
	return r, nil
}

// shareResources replaces each of rs by an equal resource held before,
// if there is one.
func (sh *sharing) shareResources(rs []*mesos.Resource) {
	if sh == nil {
		return
	}
	opts := proto.MarshalOptions{Deterministic: true}
	var wire []byte
	for i, r := range rs {
		var err error
		if wire, err = opts.MarshalAppend(wire[:0], r); err != nil {
			continue // kept as it is; the record's encoding reports it
		}
		if old, ok := sh.resources[string(wire)]; ok {
			rs[i] = old
			continue
		}
		sh.keep(string(wire), r)
	}
}

func (sh *sharing) keep(wire string, r *mesos.Resource) {
	if sh == nil {
		return
	}
	if len(sh.resources) >= maxShared {
		clear(sh.resources)
	}
	sh.resources[wire] = r
}
