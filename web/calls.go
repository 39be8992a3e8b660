package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// callsKept is how many calls the model keeps: what the calls page shows.
// With bodies cut at scheduler.MaxCallJSON and answers at 2 KB, that
// bounds its bytes too.
const callsKept = 200

// callTypes are the call types the filter toggles, in the order of a
// framework's life.
var callTypes = []string{"SUBSCRIBE", "ACCEPT", "DECLINE", "KILL", "ACKNOWLEDGE", "RECONCILE", "REVIVE", "SUPPRESS"}

// secretVar is the shell variable the curl lines use for the principal's
// secret: the page never holds the secret itself.
const secretVar = "MESOS_SECRET"

// callActions are the audit log's actions that send a call.
var callActions = map[string]bool{"accept": true, "decline": true, "kill": true, "reconcile": true, "revive": true, "suppress": true}

// causeToken is a cause's kind as one word, for filters and URLs.
func causeToken(kind string) string { return strings.ReplaceAll(kind, " ", "-") }

// calls is the calls page: every call kept, newest first, filtered by
// type and cause, and by what a call is about (?offer=, ?task=, ?audit=).
func (s *Server) calls(w http.ResponseWriter, r *http.Request) error {
	var calls []scheduler.Call
	var v ui.Calls
	layout, err := s.page(w, r, "Calls", "/calls", topicCalls, func(m *model) {
		calls = slices.Clone(m.keptCalls())
		v.Acks = acks(m)
	})
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var about url.Values
	switch {
	case q.Get("offer") != "":
		about = url.Values{"offer": {q.Get("offer")}}
		v.Match, v.Subject = "offer:"+domID("", q.Get("offer")), "offer "+marked(q.Get("offer"))
	case q.Get("task") != "":
		about = url.Values{"task": {q.Get("task")}}
		v.Match, v.Subject = "task:"+domID("", q.Get("task")), "task "+marked(q.Get("task"))
	case q.Get("audit") != "":
		seq, err := strconv.ParseUint(q.Get("audit"), 10, 64)
		if err != nil {
			return badInput("an audit entry is named by its number")
		}
		about = url.Values{"audit": {q.Get("audit")}}
		v.Match, v.Subject = "audit:"+strconv.FormatUint(seq, 10), "audit entry "+strconv.FormatUint(seq, 10)
	}
	v.All = "/calls"

	types := onSet(q["type"], callTypes, func(t string) bool {
		// Acknowledgements fold into a counter, unless the page is
		// about one offer, task or action: then they are its story.
		return t != "ACKNOWLEDGE" || about != nil
	})
	kinds := scheduler.CauseKinds()
	var causeTokens []string
	for _, k := range kinds {
		causeTokens = append(causeTokens, causeToken(k))
	}
	causes := onSet(q["cause"], causeTokens, func(string) bool { return true })
	link := func(types, causes map[string]bool) string {
		out := url.Values{}
		for k, vs := range about {
			out[k] = vs
		}
		for _, t := range callTypes {
			if types[t] {
				out.Add("type", t)
			}
		}
		for _, c := range causeTokens {
			if causes[c] {
				out.Add("cause", c)
			}
		}
		return "/calls?" + out.Encode()
	}
	for _, t := range callTypes {
		v.Types = append(v.Types, ui.Toggle{Label: t, On: types[t], Href: link(flip(types, t), causes)})
	}
	for i, c := range causeTokens {
		v.Causes = append(v.Causes, ui.Toggle{Label: kinds[i], On: causes[c], Href: link(types, flip(causes, c))})
	}
	v.Shown, v.ShownCauses = onList(types, callTypes), onList(causes, causeTokens)

	v.Layout, v.Keep, v.Embedded = layout, callsKept, s.cfg.Embedded
	if len(calls) > 0 {
		v.Newest = calls[len(calls)-1].Seq
	}
	for i := len(calls) - 1; i >= 0; i-- {
		c := calls[i]
		if !types[c.Type] || !causes[causeToken(c.Cause.Kind)] {
			continue
		}
		row := callRow(c)
		if v.Match != "" && !slices.Contains(strings.Fields(row.Tokens), v.Match) {
			continue
		}
		v.Rows = append(v.Rows, row)
	}
	return render(w, r, http.StatusOK, ui.CallsPage(v))
}

// onSet is which of all a filter turns on: those asked for, or by
// default those def says.
func onSet(asked, all []string, def func(string) bool) map[string]bool {
	on := map[string]bool{}
	if len(asked) > 0 {
		for _, a := range asked {
			on[a] = true
		}
		return on
	}
	for _, a := range all {
		on[a] = def(a)
	}
	return on
}

func flip(on map[string]bool, key string) map[string]bool {
	out := map[string]bool{}
	for k, v := range on {
		out[k] = v
	}
	out[key] = !on[key]
	return out
}

func onList(on map[string]bool, all []string) string {
	var out []string
	for _, a := range all {
		if on[a] {
			out = append(out, a)
		}
	}
	return strings.Join(out, " ")
}

// acks counts the acknowledgements among the calls kept, each request of
// a pipelined burst.
func acks(m *model) int {
	n := 0
	for _, c := range m.keptCalls() {
		if c.Type == "ACKNOWLEDGE" {
			n += c.Requests()
		}
	}
	return n
}

