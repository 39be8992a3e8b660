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
		f.filters = nil
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
			m.masterUpdate(f, &mesos.TaskStatus{
				TaskId:          t.taskID(),
				State:           lostState(f, mesos.TaskState_TASK_UNREACHABLE).Enum(),
				Reason:          mesos.TaskStatus_REASON_AGENT_REMOVED.Enum(),
				Message:         proto.String("health check timed out"),
				AgentId:         &mesos.AgentID{Value: proto.String(a.id)},
				UnreachableTime: &mesos.TimeInfo{Nanoseconds: proto.Int64(now.UnixNano())},
			})
		}
		t.stopRetry()
		t.released = true // the agent and its resources are gone
		f.release(t.res)
		delete(f.tasks, t.id)
		delete(a.tasks, key)
	}
	a.free = pool{}
	for _, f := range m.frameworks {
		f.send(&mesos.Event{Type: mesos.Event_FAILURE.Enum(), Failure: &mesos.Event_Failure{AgentId: &mesos.AgentID{Value: proto.String(a.id)}}})
	}
	m.log.Info("agent removed", "agent_id", a.id, "hostname", a.hostname)
	return nil
}
