package local

import (
	"bytes"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/master"
)

// Bounds of the operator event streams.
const (
	// maxOperatorSubscribers is --max_operator_event_stream_subscribers's
	// default; the oldest stream is closed to make room for a new one.
	maxOperatorSubscribers = 1000
	// DefaultOperatorBacklog is Config.OperatorBacklog's default: room
	// for a 10,000-agent, 100,000-task snapshot and more.
	DefaultOperatorBacklog = 512 << 20
)

// operatorStreams are the open operator SUBSCRIBE streams, oldest first;
// guarded by Master.mu.
type operatorStreams struct {
	subs []*subscription
}

func (o *operatorStreams) add(s *subscription) (evicted *subscription) {
	if len(o.subs) >= maxOperatorSubscribers {
		evicted = o.subs[0]
		o.subs = o.subs[1:]
	}
	o.subs = append(o.subs, s)
	return evicted
}

func (o *operatorStreams) remove(s *subscription) {
	for i, x := range o.subs {
		if x == s {
			o.subs = append(o.subs[:i], o.subs[i+1:]...)
			return
		}
	}
}

// publishLocked sends e to every operator stream, encoding it once per
// media type. m.mu must be held.
func (m *Master) publishLocked(e *master.Event) {
	if len(m.operators.subs) == 0 {
		return
	}
	encoded := map[string][]byte{}
	for _, s := range m.operators.subs {
		if s.aborted() {
			continue // cut, and on its way out
		}
		b, ok := encoded[s.mediaType]
		if !ok {
			var err error
			if b, err = mesos.Marshal(s.mediaType, e); err != nil {
				m.log.Warn("encode operator event", "type", e.GetType().String(), "err", err)
				return
			}
			encoded[s.mediaType] = b
		}
		if !s.queueRecord(b, m.cfg.OperatorBacklog) {
			m.log.Warn("operator stream fell behind; closing it", "backlog_limit", m.cfg.OperatorBacklog)
			s.kill()
		}
	}
}

// The events of the operator stream, sent where the master changes what
// they describe (src/master/master.cpp, src/master/framework.cpp).

func (m *Master) publishTaskAddedLocked(t *task) {
	m.publishLocked(&master.Event{Type: master.Event_TASK_ADDED.Enum(),
		TaskAdded: &master.Event_TaskAdded{Task: m.taskProto(t)}})
}

// publishTaskUpdatedLocked reports status as the update that moved t to its
// latest state.
func (m *Master) publishTaskUpdatedLocked(t *task, status *mesos.TaskStatus, state mesos.TaskState) {
	m.publishLocked(&master.Event{Type: master.Event_TASK_UPDATED.Enum(),
		TaskUpdated: &master.Event_TaskUpdated{
			FrameworkId: &mesos.FrameworkID{Value: proto.String(t.framework.id)},
			Status:      status,
			State:       state.Enum(),
		}})
}

func (m *Master) publishFrameworkLocked(f *framework, added bool) {
	fw := frameworkEventProto(f)
	if added {
		m.publishLocked(&master.Event{Type: master.Event_FRAMEWORK_ADDED.Enum(),
			FrameworkAdded: &master.Event_FrameworkAdded{Framework: fw}})
		return
	}
	m.publishLocked(&master.Event{Type: master.Event_FRAMEWORK_UPDATED.Enum(),
		FrameworkUpdated: &master.Event_FrameworkUpdated{Framework: fw}})
}

func (m *Master) publishFrameworkRemovedLocked(f *framework) {
	m.publishLocked(&master.Event{Type: master.Event_FRAMEWORK_REMOVED.Enum(),
		FrameworkRemoved: &master.Event_FrameworkRemoved{FrameworkInfo: f.info}})
}

func (m *Master) publishAgentAddedLocked(a *agent) {
	m.publishLocked(&master.Event{Type: master.Event_AGENT_ADDED.Enum(),
		AgentAdded: &master.Event_AgentAdded{Agent: m.agentProto(a, nil)}})
}

func (m *Master) publishAgentRemovedLocked(a *agent) {
	m.publishLocked(&master.Event{Type: master.Event_AGENT_REMOVED.Enum(),
		AgentRemoved: &master.Event_AgentRemoved{AgentId: &mesos.AgentID{Value: proto.String(a.id)}}})
}

// frameworkEventProto is a framework as FRAMEWORK_ADDED and
// FRAMEWORK_UPDATED carry it: no offers and no resources, and all three
// times set, zero when they never happened (createFrameworkAdded in
// src/common/protobuf_utils.cpp).
func frameworkEventProto(f *framework) *master.Response_GetFrameworks_Framework {
	return &master.Response_GetFrameworks_Framework{
		FrameworkInfo:    f.info,
		Active:           proto.Bool(f.connected()),
		Connected:        proto.Bool(f.connected()),
		Recovered:        proto.Bool(false),
		RegisteredTime:   timeInfo(f.registered),
		ReregisteredTime: timeInfo(f.reregistered),
		UnregisteredTime: timeInfo(f.unregistered),
	}
}

// timeInfo is t in nanoseconds since the epoch; the zero time is 0, as
// Mesos's unset Time is the epoch.
func timeInfo(t time.Time) *mesos.TimeInfo {
	if t.IsZero() {
		return &mesos.TimeInfo{Nanoseconds: proto.Int64(0)}
	}
	return &mesos.TimeInfo{Nanoseconds: proto.Int64(t.UnixNano())}
}

// isCheckUpdate reports whether a status carries a health or check result,
// which the master forwards to operators even without a change of state.
func isCheckUpdate(s *mesos.TaskStatus) bool {
	r := s.GetReason()
	return r == mesos.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED ||
		r == mesos.TaskStatus_REASON_TASK_CHECK_STATUS_UPDATED
}

// masterReceivedLocked is the master receiving a task's status update
// (Master::updateTask in src/master/master.cpp): operators hear of it when
// it brings a state the task's statuses did not end with, or a health or
// check result. A resend of the same update tells them nothing new.
func (m *Master) masterReceivedLocked(t *task, status *mesos.TaskStatus) {
	if status.Uuid != nil && bytes.Equal(t.receivedUUID, status.GetUuid()) {
		return
	}
	t.receivedUUID = status.GetUuid()
	changed := t.receivedState == nil || *t.receivedState != status.GetState()
	t.receivedState = status.State
	if changed || isCheckUpdate(status) {
		state := t.state
		if status.GetSource() == mesos.TaskStatus_SOURCE_MASTER {
			state = status.GetState() // the master's own transition
		}
		m.publishTaskUpdatedLocked(t, status, state)
	}
}

// frameworkRemovedTaskStatus is the update the master records for a task of
// a framework it removes (Master::removeFramework).
func frameworkRemovedTaskStatus(f *framework, t *task) *mesos.TaskStatus {
	return &mesos.TaskStatus{
		TaskId:    t.taskID(),
		State:     mesos.TaskState_TASK_KILLED.Enum(),
		Source:    mesos.TaskStatus_SOURCE_MASTER.Enum(),
		Message:   proto.String("Framework " + f.id + " removed"),
		Reason:    mesos.TaskStatus_REASON_FRAMEWORK_REMOVED.Enum(),
		AgentId:   &mesos.AgentID{Value: proto.String(t.agent.id)},
		Timestamp: proto.Float64(timestamp(time.Now())),
	}
}