// callRow is one call as the calls page shows it.
func callRow(c scheduler.Call) ui.CallRow {
	row := ui.CallRow{Seq: c.Seq, DOMID: "call-" + strconv.FormatUint(c.Seq, 10), Time: c.Time, Type: c.Type,
		Cause: causeToken(c.Cause.Kind), CauseText: causeText(c.Cause), Answer: marked(c.Answer), Took: tookText(c)}
	switch {
	case c.Status == 0:
		row.Status = "no answer"
	default:
		row.Status = strconv.Itoa(c.Status) + " " + http.StatusText(c.Status)
		row.OK = c.Status >= 200 && c.Status < 300
	}
	if n := c.Requests(); n > 1 {
		row.Times = "×" + strconv.Itoa(n)
		if c.Failed > 0 {
			row.Status += fmt.Sprintf(" (%d of %d not accepted)", c.Failed, n)
		}
	}
	switch {
	case !c.Whole():
		row.JSON = string(c.JSON)
		row.Note = fmt.Sprintf("The body was %d bytes; the first %d are kept.", c.JSONSize, len(c.JSON))
		row.CurlNote = "A body cut short cannot be replayed as curl."
	default:
		var out bytes.Buffer
		row.JSON = string(c.JSON)
		if json.Indent(&out, c.JSON, "", "  ") == nil {
			row.JSON = out.String()
		}
		row.Curl = curlLine(c)
		if c.MediaType == mesos.MediaTypeProtobuf {
			row.Note = "Sent as protobuf; shown, and replayed by the curl line, as the same message in JSON."
		}
		if c.Type == "SUBSCRIBE" {
			row.CurlNote = "Replaying a SUBSCRIBE with the framework's id takes the framework over from the dashboard, which then subscribes again."
		}
	}
	if n := c.Requests(); n > 1 {
		group := fmt.Sprintf("%d requests pipelined on one connection, kept as one call: the body and the curl line are the first's; the others differ in their task, agent and uuid.", n)
		row.Note = strings.TrimSpace(group + " " + row.Note)
	}
	row.JSON = marked(row.JSON)
	var tokens []string
	for _, id := range c.OfferIDs {
		row.Links = append(row.Links, ui.Link{Label: "offer " + marked(shortID(id)), Href: "/calls?offer=" + url.QueryEscape(id)})
		tokens = append(tokens, "offer:"+domID("", id))
	}
	for _, id := range c.TaskIDs {
		row.Links = append(row.Links, ui.Link{Label: "task " + marked(id), Href: "/tasks/" + url.PathEscape(id)})
		tokens = append(tokens, "task:"+domID("", id))
	}
	if a := c.Cause.Audit; a > 0 {
		n := strconv.FormatUint(a, 10)
		row.Links = append(row.Links, ui.Link{Label: "audit entry " + n, Href: "/audit?before=" + strconv.FormatUint(a+1, 10) + "#audit-" + n})
		tokens = append(tokens, "audit:"+n)
	}
	row.Tokens = strings.Join(tokens, " ")
	var about []string
	for _, ids := range []struct {
		what string
		ids  []string
	}{{"offer", c.OfferIDs}, {"task", c.TaskIDs}} {
		if len(ids.ids) == 0 {
			continue
		}
		first := ids.ids[0]
		if ids.what == "offer" {
			first = shortID(first)
		}
		a := ids.what + " " + marked(first)
		if n := len(ids.ids) - 1; n > 0 {
			a += " and " + strconv.Itoa(n) + " more"
		}
		about = append(about, a)
	}
	row.About = strings.Join(about, ", ")
	return row
}

// shortID is the tail of an offer id, as the offers page shows it.
func shortID(id string) string {
	if i := strings.LastIndex(id, "-"); i >= 0 && i < len(id)-1 {
		return "…" + id[i:]
	}
	return id
}

func tookText(c scheduler.Call) string {
	ms := float64(c.Took.Microseconds()) / 1000
	if ms < 10 {
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
}

// causeText says who or what sent a call.
func causeText(c scheduler.Cause) string {
	var s string
	switch c.Kind {
	case scheduler.CauseUser:
		s = marked(c.User) + "'s " + c.Action
		if c.User == "" {
			s = c.Action + " button"
		}
	case scheduler.CauseHold:
		s = "hold policy: offers nobody acted on"
	case scheduler.CauseQueue:
		s = "launch queue"
	case "":
		s = "the dashboard"
	default:
		s = c.Kind
	}
	if c.Detail != "" {
		s += " (" + marked(c.Detail) + ")"
	}
	return s
}

// curlLine is a shell command that sends the call again to the master it
// went to: the same headers, the body as JSON, the principal with the
// secret left to a shell variable.
func curlLine(c scheduler.Call) string {
	parts := []string{"curl -sS -i"}
	if c.Type == "SUBSCRIBE" {
		parts = append(parts, "-N") // the answer is the event stream
	}
	if c.Principal != "" {
		parts = append(parts, "-u "+shellQuote(c.Principal)+`":$`+secretVar+`"`)
	}
	parts = append(parts, "-H "+shellQuote("Content-Type: "+mesos.MediaTypeJSON))
	if c.StreamID != "" {
		parts = append(parts, "-H "+shellQuote("Mesos-Stream-Id: "+c.StreamID))
	}
	parts = append(parts, "-d "+shellQuote(string(c.JSON)), shellQuote(c.Master+mesos.SchedulerPath))
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell: single quotes, with each single
// quote written as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
