package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
	"github.com/offerdeck/offerdeck/ui"
)

// domID makes an id safe for use as an HTML id (ids from the cluster may
// hold any characters).
func domID(prefix, id string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, r := range id {
		if r < 128 && (r == '-' || r == '_' || r == '.' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "~%x", r)
		}
	}
	return b.String()
}

// resources formats resources for display: scalars with units, port
// ranges as ranges, sets as lists, roles when not "*".
func resources(rs []*mesos.Resource) []ui.Resource {
	var out []ui.Resource
	for _, r := range rs {
		v := ui.Resource{Name: r.GetName()}
		switch r.GetType() {
		case mesos.Value_SCALAR:
			v.Value = scalarText(r.GetName(), r.GetScalar().GetValue())
		case mesos.Value_RANGES:
			var parts []string
			for _, rg := range r.GetRanges().GetRange() {
				if rg.GetBegin() == rg.GetEnd() {
					parts = append(parts, strconv.FormatUint(rg.GetBegin(), 10))
				} else {
					parts = append(parts, fmt.Sprintf("%d–%d", rg.GetBegin(), rg.GetEnd()))
				}
			}
			v.Value = strings.Join(parts, ", ")
		case mesos.Value_SET:
			v.Value = strings.Join(r.GetSet().GetItem(), ", ")
		}
		if role := mesos.RoleText(r); role != "*" {
			v.Role = role
		}
		if r.Revocable != nil {
			v.Role = strings.TrimSpace(v.Role + " revocable")
		}
		out = append(out, v)
	}
	return out
}

// scalarText gives memory and disk their units.
func scalarText(name string, v float64) string {
	switch name {
	case "mem", "disk":
		if v >= 1024 {
			return strconv.FormatFloat(v/1024, 'f', 1, 64) + " GB"
		}
		return number(v) + " MB"
	}
	return number(v)
}

func attrs(as []*mesos.Attribute) []ui.Attr {
	out := make([]ui.Attr, 0, len(as))
	for _, a := range as {
		out = append(out, ui.Attr{Name: marked(a.GetName()), Value: marked(mesos.AttributeText(a))})
	}
	return out
}

func offerView(o scheduler.Offer) ui.OfferView {
	short := o.ID
	if i := strings.LastIndex(short, "-"); i >= 0 && i < len(short)-1 {
		short = short[i+1:]
	}
	return ui.OfferView{
		DOMID:     domID("offer-", o.ID),
		ID:        o.ID,
		ShortID:   short,
		AgentID:   o.AgentID,
		Resources: resources(o.Offer.GetResources()),
		Arrived:   o.Arrived,
		HoldUntil: o.HoldUntil,
	}
}

// agentGroup is one agent's card on the offers page: its offers, or what
// it waits for.
func agentGroup(m *model, agentID string) ui.AgentGroup {
	a := m.agents[agentID]
	as := attrs(a.Attributes)
	search := []string{strings.ToLower(marked(a.Hostname))}
	for _, at := range as {
		search = append(search, strings.ToLower(at.Name+"="+at.Value))
	}
	g := ui.AgentGroup{DOMID: domID("agent-", a.ID), AgentID: marked(a.ID), Hostname: marked(a.Hostname), Attributes: as, Search: strings.Join(search, " ")}
	for _, o := range m.agentOffers(agentID) {
		g.Offers = append(g.Offers, offerView(o))
	}
	if len(g.Offers) == 0 {
		g.Waiting, g.Since, g.Until = a.Gone, a.GoneAt, a.RefuseEnd
		if a.GoneOffer != "" && (a.Gone == "declined" || a.Gone == "expired" || a.Gone == "accepted") {
			g.Calls = "/calls?offer=" + url.QueryEscape(a.GoneOffer)
		}
	}
	g.Removed = a.Removed
	return g
}

// matchesFilter applies the offers page filter: attr=value, attr~text and
// free words, each of which must match.
func matchesFilter(g ui.AgentGroup, filter string) bool {
	for _, term := range strings.Fields(strings.ToLower(filter)) {
		if !strings.Contains(g.Search, strings.Replace(term, "~", "=", 1)) && !matchesLoose(g.Search, term) {
			return false
		}
	}
	return true
}

// matchesLoose lets attr~part match any attribute value containing part.
func matchesLoose(search, term string) bool {
	name, part, ok := strings.Cut(term, "~")
	if !ok {
		return false
	}
	for _, w := range strings.Fields(search) {
		if n, v, ok := strings.Cut(w, "="); ok && n == name && strings.Contains(v, part) {
			return true
		}
	}
	return false
}

