package cluster

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/master"
)

// DefaultKeepEnded is how many ended tasks a framework keeps, as the
// master's --max_completed_tasks_per_framework does by default.
const DefaultKeepEnded = 1000

// view keeps the cluster as the pages show it and turns each operator
// event into the changes it makes. It is its watcher's alone.
type view struct {
	keepEnded int

	agents map[string]*Agent
	// added is when each agent was last added to the view, so that a
	// refresh asked before then does not remove it.
	added      map[string]time.Time
	frameworks map[string]*Framework
	tasks      map[TaskKey]*Task
	// ended holds each framework's ended tasks, oldest first, so that the
	// oldest leave past keepEnded.
	ended map[string][]TaskKey
	seen  uint64

	sum Summary
	// quiet is set while a full read loads: it makes no changes of its own.
	quiet bool
}

func newView(keepEnded int) *view {
	v := &view{keepEnded: keepEnded}
	v.clear()
	return v
}

func (v *view) clear() {
	v.agents = map[string]*Agent{}
	v.added = map[string]time.Time{}
	v.frameworks = map[string]*Framework{}
	v.tasks = map[TaskKey]*Task{}
	v.ended = map[string][]TaskKey{}
	v.sum = Summary{UsedByRole: map[string]Resources{}, TasksByState: map[string]int{}}
}

// summary returns a copy of the summary to hand out.
func (v *view) summary() *Summary {
	s := v.sum
	s.UsedByRole = maps.Clone(v.sum.UsedByRole)
	s.TasksByState = maps.Clone(v.sum.TasksByState)
	return &s
}

// snapshot returns the whole view.
func (v *view) snapshot(at time.Time) *Snapshot {
	s := &Snapshot{At: at, Summary: v.summary()}
	s.Agents = slices.Collect(maps.Values(v.agents))
	s.Frameworks = slices.Collect(maps.Values(v.frameworks))
	s.Tasks = slices.Collect(maps.Values(v.tasks))
	slices.SortFunc(s.Tasks, func(a, b *Task) int { return int(a.Seen) - int(b.Seen) })
	return s
}

// load replaces the view with a full read: agents, frameworks, then
// tasks in the order given (the list order of a read, oldest first where
// it can tell).
func (v *view) load(agents []*Agent, fws []*Framework, tasks []*Task, gone int) {
	v.clear()
	v.sum.Gone = gone
	for _, a := range agents {
		a.Used, a.Tasks = Resources{}, 0
		v.putAgent(a)
	}
	for _, f := range fws {
		f.Used, f.Tasks = Resources{}, 0
		v.putFramework(f)
	}
	// Ended tasks oldest first, so the bound drops the oldest.
	slices.SortStableFunc(tasks, func(a, b *Task) int { return a.Updated.Compare(b.Updated) })
	v.quiet = true
	defer func() { v.quiet = false }()
	for _, t := range tasks {
		v.seen++
		t.Seen = v.seen
		v.putTask(v.share(t), nil)
	}
}

// apply changes the view by one operator event and appends the changes it
// made to out.
func (v *view) apply(e *master.Event, now time.Time, out []Change) ([]Change, error) {
	switch e.GetType() {
	case master.Event_SUBSCRIBED:
		st := e.GetSubscribed().GetGetState()
		agents, fws, tasks := fromState(st, now)
		v.load(agents, fws, tasks, 0)
		return append(out, Change{Kind: Reset, Snapshot: v.snapshot(now)}), nil
	case master.Event_TASK_ADDED:
		t := v.share(taskOf(e.GetTaskAdded().GetTask(), now))
		v.seen++
		t.Seen = v.seen
		if old := v.tasks[t.Key()]; old != nil {
			t.Seen = old.Seen
		}
		out = v.putTask(t, out)
	case master.Event_TASK_UPDATED:
		u := e.GetTaskUpdated()
		k := TaskKey{u.GetFrameworkId().GetValue(), u.GetStatus().GetTaskId().GetValue()}
		old := v.tasks[k]
		if old == nil {
			return out, fmt.Errorf("TASK_UPDATED of unknown task %s of framework %s", k.TaskID, k.FrameworkID)
		}
		state := u.GetState().String()
		if state == old.State {
			// A health or check result, or a retried update: the pages
			// show a task's state and since when, so nothing changes.
			return out, nil
		}
		t := *old
		t.State = state
		if ts := u.GetStatus().GetTimestamp(); ts > 0 {
			t.Updated = secondsTime(ts)
		}
		out = v.putTask(&t, out)
	case master.Event_FRAMEWORK_ADDED:
		out = v.framework(frameworkOf(e.GetFrameworkAdded().GetFramework()), out)
	case master.Event_FRAMEWORK_UPDATED:
		out = v.framework(frameworkOf(e.GetFrameworkUpdated().GetFramework()), out)
	case master.Event_FRAMEWORK_REMOVED:
		out = v.removeFramework(e.GetFrameworkRemoved().GetFrameworkInfo().GetId().GetValue(), out)
	case master.Event_AGENT_ADDED:
		a := agentOf(e.GetAgentAdded().GetAgent())
		if old := v.agents[a.ID]; old != nil {
			v.countAgent(old, -1)
			a.Used, a.Tasks = old.Used, old.Tasks
		}
		v.putAgent(a)
		out = append(out, Change{Kind: AgentChanged, Agent: a, Summary: v.summary()})
	case master.Event_AGENT_REMOVED:
		id := e.GetAgentRemoved().GetAgentId().GetValue()
		out = v.removeAgent(id, out)
	case master.Event_HEARTBEAT:
	default:
		return out, fmt.Errorf("unknown operator event %v", e.GetType())
	}
	return out, nil
}

