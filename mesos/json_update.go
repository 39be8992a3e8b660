package mesos

import (
	"strconv"
	"sync"
)

// This file decodes the event a framework receives most, a task's status
// UPDATE, without going through the protobuf encoding: at tens of
// thousands a second, transcoding each into protobuf and unmarshalling
// that made 21 allocations for an agent's health check, two fifths of the
// objects the dashboard allocated. The shape every agent and the stand-in
// send (ids, state, source, reason, message, timestamp, uuid, healthy) is
// read into one block; anything else in a status (container_status, labels, ...)
// is decoded by UnmarshalJSON on its own; and anything the general
// decoder would treat specially (a key twice, a null, a value in another
// spelling, an unknown enum name, an error) sends the whole event there.
// The result is always what UnmarshalJSON makes of the same input (see
// FuzzDecodeUpdate).

// updateBlock holds a decoded UPDATE's messages and values, allocated
// together: its pointers point into it.
type updateBlock struct {
	event      Event
	update     Event_Update
	status     TaskStatus
	taskID     TaskID
	agentID    AgentID
	executorID ExecutorID
	typ        Event_Type
	state      TaskState
	source     TaskStatus_Source
	reason     TaskStatus_Reason
	timestamp  float64
	healthy    bool
	// The ids' and the message's values; the strings themselves are
	// allocated apart, so that keeping one does not keep the block.
	taskIDValue, agentIDValue, executorIDValue, message string
}

// decodeEvent decodes one event of the subscription's stream.
func decodeEvent(mediaType string, data []byte) (*Event, error) {
	if mediaType == MediaTypeJSON {
		if e, ok := decodeUpdate(data); ok {
			return e, nil
		}
	}
	e := new(Event)
	if err := Unmarshal(mediaType, data, e); err != nil {
		return nil, err
	}
	return e, nil
}

// decodeUpdate decodes data as a status UPDATE event, reporting false when
// it is something else or is best left to UnmarshalJSON.
func decodeUpdate(data []byte) (*Event, bool) {
	d := decoder{data: data}
	if c, err := d.peek(); err != nil || c != '{' {
		return nil, false
	}
	b := new(updateBlock)
	event, _ := updateInfos()
	var seen uint8
	const (
		seenType = 1 << iota
		seenUpdate
	)
	err := d.object(func(key []byte) error {
		switch string(key) {
		case "type":
			if seen&seenType != 0 || !d.stringIs("UPDATE") {
				return errSlowPath
			}
			seen |= seenType
			b.typ = Event_UPDATE
			b.event.Type = &b.typ
		case "update":
			if seen&seenUpdate != 0 {
				return errSlowPath
			}
			seen |= seenUpdate
			b.event.Update = &b.update
			return d.updateMessage(b)
		default:
			if event.byName[string(key)] != nil {
				return errSlowPath // another kind of event
			}
			return d.skipValue() // ignored, as UnmarshalJSON ignores it
		}
		return nil
	})
	if err != nil || seen != seenType|seenUpdate || d.end() != nil {
		return nil, false
	}
	return &b.event, true
}

// updateInfos are Event's and TaskStatus's field tables (infoFor), looked
// up once, after the generated code has registered the descriptors.
var updateInfos = sync.OnceValues(func() (event, status *messageInfo) {
	return infoFor((&Event{}).ProtoReflect().Descriptor()), infoFor((&TaskStatus{}).ProtoReflect().Descriptor())
})

// stringIs reads a string value and reports whether it is s. Anything but
// a plain string is false, with d left anywhere: the caller gives up.
func (d *decoder) stringIs(s string) bool {
	if d.data[d.pos] != '"' {
		return false
	}
	v, err := d.readString()
	return err == nil && string(v) == s
}

// updateMessage reads Event.Update, whose one field is the status.
func (d *decoder) updateMessage(b *updateBlock) error {
	return d.oneField("status", func() error {
		b.update.Status = &b.status
		return d.statusMessage(b)
	})
}

// oneField walks the object at d.pos for the one field it has (a
// required one), calling read at its value and skipping unknown keys.
// Anything else (not an object, the field twice, or not at all) is left
// to UnmarshalJSON.
func (d *decoder) oneField(name string, read func() error) error {
	if d.data[d.pos] != '{' {
		return errSlowPath
	}
	seen := false
	err := d.object(func(key []byte) error {
		if string(key) != name {
			return d.skipValue()
		}
		if seen {
			return errSlowPath
		}
		seen = true
		return read()
	})
	if err == nil && !seen {
		return errSlowPath
	}
	return err
}