func stateOf(t *scheduler.Task) ui.State {
	if t.Launching {
		return ui.State{Name: "LAUNCHING", Word: "launching", Class: "st-starting", Icon: "◌"}
	}
	return ui.TaskState(t.State.String())
}

func taskRow(t *scheduler.Task) ui.TaskRow {
	r := ui.TaskRow{
		DOMID:    domID("task-", t.ID),
		ID:       t.ID,
		Name:     t.Name,
		State:    stateOf(t),
		Hostname: t.Hostname,
		Live:     !t.Terminal(),
		Killing:  t.Killing,
		Unknown:  t.State == mesos.TaskState_TASK_UNKNOWN,
		Orphan:   t.Orphan,
		AgentID:  t.AgentID,
		StateKey: t.State.String(),
	}
	if r.Name == "" {
		r.Name = t.ID
	}
	if r.Hostname == "" {
		r.Hostname = t.AgentID
	}
	r.Name, r.Hostname, r.Shown = marked(r.Name), marked(r.Hostname), marked(t.ID)
	var parts []string
	for _, name := range []string{"cpus", "mem", "disk"} {
		if v := mesos.ScalarSum(t.Resources, name); v > 0 {
			parts = append(parts, name+" "+scalarText(name, v))
		}
	}
	r.Resources = strings.Join(parts, " · ")
	var ports []string
	for _, p := range t.Ports {
		ports = append(ports, strconv.FormatUint(p, 10))
	}
	r.Ports = strings.Join(ports, ", ")
	r.Launched = t.Launched
	if n := len(t.History); n > 0 {
		latest := t.History[n-1]
		r.Message = latest.Message
		// A reconciliation answer repeats the state and says only that it
		// is the latest: the message before it says more.
		for i := n - 1; i > 0 && t.History[i].Reconciliation && t.History[i].State == t.History[i-1].State; i-- {
			r.Message = t.History[i-1].Message
		}
		r.Updated = latest.Time.UnixMilli()
		if h := latest.Healthy(); h != nil && !t.Terminal() {
			r.Health = map[bool]string{true: "healthy", false: "unhealthy"}[*h]
		}
	}
	r.Search = strings.ToLower(marked(strings.Join([]string{t.ID, t.Name, t.Hostname, t.State.String(), r.Message}, " ")))
	r.Message = marked(r.Message)
	return r
}

func historyLines(t *scheduler.Task) []ui.HistoryLine {
	out := make([]ui.HistoryLine, 0, len(t.History))
	for i := range t.History {
		out = append(out, historyLine(t, i))
	}
	return out
}

// historyLine is the line of t.History[i], named by the status's number so
// that it keeps its name while later statuses arrive.
func historyLine(t *scheduler.Task, i int) ui.HistoryLine {
	h := t.History[i]
	return ui.HistoryLine{
		ID:         timelineLineID(t.ID, t.StatusNumber(i)),
		Time:       h.Time,
		State:      ui.TaskState(h.State.String()),
		Source:     strings.ToLower(strings.TrimPrefix(h.Source.String(), "SOURCE_")),
		Reason:     strings.TrimPrefix(h.ReasonName(), "REASON_"),
		Message:    marked(h.Message),
		Acked:      t.Acked(i),
		NeedsAck:   h.UUID.IsSet() && !t.Acked(i),
		Reconciled: h.Reconciliation,
	}
}

func timelineLineID(taskID string, n int) string {
	return domID("tl"+strconv.Itoa(n)+"-", taskID)
}

// previewLines bounds how many offers the preview names one by one; the
// rest are counted, so a 10,000-agent cluster's form stays light.
const previewLines = 40

// preview says for every agent with offers held whether one instance of
// spec fits on all its offers together (one ACCEPT may take every offer
// of one agent and role), with the combined amount.
func preview(offers []scheduler.Offer, need placement.Need, cs []placement.Constraint) []ui.PreviewLine {
	groups := agentShares(offers)
	out := make([]ui.PreviewLine, 0, min(len(groups), previewLines+1))
	fits, shown := 0, 0
	for _, g := range groups {
		r := placement.Fit(g.offer, need, cs, placement.Used{})
		if r.Fits {
			fits++
		}
		if shown < previewLines {
			out = append(out, ui.PreviewLine{OfferID: g.ids[0], Hostname: g.host, Fits: r.Fits, Reasons: r.Reasons,
				Amount: placement.Usable(g.offer).String(), Offers: len(g.ids)})
			shown++
		}
	}
	slices.SortFunc(out, func(a, b ui.PreviewLine) int { return strings.Compare(a.Hostname, b.Hostname) })
	if rest := len(groups) - shown; rest > 0 {
		out = append(out, ui.PreviewLine{Hostname: fmt.Sprintf("and %d more agents", rest),
			Reasons: []string{fmt.Sprintf("%d of all %d agents fit", fits, len(groups))}})
	}
	return out
}

