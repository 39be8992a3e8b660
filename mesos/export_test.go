package mesos

import "google.golang.org/protobuf/proto"

// UnmarshalJSONSlow decodes as UnmarshalJSON does but always by setting
// fields through protoreflect, so tests can hold the fast path to it.
func UnmarshalJSONSlow(data []byte, m proto.Message) error {
	return unmarshalJSON(data, m, false)
}
