package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// page starts a page: the live positions, then a snapshot (in that order:
// see positions), and the frame with the flash answer.
func (s *Server) page(w http.ResponseWriter, r *http.Request, title, active, topic string) (*scheduler.Snapshot, ui.Layout, error) {
	s.interest.want(topicHeader, topic) // before the positions: see interest
	positions := s.positions(topicHeader, topic)
	snap, err := s.sched.Snapshot(r.Context())
	if err != nil {
		return nil, ui.Layout{}, err
	}
	l := s.layout(title, active, snap.Conn)
	l.Counts = counts(snap)
	l.Flash = takeFlash(w, r)
	l.Topics, l.Epoch = positions, s.epoch()
	if s.cfg.Users != nil {
		u := userOf(r)
		l.User, l.Role = u.Name, u.Role.String()
	}
	return snap, l, nil
}

// form returns what an action form on this page carries.
func form(r *http.Request) ui.Form {
	return ui.Form{RequestID: newRequestID(), Back: r.URL.RequestURI()}
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) error {
	snap, layout, err := s.page(w, r, "Overview", "/", topicOverview)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, ui.OverviewPage(overviewView(snap, layout, s.cfg, time.Now())))
}

func (s *Server) offers(w http.ResponseWriter, r *http.Request) error {
	snap, layout, err := s.page(w, r, "Offers", "/offers", topicOffers)
	if err != nil {
		return err
	}
	filter := strings.TrimSpace(r.URL.Query().Get("filter"))
	v := ui.Offers{
		Layout:     layout,
		Filter:     filter,
		Policy:     fmt.Sprintf("Hold %s · auto-decline %s s", ago(snap.HoldTime), number(snap.RefuseSeconds)),
		Suppressed: snap.Conn.Suppressed,
		CanAct:     canAct(r),
		Form:       form(r),
		RefuseChoices: []ui.Choice{
			{Value: "5s", Label: "5 s"}, {Value: "1m", Label: "1 min"}, {Value: "1h", Label: "1 h"},
		},
	}
	for _, g := range agentGroups(snap.Offers, time.Now()) {
		if filter != "" && !matchesFilter(g, filter) {
			v.Hidden += len(g.Offers)
			continue
		}
		v.Groups = append(v.Groups, g)
	}
	var from, to int
	v.Pager, from, to = paginate(r, len(v.Groups), offersPerPage, "agents")
	v.Groups = v.Groups[from:to]
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
	topic := topicTasks
	if q.Get("state") == "" && q.Get("agent") == "" && q.Get("q") == "" && (q.Get("page") == "" || q.Get("page") == "1") {
		topic = topicTasksFirst // the rows of this page alone
	}
	snap, layout, err := s.page(w, r, "Tasks", "/tasks", topic)
	if err != nil {
		return err
	}
	v := ui.Tasks{Layout: layout, StateFilter: q.Get("state"), AgentFilter: q.Get("agent"), Query: q.Get("q"), CanAct: canAct(r), Form: form(r)}
	now := time.Now()
	states := map[string]bool{}
	agents := map[string]string{}
	text := strings.ToLower(strings.TrimSpace(v.Query))
	// Rows are built for the shown page alone: with 100k tasks, building
	// every row took most of a page load's time.
	var shown []*scheduler.Task
	for _, t := range snap.Tasks {
		states[t.State.String()] = true
		if t.AgentID != "" {
			agents[t.AgentID] = t.Hostname
		}
		if (v.StateFilter != "" && t.State.String() != v.StateFilter) || (v.AgentFilter != "" && !onAgent(t, v.AgentFilter)) ||
			(text != "" && !strings.Contains(taskRow(t, now).Search, text)) {
			v.Hidden++
			continue
		}
		shown = append(shown, t)
	}
	var from, to int
	v.Pager, from, to = paginate(r, len(shown), tasksPerPage, "tasks")
	for _, t := range shown[from:to] {
		v.Rows = append(v.Rows, taskRow(t, now))
	}
	for _, t := range snap.Older {
		v.Older = append(v.Older, taskRow(t, now))
	}
	for st := range states {
		v.StateNames = append(v.StateNames, ui.Choice{Value: st, Label: ui.TaskState(st).Word})
	}
	slices.SortFunc(v.StateNames, func(a, b ui.Choice) int { return strings.Compare(a.Label, b.Label) })
	if len(agents) <= agentChoices {
		v.AgentNames = []ui.Choice{}
		for id, host := range agents {
			v.AgentNames = append(v.AgentNames, ui.Choice{Value: id, Label: host})
		}
	}
	slices.SortFunc(v.AgentNames, func(a, b ui.Choice) int { return strings.Compare(a.Label, b.Label) })
	return render(w, r, http.StatusOK, ui.TasksPage(v))
}

