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
