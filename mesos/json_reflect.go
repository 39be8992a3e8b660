package mesos

import (
	"google.golang.org/protobuf/reflect/protoreflect"
)

// This file holds the slow path of UnmarshalJSON, which sets fields one by
// one through protoreflect; see json_wire.go for when it runs.

// message decodes the object at d.pos into m.
func (d *decoder) message(m protoreflect.Message, mi *messageInfo) error {
	err := d.object(func(key []byte) error {
		fi := mi.byName[string(key)]
		if fi == nil {
			return d.skipValue()
		}
		return d.field(m, fi)
	})
	if err != nil {
		return err
	}
	if !d.missing {
		for _, fi := range mi.required {
			if !m.Has(fi.fd) {
				d.missing = true
				break
			}
		}
	}
	return nil
}

// field decodes the value at d.pos into field fi of m.
func (d *decoder) field(m protoreflect.Message, fi *fieldInfo) error {
	c := d.data[d.pos]
	if c == 'n' {
		if err := d.literal("null"); err != nil {
			return err
		}
		m.Clear(fi.fd)
		return nil
	}
	switch {
	case fi.isMap:
		if m.Has(fi.fd) {
			m.Clear(fi.fd)
		}
		return d.mapField(m.Mutable(fi.fd).Map(), fi)
	case fi.list:
		if m.Has(fi.fd) {
			m.Clear(fi.fd)
		}
		return d.listField(m.Mutable(fi.fd).List(), fi)
	case c == '{':
		if fi.msg == nil {
			return notExpecting("object", fi)
		}
		if m.Has(fi.fd) {
			m.Clear(fi.fd)
		}
		return d.message(m.Mutable(fi.fd).Message(), fi.msg)
	case c == '[':
		return notExpecting("array", fi)
	}
	v, ok, err := d.scalar(fi)
	if err != nil {
		return err
	}
	if ok {
		m.Set(fi.fd, v)
	} else {
		m.Clear(fi.fd)
	}
	return nil
}

func (d *decoder) listField(l protoreflect.List, fi *fieldInfo) error {
	if d.data[d.pos] != '[' {
		return d.listElem(l, fi)
	}
	return d.array(func() error { return d.listElem(l, fi) })
}

func (d *decoder) listElem(l protoreflect.List, fi *fieldInfo) error {
	switch d.data[d.pos] {
	case 'n':
		return d.literal("null")
	case '[':
		return d.listField(l, fi)
	case '{':
		if fi.msg == nil {
			return notExpecting("object", fi)
		}
		el := l.NewElement()
		if err := d.message(el.Message(), fi.msg); err != nil {
			return err
		}
		l.Append(el)
		return nil
	}
	v, ok, err := d.scalar(fi)
	if err != nil {
		return err
	}
	if ok {
		l.Append(v)
	}
	return nil
}

func (d *decoder) mapField(mp protoreflect.Map, fi *fieldInfo) error {
	switch d.data[d.pos] {
	case '{':
		return d.mapObject(mp, fi)
	case '[':
		return d.array(func() error {
			if d.data[d.pos] == 'n' {
				return d.literal("null")
			}
			return d.mapField(mp, fi)
		})
	case '"':
		return notExpecting("string", fi)
	case 't', 'f':
		return notExpecting("boolean", fi)
	}
	return notExpecting("number", fi)
}

func (d *decoder) mapObject(mp protoreflect.Map, fi *fieldInfo) error {
	return d.object(func(key []byte) error {
		kv, ok, err := fromString(fi.mapKey, key)
		if err != nil {
			return err
		}
		vi := fi.mapValue
		switch d.data[d.pos] {
		case 'n':
			return d.literal("null")
		case '{':
			if vi.msg == nil {
				return notExpecting("object", vi)
			}
			v := mp.NewValue()
			if err := d.message(v.Message(), vi.msg); err != nil {
				return err
			}
			if ok {
				mp.Set(kv.MapKey(), v)
			}
			return nil
		case '[':
			return notExpecting("array", vi)
		}
		v, vok, err := d.scalar(vi)
		if err != nil {
			return err
		}
		if ok && vok {
			mp.Set(kv.MapKey(), v)
		}
		return nil
	})
}
