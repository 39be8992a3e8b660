package mesos

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxDepth bounds how deeply objects and arrays may nest, in decoding and
// encoding alike. It is the master's own limit; real payloads stay below 20.
const maxDepth = 100

// SyntaxError reports input that is not well-formed JSON, or that nests
// deeper than the decoder allows. The master answers such a body with
// "Failed to parse body into JSON: ..."; every other UnmarshalJSON error is
// a mapping error ("Failed to convert JSON into Call protobuf: ...").
type SyntaxError struct {
	Offset int    // byte offset in the input where the problem was found
	Msg    string // what was wrong
}

// Error returns the message and the offset.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.Msg, e.Offset)
}

// UnmarshalJSON decodes JSON into m, replacing its contents, the way the
// Mesos master reads JSON (stout's protobuf mapping):
//   - keys are matched exactly against proto field names; unknown keys,
//     including camelCase spellings, are ignored after a syntax check;
//   - null leaves a field unset; when a key repeats, the last one wins;
//   - integers come from a JSON number or a string holding one; the value
//     must be integral and fit the field (so a 20-digit int64 is an error,
//     while any uint64 up to 18446744073709551615 is accepted), and int64
//     values keep every digit;
//   - doubles come from a number, a numeric string, "Infinity" or
//     "-Infinity"; NaN is not accepted in any spelling, and numbers too
//     large for a double become infinite as strtod makes them;
//   - bools come from true, false, "true" or "false";
//   - enums come only from their name; a JSON number is an error, an
//     unknown name leaves an optional field unset, drops that element of a
//     repeated field, and is an error for a required field;
//   - bytes come from standard base64, read as leniently as stout reads
//     it: padding optional, white space ignored, the first '=' ends it;
//   - arrays are accepted only for repeated and map fields, where nested
//     arrays are flattened and a single non-array value counts as one
//     element, as in stout;
//   - objects are accepted for messages and maps (map values follow the
//     value type, so limits are {"cpus":{"value":2.0}}; a null value
//     leaves its key out);
//   - strings may hold any JSON escape except an unpaired surrogate, a
//     syntax error as in Mesos; invalid UTF-8 becomes U+FFFD, so a
//     decoded string always re-encodes unchanged.
//
// Afterwards every required field of every message present must be set,
// otherwise the error is "Missing required fields: " and the dotted paths,
// in the order protobuf's C++ InitializationErrorString uses
// (subscribe.framework_info.user, offers[0].id). Mapping errors carry
// stout's exact texts, such as "Not expecting a JSON string for field
// 'framework_id'", which is why they start with a capital letter.
// Malformed JSON is a *SyntaxError, and wins over a mapping error found
// earlier in the same input, because Mesos parses all the text first.
// After an error the contents of m are unspecified.
//
// UnmarshalJSON never panics on bad input and is safe for concurrent use
// on distinct messages.
func UnmarshalJSON(data []byte, m proto.Message) error {
	return unmarshalJSON(data, m, true)
}

// unmarshalJSON tries the fast path first when fast is set.
func unmarshalJSON(data []byte, m proto.Message, fast bool) error {
	if m == nil {
		return errors.New("decode JSON: nil message")
	}
	rm := m.ProtoReflect()
	if !rm.IsValid() {
		return fmt.Errorf("decode JSON into %s: nil message", rm.Descriptor().FullName())
	}
	proto.Reset(m)
	mi := infoFor(rm.Descriptor())
	err := errSlowPath
	if fast {
		d := decoder{data: data, out: make([]byte, 0, len(data))}
		err = d.wireTop(rm, mi)
	}
	if errors.Is(err, errSlowPath) {
		proto.Reset(m)
		d := decoder{data: data}
		err = d.top(rm, mi)
	}
	if err == nil {
		return nil
	}
	var se *SyntaxError
	if !errors.As(err, &se) {
		if serr := validate(data); serr != nil {
			return serr
		}
	}
	return err
}

type decoder struct {
	data    []byte
	pos     int
	depth   int
	missing bool   // some message lacks a required field
	scratch []byte // unescaped strings; valid until the next string is read
	out     []byte // the protobuf encoding, on the fast path
}

// wireTop decodes through the protobuf encoding (see json_wire.go).
func (d *decoder) wireTop(m protoreflect.Message, mi *messageInfo) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c != '{' {
		return d.top(m, mi)
	}
	if err := d.wireMessage(mi); err != nil {
		return err
	}
	if err := d.end(); err != nil {
		return err
	}
	opts := proto.UnmarshalOptions{AllowPartial: true, Merge: true}
	if err := opts.Unmarshal(d.out, m.Interface()); err != nil {
		// The encoding was built from the descriptor, so this is a bug.
		return fmt.Errorf("decode transcoded %s: %w", m.Descriptor().FullName(), err)
	}
	if d.missing {
		return missingFields(m, mi)
	}
	return nil
}

// top decodes by setting fields through protoreflect.
func (d *decoder) top(m protoreflect.Message, mi *messageInfo) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c != '{' {
		if err := d.skipValue(); err != nil {
			return err
		}
		if err := d.end(); err != nil {
			return err
		}
		return errors.New("Expecting a JSON object")
	}
	if err := d.message(m, mi); err != nil {
		return err
	}
	if err := d.end(); err != nil {
		return err
	}
	if d.missing {
		return missingFields(m, mi)
	}
	return nil
}

// missingFields builds the "Missing required fields" error for m.
func missingFields(m protoreflect.Message, mi *messageInfo) error {
	var paths []string
	collectMissing(m, mi, "", &paths)
	return errors.New("Missing required fields: " + strings.Join(paths, ", "))
}

// collectMissing lists unset required fields as protobuf's C++
// FindInitializationErrors does: m's own, in declaration order, then those
// of its set message fields, in field-number order. Map entries count in
// sorted key order, as "field[i].value.".
func collectMissing(m protoreflect.Message, mi *messageInfo, prefix string, out *[]string) {
	for _, fi := range mi.required {
		if !m.Has(fi.fd) {
			*out = append(*out, prefix+fi.name)
		}
	}
	for _, fi := range mi.byNumber {
		if !m.Has(fi.fd) {
			continue
		}
		switch {
		case fi.isMap:
			if fi.mapValue.msg == nil {
				continue
			}
			mp := m.Get(fi.fd).Map()
			keys := make([]protoreflect.MapKey, 0, mp.Len())
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			sort.Slice(keys, func(i, j int) bool { return lessMapKey(keys[i], keys[j]) })
			for j, k := range keys {
				p := prefix + fi.name + "[" + strconv.Itoa(j) + "].value."
				collectMissing(mp.Get(k).Message(), fi.mapValue.msg, p, out)
			}
		case fi.msg == nil:
		case fi.list:
			l := m.Get(fi.fd).List()
			for j := 0; j < l.Len(); j++ {
				p := prefix + fi.name + "[" + strconv.Itoa(j) + "]."
				collectMissing(l.Get(j).Message(), fi.msg, p, out)
			}
		default:
			collectMissing(m.Get(fi.fd).Message(), fi.msg, prefix+fi.name+".", out)
		}
	}
}
