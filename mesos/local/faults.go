package local

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// faults are the failures a test has injected; guarded by Master.mu.
type faults struct {
	follower     bool   // not the leader: answer 307 to leader, or 503
	leader       string // host:port of the leader a follower redirects to
	noHeartbeats bool
	delay        time.Duration
	// drop counts calls of a type to answer 202 and then ignore.
	drop map[mesos.Call_Type]int
}

// ErrUnknownAgent is returned by fault methods given an agent id the master
// does not know.
var ErrUnknownAgent = errors.New("unknown agent")

// maxDelay bounds an injected response delay, so a test cannot hang a
// request for ever.
const maxDelay = time.Minute

func sleep(d time.Duration) { time.Sleep(min(d, maxDelay)) }

func (m *Master) heartbeatsStopped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.faults.noHeartbeats
}

func (m *Master) responseDelay() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.faults.delay
}

// answerAsFollower answers a request as a non-leading master would (307 to
// the leader, or 503 when none is known) and reports whether it did.
func (m *Master) answerAsFollower(w http.ResponseWriter, r *http.Request) bool {
	m.mu.Lock()
	follower, leader := m.faults.follower, m.faults.leader
	m.mu.Unlock()
	if !follower {
		return false
	}
	if leader == "" {
		textError(w, http.StatusServiceUnavailable, "No leader elected")
		return true
	}
	w.Header().Set("Location", "//"+leader+r.URL.RequestURI())
	w.WriteHeader(http.StatusTemporaryRedirect)
	return true
}

// StepDown makes the master a follower: every scheduler request is answered
// with 307 to leader (host:port), or 503 "No leader elected" when leader is
// empty. Open streams are cut, as a real master that loses leadership exits.
func (m *Master) StepDown(leader string) {
	m.mu.Lock()
	m.faults.follower, m.faults.leader = true, leader
	m.mu.Unlock()
	m.CutStreams(false)
	m.CutOperatorStreams()
}

// TakeLeadership makes a master that stepped down lead again.
func (m *Master) TakeLeadership() {
	m.mu.Lock()
	m.faults.follower, m.faults.leader = false, ""
	m.mu.Unlock()
}

// StopHeartbeats stops (or resumes) heartbeats on every stream, leaving the
// connections open: a half-open stream as the scheduler sees it.
func (m *Master) StopHeartbeats(stop bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults.noHeartbeats = stop
}

// SetResponseDelay delays the answer to every non-subscribe call by d (at
// most a minute); zero removes the delay.
func (m *Master) SetResponseDelay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults.delay = d
}

// CutStreams breaks every open subscription's connection, without the
// chunked terminator a clean close sends; with midRecord the connection
// breaks in the middle of an event. The master sees the frameworks
// disconnect. It returns how many streams it cut.
func (m *Master) CutStreams(midRecord bool) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, f := range m.frameworks {
		if f.sub != nil {
			f.sub.cut(midRecord)
			n++
		}
	}
	return n
}

// Restart simulates a master failover: a new master id, every stream cut,
// every offer gone and the stream ids forgotten. Frameworks and their tasks
// survive as agents re-register them; a framework re-subscribing with its
// id is recognised, as on a real master after failover.
func (m *Master) Restart() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.operators.subs {
		s.cut(false)
	}
	for _, f := range m.frameworks {
		if f.sub != nil {
			f.sub.cut(false)
			f.sub = nil
		}
		if f.failoverTimer != nil {
			f.failoverTimer.Stop()
			f.failoverTimer = nil
		}
		for _, o := range f.offers {
			m.discardOfferLocked(o)
		}
		f.filters = nil // a new master knows no filters
	}
	m.id = newUUID()
	m.nextFramework, m.nextOffer = 0, 0
	m.log.Info("stand-in master restarted", "master_id", m.id)
}

// AddAgent registers a new agent and offers its resources at once. It
// returns the agent's id.
func (m *Master) AddAgent(ac AgentConfig) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, err := m.addAgentLocked(ac)
	if err != nil {
		return "", err
	}
	m.triggerAllocation()
	return a.id, nil
}

