package master

import (
	"math"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/offerdeck/offerdeck/mesos"
)

// Most of what a busy cluster's operator stream carries is TASK_UPDATED:
// every status update of every framework's tasks, health and check results
// included. Decoded whole, each is some thirty allocations (the status's
// agent, executor, uuid, message, labels, container status...), and a
// watcher that keeps each task's state reads four of its fields. With
// Config.LeanTaskUpdates, a protobuf TASK_UPDATED is decoded by hand into
// those fields alone, in one allocation (its ids) and a struct the client
// reuses once the handler has returned.

// leanTaskUpdate is a TASK_UPDATED event as leanTaskUpdated decodes it:
// the event and every message it points to in one struct, which leanPool
// keeps for the next.
type leanTaskUpdate struct {
	event     Event
	update    Event_TaskUpdated
	framework mesos.FrameworkID
	status    mesos.TaskStatus
	task      mesos.TaskID
	typ       Event_Type
	state     mesos.TaskState // the task's, as the master knows it
	status2   mesos.TaskState // the status's
	timestamp float64
	ids       [2]string // framework id, task id
}

// leanTaskUpdated decodes rec, a protobuf Event, when it is a well-formed
// TASK_UPDATED, into an Event holding only the update's framework id, its
// state and its status's task id, state and timestamp. It reports false
// for any other event and for one it cannot read so (a missing required
// field, a malformed field it reads): the full decoder takes those, and
// reports what is wrong with them. It does not look into the fields it
// skips, so garbage there passes.
func leanTaskUpdated(rec []byte) (*Event, bool) {
	l := new(leanTaskUpdate)
	return l.decode(rec)
}

// leanPool holds the structs of lean events the handler is done with.
var leanPool = sync.Pool{New: func() any { return new(leanTaskUpdate) }}

// decode decodes rec into l, which it clears first, as leanTaskUpdated
// does.
func (l *leanTaskUpdate) decode(rec []byte) (*Event, bool) {
	*l = leanTaskUpdate{}
	var (
		typ     uint64
		hasType bool
		update  []byte
	)
	for len(rec) > 0 {
		num, wt, n := protowire.ConsumeTag(rec)
		if n < 0 {
			return nil, false
		}
		rec = rec[n:]
		switch {
		case num == 1 && wt == protowire.VarintType:
			typ, n = protowire.ConsumeVarint(rec)
			hasType = true
		case num == 4 && wt == protowire.BytesType:
			if update != nil {
				return nil, false // merged messages: the full decoder's
			}
			update, n = protowire.ConsumeBytes(rec)
		case num >= 2 && num <= 9:
			return nil, false // another event's message
		default:
			n = protowire.ConsumeFieldValue(num, wt, rec)
		}
		if n < 0 {
			return nil, false
		}
		rec = rec[n:]
	}
	if !hasType || typ != uint64(Event_TASK_UPDATED) || update == nil {
		return nil, false
	}
	l.typ = Event_TASK_UPDATED
	var fw, task []byte
	var hasState, hasFramework, hasStatus, hasStatusState, hasTask bool
	for len(update) > 0 {
		num, wt, n := protowire.ConsumeTag(update)
		if n < 0 {
			return nil, false
		}
		update = update[n:]
		switch {
		case num == 1 && wt == protowire.BytesType && !hasFramework:
			var b []byte
			b, n = protowire.ConsumeBytes(update)
			if n >= 0 {
				fw, hasFramework = stringField(b)
			}
		case num == 2 && wt == protowire.BytesType && !hasStatus:
			var b []byte
			b, n = protowire.ConsumeBytes(update)
			if n >= 0 {
				task, hasTask, hasStatusState, hasStatus = l.readStatus(b)
			}
		case num == 3 && wt == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(update)
			l.state, hasState = mesos.TaskState(int32(v)), knownState(v)
		case num <= 3:
			return nil, false // repeated or of another wire type: the full decoder's
		default:
			n = protowire.ConsumeFieldValue(num, wt, update)
		}
		if n < 0 || hasStatus && !hasTask {
			return nil, false
		}
		update = update[n:]
	}
	if !hasState || !hasFramework || !hasStatus || !hasTask || !hasStatusState {
		return nil, false
	}
	// One string for both ids, sliced.
	var sb strings.Builder
	sb.Grow(len(fw) + len(task))
	sb.Write(fw)
	sb.Write(task)
	ids := sb.String()
	l.ids = [2]string{ids[:len(fw)], ids[len(fw):]}
	l.framework.Value = &l.ids[0]
	l.task.Value = &l.ids[1]
	l.status.TaskId = &l.task
	l.status.State = &l.status2
	l.update.FrameworkId = &l.framework
	l.update.Status = &l.status
	l.update.State = &l.state
	l.event.Type = &l.typ
	l.event.TaskUpdated = &l.update
	return &l.event, true
}

// readStatus reads a TaskStatus's task id, state and timestamp into l. ok
// is false when it is malformed or a field it reads is there twice.
func (l *leanTaskUpdate) readStatus(b []byte) (task []byte, hasTask, hasState, ok bool) {
	hasTime := false
	for len(b) > 0 {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, false, false, false
		}
		b = b[n:]
		switch {
		case num == 1 && wt == protowire.BytesType && !hasTask:
			var m []byte
			m, n = protowire.ConsumeBytes(b)
			if n >= 0 {
				task, hasTask = stringField(m)
				if !hasTask {
					return nil, false, false, false
				}
			}
		case num == 2 && wt == protowire.VarintType:
			var v uint64
			v, n = protowire.ConsumeVarint(b)
			l.status2, hasState = mesos.TaskState(int32(v)), knownState(v)
		case num == 6 && wt == protowire.Fixed64Type:
			var v uint64
			v, n = protowire.ConsumeFixed64(b)
			l.timestamp, hasTime = math.Float64frombits(v), true
		case num == 1 || num == 2 || num == 6:
			return nil, false, false, false // repeated or of another wire type
		default:
			n = protowire.ConsumeFieldValue(num, wt, b)
		}
		if n < 0 {
			return nil, false, false, false
		}
		b = b[n:]
	}
	if hasTime {
		l.status.Timestamp = &l.timestamp
	}
	return task, hasTask, hasState, true
}

// knownState reports whether v is a task state this build knows: the full
// decoder keeps another as an unknown field, and then lacks the required
// state.
func knownState(v uint64) bool {
	_, ok := mesos.TaskState_name[int32(v)]
	return ok && uint64(int64(int32(v))) == v
}

// stringField reads a message whose one field is "required string value =
// 1" (an id): the value, and false when it is missing, repeated or
// malformed, or another field is there.
func stringField(b []byte) ([]byte, bool) {
	num, wt, n := protowire.ConsumeTag(b)
	if n < 0 || num != 1 || wt != protowire.BytesType {
		return nil, false
	}
	v, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) {
		return nil, false
	}
	return v, true
}