// share is every offer held of one agent and role, merged.
type share struct {
	agent string
	host  string
	ids   []string
	offer *mesos.Offer
}

// agentShares groups offers by agent and allocation role, in the order
// each group's first offer comes.
func agentShares(offers []scheduler.Offer) []share {
	type key struct{ agent, role string }
	var order []key
	by := map[key][]scheduler.Offer{}
	for _, o := range offers {
		k := key{o.AgentID, o.Offer.GetAllocationInfo().GetRole()}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], o)
	}
	out := make([]share, 0, len(order))
	for _, k := range order {
		g := by[k]
		ps := make([]*mesos.Offer, len(g))
		ids := make([]string, len(g))
		for i, o := range g {
			ps[i], ids[i] = o.Offer, o.ID
		}
		merged, err := placement.Merge(ps)
		if err != nil {
			continue // one agent and role: cannot happen
		}
		out = append(out, share{agent: k.agent, host: g[0].Hostname, ids: ids, offer: merged})
	}
	return out
}

// explain puts why a launch was refused into the form's view: each
// problem of the spec with its field marked, or why no agent can run it.
func explain(v *ui.Launch, err error) {
	if err == nil {
		return
	}
	var specErr *scheduler.SpecError
	var never *scheduler.NeverFitsError
	switch {
	case errors.As(err, &specErr):
		v.Error = "The task spec has a problem:"
		if n := len(specErr.Problems); n > 1 {
			v.Error = fmt.Sprintf("The task spec has %d problems:", n)
		}
		v.Invalid = map[string]bool{}
		for _, p := range specErr.Problems {
			v.Problems = append(v.Problems, p.Message)
			v.Invalid[p.Field] = true
		}
	case errors.As(err, &never):
		v.Error = "No agent seen so far can run this spec; tick “Wait for a bigger agent” to queue it anyway:"
		for _, r := range never.Reasons {
			v.Problems = append(v.Problems, r)
		}
		v.NeverFits = true
	default:
		_, v.Error, _ = statusOf(err)
	}
}

func queuedView(q scheduler.Queued) ui.QueuedView {
	cmd := q.Spec.Command
	if cmd == "" {
		cmd = strings.Join(q.Spec.Argv, " ")
	}
	if q.Spec.Image != "" {
		cmd = q.Spec.Image + " " + cmd
	}
	total := q.Spec.Instances
	if total == 0 {
		total = 1
	}
	v := ui.QueuedView{DOMID: domID("queued-", q.ID), ID: q.ID, Name: marked(q.Spec.Name), Command: marked(cmd), Left: q.Left, Total: total, Launched: q.Launched}
	for _, w := range q.Why {
		v.Why = append(v.Why, ui.PreviewLine{OfferID: w.OfferID, Hostname: w.Hostname, Reasons: w.Reasons})
	}
	if q.Seen > 0 {
		parts := make([]string, len(q.Tally))
		for i, c := range q.Tally {
			parts[i] = strconv.Itoa(c.Offers) + " " + c.Why
		}
		unit := " offers: "
		if q.Seen == 1 {
			unit = " offer: "
		}
		v.Summary = "last " + strconv.Itoa(q.Seen) + unit + strings.Join(parts, ", ")
		if q.Seen == 1 {
			v.Summary = "last offer: " + strings.Join(parts, ", ")
		}
	}
	return v
}

// maxEventJSON bounds the raw JSON an event row carries: an OFFERS event
// of a big cluster is megabytes, which no page should inline, and even
// 16 KB a row made the events page of a busy cluster weigh 320 KB. A row
// cut short links to the whole event.
const maxEventJSON = 2 << 10

func eventRow(e scheduler.Event) ui.EventRow {
	row := ui.EventRow{Seq: e.Seq, DOMID: "event-" + strconv.FormatUint(e.Seq, 10), Time: e.Time, Type: e.Type, Summary: marked(e.Summary)}
	full, err := e.JSON()
	switch {
	case err != nil:
		row.JSON = "(this event cannot be shown as JSON: " + err.Error() + ")"
	case len(full) > maxEventJSON:
		row.JSON = string(full[:maxEventJSON]) + fmt.Sprintf("\n… (%d more bytes)", len(full)-maxEventJSON)
		row.Whole = "/events/" + strconv.FormatUint(e.Seq, 10) + "/json"
	default:
		var out bytes.Buffer
		row.JSON = string(full)
		if json.Indent(&out, full, "", "  ") == nil {
			row.JSON = out.String()
		}
	}
	return row
}

