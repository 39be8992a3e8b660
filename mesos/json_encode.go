package mesos

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MarshalJSON encodes m the way the Mesos master writes JSON (stout's
// protobuf mapping); see AppendJSON for the rules.
func MarshalJSON(m proto.Message) ([]byte, error) {
	return AppendJSON(make([]byte, 0, 256), m)
}

// AppendJSON appends the JSON encoding of m to dst and returns the extended
// buffer. On error it returns dst unchanged in content (its capacity may
// have been used) and the error.
//
// The encoding is the one the Mesos master produces:
//   - compact, keys are proto field names in declaration order;
//   - set fields are written, and so are unset fields that declare a
//     default and are not deprecated (Filters{} is {"refuse_seconds":5.0});
//   - empty repeated fields and maps are omitted; maps are objects with
//     keys in sorted order (Mesos leaves the order unspecified);
//   - integers are JSON numbers, int64 and uint64 included;
//   - doubles always carry a fraction or an exponent (15.0, 0.5, 1e21),
//     spelled as rapidjson spells them; an infinite double is the string
//     "Infinity" or "-Infinity", as Mesos writes it (it patches rapidjson
//     to quote them); NaN, which Mesos would write as an invalid bare
//     token, is an error;
//   - enums are names; an enum number without a name is an error;
//   - bytes are standard base64 with padding;
//   - strings escape '"', '\\' and control characters; bytes that are not
//     valid UTF-8 are written as U+FFFD, so the output is always valid
//     JSON (Mesos would copy them through).
//
// Required fields are not checked. A message nested deeper than
// UnmarshalJSON accepts is an error. AppendJSON is safe for concurrent use.
func AppendJSON(dst []byte, m proto.Message) ([]byte, error) {
	if m == nil {
		return dst, errors.New("encode JSON: nil message")
	}
	rm := m.ProtoReflect()
	if !rm.IsValid() {
		return dst, fmt.Errorf("encode %s as JSON: nil message", rm.Descriptor().FullName())
	}
	e := encoder{buf: dst}
	if err := e.message(rm, infoFor(rm.Descriptor())); err != nil {
		return dst[:len(dst)], fmt.Errorf("encode %s as JSON: %w", rm.Descriptor().FullName(), err)
	}
	return e.buf, nil
}

type encoder struct {
	buf   []byte
	depth int
}

func (e *encoder) enter() error {
	e.depth++
	if e.depth > maxDepth {
		return fmt.Errorf("nested deeper than %d", maxDepth)
	}
	return nil
}

func (e *encoder) message(m protoreflect.Message, mi *messageInfo) error {
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, '{')
	first := true
	for _, fi := range mi.fields {
		has := m.Has(fi.fd)
		if !has && fi.defaultJSON == nil {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		if !has {
			e.buf = append(e.buf, fi.defaultJSON...)
			continue
		}
		e.buf = append(e.buf, fi.key...)
		var err error
		switch {
		case fi.isMap:
			err = e.mapValue(m.Get(fi.fd).Map(), fi)
		case fi.list:
			err = e.list(m.Get(fi.fd).List(), fi)
		default:
			err = e.value(m.Get(fi.fd), fi)
		}
		if err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	e.depth--
	return nil
}

func (e *encoder) list(l protoreflect.List, fi *fieldInfo) error {
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, '[')
	for i := 0; i < l.Len(); i++ {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(l.Get(i), fi); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	e.depth--
	return nil
}

func (e *encoder) mapValue(mp protoreflect.Map, fi *fieldInfo) error {
	if err := e.enter(); err != nil {
		return err
	}
	keys := make([]protoreflect.MapKey, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	sort.Slice(keys, func(i, j int) bool { return lessMapKey(keys[i], keys[j]) })
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendQuoted(e.buf, k.String())
		e.buf = append(e.buf, ':')
		if err := e.value(mp.Get(k), fi.mapValue); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	e.depth--
	return nil
}

func lessMapKey(a, b protoreflect.MapKey) bool {
	switch v := a.Interface().(type) {
	case string:
		return v < b.String()
	case bool:
		return !v && b.Bool()
	case int32, int64:
		return a.Int() < b.Int()
	default:
		return a.Uint() < b.Uint()
	}
}

// value writes one singular value, or one element of a list, of field fi.
func (e *encoder) value(v protoreflect.Value, fi *fieldInfo) error {
	switch fi.kind {
	case protoreflect.BoolKind:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
		protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			return fmt.Errorf("field '%s' is NaN, which JSON cannot carry", fi.name)
		case math.IsInf(f, 1):
			e.buf = append(e.buf, `"Infinity"`...)
		case math.IsInf(f, -1):
			e.buf = append(e.buf, `"-Infinity"`...)
		default:
			e.buf = appendDouble(e.buf, f)
		}
	case protoreflect.StringKind:
		e.buf = appendQuoted(e.buf, v.String())
	case protoreflect.BytesKind:
		e.buf = append(e.buf, '"')
		e.buf = base64.StdEncoding.AppendEncode(e.buf, v.Bytes())
		e.buf = append(e.buf, '"')
	case protoreflect.EnumKind:
		name, ok := fi.enumNames[v.Enum()]
		if !ok {
			return fmt.Errorf("field '%s' holds enum number %d, which has no name", fi.name, v.Enum())
		}
		e.buf = append(e.buf, '"')
		e.buf = append(e.buf, name...)
		e.buf = append(e.buf, '"')
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return e.message(v.Message(), fi.msg)
	default:
		return fmt.Errorf("field '%s' has unsupported kind %v", fi.name, fi.kind)
	}
	return nil
}