// RemoveAgent takes an agent out as a master does when it stops answering
// health checks (§6.10): its tasks are lost (TASK_UNREACHABLE for
// partition-aware frameworks, TASK_LOST otherwise, reason
// REASON_AGENT_REMOVED), its offers are rescinded, and every framework gets
// a FAILURE event. The tasks' processes are stopped.
func (m *Master) RemoveAgent(agentID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[agentID]
	if a == nil || a.gone {
		return fmt.Errorf("remove agent %s: %w", agentID, ErrUnknownAgent)
	}
	for _, o := range m.offers {
		if o.agent == a {
			m.rescindOfferLocked(o)
		}
	}
	a.gone = true
	now := time.Now()
	for key, t := range a.tasks {
		f := t.framework
		if !mesos.IsTerminal(t.state) {
			if err := m.exec.Kill(f.id, t.id, time.Nanosecond); err != nil {
				m.log.Debug("stop task of removed agent", "task_id", t.id, "err", err)
			}
			status := &mesos.TaskStatus{
				TaskId:          t.taskID(),
				State:           lostState(f, mesos.TaskState_TASK_UNREACHABLE).Enum(),
				Reason:          mesos.TaskStatus_REASON_AGENT_REMOVED.Enum(),
				Message:         proto.String("health check timed out"),
				AgentId:         &mesos.AgentID{Value: proto.String(a.id)},
				UnreachableTime: &mesos.TimeInfo{Nanoseconds: proto.Int64(now.UnixNano())},
			}
			m.masterUpdate(f, status)
			m.masterReceivedLocked(t, status)
		}
		t.stopRetry()
		t.released = true // the agent and its resources are gone
		f.release(t.res)
		delete(f.tasks, t.id)
		delete(a.tasks, key)
	}
	a.free = pool{}
	m.publishAgentRemovedLocked(a)
	for _, f := range m.frameworks {
		f.send(&mesos.Event{Type: mesos.Event_FAILURE.Enum(), Failure: &mesos.Event_Failure{AgentId: &mesos.AgentID{Value: proto.String(a.id)}}})
	}
	m.log.Info("agent removed", "agent_id", a.id, "hostname", a.hostname)
	return nil
}

// DropCalls makes the master answer the next n calls of type typ with 202
// and then ignore them: an acknowledgement or an ACCEPT lost on its way.
func (m *Master) DropCalls(typ mesos.Call_Type, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.faults.drop == nil {
		m.faults.drop = map[mesos.Call_Type]int{}
	}
	m.faults.drop[typ] = n
}

// dropLocked reports whether a call is to be dropped, counting it.
func (m *Master) dropLocked(typ mesos.Call_Type) bool {
	if m.faults.drop[typ] > 0 {
		m.faults.drop[typ]--
		m.log.Info("fault: call dropped", "type", typ.String())
		return true
	}
	return false
}

// RescindOffers rescinds every outstanding offer, as a master does when
// offers time out; it returns how many.
func (m *Master) RescindOffers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, o := range m.offers {
		m.rescindOfferLocked(o)
		n++
	}
	return n
}

// PartitionAgent cuts an agent off as a network partition would: the
// master marks it unreachable, its tasks become TASK_UNREACHABLE
// (TASK_LOST for frameworks that are not partition aware) and its offers
// are rescinded, but the tasks keep running on the agent. HealAgent
// brings it back.
func (m *Master) PartitionAgent(agentID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[agentID]
	if a == nil || a.gone || a.partitioned {
		return fmt.Errorf("partition agent %s: %w", agentID, ErrUnknownAgent)
	}
	for _, o := range m.offers {
		if o.agent == a {
			m.rescindOfferLocked(o)
		}
	}
	a.partitioned = true
	now := time.Now()
	for _, t := range a.tasks {
		if mesos.IsTerminal(t.state) {
			continue
		}
		t.unreachable = true
		status := &mesos.TaskStatus{
			TaskId:          t.taskID(),
			State:           lostState(t.framework, mesos.TaskState_TASK_UNREACHABLE).Enum(),
			Reason:          mesos.TaskStatus_REASON_AGENT_REMOVED.Enum(),
			Message:         proto.String("health check timed out"),
			AgentId:         &mesos.AgentID{Value: proto.String(a.id)},
			UnreachableTime: &mesos.TimeInfo{Nanoseconds: proto.Int64(now.UnixNano())},
		}
		m.masterUpdate(t.framework, status)
		m.masterReceivedLocked(t, status)
	}
	m.log.Info("fault: agent partitioned", "agent_id", a.id)
	return nil
}

// HealAgent ends a partition: the agent re-registers with its tasks still
// running, and the master reports them TASK_RUNNING again (reason
// REASON_AGENT_REREGISTERED), as Mesos 1.5 and later no longer kill them.
func (m *Master) HealAgent(agentID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[agentID]
	if a == nil || !a.partitioned {
		return fmt.Errorf("heal agent %s: %w", agentID, ErrUnknownAgent)
	}
	a.partitioned = false
	// A re-registering agent is added again (Master::addSlave): operators
	// see a TASK_ADDED per task as its tasks rejoin their frameworks, then
	// AGENT_ADDED.
	for _, t := range a.tasks {
		if !t.unreachable {
			continue
		}
		t.unreachable = false
		t.receivedState = t.state.Enum()
		m.publishTaskAddedLocked(t)
		m.masterUpdate(t.framework, &mesos.TaskStatus{
			TaskId:  t.taskID(),
			State:   t.state.Enum(),
			Reason:  mesos.TaskStatus_REASON_AGENT_REREGISTERED.Enum(),
			Message: proto.String("Agent re-registered"),
			AgentId: &mesos.AgentID{Value: proto.String(a.id)},
		})
		if len(t.pending) > 0 {
			t.retryDelay = m.cfg.StatusRetry
			m.forwardLocked(t)
		}
	}
	m.publishAgentAddedLocked(a)
	m.triggerAllocation()
	m.log.Info("fault: agent healed", "agent_id", a.id)
	return nil
}
