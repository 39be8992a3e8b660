package mesos_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/offerdeck/offerdeck/mesos"
)

// FuzzUnmarshalJSONEvent feeds arbitrary bytes to UnmarshalJSON. It must
// never panic, and whatever it accepts must encode, and decode again to
// the same event once the defaults the encoder writes are filled in.
func FuzzUnmarshalJSONEvent(f *testing.F) {
	files, err := filepath.Glob("testdata/event_*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		f.Add(readTestdata(f, filepath.Base(path)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev mesos.Event
		err := mesos.UnmarshalJSON(data, &ev)
		checkSlowPath(t, data, &ev, err)
		if err != nil {
			return
		}
		out, err := mesos.MarshalJSON(&ev)
		if err != nil {
			t.Fatalf("MarshalJSON(decoded %q) = %v", data, err)
		}
		var back mesos.Event
		if err := mesos.UnmarshalJSON(out, &back); err != nil {
			t.Fatalf("UnmarshalJSON(%q) = %v, input was %q", out, err, data)
		}
		want := proto.Clone(&ev)
		fillDefaults(want.ProtoReflect())
		if !proto.Equal(&back, want) {
			t.Fatalf("round trip of %q through %q:\n got %s\nwant %s", data, out, text(&back), text(want))
		}
		again, err := mesos.MarshalJSON(&back)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("second encoding = %q, %v; want %q", again, err, out)
		}
	})
}

// fillDefaults sets every unset field that the JSON encoder writes anyway
// (a declared default, not deprecated) to its default, in m and in every
// message below it.
func fillDefaults(m protoreflect.Message) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		dep := fd.Options().(*descriptorpb.FieldOptions).GetDeprecated()
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				m.Get(fd).Map().Range(func(_ protoreflect.MapKey, v protoreflect.Value) bool {
					fillDefaults(v.Message())
					return true
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				l := m.Get(fd).List()
				for j := 0; j < l.Len(); j++ {
					fillDefaults(l.Get(j).Message())
				}
			}
		case fd.Message() != nil:
			if m.Has(fd) {
				fillDefaults(m.Get(fd).Message())
			}
		case !m.Has(fd) && fd.HasDefault() && !dep:
			m.Set(fd, fd.Default())
		}
	}
}