// statusMessage reads a TaskStatus into b.status.
func (d *decoder) statusMessage(b *updateBlock) error {
	if d.data[d.pos] != '{' {
		return errSlowPath
	}
	st := &b.status
	_, status := updateInfos()
	var seen uint64 // field numbers
	err := d.object(func(key []byte) error {
		fi := status.byName[string(key)]
		if fi == nil {
			return d.skipValue() // ignored, as UnmarshalJSON ignores it
		}
		bit := uint64(1) << (fi.fd.Number() % 64)
		if seen&bit != 0 {
			return errSlowPath // the last one wins: UnmarshalJSON knows how
		}
		seen |= bit
		switch string(key) {
		case "task_id":
			st.TaskId = &b.taskID
			return d.idValue(&b.taskIDValue, &b.taskID.Value)
		case "agent_id":
			st.AgentId = &b.agentID
			return d.idValue(&b.agentIDValue, &b.agentID.Value)
		case "executor_id":
			st.ExecutorId = &b.executorID
			return d.idValue(&b.executorIDValue, &b.executorID.Value)
		case "state":
			return enumField(d, TaskState_value, &b.state, &st.State)
		case "source":
			return enumField(d, TaskStatus_Source_value, &b.source, &st.Source)
		case "reason":
			return enumField(d, TaskStatus_Reason_value, &b.reason, &st.Reason)
		case "message":
			s, err := d.fastString()
			if err != nil {
				return err
			}
			b.message, st.Message = string(s), &b.message
		case "timestamp":
			if c := d.data[d.pos]; c != '-' && (c < '0' || c > '9') {
				return errSlowPath
			}
			tok, err := d.readNumber()
			if err != nil {
				return err
			}
			// A range error gives ±Inf or 0, as strtod does; so does
			// UnmarshalJSON.
			b.timestamp, _ = strconv.ParseFloat(string(tok), 64)
			st.Timestamp = &b.timestamp
		case "uuid":
			s, err := d.fastString()
			if err != nil {
				return err
			}
			if st.Uuid, err = decodeBase64(s); err != nil {
				return errSlowPath
			}
		case "healthy":
			switch d.data[d.pos] {
			case 't':
				b.healthy = true
				if err := d.literal("true"); err != nil {
					return err
				}
			case 'f':
				if err := d.literal("false"); err != nil {
					return err
				}
			default:
				return errSlowPath
			}
			st.Healthy = &b.healthy
		default:
			return d.statusField(st, fi)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if st.TaskId == nil || st.State == nil {
		return errSlowPath // UnmarshalJSON says what is missing
	}
	return nil
}

// statusField reads any other field of a TaskStatus: a message field is
// decoded by UnmarshalJSON from its own text; a field of another kind
// (data, a bytes field) is left to it with the whole event.
func (d *decoder) statusField(st *TaskStatus, fi *fieldInfo) error {
	fd := fi.fd
	if fd.Message() == nil || fi.list || fi.isMap || d.data[d.pos] != '{' {
		return errSlowPath
	}
	start := d.pos
	if err := d.skipValue(); err != nil {
		return err
	}
	m := st.ProtoReflect().NewField(fd)
	if err := unmarshalJSON(d.data[start:d.pos], m.Message().Interface(), true); err != nil {
		return errSlowPath // said the way UnmarshalJSON says it, with the path
	}
	st.ProtoReflect().Set(fd, m)
	return nil
}

// fastString reads a JSON string; any other value is left to
// UnmarshalJSON (errSlowPath), which says what is wrong with it.
func (d *decoder) fastString() ([]byte, error) {
	if d.data[d.pos] != '"' {
		return nil, errSlowPath
	}
	return d.readString()
}

// idValue reads an id message ({"value": "..."}) into *value, pointing
// field at it.
func (d *decoder) idValue(value *string, field **string) error {
	return d.oneField("value", func() error {
		s, err := d.fastString()
		if err != nil {
			return err
		}
		*value, *field = string(s), value
		return nil
	})
}

// enumField reads an enum value's name into *value, pointing field at it.
// Anything but a plain string naming one of values (the enum's names) is
// left to UnmarshalJSON.
func enumField[E ~int32](d *decoder, values map[string]int32, value *E, field **E) error {
	s, err := d.fastString()
	if err != nil {
		return err
	}
	v, ok := values[string(s)]
	if !ok {
		return errSlowPath
	}
	*value, *field = E(v), value
	return nil
}
