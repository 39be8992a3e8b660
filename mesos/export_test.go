package mesos

import "google.golang.org/protobuf/proto"

// UnmarshalJSONSlow decodes as UnmarshalJSON does but always by setting
// fields through protoreflect, so tests can hold the fast path to it.
func UnmarshalJSONSlow(data []byte, m proto.Message) error {
	return unmarshalJSON(data, m, false)
}

// Pipelined is how many acknowledgements AcknowledgeAll's pipeline
// settled, so tests can tell it from the one-at-a-time path.
func (c *Client) Pipelined() int64 { return c.pipelined.Load() }

// DecodeEvent decodes one event of the subscription's stream as the
// client does, reporting whether the UPDATE fast path decoded it.
func DecodeEvent(mediaType string, data []byte) (e *Event, fast bool, err error) {
	if mediaType == MediaTypeJSON {
		if e, ok := decodeUpdate(data); ok {
			return e, true, nil
		}
	}
	e, err = decodeEvent(mediaType, data)
	return e, false, err
}
