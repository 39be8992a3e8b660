package mesos_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// readTestdata returns the contents of testdata/name.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// decodeFile decodes testdata/name into a new message of m's type.
func decodeFile[M proto.Message](t testing.TB, name string, m M) M {
	t.Helper()
	if err := mesos.UnmarshalJSON(readTestdata(t, name), m); err != nil {
		t.Fatalf("UnmarshalJSON(%s) = %v", name, err)
	}
	return m
}

func text(m proto.Message) string {
	return prototext.MarshalOptions{Multiline: true}.Format(m)
}

// TestRoundTrip checks that each payload, written in the master's exact
// form, decodes and re-encodes byte for byte, directly and by way of the
// protobuf encoding.
func TestRoundTrip(t *testing.T) {
	events, _ := filepath.Glob("testdata/event_*.json")
	calls, _ := filepath.Glob("testdata/call_*.json")
	files := append(events, calls...)
	if len(events) == 0 || len(calls) == 0 {
		t.Fatal("no event_*.json or call_*.json in testdata")
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			var m proto.Message = &mesos.Event{}
			if strings.HasPrefix(name, "call_") {
				m = &mesos.Call{}
			}
			data := readTestdata(t, name)
			if err := mesos.UnmarshalJSON(data, m); err != nil {
				t.Fatalf("UnmarshalJSON = %v", err)
			}
			checkSlowPath(t, data, m, nil)
			got, err := mesos.MarshalJSON(m)
			if err != nil {
				t.Fatalf("MarshalJSON = %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("JSON round trip:\n got %s\nwant %s", got, data)
			}

			pb, err := mesos.Marshal(mesos.MediaTypeProtobuf, m)
			if err != nil {
				t.Fatalf("Marshal(protobuf) = %v", err)
			}
			back := m.ProtoReflect().New().Interface()
			if err := mesos.Unmarshal(mesos.MediaTypeProtobuf, pb, back); err != nil {
				t.Fatalf("Unmarshal(protobuf) = %v", err)
			}
			if !proto.Equal(back, m) {
				t.Fatalf("protobuf round trip:\n got %s\nwant %s", text(back), text(m))
			}
			got, err = mesos.Marshal(mesos.MediaTypeJSON, back)
			if err != nil {
				t.Fatalf("Marshal(JSON) = %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("JSON after protobuf:\n got %s\nwant %s", got, data)
			}
		})
	}
}

// TestDocumentedForms checks that calls written the way the API
// documentation writes them (spaces, whole-number doubles, empty arrays,
// defaults left out) decode to the same call as the master's exact form.
func TestDocumentedForms(t *testing.T) {
	const fid = "6b1e0c3a-9f2d-4c1e-8d7a-2f0b5c9e1a44-0000"
	tests := []struct {
		name string
		doc  string
		file string
	}{
		{
			name: "subscribe",
			doc: `{"type":"SUBSCRIBE",
 "subscribe":{
   "framework_info":{
     "user":"root","name":"dash-sched","failover_timeout":604800,
     "checkpoint":true,"hostname":"sched-1","principal":"dash",
     "roles":["dash"],
     "capabilities":[{"type":"MULTI_ROLE"},{"type":"PARTITION_AWARE"},
                     {"type":"TASK_KILLING_STATE"}]},
   "suppressed_roles":[]}}`,
			file: "call_subscribe.json",
		},
		{
			name: "accept launch",
			doc: `{"framework_id":{"value":"` + fid + `"},"type":"ACCEPT",
 "accept":{
  "offer_ids":[{"value":"6b1e0c3a-9f2d-4c1e-8d7a-2f0b5c9e1a44-O17"}],
  "operations":[{"type":"LAUNCH","launch":{"task_infos":[{
     "name":"web","task_id":{"value":"web-1"},
     "agent_id":{"value":"6b1e0c3a-9f2d-4c1e-8d7a-2f0b5c9e1a44-S0"},
     "resources":[
       {"name":"cpus","type":"SCALAR","scalar":{"value":0.5}},
       {"name":"mem","type":"SCALAR","scalar":{"value":128}},
       {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31000}]}}],
     "command":{"shell":true,"value":"python3 -m http.server $PORT0",
                "environment":{"variables":[{"name":"PORT0","value":"31000"}]}}}]}}],
  "filters":{"refuse_seconds":5}}}`,
			file: "call_accept_launch.json",
		},
		{
			name: "reconcile implicit",
			doc:  `{"framework_id":{"value":"` + fid + `"},"type":"RECONCILE","reconcile":{}}`,
			file: "call_reconcile_implicit.json",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got mesos.Call
			if err := mesos.UnmarshalJSON([]byte(tc.doc), &got); err != nil {
				t.Fatalf("UnmarshalJSON = %v", err)
			}
			out, err := mesos.MarshalJSON(&got)
			if err != nil {
				t.Fatalf("MarshalJSON = %v", err)
			}
			if want := readTestdata(t, tc.file); !bytes.Equal(out, want) {
				t.Fatalf("MarshalJSON(decoded documented form):\n got %s\nwant %s", out, want)
			}
		})
	}
}

