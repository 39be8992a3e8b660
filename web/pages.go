package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
	"github.com/offerdeck/offerdeck/ui"
)

// page reads the model for a page that follows topic (besides the
// header): fn builds the page's view from the model, and the layout gets
// the positions that view was read at, so the page's stream resumes
// exactly after what the page shows.
func (s *Server) page(w http.ResponseWriter, r *http.Request, title, active, topic string, fn func(m *model)) (ui.Layout, error) {
	var topics []string
	if topic != "" {
		topics = []string{topic}
	}
	return s.pageOf(w, r, title, active, topics, fn)
}

// pageOf is page for a page that follows several topics besides the
// header.
func (s *Server) pageOf(w http.ResponseWriter, r *http.Request, title, active string, own []string, fn func(m *model)) (ui.Layout, error) {
	topics := append([]string{topicHeader}, own...)
	var l ui.Layout
	positions, err := s.live.read(r.Context(), topics, func(m *model) {
		l = s.layout(title, active, m.conn)
		l.Counts = counts(m)
		l.StorageErr = m.conn.StorageErr
		fn(m)
	})
	if err != nil {
		return ui.Layout{}, err
	}
	l.Flash = takeFlash(w, r)
	l.Presenter = presenterOn(r)
	l.Topics, l.Epoch = positions, s.epoch()
	if s.cfg.Users != nil {
		u := userOf(r)
		l.User, l.Role = u.Name, u.Role.String()
	}
	return l, nil
}

// form returns what an action form on this page carries.
func form(r *http.Request) ui.Form {
	return ui.Form{RequestID: newRequestID(), Back: r.URL.RequestURI()}
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) error {
	if landsOnBoard(r) {
		http.Redirect(w, r, "/board", http.StatusSeeOther)
		return nil
	}
	var v ui.Overview
	layout, err := s.page(w, r, "Overview", "/", topicOverview, func(m *model) { v = overviewView(m, s.cfg) })
	if err != nil {
		return err
	}
	v.Layout = layout
	return render(w, r, http.StatusOK, ui.OverviewPage(v))
}

func (s *Server) offers(w http.ResponseWriter, r *http.Request) error {
	filter := strings.TrimSpace(r.URL.Query().Get("filter"))
	v := ui.Offers{Filter: filter}
	var groups []ui.AgentGroup
	layout, err := s.page(w, r, "Offers", "/offers", topicOffers, func(m *model) {
		v.Summary, v.Policy = offersSummary(m), offersPolicy(m)
		groups = make([]ui.AgentGroup, 0, len(m.agentOrder))
		for _, id := range m.agentOrder {
			groups = append(groups, agentGroup(m, id))
		}
	})
	if err != nil {
		return err
	}
	v.Layout = layout
	// Cards the filter hides stay on the page, hidden, as the client
	// script hides them: live changes then keep the page as it renders.
	var from, to int
	v.Pager, from, to = paginate(r, len(groups), offersPerPage, "agents")
	for _, g := range groups[from:to] {
		if filter != "" && !matchesFilter(g, filter) {
			g.Hidden = true
			v.Hidden += len(g.Offers)
		}
		v.Groups = append(v.Groups, g)
	}
	return render(w, r, http.StatusOK, ui.OffersPage(v))
}

func (s *Server) offerJSON(w http.ResponseWriter, r *http.Request) error {
	snap, err := s.sched.Snapshot(r.Context())
	if err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	for _, o := range snap.Offers {
		if o.ID == id {
			b, err := mesos.MarshalJSON(o.Offer)
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/json")
			_, err = w.Write(b)
			return err
		}
	}
	return fmt.Errorf("offer %s: %w", id, scheduler.ErrUnknownOffer)
}

// eventJSON is one kept master event, whole, as the master sent it.
func (s *Server) eventJSON(w http.ResponseWriter, r *http.Request) error {
	seq, err := strconv.ParseUint(chi.URLParam(r, "seq"), 10, 64)
	if err != nil {
		return badInput("an event is named by its number")
	}
	snap, err := s.sched.Snapshot(r.Context())
	if err != nil {
		return err
	}
	for _, e := range snap.Events {
		if e.Seq == seq {
			b, err := e.JSON()
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/json")
			_, err = w.Write(b)
			return err
		}
	}
	return fmt.Errorf("event %d: %w", seq, errUnknownEvent)
}

