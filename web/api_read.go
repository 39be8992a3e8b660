package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// The API's reads answer from the live side's one model, as the pages do,
// so a script and a page never disagree.

// query checks a request's query parameters: each must be one of known,
// and given once unless repeatable. It lists every one that is not.
type query struct {
	v    url.Values
	errs []FieldError
}

func newQuery(r *http.Request, repeatable []string, known ...string) *query {
	q := &query{v: r.URL.Query()}
	for name, vs := range q.v {
		switch {
		case !slices.Contains(known, name) && !slices.Contains(repeatable, name):
			q.fail(name, "unknown parameter; known: "+strings.Join(append(slices.Clone(known), repeatable...), ", "))
		case len(vs) > 1 && !slices.Contains(repeatable, name):
			q.fail(name, "give it once")
		}
	}
	return q
}

func (q *query) fail(name, detail string) {
	q.errs = append(q.errs, FieldError{In: "query", Name: name, Detail: detail})
}

// integer reads an integer parameter within [lo, hi], or def when absent.
func (q *query) integer(name string, def, lo, hi int64) int64 {
	v := q.v.Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		q.fail(name, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
		return def
	}
	return n
}

// err returns the errors found, if any.
func (q *query) err() error {
	if len(q.errs) == 0 {
		return nil
	}
	slices.SortFunc(q.errs, func(a, b FieldError) int { return strings.Compare(a.Name, b.Name) })
	return invalid(q.errs...)
}

// apiStatus is GET /status: the connection and what is held.
func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r, nil).err(); err != nil {
		return err
	}
	type status struct {
		Connection    apiConnection `json:"connection"`
		Offers        int           `json:"offers"`
		Agents        int           `json:"agents"`
		Tasks         int           `json:"tasks"`
		LiveTasks     int           `json:"live_tasks"`
		Queued        int           `json:"queued"`
		HoldSeconds   float64       `json:"hold_seconds"`
		RefuseSeconds float64       `json:"refuse_seconds"`
	}
	var v status
	_, err := s.live.read(r.Context(), nil, func(m *model) {
		v = status{Connection: connectionJSON(m.conn, s.cfg.Master), Offers: len(m.offers), Agents: len(m.agents), Tasks: len(m.tasks),
			LiveTasks: m.live, Queued: len(m.queue), HoldSeconds: m.holdTime.Seconds(), RefuseSeconds: m.refuseSeconds}
	})
	if err != nil {
		return err
	}
	return writeAPI(w, http.StatusOK, v)
}

// apiOffers is GET /offers: the held offers, agent by agent, filtered by
// agent (id or part of the hostname) and attributes (name, or name:value
// as the offers page shows it; every one given must match).
func (s *Server) apiOffers(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, []string{"attribute"}, "agent")
	agent := q.v.Get("agent")
	attrs := q.v["attribute"]
	for _, a := range attrs {
		if strings.TrimSpace(a) == "" {
			q.fail("attribute", "name an attribute, or name:value")
		}
	}
	if err := q.err(); err != nil {
		return err
	}
	out := []apiOffer{}
	_, err := s.live.read(r.Context(), nil, func(m *model) {
		for _, id := range m.agentOrder {
			for _, o := range m.agentOffers(id) {
				v := offerJSON(o)
				if (agent == "" || onAgentNamed(o.AgentID, o.Hostname, agent)) && hasAttributes(v.Attributes, attrs) {
					out = append(out, v)
				}
			}
		}
	})
	if err != nil {
		return err
	}
	return writeAPI(w, http.StatusOK, map[string]any{"offers": out})
}

// onAgentNamed reports whether an agent is the one f names: its id, or a
// part of its hostname.
func onAgentNamed(id, hostname, f string) bool {
	return id == f || strings.Contains(strings.ToLower(hostname), strings.ToLower(f))
}

// hasAttributes reports whether attrs has every one of want: "name" or
// "name:value".
func hasAttributes(attrs map[string]string, want []string) bool {
	for _, w := range want {
		name, value, withValue := strings.Cut(w, ":")
		got, ok := attrs[name]
		if !ok || (withValue && got != value) {
			return false
		}
	}
	return true
}

// apiAgents is GET /agents: every agent seen in an offer.
func (s *Server) apiAgents(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r, nil).err(); err != nil {
		return err
	}
	out := []apiAgent{}
	_, err := s.live.read(r.Context(), nil, func(m *model) {
		for _, id := range m.agentOrder {
			out = append(out, agentJSON(m, id))
		}
	})
	if err != nil {
		return err
	}
	return writeAPI(w, http.StatusOK, map[string]any{"agents": out})
}

// Bounds of the API's lists.
const (
	apiListDefault = 100
	apiListMax     = 1000
)