func TestHeartbeatExact(t *testing.T) {
	ev := &mesos.Event{Type: mesos.Event_HEARTBEAT.Enum()}
	got, err := mesos.MarshalJSON(ev)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"type":"HEARTBEAT"}` {
		t.Fatalf("MarshalJSON(heartbeat) = %s, want {\"type\":\"HEARTBEAT\"}", got)
	}
}

func TestReconcileImplicitKeepsEmptyObject(t *testing.T) {
	call := &mesos.Call{
		FrameworkId: &mesos.FrameworkID{Value: proto.String("f")},
		Type:        mesos.Call_RECONCILE.Enum(),
		Reconcile:   &mesos.Call_Reconcile{},
	}
	got, err := mesos.MarshalJSON(call)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"framework_id":{"value":"f"},"type":"RECONCILE","reconcile":{}}`
	if string(got) != want {
		t.Fatalf("MarshalJSON = %s, want %s", got, want)
	}
}

func TestMediaTypes(t *testing.T) {
	call := decodeFile(t, "call_kill.json", &mesos.Call{})
	for _, mt := range []string{mesos.MediaTypeJSON, mesos.MediaTypeProtobuf} {
		t.Run(mt, func(t *testing.T) {
			data, err := mesos.Marshal(mt, call)
			if err != nil {
				t.Fatalf("Marshal(%q) = %v", mt, err)
			}
			var got mesos.Call
			if err := mesos.Unmarshal(mt, data, &got); err != nil {
				t.Fatalf("Unmarshal(%q) = %v", mt, err)
			}
			if !proto.Equal(&got, call) {
				t.Fatalf("Unmarshal(%q) = %s, want %s", mt, text(&got), text(call))
			}
		})
	}
	for _, mt := range []string{"application/json; charset=utf-8", "Application/JSON", "", "application/recordio"} {
		if _, err := mesos.Marshal(mt, call); !errors.Is(err, mesos.ErrUnknownMediaType) {
			t.Errorf("Marshal(%q) = %v, want ErrUnknownMediaType", mt, err)
		}
		if err := mesos.Unmarshal(mt, []byte("{}"), &mesos.Call{}); !errors.Is(err, mesos.ErrUnknownMediaType) {
			t.Errorf("Unmarshal(%q) = %v, want ErrUnknownMediaType", mt, err)
		}
	}
}

func TestUnmarshalReplacesContents(t *testing.T) {
	ev := decodeFile(t, "event_update_running.json", &mesos.Event{})
	if err := mesos.UnmarshalJSON(readTestdata(t, "event_heartbeat.json"), ev); err != nil {
		t.Fatal(err)
	}
	if ev.Update != nil {
		t.Fatalf("UnmarshalJSON kept an old field: %s", text(ev))
	}
}

func TestProtobufMissingRequired(t *testing.T) {
	// Without task_id and state the status cannot be serialized.
	ev := &mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: &mesos.TaskStatus{}}}
	if _, err := mesos.Marshal(mesos.MediaTypeProtobuf, ev); err == nil {
		t.Fatal("Marshal(protobuf) of a status without task_id succeeded")
	}
}

// TestConcurrentUse decodes and encodes from many goroutines at once, for
// the race detector.
func TestConcurrentUse(t *testing.T) {
	data := readTestdata(t, "event_offers.json")
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 50 {
				var ev mesos.Event
				if err = mesos.UnmarshalJSON(data, &ev); err != nil {
					break
				}
				var out []byte
				if out, err = mesos.MarshalJSON(&ev); err == nil && !bytes.Equal(out, data) {
					err = errors.New("re-encoding differs")
				}
				if err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
