package mesos

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// Media types the master accepts in Content-Type and Accept. The master
// compares them byte for byte, so no parameters may be added.
const (
	MediaTypeJSON     = "application/json"
	MediaTypeProtobuf = "application/x-protobuf"
)

// ErrUnknownMediaType is wrapped by Marshal and Unmarshal when asked for a
// media type other than MediaTypeJSON or MediaTypeProtobuf.
var ErrUnknownMediaType = errors.New("unknown media type")

// Marshal encodes m in the given media type: MediaTypeJSON uses
// MarshalJSON, MediaTypeProtobuf uses proto.Marshal (which fails when a
// required field is unset). The media type must match exactly.
func Marshal(mediaType string, m proto.Message) ([]byte, error) {
	switch mediaType {
	case MediaTypeJSON:
		return MarshalJSON(m)
	case MediaTypeProtobuf:
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("marshal %q: %w", mediaType, ErrUnknownMediaType)
}

// Unmarshal decodes data in the given media type into m, replacing its
// contents: MediaTypeJSON uses UnmarshalJSON, MediaTypeProtobuf uses
// proto.Unmarshal. Both fail when a required field is missing. The media
// type must match exactly.
func Unmarshal(mediaType string, data []byte, m proto.Message) error {
	switch mediaType {
	case MediaTypeJSON:
		return UnmarshalJSON(data, m)
	case MediaTypeProtobuf:
		return proto.Unmarshal(data, m)
	}
	return fmt.Errorf("unmarshal %q: %w", mediaType, ErrUnknownMediaType)
}