// removeAgent drops an agent removed or unreachable.
func (v *view) removeAgent(id string, out []Change) []Change {
	old := v.agents[id]
	if old == nil {
		return out
	}
	v.countAgent(old, -1)
	delete(v.agents, id)
	delete(v.added, id)
	v.sum.Gone++
	return append(out, Change{Kind: AgentRemoved, ID: id, Summary: v.summary()})
}

// refresh applies a read of the agents and frameworks asked at asked:
// an agent the master no longer lists left without an event (it became
// unreachable), unless it was added since; a framework's offers are as
// the read says at now.
func (v *view) refresh(agents *master.Response_GetAgents, fws *master.Response_GetFrameworks, asked, now time.Time, out []Change) []Change {
	listed := make(map[string]bool, len(agents.GetAgents()))
	for _, a := range agents.GetAgents() {
		listed[a.GetAgentInfo().GetId().GetValue()] = true
	}
	var gone []string
	for id := range v.agents {
		if !listed[id] && v.added[id].Before(asked) {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for _, id := range gone {
		out = v.removeAgent(id, out)
	}
	for _, f := range fws.GetFrameworks() {
		id := f.GetFrameworkInfo().GetId().GetValue()
		old := v.frameworks[id]
		if old == nil {
			continue
		}
		c := *old
		c.Offered, c.OfferedAt = ResourcesOf(f.GetOfferedResources()), now
		v.frameworks[id] = &c
		out = append(out, Change{Kind: FrameworkChanged, Framework: &c, Summary: v.summary()})
	}
	return out
}

// framework records a framework added or updated, keeping what its tasks
// hold.
func (v *view) framework(f *Framework, out []Change) []Change {
	if old := v.frameworks[f.ID]; old != nil {
		v.countFramework(old, -1)
		f.Used, f.Tasks = old.Used, old.Tasks
		f.Offered, f.OfferedAt = old.Offered, old.OfferedAt
	}
	v.putFramework(f)
	return append(out, Change{Kind: FrameworkChanged, Framework: f, Summary: v.summary()})
}

// removeFramework drops a framework and its tasks: the master moves them
// among its completed frameworks, which the pages do not follow.
func (v *view) removeFramework(id string, out []Change) []Change {
	old := v.frameworks[id]
	if old == nil {
		return out
	}
	v.countFramework(old, -1)
	delete(v.frameworks, id)
	var gone []TaskKey
	for k := range v.tasks {
		if k.FrameworkID == id {
			gone = append(gone, k)
		}
	}
	slices.SortFunc(gone, func(a, b TaskKey) int { return int(v.tasks[a].Seen) - int(v.tasks[b].Seen) })
	for _, k := range gone {
		out = v.removeTask(k, out)
	}
	delete(v.ended, id)
	return append(out, Change{Kind: FrameworkRemoved, ID: id, Summary: v.summary()})
}

func (v *view) putAgent(a *Agent) {
	v.agents[a.ID] = a
	v.added[a.ID] = time.Now()
	v.countAgent(a, 1)
}

func (v *view) putFramework(f *Framework) {
	v.frameworks[f.ID] = f
	v.countFramework(f, 1)
}

func (v *view) countAgent(a *Agent, n int) {
	switch {
	case a.Deactivated:
		v.sum.Deactivated += n
	case !a.Active:
		v.sum.Disconnected += n
	default:
		v.sum.Active += n
	}
	if n > 0 {
		v.sum.Total = v.sum.Total.Add(a.Total)
	} else {
		v.sum.Total = v.sum.Total.Sub(a.Total)
	}
}

func (v *view) countFramework(f *Framework, n int) {
	if f.Active {
		v.sum.FrameworksActive += n
	} else {
		v.sum.FrameworksInactive += n
	}
}

// share makes t's strings few: its agent's, framework's and role's ids
// are the ones the view already holds, and its id and name one string.
// The view holds every task of the cluster (100,000 in the scale bench),
// and each string a task keeps alone is one more object the collector
// marks in every cycle for as long as the task is known; decoded, a task
// brings five.
func (v *view) share(t *Task) *Task {
	if a := v.agents[t.AgentID]; a != nil {
		t.AgentID = a.ID
	}
	if f := v.frameworks[t.FrameworkID]; f != nil {
		t.FrameworkID = f.ID
		if i := slices.Index(f.Roles, t.Role); i >= 0 {
			t.Role = f.Roles[i]
		}
	}
	idName := t.ID + t.Name
	t.ID, t.Name = idName[:len(t.ID)], idName[len(t.ID):]
	return t
}

// putTask records a task's new value and what it changes of its agent,
// its framework and the summary, appending those changes.
func (v *view) putTask(t *Task, out []Change) []Change {
	k := t.Key()
	old := v.tasks[k]
	v.tasks[k] = t
	if old != nil {
		v.sum.TasksByState[old.State]--
		if v.sum.TasksByState[old.State] == 0 {
			delete(v.sum.TasksByState, old.State)
		}
	}
	v.sum.TasksByState[t.State]++
	out = v.hold(old, t, out)
	if t.Terminal() && (old == nil || !old.Terminal()) {
		v.ended[k.FrameworkID] = append(v.ended[k.FrameworkID], k)
	}
	if !v.quiet {
		out = append(out, Change{Kind: TaskChanged, Task: t, Summary: v.summary()})
	}
	for len(v.ended[k.FrameworkID]) > v.keepEnded {
		oldest := v.ended[k.FrameworkID][0]
		v.ended[k.FrameworkID] = v.ended[k.FrameworkID][1:]
		if e := v.tasks[oldest]; e != nil && e.Terminal() {
			out = v.removeTask(oldest, out)
		}
	}
	return out
}

// removeTask forgets a task.
func (v *view) removeTask(k TaskKey, out []Change) []Change {
	t := v.tasks[k]
	if t == nil {
		return out
	}
	out = v.hold(t, nil, out)
	delete(v.tasks, k)
	v.sum.TasksByState[t.State]--
	if v.sum.TasksByState[t.State] == 0 {
		delete(v.sum.TasksByState, t.State)
	}
	if v.quiet {
		return out
	}
	return append(out, Change{Kind: TaskRemoved, Key: k, Summary: v.summary()})
}

// hold moves what a task holds from its old value to its new one (either
// may be nil or not live) on its agent, its framework and the summary,
// appending the agents and frameworks that changed.
func (v *view) hold(old, t *Task, out []Change) []Change {
	was, is := old != nil && old.Live(), t != nil && t.Live()
	if was && is && old.AgentID == t.AgentID && old.Resources == t.Resources && old.Role == t.Role {
		return out
	}
	if !was && !is {
		return out
	}
	if was {
		v.sum.Used = v.sum.Used.Sub(old.Resources)
		v.sum.UsedByRole[old.Role] = v.sum.UsedByRole[old.Role].Sub(old.Resources)
		if v.sum.UsedByRole[old.Role] == (Resources{}) {
			delete(v.sum.UsedByRole, old.Role)
		}
	}
	if is {
		v.sum.Used = v.sum.Used.Add(t.Resources)
		v.sum.UsedByRole[t.Role] = v.sum.UsedByRole[t.Role].Add(t.Resources)
	}
	agents := map[string]*Agent{}
	fws := map[string]*Framework{}
	if was {
		v.shift(old, -1, agents, fws)
	}
	if is {
		v.shift(t, 1, agents, fws)
	}
	if v.quiet {
		return out
	}
	s := v.summary()
	for _, id := range slices.Sorted(maps.Keys(agents)) {
		out = append(out, Change{Kind: AgentChanged, Agent: agents[id], Summary: s})
	}
	for _, id := range slices.Sorted(maps.Keys(fws)) {
		out = append(out, Change{Kind: FrameworkChanged, Framework: fws[id], Summary: s})
	}
	return out
}

// shift adds (n = 1) or takes (n = -1) what t holds to or from its agent
// and framework, noting the values it replaced. Values already handed out
// are never modified: each gets a new one, except while a full read
// loads, when none was handed out yet.
func (v *view) shift(t *Task, n int, agents map[string]*Agent, fws map[string]*Framework) {
	if a := v.agents[t.AgentID]; a != nil {
		if !v.quiet && agents[a.ID] == nil {
			c := *a
			a = &c
			v.agents[a.ID], agents[a.ID] = a, a
		}
		if n > 0 {
			a.Used = a.Used.Add(t.Resources)
		} else {
			a.Used = a.Used.Sub(t.Resources)
		}
		a.Tasks += n
	}
	if f := v.frameworks[t.FrameworkID]; f != nil {
		if !v.quiet && fws[f.ID] == nil {
			c := *f
			f = &c
			v.frameworks[f.ID], fws[f.ID] = f, f
		}
		if n > 0 {
			f.Used = f.Used.Add(t.Resources)
		} else {
			f.Used = f.Used.Sub(t.Resources)
		}
		f.Tasks += n
	}
}

// fromState turns a GET_STATE answer into the view's values.
func fromState(st *master.Response_GetState, now time.Time) ([]*Agent, []*Framework, []*Task) {
	var agents []*Agent
	for _, a := range st.GetGetAgents().GetAgents() {
		agents = append(agents, agentOf(a))
	}
	var fws []*Framework
	for _, f := range st.GetGetFrameworks().GetFrameworks() {
		fw := frameworkOf(f)
		fw.Offered, fw.OfferedAt = ResourcesOf(f.GetOfferedResources()), now
		fws = append(fws, fw)
	}
	ts := st.GetGetTasks()
	var tasks []*Task
	for _, list := range [][]*mesos.Task{ts.GetCompletedTasks(), ts.GetUnreachableTasks(), ts.GetTasks()} {
		for _, t := range list {
			tasks = append(tasks, taskOf(t, now))
		}
	}
	return agents, fws, tasks
}

func agentOf(a *master.Response_GetAgents_Agent) *Agent {
	info := a.GetAgentInfo()
	out := &Agent{
		ID: info.GetId().GetValue(), Hostname: info.GetHostname(),
		Active: a.GetActive(), Deactivated: a.GetDeactivated(), Version: a.GetVersion(),
		Total: ResourcesOf(a.GetTotalResources()),
	}
	if len(a.GetTotalResources()) == 0 {
		out.Total = ResourcesOf(info.GetResources())
	}
	if t := a.GetRegisteredTime(); t != nil {
		out.Registered = time.Unix(0, t.GetNanoseconds())
	}
	for _, at := range info.GetAttributes() {
		out.Attributes = append(out.Attributes, mesos.AttributeString(at))
	}
	return out
}

func frameworkOf(f *master.Response_GetFrameworks_Framework) *Framework {
	info := f.GetFrameworkInfo()
	out := &Framework{
		ID: info.GetId().GetValue(), Name: info.GetName(), User: info.GetUser(), Principal: info.GetPrincipal(),
		Hostname: info.GetHostname(), WebUI: info.GetWebuiUrl(), Roles: info.GetRoles(),
		Active: f.GetActive(), Connected: f.GetConnected(),
	}
	if len(out.Roles) == 0 {
		out.Roles = []string{cmpOr(info.GetRole(), "*")}
	}
	if t := f.GetRegisteredTime(); t != nil {
		out.Registered = time.Unix(0, t.GetNanoseconds())
	}
	return out
}

func taskOf(t *mesos.Task, now time.Time) *Task {
	out := &Task{
		FrameworkID: t.GetFrameworkId().GetValue(), ID: t.GetTaskId().GetValue(), Name: t.GetName(),
		AgentID: t.GetAgentId().GetValue(), State: t.GetState().String(),
		Resources: ResourcesOf(t.GetResources()), Role: roleOf(t.GetResources()), Updated: now,
	}
	var newest float64
	for _, s := range t.GetStatuses() {
		newest = max(newest, s.GetTimestamp())
	}
	if newest > 0 {
		out.Updated = secondsTime(newest)
	}
	return out
}

// roleOf is the role a task's resources are allocated to: the allocation
// info Mesos sets on every resource of a task since 1.5, else the
// resources' own (deprecated) role.
func roleOf(rs []*mesos.Resource) string {
	for _, r := range rs {
		if role := r.GetAllocationInfo().GetRole(); role != "" {
			return role
		}
	}
	for _, r := range rs {
		if role := r.GetRole(); role != "" {
			return role
		}
	}
	return "*"
}

func secondsTime(s float64) time.Time {
	return time.Unix(0, int64(s*1e9))
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