func (s *Server) tasks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if fw := q.Get("framework"); fw != "" {
		if done, err := s.clusterTasks(w, r, fw); done || err != nil {
			return err
		}
	}
	v := ui.Tasks{StateFilter: q.Get("state"), AgentFilter: q.Get("agent"), Query: q.Get("q"), CanAct: canAct(r), Form: form(r)}
	// The unfiltered table's first pages follow their own rows (see
	// tasksPageTopic); the others follow every task's.
	topic, live := topicTasks, 0
	if v.StateFilter == "" && v.AgentFilter == "" && v.Query == "" {
		switch n, err := strconv.Atoi(q.Get("page")); {
		case q.Get("page") == "":
			live = 1
		case err == nil && n >= 1 && n <= livePages:
			live = n
		}
	}
	if live > 0 {
		topic = tasksPageTopic(live)
	}
	var all, page []*scheduler.Task
	layout, err := s.page(w, r, "Tasks", "/tasks", topic, func(m *model) {
		if live > 0 {
			v.Pager, page = tasksPage(m, live)
		} else {
			all = m.orderedTasks() // oldest first; filtered below, unlocked
		}
		v.Total = len(m.order)
		v.Older = olderRows(m)
		v.Cluster = m.cluster.on
	})
	if err != nil {
		return err
	}
	v.Layout = layout
	if live > 0 {
		for _, t := range page {
			v.Rows = append(v.Rows, taskRow(t))
		}
	} else {
		text := strings.ToLower(strings.TrimSpace(v.Query))
		// Rows are built for the shown page alone: with 100k tasks,
		// building every row took most of a page load's time.
		var shown []*scheduler.Task
		for i := len(all) - 1; i >= 0; i-- { // newest first
			t := all[i]
			if (v.StateFilter != "" && stateOf(t).Name != v.StateFilter) ||
				(v.AgentFilter != "" && !onAgent(t, v.AgentFilter)) || (text != "" && !strings.Contains(taskRow(t).Search, text)) {
				v.Hidden++
				continue
			}
			shown = append(shown, t)
		}
		var from, to int
		v.Pager, from, to = paginate(r, len(shown), tasksPerPage, "tasks")
		for _, t := range shown[from:to] {
			v.Rows = append(v.Rows, taskRow(t))
		}
	}
	// The filter offers every state, not the states the tasks are in now:
	// a menu that changed with the tasks would drift from the page's
	// reload, and a state with no task is an answer too.
	v.StateNames = stateChoices
	return render(w, r, http.StatusOK, ui.TasksPage(v))
}

// stateChoices are the states the tasks filter offers, in a task's
// usual order of life.
var stateChoices = func() []ui.Choice {
	var out []ui.Choice
	for _, name := range []string{"LAUNCHING", "TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_FINISHED",
		"TASK_FAILED", "TASK_KILLED", "TASK_ERROR", "TASK_LOST", "TASK_DROPPED", "TASK_UNREACHABLE", "TASK_GONE",
		"TASK_GONE_BY_OPERATOR", "TASK_UNKNOWN"} {
		out = append(out, ui.Choice{Value: name, Label: stateWord(name)})
	}
	return out
}()

// onAgent reports whether t runs on the agent named by f: its id, or a
// part of its hostname.
func onAgent(t *scheduler.Task, f string) bool {
	return t.AgentID == f || strings.Contains(strings.ToLower(t.Hostname), strings.ToLower(f))
}

// Page sizes of the long lists: a page stays small enough to load fast and
// to follow live (a 10,000-agent cluster would otherwise be a 50 MB page).
const (
	offersPerPage = 100 // agents, each with its offers
	// tasksPerPage is two or three screens of a laptop. Each frame that
	// shows a changed row costs Chromium work for every row of the page:
	// at 250 rows, a page following 2,000 updates a second beside the
	// stack spent over 8 ms in one frame of ten; at 50, in fewer than one
	// in a hundred (docs/performance.md, "The tasks page's frames").
	tasksPerPage  = 50
	agentsPerPage = 200
	eventsShown   = 200 // the most recent events kept and shown; more arrive live
)

// paginate picks the page the request asks for (?page=N, from 1) of n
// items and says so; the zero Pager when everything fits.
func paginate(r *http.Request, n, size int, what string) (ui.Pager, int, int) {
	return paginateParam(r, n, size, what, "page")
}

