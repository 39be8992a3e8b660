package web

import (
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// The API's JSON shapes. Every field is always present (null or empty
// when there is nothing), so a script can rely on the shape; the OpenAPI
// document describes each, and a test holds it to the real answers.

// apiConnection is the framework's link to the master.
type apiConnection struct {
	State        string     `json:"state"` // disconnected, connecting, subscribed
	Master       string     `json:"master"`
	FrameworkID  string     `json:"framework_id"`
	Since        *time.Time `json:"since"`
	LastEvent    *time.Time `json:"last_event"`
	Suppressed   bool       `json:"suppressed"`
	Error        string     `json:"error"`
	StorageError string     `json:"storage_error"`
}

func connectionJSON(c scheduler.Connection, master string) apiConnection {
	if c.Master != "" {
		master = c.Master
	}
	return apiConnection{State: c.State.String(), Master: master, FrameworkID: c.FrameworkID, Since: timeOrNil(c.Since),
		LastEvent: timeOrNil(c.LastEvent), Suppressed: c.Suppressed, Error: c.Err, StorageError: c.StorageErr}
}

// apiResources are the quantities of a list of resources, every role
// together.
type apiResources struct {
	CPUs  float64     `json:"cpus"`
	Mem   float64     `json:"mem"`
	Disk  float64     `json:"disk"`
	Ports [][2]uint64 `json:"ports"`
}

func resourcesJSON(rs []*mesos.Resource) apiResources {
	r := apiResources{CPUs: round3(mesos.ScalarSum(rs, "cpus")), Mem: round3(mesos.ScalarSum(rs, "mem")),
		Disk: round3(mesos.ScalarSum(rs, "disk")), Ports: mesos.Ranges(rs, "ports")}
	if r.Ports == nil {
		r.Ports = [][2]uint64{}
	}
	return r
}

func attributesJSON(as []*mesos.Attribute) map[string]string {
	out := make(map[string]string, len(as))
	for _, a := range as {
		out[a.GetName()] = mesos.AttributeText(a)
	}
	return out
}

// apiOffer is an offer the framework holds.
type apiOffer struct {
	ID         string            `json:"id"`
	AgentID    string            `json:"agent_id"`
	Hostname   string            `json:"hostname"`
	Attributes map[string]string `json:"attributes"`
	Resources  apiResources      `json:"resources"`
	Arrived    time.Time         `json:"arrived"`
	HoldUntil  time.Time         `json:"hold_until"`
}

func offerJSON(o scheduler.Offer) apiOffer {
	return apiOffer{ID: o.ID, AgentID: o.AgentID, Hostname: o.Hostname, Attributes: attributesJSON(o.Offer.GetAttributes()),
		Resources: resourcesJSON(o.Offer.GetResources()), Arrived: o.Arrived, HoldUntil: o.HoldUntil}
}

// apiOfferGone says an offer left, why, and until when its resources are
// refused.
type apiOfferGone struct {
	ID          string     `json:"id"`
	Why         string     `json:"why"`
	At          time.Time  `json:"at"`
	RefuseUntil *time.Time `json:"refuse_until"`
}

// apiAgent is an agent seen in an offer.
type apiAgent struct {
	ID          string            `json:"id"`
	Hostname    string            `json:"hostname"`
	Attributes  map[string]string `json:"attributes"`
	LastOffer   *time.Time        `json:"last_offer"`
	Offers      int               `json:"offers"`
	Offered     apiResources      `json:"offered"`
	Tasks       int               `json:"tasks"`
	Running     int               `json:"running"`
	Gone        string            `json:"gone"`
	GoneAt      *time.Time        `json:"gone_at"`
	RefuseUntil *time.Time        `json:"refuse_until"`
}

func agentJSON(m *model, id string) apiAgent {
	a := m.agents[id]
	v := apiAgent{ID: a.ID, Hostname: a.Hostname, Attributes: attributesJSON(a.Attributes), LastOffer: timeOrNil(a.LastOffer),
		Offers: len(m.offersByAgent[id]), Gone: a.Gone, GoneAt: timeOrNil(a.GoneAt), RefuseUntil: timeOrNil(a.RefuseEnd)}
	var rs []*mesos.Resource
	for _, o := range m.offersByAgent[id] {
		rs = append(rs, o.Offer.GetResources()...)
	}
	v.Offered = resourcesJSON(rs)
	for t := range m.agentTasks(id) {
		v.Tasks++
		if !t.Terminal() {
			v.Running++
		}
	}
	return v
}

// apiTask is a task as the tasks table shows it.
type apiTask struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	State       string            `json:"state"` // LAUNCHING until the master's first word, then TASK_*
	Terminal    bool              `json:"terminal"`
	Killing     bool              `json:"killing"`
	Orphan      bool              `json:"orphan"`
	AgentID     string            `json:"agent_id"`
	Hostname    string            `json:"hostname"`
	Attributes  map[string]string `json:"attributes"`
	Command     string            `json:"command"`
	Image       string            `json:"image"`
	OfferID     string            `json:"offer_id"`
	QueueID     string            `json:"queue_id"`
	FrameworkID string            `json:"framework_id"`
	Resources   apiResources      `json:"resources"`
	Launched    time.Time         `json:"launched"`
	Updated     *time.Time        `json:"updated"`
	Message     string            `json:"message"`
	Healthy     *bool             `json:"healthy"`
}

