package master_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/master"
)

// TestEventJSON: operator events read and write as a Mesos master writes
// them (stout's mapping, 3rdparty/stout/include/stout/protobuf.hpp): keys
// in declaration order, enums by name, int64 as exact numbers (these
// nanoseconds exceed 2^53), bytes in base64, unset fields with a declared
// default written (AgentInfo.port). The fixtures are written from those
// rules and the field order of include/mesos/v1/master/master.proto, not
// from our output.
func TestEventJSON(t *testing.T) {
	for _, tc := range []struct {
		name, json string
	}{
		{"task updated", `{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"f-0000"},` +
			`"status":{"task_id":{"value":"web-1"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR",` +
			`"agent_id":{"value":"a-S0"},"timestamp":1700000000.5,"uuid":"AAECAwQFBgcICQoLDA0ODw=="},"state":"TASK_RUNNING"}}`},
		{"agent added", `{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"hostname":"h1","port":5051,"id":{"value":"a-S0"}},` +
			`"active":true,"deactivated":false,"version":"1.11.0","pid":"slave(1)@10.0.0.1:5051",` +
			`"registered_time":{"nanoseconds":1700000000123456789},` +
			`"total_resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":8.0}}],` +
			`"capabilities":[{"type":"HIERARCHICAL_ROLE"},{"type":"MULTI_ROLE"}]}}}`},
		{"framework removed", `{"type":"FRAMEWORK_REMOVED","framework_removed":{"framework_info":{"user":"root","name":"batch",` +
			`"id":{"value":"f-0001"},"failover_timeout":0.0,"checkpoint":false,"role":"*"}}}`},
		{"heartbeat", `{"type":"HEARTBEAT"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := new(master.Event)
			if err := mesos.UnmarshalJSON([]byte(tc.json), e); err != nil {
				t.Fatalf("UnmarshalJSON: %v", err)
			}
			got, err := mesos.MarshalJSON(e)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.json {
				t.Errorf("MarshalJSON =\n%s\nwant\n%s", got, tc.json)
			}
			// The same event survives protobuf, as the other media type.
			b, err := proto.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			back := new(master.Event)
			if err := proto.Unmarshal(b, back); err != nil || !proto.Equal(back, e) {
				t.Errorf("protobuf round trip = %v, %v; want %v", back, err, e)
			}
		})
	}
}

// TestEventJSONInput: what the master accepts, a client reading JSON from
// any Mesos accepts too: integers as strings, unknown keys ignored, and
// the exact value of a large int64.
func TestEventJSONInput(t *testing.T) {
	e := new(master.Event)
	in := `{"type":"AGENT_ADDED","future_field":[1,2],"agent_added":{"agent":{"agent_info":{"hostname":"h1"},` +
		`"active":true,"version":"1.11.0","registered_time":{"nanoseconds":"1700000000123456789"}}}}`
	if err := mesos.UnmarshalJSON([]byte(in), e); err != nil {
		t.Fatal(err)
	}
	if got := e.GetAgentAdded().GetAgent().GetRegisteredTime().GetNanoseconds(); got != 1700000000123456789 {
		t.Errorf("registered_time = %d, want 1700000000123456789", got)
	}
	missing := `{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"hostname":"h1"},"active":true}}}`
	if err := mesos.UnmarshalJSON([]byte(missing), new(master.Event)); err == nil {
		t.Error("an Agent without its required version decoded without error")
	}
}