// agentChoices is the most agents the tasks filter lists to pick from; with
// more it takes typed text (a list of 10,000 agents weighed 850 KB).
const agentChoices = 50

// onAgent reports whether t runs on the agent named by f: its id, or a
// part of its hostname.
func onAgent(t *scheduler.Task, f string) bool {
	return t.AgentID == f || strings.Contains(strings.ToLower(t.Hostname), strings.ToLower(f))
}

// Page sizes of the long lists: a page stays small enough to load fast and
// to follow live (a 10,000-agent cluster would otherwise be a 50 MB page).
const (
	offersPerPage = 100 // agents, each with its offers
	tasksPerPage  = 250 // a row with its kill form is about 0.9 KB
	agentsPerPage = 200
	eventsShown   = 200 // the most recent; more arrive live
)

// paginate picks the page the request asks for (?page=N, from 1) of n
// items and says so; the zero Pager when everything fits.
func paginate(r *http.Request, n, size int, what string) (ui.Pager, int, int) {
	if n <= size {
		return ui.Pager{}, 0, n
	}
	pages := (n + size - 1) / size
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	page = min(page, pages)
	from, to := (page-1)*size, min(page*size, n)
	link := func(p int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
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
	snap, layout, err := s.page(w, r, "Task", "/tasks", topicTask)
	if err != nil {
		return err
	}
	id := chi.URLParam(r, "id")
	var t *scheduler.Task
	for _, c := range append(slices.Clone(snap.Tasks), snap.Older...) {
		if c.ID == id {
			t = c
			break
		}
	}
	if t == nil {
		return fmt.Errorf("task %s: %w", id, scheduler.ErrUnknownTask)
	}
	layout.Title = t.Name
	v := ui.TaskDetail{
		Layout: layout, Row: taskRow(t, time.Now()), Command: t.Command, Image: t.Image, OfferID: t.OfferID,
		AgentID: t.AgentID, Framework: t.Registration, Resources: resources(t.Resources),
		History: historyLines(t), CanAct: canAct(r), Form: form(r),
	}
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
	snap, layout, err := s.page(w, r, "Launch", "/launch", topicQueue)
	if err != nil {
		return err
	}
	v := ui.Launch{Layout: layout, CanAct: canAct(r), Form: form(r), Fields: ui.LaunchFields{Name: "hello", Command: "echo hello world", CPUs: "0.1", Mem: "32", Instances: "1"}}
	if id := r.URL.Query().Get("offer"); id != "" {
		var o *scheduler.Offer
		for i := range snap.Offers {
			if snap.Offers[i].ID == id {
				o = &snap.Offers[i]
			}
		}
		if o == nil {
			return fmt.Errorf("offer %s: %w", id, scheduler.ErrUnknownOffer)
		}
		v.OfferID, v.OfferHost = o.ID, o.Hostname
		layout.Title = "Accept offer"
		v.Preview = preview([]scheduler.Offer{*o}, needOf(v.Fields), nil)
	} else {
		v.Preview = preview(snap.Offers, needOf(v.Fields), nil)
	}
	for _, q := range snap.Queue {
		v.Queue = append(v.Queue, queuedView(q))
	}
	return render(w, r, http.StatusOK, ui.LaunchPage(v))
}

func (s *Server) agents(w http.ResponseWriter, r *http.Request) error {
	snap, layout, err := s.page(w, r, "Agents", "/agents", topicAgents)
	if err != nil {
		return err
	}
	now := time.Now()
	v := ui.Agents{Layout: layout}
	var from, to int
	v.Pager, from, to = paginate(r, len(snap.Agents), agentsPerPage, "agents")
	// One pass to group offers and tasks by agent, not one per row.
	byAgent := map[string]*scheduler.Snapshot{}
	for _, a := range snap.Agents[from:to] {
		byAgent[a.ID] = &scheduler.Snapshot{}
	}
	for _, o := range snap.Offers {
		if g := byAgent[o.AgentID]; g != nil {
			g.Offers = append(g.Offers, o)
		}
	}
	for _, t := range snap.Tasks {
		if g := byAgent[t.AgentID]; g != nil {
			g.Tasks = append(g.Tasks, t)
		}
	}
	for _, a := range snap.Agents[from:to] {
		v.Rows = append(v.Rows, agentRow(a, byAgent[a.ID], now))
	}
	return render(w, r, http.StatusOK, ui.AgentsPage(v))
}

func agentRow(a scheduler.Agent, snap *scheduler.Snapshot, now time.Time) ui.AgentRow {
	row := ui.AgentRow{DOMID: domID("agentrow-", a.ID), ID: a.ID, Hostname: a.Hostname, Attributes: attrs(a.Attributes), LastOffer: ago(now.Sub(a.LastOffer)) + " ago", Offered: "nothing"}
	var rs []*mesos.Resource
	for _, o := range snap.Offers {
		if o.AgentID == a.ID {
			rs = append(rs, o.Offer.GetResources()...)
		}
	}
	if len(rs) > 0 {
		row.Offered = fmt.Sprintf("cpus %s · mem %s", number(mesos.ScalarSum(rs, "cpus")), scalarText("mem", mesos.ScalarSum(rs, "mem")))
	}
	for _, t := range snap.Tasks {
		if t.AgentID == a.ID {
			row.Tasks++
			if !t.Terminal() {
				row.Running++
			}
		}
	}
	return row
}

// eventTypes are the event types the filter toggles.
var eventTypes = []string{"SUBSCRIBED", "OFFERS", "RESCIND", "UPDATE", "FAILURE", "ERROR", "HEARTBEAT"}

func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	snap, layout, err := s.page(w, r, "Events", "/events", topicEvents)
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
	v := ui.Events{Layout: layout, Keep: eventsShown}
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
	for i := len(snap.Events) - 1; i >= 0 && len(v.Rows) < eventsShown; i-- {
		e := snap.Events[i]
		if !on[e.Type] {
			if e.Type == "HEARTBEAT" {
				v.Heartbeats++
			}
			continue
		}
		v.Rows = append(v.Rows, eventRow(e))
	}
	return render(w, r, http.StatusOK, ui.EventsPage(v))
}