func taskJSON(t *scheduler.Task) apiTask {
	v := apiTask{ID: t.ID, Name: t.Name, State: stateOf(t).Name, Terminal: t.Terminal(), Killing: t.Killing, Orphan: t.Orphan,
		AgentID: t.AgentID, Hostname: t.Hostname, Attributes: t.Attributes, Command: t.Command, Image: t.Image,
		OfferID: t.OfferID, QueueID: t.QueueID, FrameworkID: t.Registration, Resources: resourcesJSON(t.Resources), Launched: t.Launched}
	if v.Attributes == nil {
		v.Attributes = map[string]string{}
	}
	if n := len(t.History); n > 0 {
		latest := t.History[n-1]
		v.Updated, v.Message, v.Healthy = timeOrNil(latest.Time), latest.Message, latest.Healthy()
	}
	return v
}

// apiTaskDetail is one task with its status timeline.
type apiTaskDetail struct {
	apiTask
	// Statuses counts every status the task had; Timeline keeps the
	// first and the newest of them.
	Statuses int         `json:"statuses"`
	Timeline []apiStatus `json:"timeline"`
}

// apiStatus is one status update of a task.
type apiStatus struct {
	Number         int       `json:"number"`
	State          string    `json:"state"`
	Source         string    `json:"source"`
	Reason         string    `json:"reason"`
	Message        string    `json:"message"`
	Healthy        *bool     `json:"healthy"`
	Time           time.Time `json:"time"`
	Acknowledged   bool      `json:"acknowledged"`
	Reconciliation bool      `json:"reconciliation"`
}

func taskDetailJSON(t *scheduler.Task) apiTaskDetail {
	v := apiTaskDetail{apiTask: taskJSON(t), Statuses: max(t.Statuses, len(t.History)), Timeline: make([]apiStatus, 0, len(t.History))}
	for i := range t.History {
		v.Timeline = append(v.Timeline, statusJSON(t, i))
	}
	return v
}

func statusJSON(t *scheduler.Task, i int) apiStatus {
	h := t.History[i]
	return apiStatus{Number: t.StatusNumber(i), State: h.State.String(), Source: h.Source.String(),
		Reason: h.ReasonName(), Message: h.Message, Healthy: h.Healthy(), Time: h.Time,
		Acknowledged: t.Acked(i) || !h.UUID.IsSet(), Reconciliation: h.Reconciliation}
}

