package mesos

import (
	"sort"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// messageInfo is what the JSON codec needs to know about one message type,
// worked out once from its descriptor.
type messageInfo struct {
	fields   []*fieldInfo          // declaration order: the JSON key order
	byNumber []*fieldInfo          // field-number order, as C++ lists set fields
	byName   map[string]*fieldInfo // proto field name to field
	required []*fieldInfo
}

// fieldInfo describes one field, or the key or value of a map field.
type fieldInfo struct {
	fd       protoreflect.FieldDescriptor
	index    int // position in the declaring message
	name     string
	key      []byte // `"name":`
	tag      []byte // protobuf wire tag of one value or element
	kind     protoreflect.Kind
	list     bool
	isMap    bool
	required bool

	// defaultJSON is `"name":<default>`, set only for fields that stout
	// writes even when unset: a declared default on a field that is not
	// deprecated.
	defaultJSON []byte

	msg        *messageInfo // message kinds
	mapKey     *fieldInfo   // map fields
	mapValue   *fieldInfo   // map fields
	enumNames  map[protoreflect.EnumNumber]string
	enumByName map[string]protoreflect.EnumNumber
}

// infos caches messageInfo by descriptor. It only ever grows with entries
// derived from immutable descriptors, so sharing it is safe.
var infos sync.Map // protoreflect.MessageDescriptor -> *messageInfo

func infoFor(md protoreflect.MessageDescriptor) *messageInfo {
	if mi, ok := infos.Load(md); ok {
		return mi.(*messageInfo)
	}
	building := make(map[protoreflect.MessageDescriptor]*messageInfo)
	mi := buildInfo(md, building)
	for d, info := range building {
		infos.LoadOrStore(d, info)
	}
	return mi
}

// buildInfo builds the info for md and every message type reachable from
// it; building holds the ones under way, which makes recursion terminate.
func buildInfo(md protoreflect.MessageDescriptor, building map[protoreflect.MessageDescriptor]*messageInfo) *messageInfo {
	if mi, ok := infos.Load(md); ok {
		return mi.(*messageInfo)
	}
	if mi, ok := building[md]; ok {
		return mi
	}
	fds := md.Fields()
	mi := &messageInfo{byName: make(map[string]*fieldInfo, fds.Len())}
	building[md] = mi
	for i := 0; i < fds.Len(); i++ {
		fi := buildField(fds.Get(i), building)
		fi.index = i
		mi.fields = append(mi.fields, fi)
		mi.byName[fi.name] = fi
		if fi.required {
			mi.required = append(mi.required, fi)
		}
	}
	mi.byNumber = append([]*fieldInfo(nil), mi.fields...)
	sort.Slice(mi.byNumber, func(i, j int) bool {
		return mi.byNumber[i].fd.Number() < mi.byNumber[j].fd.Number()
	})
	return mi
}

func buildField(fd protoreflect.FieldDescriptor, building map[protoreflect.MessageDescriptor]*messageInfo) *fieldInfo {
	fi := &fieldInfo{
		fd:       fd,
		name:     string(fd.Name()),
		kind:     fd.Kind(),
		list:     fd.IsList(),
		isMap:    fd.IsMap(),
		required: fd.Cardinality() == protoreflect.Required,
	}
	fi.key = append(appendQuoted(nil, fi.name), ':')
	fi.tag = protowire.AppendTag(nil, fd.Number(), wireType(fd))
	switch {
	case fi.isMap:
		fi.mapKey = buildField(fd.MapKey(), building)
		fi.mapValue = buildField(fd.MapValue(), building)
	case fi.kind == protoreflect.MessageKind || fi.kind == protoreflect.GroupKind:
		fi.msg = buildInfo(fd.Message(), building)
	case fi.kind == protoreflect.EnumKind:
		values := fd.Enum().Values()
		fi.enumNames = make(map[protoreflect.EnumNumber]string, values.Len())
		fi.enumByName = make(map[string]protoreflect.EnumNumber, values.Len())
		for i := 0; i < values.Len(); i++ {
			v := values.Get(i)
			if _, dup := fi.enumNames[v.Number()]; !dup {
				fi.enumNames[v.Number()] = string(v.Name())
			}
			fi.enumByName[string(v.Name())] = v.Number()
		}
	}
	if fd.HasDefault() && !fi.list && !fi.isMap && !deprecated(fd) {
		// Defaults are scalars of a known enum value, so encoding them
		// cannot fail.
		var e encoder
		e.buf = append(e.buf, fi.key...)
		if err := e.value(fd.Default(), fi); err == nil {
			fi.defaultJSON = e.buf
		}
	}
	return fi
}

func wireType(fd protoreflect.FieldDescriptor) protowire.Type {
	if fd.IsMap() {
		return protowire.BytesType
	}
	switch fd.Kind() {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.VarintType
}

func deprecated(fd protoreflect.FieldDescriptor) bool {
	opts, ok := fd.Options().(*descriptorpb.FieldOptions)
	return ok && opts.GetDeprecated()
}