// auditPage is how many audit entries one page shows.
const auditPage = 100

func (s *Server) audit(w http.ResponseWriter, r *http.Request) error {
	_, layout, err := s.page(w, r, "Audit", "/audit", topicAudit)
	if err != nil {
		return err
	}
	var before uint64
	if b := r.URL.Query().Get("before"); b != "" {
		if before, err = strconv.ParseUint(b, 10, 64); err != nil {
			return badInput("before must be an audit sequence number")
		}
	}
	entries, err := s.sched.AuditLog(before, auditPage)
	if err != nil {
		return err
	}
	v := ui.Audit{Layout: layout}
	for _, a := range entries {
		v.Rows = append(v.Rows, auditRow(a))
	}
	if len(entries) == auditPage {
		v.More = "/audit?before=" + strconv.FormatUint(entries[len(entries)-1].Seq, 10)
	}
	return render(w, r, http.StatusOK, ui.AuditPage(v))
}

// render writes a component only once it rendered completely, so a failed
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

// readyz reports whether the dashboard is subscribed to a master and can
// save its state: 200 when it is, 503 with the reason when it is not.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	snap, err := s.sched.Snapshot(r.Context())
	switch {
	case err != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %v\n", err)
	case snap.Conn.StorageErr != "":
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s\n", snap.Conn.StorageErr)
	case snap.Conn.State != mesos.Subscribed:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s; %s\n", snap.Conn.State, snap.Conn.Err)
	default:
		fmt.Fprintf(w, "ready: subscribed as %s\n", snap.Conn.FrameworkID)
	}
}

var (
	errBadInput     = errors.New("bad input")
	errUnknownEvent = errors.New("not kept: only the newest events are")
)

// badInput is an error whose message the user is shown as it is.
func badInput(msg string) error { return fmt.Errorf("%w: %s", errBadInput, msg) }