// paginateParam is paginate with the page number in another parameter,
// for a page with two long lists.
func paginateParam(r *http.Request, n, size int, what, param string) (ui.Pager, int, int) {
	if n <= size {
		return ui.Pager{}, 0, n
	}
	pages := (n + size - 1) / size
	page, err := strconv.Atoi(r.URL.Query().Get(param))
	if err != nil || page < 1 {
		page = 1
	}
	page = min(page, pages)
	from, to := (page-1)*size, min(page*size, n)
	link := func(p int) string {
		q := r.URL.Query()
		q.Set(param, strconv.Itoa(p))
		return r.URL.Path + "?" + q.Encode()
	}
	p := ui.Pager{Showing: fmt.Sprintf("%d–%d of %d %s", from+1, to, n, what), Limit: to - from}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < pages {
		p.Next = link(page + 1)
	}
	return p, from, to
}

// outputTail is how much of a task's output its page shows at first.
const outputTail = 16 << 10

func (s *Server) task(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	var t *scheduler.Task
	layout, err := s.page(w, r, "Task", "/tasks", taskTopic(id), func(m *model) {
		if t = m.current(id); t == nil {
			if i := slices.IndexFunc(m.older, func(o *scheduler.Task) bool { return o.ID == id }); i >= 0 {
				t = m.older[i]
			}
		}
	})
	if err != nil {
		return err
	}
	if t == nil {
		return fmt.Errorf("task %s: %w", id, scheduler.ErrUnknownTask)
	}
	layout.Title = t.Name
	v := ui.TaskDetail{Layout: layout, Row: taskRow(t), Facts: taskFacts(t), History: historyLines(t), CanAct: canAct(r), Form: form(r)}
	for _, f := range []struct {
		name string
		data *string
		next *int64
	}{{"stdout", &v.Stdout, &v.StdoutNext}, {"stderr", &v.Stderr, &v.StderrNext}} {
		out, err := s.sched.TaskOutput(r.Context(), id, f.name, -outputTail, 0)
		if err != nil {
			v.OutputErr = "Output unavailable: " + err.Error()
			continue
		}
		*f.data, *f.next = string(out.Data), out.Next
	}
	return render(w, r, http.StatusOK, ui.TaskPage(v))
}

// taskOutput answers the live tail: JSON {data, next} from offset.
func (s *Server) taskOutput(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	offset, err := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	if err != nil || offset < 0 {
		return badInput("offset must be a number of bytes, 0 or more")
	}
	out, err := s.sched.TaskOutput(r.Context(), id, r.URL.Query().Get("file"), offset, 0)
	if err != nil {
		return err
	}
	return writeJSON(w, map[string]any{"data": string(out.Data), "next": out.Next})
}

func (s *Server) launch(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Has("preview") { // the form's Preview button, without the client script
		return s.launchPage(w, r, http.StatusOK, fieldsOf(r), nil)
	}
	return s.launchPage(w, r, http.StatusOK, ui.LaunchFields{Name: "hello", Command: "echo hello world", CPUs: "0.1", Mem: "32", Instances: "1"}, nil)
}

// launchPage renders the launch form with fields and, after a refused
// submission without the client script, the reason, so nothing typed is
// lost.
func (s *Server) launchPage(w http.ResponseWriter, r *http.Request, status int, fields ui.LaunchFields, refused error) error {
	offerID := r.URL.Query().Get("offer")
	if offerID == "" && r.Method == http.MethodPost {
		offerID = chi.URLParam(r, "id")
	}
	v := ui.Launch{CanAct: canAct(r), Form: form(r), Fields: fields}
	explain(&v, refused)
	v.Viewer = s.cfg.Users != nil && !v.CanAct
	var offers []scheduler.Offer
	var racks ui.BoardRacks
	held := false
	layout, err := s.page(w, r, "Launch", "/launch", topicQueue, func(m *model) {
		racks = boardRacks(m, "")
		if offerID != "" {
			if o, ok := m.offers[offerID]; ok {
				// The agent's whole share: Accept takes every offer of it.
				offers, held = m.agentOffers(o.AgentID), true
				v.OfferHost, v.OfferHoldUntil, v.OfferAgent = o.Hostname, o.HoldUntil, o.AgentID
			}
		} else {
			offers = make([]scheduler.Offer, 0, len(m.offers))
			for _, id := range m.agentOrder {
				offers = append(offers, m.agentOffers(id)...)
			}
		}
		for _, q := range m.queue {
			v.Queue = append(v.Queue, queuedView(q))
		}
	})
	if err != nil {
		return err
	}
	if offerID != "" && !held {
		return fmt.Errorf("offer %s: %w", offerID, scheduler.ErrUnknownOffer)
	}
	if offerID != "" {
		v.OfferID = offerID
		layout.Title = "Accept offer"
	}
	v.Layout = layout
	cs, _ := placement.ParseConstraints(fields.Constraints)
	v.Preview = preview(offers, needOf(fields), cs)
	v.FitMap = markFits(racks, offers, needOf(fields), cs)
	return render(w, r, status, ui.LaunchPage(v))
}

