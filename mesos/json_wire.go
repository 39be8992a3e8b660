package mesos

import (
	"encoding/binary"
	"errors"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The fast path of UnmarshalJSON transcodes JSON straight into the
// protobuf binary encoding and lets proto.Unmarshal build the message,
// which costs far less than setting fields one by one through
// protoreflect. The binary encoding cannot express "the last key wins" for
// a repeated or message field, so an object that names a field twice sends
// the whole input down the slow path (decoder.message), which gives the
// same result for everything else.

// errSlowPath asks UnmarshalJSON to decode through protoreflect instead.
var errSlowPath = errors.New("decode through protoreflect")

// wireMessage transcodes the object at d.pos, a message of type mi, into
// d.out.
func (d *decoder) wireMessage(mi *messageInfo) error {
	var seen, set uint64 // bit i stands for mi.fields[i]
	next := 0            // the master writes fields in declaration order
	err := d.object(func(key []byte) error {
		var fi *fieldInfo
		if next < len(mi.fields) && mi.fields[next].name == string(key) {
			fi = mi.fields[next]
		} else if fi = mi.byName[string(key)]; fi == nil {
			return d.skipValue()
		}
		next = fi.index + 1
		if fi.index >= 64 || seen&(1<<fi.index) != 0 {
			return errSlowPath
		}
		seen |= 1 << fi.index
		ok, err := d.wireField(fi)
		if ok {
			set |= 1 << fi.index
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, fi := range mi.required {
		if set&(1<<fi.index) == 0 {
			d.missing = true
		}
	}
	return nil
}

// wireField transcodes the value at d.pos for field fi; ok reports whether
// it set the field.
func (d *decoder) wireField(fi *fieldInfo) (ok bool, err error) {
	c := d.data[d.pos]
	switch {
	case c == 'n':
		return false, d.literal("null")
	case fi.kind == protoreflect.GroupKind:
		return false, errSlowPath
	case fi.isMap:
		return true, d.wireMap(fi)
	case fi.list:
		return true, d.wireList(fi)
	case c == '{':
		if fi.msg == nil {
			return false, notExpecting("object", fi)
		}
		return true, d.wireSubmessage(fi, fi.msg)
	case c == '[':
		return false, notExpecting("array", fi)
	}
	return d.wireScalar(fi)
}

// wireSubmessage writes the object at d.pos as a length-delimited field.
func (d *decoder) wireSubmessage(fi *fieldInfo, mi *messageInfo) error {
	d.out = append(d.out, fi.tag...)
	mark := d.openLength()
	if err := d.wireMessage(mi); err != nil {
		return err
	}
	d.closeLength(mark)
	return nil
}

// openLength reserves one byte for a length prefix and returns its place.
func (d *decoder) openLength() int {
	d.out = append(d.out, 0)
	return len(d.out) - 1
}

// closeLength writes the length of everything after mark into the prefix
// reserved there, moving the contents when the length needs more than one
// byte.
func (d *decoder) closeLength(mark int) {
	n := len(d.out) - mark - 1
	if n < 0x80 {
		d.out[mark] = byte(n)
		return
	}
	size := protowire.SizeVarint(uint64(n))
	d.out = append(d.out, make([]byte, size-1)...)
	copy(d.out[mark+size:], d.out[mark+1:mark+1+n])
	protowire.AppendVarint(d.out[mark:mark], uint64(n))
}

func (d *decoder) wireList(fi *fieldInfo) error {
	if d.data[d.pos] != '[' {
		return d.wireListElem(fi)
	}
	return d.array(func() error { return d.wireListElem(fi) })
}

func (d *decoder) wireListElem(fi *fieldInfo) error {
	switch d.data[d.pos] {
	case 'n':
		return d.literal("null")
	case '[':
		return d.wireList(fi)
	case '{':
		if fi.msg == nil {
			return notExpecting("object", fi)
		}
		return d.wireSubmessage(fi, fi.msg)
	}
	_, err := d.wireScalar(fi)
	return err
}

func (d *decoder) wireMap(fi *fieldInfo) error {
	switch d.data[d.pos] {
	case '{':
		return d.wireMapObject(fi)
	case '[':
		return d.array(func() error {
			if d.data[d.pos] == 'n' {
				return d.literal("null")
			}
			return d.wireMap(fi)
		})
	case '"':
		return notExpecting("string", fi)
	case 't', 'f':
		return notExpecting("boolean", fi)
	}
	return notExpecting("number", fi)
}

// wireMapObject writes each member of the object at d.pos as a map entry,
// a message holding the key as field 1 and the value as field 2.
func (d *decoder) wireMapObject(fi *fieldInfo) error {
	ki, vi := fi.mapKey, fi.mapValue
	return d.object(func(key []byte) error {
		if d.data[d.pos] == 'n' {
			return d.literal("null")
		}
		start := len(d.out)
		d.out = append(d.out, fi.tag...)
		mark := d.openLength()
		if ki.kind == protoreflect.StringKind {
			d.out = append(d.out, ki.tag...)
			d.out = protowire.AppendBytes(d.out, key)
		} else {
			kv, _, err := fromString(ki, key)
			if err != nil {
				return err
			}
			d.appendValue(ki, kv)
		}
		switch d.data[d.pos] {
		case '{':
			if vi.msg == nil {
				return notExpecting("object", vi)
			}
			if err := d.wireSubmessage(vi, vi.msg); err != nil {
				return err
			}
		case '[':
			return notExpecting("array", vi)
		default:
			ok, err := d.wireScalar(vi)
			if err != nil {
				return err
			}
			if !ok {
				d.out = d.out[:start]
				return nil
			}
		}
		d.closeLength(mark)
		return nil
	})
}

// wireScalar transcodes the string, number or boolean at d.pos for fi;
// ok is false when the value is dropped (an unknown enum name).
func (d *decoder) wireScalar(fi *fieldInfo) (ok bool, err error) {
	if fi.kind == protoreflect.StringKind && d.data[d.pos] == '"' {
		s, err := d.readString()
		if err != nil {
			return false, err
		}
		d.out = append(d.out, fi.tag...)
		d.out = protowire.AppendBytes(d.out, s)
		return true, nil
	}
	v, ok, err := d.scalar(fi)
	if err != nil || !ok {
		return false, err
	}
	d.appendValue(fi, v)
	return true, nil
}

// appendValue writes one scalar value of fi with its tag.
func (d *decoder) appendValue(fi *fieldInfo, v protoreflect.Value) {
	b := append(d.out, fi.tag...)
	switch fi.kind {
	case protoreflect.BoolKind:
		b = protowire.AppendVarint(b, protowire.EncodeBool(v.Bool()))
	case protoreflect.EnumKind:
		b = protowire.AppendVarint(b, uint64(v.Enum()))
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		b = protowire.AppendVarint(b, uint64(v.Int()))
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		b = protowire.AppendVarint(b, protowire.EncodeZigZag(v.Int()))
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		b = protowire.AppendVarint(b, v.Uint())
	case protoreflect.Fixed32Kind:
		b = binary.LittleEndian.AppendUint32(b, uint32(v.Uint()))
	case protoreflect.Sfixed32Kind:
		b = binary.LittleEndian.AppendUint32(b, uint32(v.Int()))
	case protoreflect.FloatKind:
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v.Float())))
	case protoreflect.Fixed64Kind:
		b = binary.LittleEndian.AppendUint64(b, v.Uint())
	case protoreflect.Sfixed64Kind:
		b = binary.LittleEndian.AppendUint64(b, uint64(v.Int()))
	case protoreflect.DoubleKind:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float()))
	case protoreflect.StringKind:
		b = protowire.AppendString(b, v.String())
	case protoreflect.BytesKind:
		b = protowire.AppendBytes(b, v.Bytes())
	}
	d.out = b
}