// apiTaskEvent is a task as its events carry it: with its newest status
// alone, so that a task with a long history costs the stream little.
type apiTaskEvent struct {
	apiTask
	Status *apiStatus `json:"status"`
}

func taskEventJSON(t *scheduler.Task) apiTaskEvent {
	v := apiTaskEvent{apiTask: taskJSON(t)}
	if n := len(t.History); n > 0 {
		s := statusJSON(t, n-1)
		v.Status = &s
	}
	return v
}

// apiSpec is what to run: the launch form's fields.
type apiSpec struct {
	Name             string            `json:"name"`
	Command          string            `json:"command"`
	Argv             []string          `json:"argv"`
	Image            string            `json:"image"`
	CPUs             float64           `json:"cpus"`
	Mem              float64           `json:"mem"`
	Disk             float64           `json:"disk"`
	Ports            int               `json:"ports"`
	Env              map[string]string `json:"env"`
	Instances        int               `json:"instances"`
	Constraints      string            `json:"constraints"`
	KillGraceSeconds float64           `json:"kill_grace_seconds"`
	// Wait queues a spec no agent seen could run; Agent pins it to one
	// agent (by id), as an Accept whose offer had left does.
	Wait  bool   `json:"wait"`
	Agent string `json:"agent"`
}

func specJSON(s scheduler.TaskSpec) apiSpec {
	v := apiSpec{Name: s.Name, Command: s.Command, Argv: s.Argv, Image: s.Image, CPUs: s.CPUs, Mem: s.Mem, Disk: s.Disk,
		Ports: s.Ports, Env: s.Env, Instances: max(s.Instances, 1), Constraints: s.Constraints, KillGraceSeconds: s.KillGrace.Seconds(),
		Wait: s.Wait, Agent: s.Agent}
	if v.Argv == nil {
		v.Argv = []string{}
	}
	if v.Env == nil {
		v.Env = map[string]string{}
	}
	return v
}

// apiQueued is a spec waiting for offers.
type apiQueued struct {
	ID       string      `json:"id"`
	Spec     apiSpec     `json:"spec"`
	Left     int         `json:"left"`
	Queued   time.Time   `json:"queued"`
	Launched []string    `json:"launched"`
	Why      []apiMisfit `json:"why"`
}

// apiMisfit is why one held offer does not take a queued instance.
type apiMisfit struct {
	OfferID  string   `json:"offer_id"`
	Hostname string   `json:"hostname"`
	Reasons  []string `json:"reasons"`
}

func queuedJSON(q scheduler.Queued) apiQueued {
	v := apiQueued{ID: q.ID, Spec: specJSON(q.Spec), Left: q.Left, Queued: q.Queued, Launched: q.Launched, Why: []apiMisfit{}}
	if v.Launched == nil {
		v.Launched = []string{}
	}
	for _, w := range q.Why {
		reasons := w.Reasons
		if reasons == nil {
			reasons = []string{}
		}
		v.Why = append(v.Why, apiMisfit{OfferID: w.OfferID, Hostname: w.Hostname, Reasons: reasons})
	}
	return v
}

// apiAudit is one audit entry.
type apiAudit struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Origin  string    `json:"origin"`
	Action  string    `json:"action"`
	Target  string    `json:"target"`
	Request string    `json:"request"`
	Result  string    `json:"result"`
	Error   string    `json:"error"`
}

func auditJSON(a scheduler.AuditEntry) apiAudit {
	return apiAudit{Seq: a.Seq, Time: a.Time, User: a.User, Origin: a.Origin, Action: a.Action, Target: a.Target,
		Request: a.Request, Result: a.Result, Error: a.Err}
}

// apiMasterEvent is one event of the master's stream, summarised.
type apiMasterEvent struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Type    string    `json:"type"`
	Summary string    `json:"summary"`
}

// apiResult is what an action achieved.
type apiResult struct {
	Message string   `json:"message"`
	TaskIDs []string `json:"task_ids"`
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