func (s *Server) agents(w http.ResponseWriter, r *http.Request) error {
	var v ui.Agents
	layout, err := s.page(w, r, "Agents", "/agents", topicAgents, func(m *model) {
		var from, to int
		v.Pager, from, to = paginate(r, len(m.agentOrder), agentsPerPage, "agents")
		for _, id := range m.agentOrder[from:to] {
			v.Rows = append(v.Rows, agentRow(m, id))
		}
		if m.cluster.on {
			c := clusterAgents(m, r)
			v.Cluster = &c
		}
	})
	if err != nil {
		return err
	}
	v.Layout = layout
	return render(w, r, http.StatusOK, ui.AgentsPage(v))
}

// eventTypes are the event types the filter toggles.
var eventTypes = []string{"SUBSCRIBED", "OFFERS", "RESCIND", "UPDATE", "FAILURE", "ERROR", "HEARTBEAT"}

func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	var events []scheduler.Event
	var v ui.Events
	layout, err := s.page(w, r, "Events", "/events", topicEvents, func(m *model) {
		events = slices.Clone(m.keptEvents())
		v.Heartbeats = heartbeats(m)
	})
	if err != nil {
		return err
	}
	on := map[string]bool{}
	if sel := r.URL.Query()["type"]; len(sel) > 0 {
		for _, t := range sel {
			on[t] = true
		}
	} else {
		for _, t := range eventTypes {
			on[t] = t != "HEARTBEAT" // heartbeats collapse into a counter unless asked for
		}
	}
	v.Layout, v.Keep = layout, eventsKept
	if len(events) > 0 {
		v.Newest = events[len(events)-1].Seq
	}
	var shown []string
	for _, t := range eventTypes {
		if on[t] {
			shown = append(shown, t)
		}
	}
	v.Shown = strings.Join(shown, " ")
	for _, t := range eventTypes {
		flipped := map[string]bool{}
		for k, b := range on {
			flipped[k] = b
		}
		flipped[t] = !on[t]
		var qs []string
		for _, k := range eventTypes {
			if flipped[k] {
				qs = append(qs, "type="+k)
			}
		}
		v.Types = append(v.Types, ui.Toggle{Label: t, On: on[t], Href: "/events?" + strings.Join(qs, "&")})
	}
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; on[e.Type] {
			v.Rows = append(v.Rows, eventRow(e))
		}
	}
	return render(w, r, http.StatusOK, ui.EventsPage(v))
}

// auditPage is how many audit entries one page shows.
const auditPage = 100

func (s *Server) audit(w http.ResponseWriter, r *http.Request) error {
	v := ui.Audit{Keep: auditPage}
	b := r.URL.Query().Get("before")
	if b == "" { // the newest entries, followed live
		layout, err := s.page(w, r, "Audit", "/audit", topicAudit, func(m *model) {
			for _, a := range m.audit {
				v.Rows = append(v.Rows, auditRow(a))
			}
			v.Empty, v.More = len(m.audit) == 0, olderAudit(m)
		})
		if err != nil {
			return err
		}
		v.Layout = layout
		return render(w, r, http.StatusOK, ui.AuditPage(v))
	}
	before, err := strconv.ParseUint(b, 10, 64)
	if err != nil {
		return badInput("before must be an audit sequence number")
	}
	layout, err := s.page(w, r, "Audit", "/audit", "", func(*model) {})
	if err != nil {
		return err
	}
	entries, err := s.sched.AuditLog(before, auditPage)
	if err != nil {
		return err
	}
	v.Layout = layout
	for _, a := range entries {
		v.Rows = append(v.Rows, auditRow(a))
	}
	if len(entries) == auditPage && entries[len(entries)-1].Seq > 1 {
		v.More = "/audit?before=" + strconv.FormatUint(entries[len(entries)-1].Seq, 10)
	}
	v.Empty = len(entries) == 0
	return render(w, r, http.StatusOK, ui.AuditPage(v))
}

// render becomes a clean error page instead of half a page.
func render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

var (
	errBadInput     = errors.New("bad input")
	errUnknownEvent = errors.New("not kept: only the newest events are")
)

// badInput is an error whose message the user is shown as it is.
func badInput(msg string) error { return fmt.Errorf("%w: %s", errBadInput, msg) }