// apiTasks is GET /tasks: the current registration's tasks, newest first,
// filtered by state and agent, limit at a time from offset.
func (s *Server) apiTasks(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, nil, "state", "agent", "limit", "offset")
	state, agent := q.v.Get("state"), q.v.Get("agent")
	if state != "" && !slices.ContainsFunc(stateChoices, func(c ui.Choice) bool { return c.Value == state }) {
		q.fail("state", "must be LAUNCHING or a Mesos task state such as TASK_RUNNING")
	}
	limit := q.integer("limit", apiListDefault, 1, apiListMax)
	offset := q.integer("offset", 0, 0, 1<<40)
	if err := q.err(); err != nil {
		return err
	}
	out, total := []apiTask{}, 0
	_, err := s.live.read(r.Context(), nil, func(m *model) {
		for i := len(m.order) - 1; i >= 0; i-- {
			t := m.order[i].t
			if (state != "" && stateOf(t).Name != state) || (agent != "" && !onAgent(t, agent)) {
				continue
			}
			if int64(total) >= offset && int64(len(out)) < limit {
				out = append(out, taskJSON(t))
			}
			total++
		}
	})
	if err != nil {
		return err
	}
	return writeAPI(w, http.StatusOK, map[string]any{"tasks": out, "total": total})
}

// apiTask is GET /tasks/{id}: one task with its timeline, of this
// registration or an earlier one.
func (s *Server) apiTask(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r, nil).err(); err != nil {
		return err
	}
	t, err := s.findTask(r, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeAPI(w, http.StatusOK, taskDetailJSON(t))
}

// findTask finds a task in the model.
func (s *Server) findTask(r *http.Request, id string) (*scheduler.Task, error) {
	var t *scheduler.Task
	_, err := s.live.read(r.Context(), nil, func(m *model) { t = m.task(id) })
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, fmt.Errorf("task %s: %w", id, scheduler.ErrUnknownTask)
	}
	return t, nil
}

// task returns the task of this registration or an earlier one, or nil.
func (m *model) task(id string) *scheduler.Task {
	if t := m.current(id); t != nil {
		return t
	}
	if i := slices.IndexFunc(m.older, func(o *scheduler.Task) bool { return o.ID == id }); i >= 0 {
		return m.older[i]
	}
	return nil
}

// apiTaskOutput is GET /tasks/{id}/output: a byte range of the task's
// stdout or stderr, read from its agent's files API as that API reads it:
// from offset, at most length bytes; a negative offset reads the last
// bytes. next is where the following read starts.
func (s *Server) apiTaskOutput(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, nil, "file", "offset", "length")
	file := q.v.Get("file")
	if file == "" {
		file = "stdout"
	}
	if file != "stdout" && file != "stderr" {
		q.fail("file", "must be stdout or stderr")
	}
	offset := q.integer("offset", 0, -1<<40, 1<<62)
	length := q.integer("length", 64<<10, 1, 64<<10)
	if err := q.err(); err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	if _, err := s.findTask(r, id); err != nil {
		return err
	}
	out, err := s.sched.TaskOutput(r.Context(), id, file, offset, int(length))
	if err != nil {
		return err
	}
	return writeAPI(w, http.StatusOK, map[string]any{"data": string(out.Data), "offset": out.Offset, "next": out.Next})
}

// apiQueue is GET /queue: the specs waiting for offers, oldest first,
// each with why every held offer does not take it.
func (s *Server) apiQueue(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r, nil).err(); err != nil {
		return err
	}
	out := []apiQueued{}
	_, err := s.live.read(r.Context(), nil, func(m *model) {
		for _, q := range m.queue {
			out = append(out, queuedJSON(q))
		}
	})
	if err != nil {
		return err
	}
	return writeAPI(w, http.StatusOK, map[string]any{"queue": out})
}

// apiAudit is GET /audit: the audit log, newest first, limit entries
// before the sequence number before (absent: from the newest); next is
// the address of the entries after these, or null.
func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r, nil, "before", "limit")
	before := q.integer("before", 0, 1, 1<<62)
	limit := q.integer("limit", apiListDefault, 1, apiListMax)
	if err := q.err(); err != nil {
		return err
	}
	entries, err := s.sched.AuditLog(uint64(before), int(limit))
	if err != nil {
		return err
	}
	out := make([]apiAudit, 0, len(entries))
	for _, a := range entries {
		out = append(out, auditJSON(a))
	}
	var next *string
	if n := len(entries); n == int(limit) && entries[n-1].Seq > 1 {
		u := fmt.Sprintf("%s/audit?before=%d&limit=%d", apiBase, entries[n-1].Seq, limit)
		next = &u
	}
	return writeAPI(w, http.StatusOK, map[string]any{"entries": out, "next": next})
}
