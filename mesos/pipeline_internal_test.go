package mesos

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestAcknowledgeJSONAsAppendJSON: the acknowledgement the pipeline
// writes by hand is byte for byte what the generic encoder writes, for
// ids that need escaping and uuids of any bytes.
func TestAcknowledgeJSONAsAppendJSON(t *testing.T) {
	ids := []string{"", "t1", `quote " and \ backslash`, "tab\tnewline\ncontrol\x01\x1f del\x7f", "é ünïcödé 🚀", "invalid \xff\xfe utf-8", "<script>&amp;</script>", "\u2028\u2029"}
	uuids := [][]byte{{}, {1, 2, 3}, {0xff, 0xfe, 0, '"'}, make([]byte, 16)}
	for i, id := range ids {
		for _, uuid := range uuids {
			a := &Call_Acknowledge{AgentId: &AgentID{Value: proto.String(ids[(i+3)%len(ids)])}, TaskId: &TaskID{Value: proto.String(id)}, Uuid: uuid}
			framework := ids[(i+1)%len(ids)]
			if !plainAck(a) {
				t.Fatalf("plainAck(%v) = false", a)
			}
			want, err := Marshal(MediaTypeJSON, &Call{Type: Call_ACKNOWLEDGE.Enum(), Acknowledge: a, FrameworkId: &FrameworkID{Value: proto.String(framework)}})
			if err != nil {
				t.Fatal(err)
			}
			if got := appendAcknowledgeJSON(nil, framework, a); string(got) != string(want) {
				t.Errorf("acknowledgement of task %q, uuid %x:\n got %s\nwant %s", id, uuid, got, want)
			}
		}
	}
	for _, a := range []*Call_Acknowledge{
		{TaskId: &TaskID{Value: proto.String("t")}, Uuid: []byte{1}},
		{AgentId: &AgentID{Value: proto.String("a")}, Uuid: []byte{1}},
		{AgentId: &AgentID{Value: proto.String("a")}, TaskId: &TaskID{Value: proto.String("t")}},
		{AgentId: &AgentID{}, TaskId: &TaskID{Value: proto.String("t")}, Uuid: []byte{1}},
	} {
		if plainAck(a) {
			t.Errorf("plainAck(%v) = true, want false: a field is missing", a)
		}
	}
}

// BenchmarkAcknowledgeBody compares the two ways an acknowledgement's JSON
// body is written: by the generic encoder (what every other call uses)
// and by hand, as the pipeline does for each update.
func BenchmarkAcknowledgeBody(b *testing.B) {
	a := &Call_Acknowledge{AgentId: &AgentID{Value: proto.String("1c3a3ad8-7e3f-4f5b-9a43-6d0c2c6e9a1b-S12")},
		TaskId: &TaskID{Value: proto.String("web-3f9a2c")}, Uuid: []byte("0123456789abcdef")}
	const framework = "1c3a3ad8-7e3f-4f5b-9a43-6d0c2c6e9a1b-0000"
	b.Run("generic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			call := &Call{Type: Call_ACKNOWLEDGE.Enum(), Acknowledge: a, FrameworkId: &FrameworkID{Value: proto.String(framework)}}
			if _, err := Marshal(MediaTypeJSON, call); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("by-hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if plainAck(a) {
				appendAcknowledgeJSON(nil, framework, a)
			}
		}
	})
}
