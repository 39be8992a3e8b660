package cluster

import (
	"time"

	"github.com/offerdeck/offerdeck/mesos"
)

// Resources are the amounts the pages show of a set of Mesos resources:
// the scalars summed, and the number of ports in its ranges.
type Resources struct {
	CPUs, Mem, Disk, GPUs float64
	Ports                 uint64
}

// Add returns r plus o.
func (r Resources) Add(o Resources) Resources {
	return Resources{r.CPUs + o.CPUs, r.Mem + o.Mem, r.Disk + o.Disk, r.GPUs + o.GPUs, r.Ports + o.Ports}
}

// Sub returns r minus o, never below zero.
func (r Resources) Sub(o Resources) Resources {
	var ports uint64
	if r.Ports > o.Ports {
		ports = r.Ports - o.Ports
	}
	return Resources{max(0, r.CPUs-o.CPUs), max(0, r.Mem-o.Mem), max(0, r.Disk-o.Disk), max(0, r.GPUs-o.GPUs), ports}
}

// ResourcesOf sums a list of wire resources.
func ResourcesOf(rs []*mesos.Resource) Resources {
	return Resources{
		CPUs:  mesos.ScalarSum(rs, "cpus"),
		Mem:   mesos.ScalarSum(rs, "mem"),
		Disk:  mesos.ScalarSum(rs, "disk"),
		GPUs:  mesos.ScalarSum(rs, "gpus"),
		Ports: mesos.RangeCount(mesos.Ranges(rs, "ports")),
	}
}

// Agent is one agent of the cluster as the pages show it. Values are
// immutable once handed out: a change hands out a new one.
type Agent struct {
	ID, Hostname string
	// Attributes are the agent's attributes as "name:value" text, in the
	// agent's order.
	Attributes []string
	// Active is false while the agent is disconnected; Deactivated is set
	// by an operator (maintenance, draining).
	Active, Deactivated bool
	Version             string
	Registered          time.Time
	// Total is everything the agent has; Used is what the live tasks of
	// every framework on it hold (executors aside), as the tasks are known.
	Total, Used Resources
	// Tasks counts its live (not terminal) tasks.
	Tasks int
}

// Framework is one registered framework.
type Framework struct {
	ID, Name, User, Principal, Hostname string
	// WebUI is the URL the framework announced for its own pages.
	WebUI string
	Roles []string
	// Active is false while the framework is disconnected or deactivated;
	// Connected says whether it holds a connection to the master.
	Active, Connected bool
	Registered        time.Time
	// Used is what its live tasks hold; Tasks counts them.
	Used  Resources
	Tasks int
	// Offered is what the master had offered to it at OfferedAt: offers
	// are not in the operator stream, so this is as of the last full read
	// of the cluster (zero OfferedAt: never read).
	Offered   Resources
	OfferedAt time.Time
}

// TaskKey names a task: a task id is unique within its framework only.
type TaskKey struct{ FrameworkID, TaskID string }

// Task is one task of any framework.
type Task struct {
	FrameworkID, ID, Name, AgentID string
	// State is the task's state as Mesos names it ("TASK_RUNNING").
	State     string
	Resources Resources
	// Role is the role its resources are allocated to ("*" when none is
	// said).
	Role string
	// Updated is when it entered its state: the time of the status that
	// brought it (or of its latest status in a full read), or when it was
	// first seen when it has none.
	Updated time.Time
	// Seen orders tasks by when they became known: it grows with every
	// task added, and the tasks of a full read get theirs in its order.
	Seen uint64
}

// Key is the task's key.
func (t *Task) Key() TaskKey { return TaskKey{t.FrameworkID, t.ID} }

// Live reports whether the task holds its resources: it has not ended,
// and it is not on an agent the master cannot reach.
func (t *Task) Live() bool {
	s := mesos.TaskState(mesos.TaskState_value[t.State])
	return !mesos.IsTerminal(s) && s != mesos.TaskState_TASK_UNREACHABLE && s != mesos.TaskState_TASK_UNKNOWN
}

// Terminal reports whether the task has ended for good.
func (t *Task) Terminal() bool {
	return mesos.IsTerminal(mesos.TaskState(mesos.TaskState_value[t.State]))
}

// Summary is the cluster in numbers.
type Summary struct {
	// Total is the resources of the active agents; Used what live tasks
	// hold on them, and UsedByRole the same by role.
	Total, Used Resources
	UsedByRole  map[string]Resources
	// Agents: active, deactivated by an operator, disconnected, and
	// removed (or unreachable) since the stream began.
	Active, Deactivated, Disconnected, Gone int
	// Frameworks active and not.
	FrameworksActive, FrameworksInactive int
	// TasksByState counts the known tasks by state, every framework's.
	TasksByState map[string]int
}

// Snapshot is the whole cluster at one moment, as a full read gives it.
type Snapshot struct {
	Agents     []*Agent
	Frameworks []*Framework
	Tasks      []*Task // in Seen order
	Summary    *Summary
	At         time.Time
}

// Source is where the cluster view comes from.
type Source string

const (
	// SourceStream is the operator API's SUBSCRIBE stream: live.
	SourceStream Source = "stream"
	// SourcePoll is /master/state read at an interval, after the master
	// refused the operator API.
	SourcePoll Source = "poll"
)

// Status says how the cluster view is kept.
type Status struct {
	Source Source
	// Live is true while the view is current: subscribed to the stream,
	// or the last poll succeeded.
	Live bool
	// Master is the master read from.
	Master string
	// Since is when the view became live or stopped being live.
	Since time.Time
	// Err is why the last attempt failed, if it did.
	Err string
	// Refused is why the master refused the operator API, when it did.
	Refused string
	// PollEvery is the interval of /master/state reads; LastRead is when
	// the last full read (SUBSCRIBED or a poll) arrived.
	PollEvery time.Duration
	LastRead  time.Time
	// RefreshEvery is how often agents and frameworks are read again
	// beside the stream (0: never).
	RefreshEvery time.Duration
	// RetryAt is when the next attempt starts while not live.
	RetryAt time.Time
}

// Kind says what a Change carries.
type Kind uint8

const (
	// Reset replaces the whole view with Snapshot.
	Reset Kind = iota + 1
	// StatusChanged carries a new Status.
	StatusChanged
	// AgentChanged carries an agent, new or changed.
	AgentChanged
	// AgentRemoved names a removed agent in ID.
	AgentRemoved
	// FrameworkChanged carries a framework, new or changed.
	FrameworkChanged
	// FrameworkRemoved names a removed framework in ID.
	FrameworkRemoved
	// TaskChanged carries a task, new or changed.
	TaskChanged
	// TaskRemoved names a task no longer kept in Key: the oldest ended
	// tasks of a framework past the number the master keeps.
	TaskRemoved
)

// Change is one change of the cluster view. Every change but a status
// carries the Summary after it.
type Change struct {
	Kind      Kind
	Snapshot  *Snapshot
	Status    *Status
	Agent     *Agent
	Framework *Framework
	Task      *Task
	ID        string
	Key       TaskKey
	Summary   *Summary
}
