package scheduler

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// Bounds on what the master can make the scheduler keep. A master that
// sends absurd values (a bug, a hostile stand-in) must not grow the
// dashboard's memory without bound: UPDATEs with 10 MB task ids once took
// it from 156 MB to 851 MB and growing.
const (
	// maxIDBytes bounds task, agent, executor and framework ids: Mesos
	// refuses ids longer than NAME_MAX, 255 characters
	// (src/common/validation.cpp validateID), because they become
	// directory names on the agent. A longer one never came from a
	// working cluster.
	maxIDBytes = 255
	// maxOfferIDBytes bounds offer ids, which the master makes itself
	// (its framework id, "-O" and a counter) and Mesos does not bound.
	maxOfferIDBytes = 4096
	// maxHostnameBytes bounds an offer's hostname: a DNS name is at most
	// 253 characters.
	maxHostnameBytes = 255
	// maxMessageBytes bounds a status message as kept; a longer one is
	// cut, and says so.
	maxMessageBytes = 4096
	// maxSummaryMessage bounds the message in an event's one-line
	// summary.
	maxSummaryMessage = 512
	// maxHistoryBytes bounds the messages one task's history keeps: past
	// it, the oldest statuses after the first are dropped, as past
	// maxHistory statuses.
	maxHistoryBytes = 64 << 10
	// maxKeptEventBytes: an event larger than this is kept on the events
	// page as its summary only.
	maxKeptEventBytes = 1 << 20
	// eventOverhead is what keeping an event costs beyond its wire size:
	// the decoded messages' structs and the Event itself, roughly.
	eventOverhead = 512
	// DefaultEventHistoryBytes is the default of Config.EventHistoryBytes.
	DefaultEventHistoryBytes = 16 << 20
	// refusalLogEvery bounds how often refused input is logged.
	refusalLogEvery = 10 * time.Second
)

// clip cuts s to at most n bytes, on a rune boundary, saying how long it
// was.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (cut from %d bytes)", s[:cut], len(s))
}

// idProblem says what is wrong with an id the master sent, or "".
func idProblem(what, id string, limit int) string {
	if len(id) > limit {
		return fmt.Sprintf("%s of %d bytes is over the %d Mesos allows", what, len(id), limit)
	}
	return ""
}

// refusal says why an event is refused, or "" when it is kept.
func refusal(e *mesos.Event) string {
	switch e.GetType() {
	case mesos.Event_UPDATE:
		s := e.GetUpdate().GetStatus()
		for _, p := range []string{
			idProblem("task id", s.GetTaskId().GetValue(), maxIDBytes),
			idProblem("agent id", s.GetAgentId().GetValue(), maxIDBytes),
			idProblem("executor id", s.GetExecutorId().GetValue(), maxIDBytes),
		} {
			if p != "" {
				return p
			}
		}
		if s.GetTaskId().GetValue() == "" {
			return "update without a task id"
		}
		if u := s.GetUuid(); len(u) != 0 && len(u) != 16 {
			return fmt.Sprintf("update uuid of %d bytes, not 16", len(u))
		}
	case mesos.Event_RESCIND:
		return idProblem("offer id", e.GetRescind().GetOfferId().GetValue(), maxOfferIDBytes)
	case mesos.Event_SUBSCRIBED:
		return idProblem("framework id", e.GetSubscribed().GetFrameworkId().GetValue(), maxIDBytes)
	}
	return ""
}

// offerProblem says why an offer is not kept, or "". An OFFERS event is
// judged offer by offer (see onEvent), so one bad offer does not hold
// the others' resources back.
func offerProblem(o *mesos.Offer) string {
	for _, p := range []string{
		idProblem("offer id", o.GetId().GetValue(), maxOfferIDBytes),
		idProblem("agent id", o.GetAgentId().GetValue(), maxIDBytes),
		idProblem("hostname", o.GetHostname(), maxHostnameBytes),
	} {
		if p != "" {
			return p
		}
	}
	if o.GetId().GetValue() == "" {
		return "offer without an id"
	}
	return ""
}

// refusals counts refused input for a log line at most every
// refusalLogEvery. State goroutine only.
type refusals struct {
	total    uint64
	unlogged int
	lastLog  time.Time
}

// refuse records refused input: why, and what it was.
func (st *state) refuse(what, why string, now time.Time) {
	r := &st.refused
	r.total++
	r.unlogged++
	if !r.lastLog.IsZero() && now.Sub(r.lastLog) < refusalLogEvery {
		return
	}
	st.s.log.Warn("refused input from the master", "what", what, "reason", why, "refused", r.unlogged, "refused_total", r.total)
	r.lastLog, r.unlogged = now, 0
}

// refusedEvent keeps a refused event on the events page as a line that
// says why, without its content.
func (st *state) refusedEvent(e *mesos.Event, why string, now time.Time) {
	st.addEvent(Event{Type: e.GetType().String(), Time: now, Summary: "refused: " + why, json: stubJSON(e, "refused: "+why)}, 0)
}

// stubJSON is the JSON shown for an event whose content is not kept.
func stubJSON(e *mesos.Event, note string) *lazyJSON {
	j := &lazyJSON{}
	j.once.Do(func() { j.b, j.err = json.Marshal(map[string]string{"type": e.GetType().String(), "offerdeck": note}) })
	return j
}

// historyBytes is what t's history keeps in messages.
func (t *Task) historyBytes() int {
	n := 0
	for i := range t.History {
		n += len(t.History[i].Message)
	}
	return n
}

// eventSize is about what e takes on the wire. An UPDATE, the event that
// comes by the hundred thousand, is summed from the fields that can be
// large, since proto.Size cost as much as the rest of applying one.
func eventSize(e *mesos.Event) int {
	if e.GetType() != mesos.Event_UPDATE {
		return proto.Size(e)
	}
	s := e.GetUpdate().GetStatus()
	return 64 + len(s.GetTaskId().GetValue()) + len(s.GetAgentId().GetValue()) + len(s.GetExecutorId().GetValue()) +
		len(s.GetMessage()) + len(s.GetData()) + len(s.GetUuid()) + proto.Size(s.GetLabels()) + proto.Size(s.GetContainerStatus())
}