func auditRow(a scheduler.AuditEntry) ui.AuditRow {
	row := ui.AuditRow{
		DOMID: "audit-" + strconv.FormatUint(a.Seq, 10), Time: a.Time,
		User: marked(a.User), Origin: a.Origin, Action: a.Action, Target: marked(a.Target), Request: marked(a.Request), Result: marked(a.Result), Err: marked(a.Err),
	}
	if callActions[a.Action] && !strings.HasPrefix(a.Request, "replayed request ") {
		row.Calls = "/calls?audit=" + strconv.FormatUint(a.Seq, 10)
	}
	return row
}

// taskFacts is what a task was launched with.
func taskFacts(t *scheduler.Task) ui.TaskFacts {
	v := ui.TaskFacts{ID: domID("", t.ID), Hostname: marked(t.Hostname), Command: marked(t.Command), Image: marked(t.Image), OfferID: t.OfferID,
		AgentID: marked(t.AgentID), Framework: t.Registration, Resources: resources(t.Resources),
		Calls: "/calls?task=" + url.QueryEscape(t.ID)}
	if t.OfferID != "" {
		v.OfferCalls = "/calls?offer=" + url.QueryEscape(t.OfferID)
	}
	if v.Hostname == "" {
		v.Hostname = "—"
	}
	return v
}

// agentRow is one agent on the agents page.
func agentRow(m *model, agentID string) ui.AgentRow {
	a := m.agents[agentID]
	row := ui.AgentRow{DOMID: domID("agentrow-", a.ID), ID: a.ID, Hostname: marked(a.Hostname), Attributes: attrs(a.Attributes), LastOffer: a.LastOffer, Removed: a.Removed, Offered: "nothing"}
	var rs []*mesos.Resource
	for _, o := range m.offersByAgent[agentID] {
		rs = append(rs, o.Offer.GetResources()...)
	}
	if len(rs) > 0 {
		row.Offered = fmt.Sprintf("cpus %s · mem %s", number(round3(mesos.ScalarSum(rs, "cpus"))), scalarText("mem", round3(mesos.ScalarSum(rs, "mem"))))
	}
	for t := range m.agentTasks(agentID) {
		row.Tasks++
		if !t.Terminal() {
			row.Running++
		}
	}
	return row
}

func offersSummary(m *model) ui.OffersSummary {
	agents := len(m.agents)
	return ui.OffersSummary{Offers: len(m.offers), Agents: agents, Waiting: agents - m.offeringAgents(),
		Subscribed: m.subscribed(), Suppressed: m.conn.Suppressed}
}

func offersPolicy(m *model) ui.OffersPolicy {
	return ui.OffersPolicy{Text: fmt.Sprintf("Held offers are declined %s after they arrive, refused for %s s.", duration(m.holdTime), number(m.refuseSeconds)),
		Suppressed: m.conn.Suppressed}
}

func olderRows(m *model) []ui.TaskRow {
	rows := make([]ui.TaskRow, 0, len(m.older))
	for _, t := range m.older {
		rows = append(rows, taskRow(t))
	}
	return rows
}

// heartbeats counts the heartbeats among the events kept.
func heartbeats(m *model) int {
	n := 0
	for _, e := range m.keptEvents() {
		if e.Type == "HEARTBEAT" {
			n++
		}
	}
	return n
}

// olderAudit is the link to the audit entries before the page's, "" when
// the page holds the first.
func olderAudit(m *model) string {
	if len(m.audit) == 0 || m.audit[len(m.audit)-1].Seq <= 1 {
		return ""
	}
	return "/audit?before=" + strconv.FormatUint(m.audit[len(m.audit)-1].Seq, 10)
}

// stateWord is the word the pages use for a shown state name.
func stateWord(name string) string {
	if name == "LAUNCHING" {
		return stateOf(&scheduler.Task{Launching: true}).Word
	}
	return ui.TaskState(name).Word
}

// marked shows the invisible characters that reorder text (the Unicode
// bidirectional controls) as visible marks, so that a name from the
// cluster cannot pass itself off as another ("exe.txt" written backwards
// behind U+202E). Everything else is left as it is.
func marked(s string) string {
	if !strings.ContainsFunc(s, isBidiControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isBidiControl(r) {
			fmt.Fprintf(&b, "⟦U+%04X⟧", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' || ('\u202A' <= r && r <= '\u202E') || ('\u2066' <= r && r <= '\u2069')
}
