package mesos_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

func TestUnmarshalJSONRules(t *testing.T) {
	task := `"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"}`
	tests := []struct {
		name string
		msg  proto.Message // decoded into
		in   string
		want string // MarshalJSON of the result when no error is expected
		err  string // exact error text when an error is expected
	}{
		// Integers.
		{name: "int64 number", msg: &mesos.TimeInfo{}, in: `{"nanoseconds":1732240000123456789}`, want: `{"nanoseconds":1732240000123456789}`},
		{name: "int64 string", msg: &mesos.TimeInfo{}, in: `{"nanoseconds":"1732240000123456789"}`, want: `{"nanoseconds":1732240000123456789}`},
		{name: "int64 min", msg: &mesos.TimeInfo{}, in: `{"nanoseconds":-9223372036854775808}`, want: `{"nanoseconds":-9223372036854775808}`},
		{name: "int64 above max", msg: &mesos.TimeInfo{}, in: `{"nanoseconds":9223372036854775808}`, err: "Failed to convert '9223372036854775808' to int64 for field 'nanoseconds': out of range"},
		{name: "int64 20 digits", msg: &mesos.TimeInfo{}, in: `{"nanoseconds":12345678901234567890}`, err: "Failed to convert '12345678901234567890' to int64 for field 'nanoseconds': out of range"},
		{name: "int64 20 digits string", msg: &mesos.TimeInfo{}, in: `{"nanoseconds":"12345678901234567890"}`, err: "Failed to convert '12345678901234567890' to int64 for field 'nanoseconds': out of range"},
		{name: "int64 30 digits", msg: &mesos.TimeInfo{}, in: `{"nanoseconds":123456789012345678901234567890}`, err: "Failed to convert '123456789012345678901234567890' to int64 for field 'nanoseconds': out of range"},
		{name: "int64 huge exponent", msg: &mesos.TimeInfo{}, in: `{"nanoseconds":1e400}`, err: "Failed to convert '1e400' to int64 for field 'nanoseconds': out of range"},
		{name: "int64 not a number string", msg: &mesos.TimeInfo{}, in: `{"nanoseconds":"12abc"}`, err: "Failed to parse '12abc' as a JSON number for field 'nanoseconds'"},
		{name: "uint64 max", msg: &mesos.Value_Range{}, in: `{"begin":18446744073709551615,"end":"18446744073709551615"}`, want: `{"begin":18446744073709551615,"end":18446744073709551615}`},
		{name: "uint64 above max", msg: &mesos.Value_Range{}, in: `{"begin":18446744073709551616,"end":1}`, err: "Failed to convert '18446744073709551616' to uint64 for field 'begin': out of range"},
		{name: "uint64 negative", msg: &mesos.Value_Range{}, in: `{"begin":-1,"end":1}`, err: "Failed to convert '-1' to uint64 for field 'begin': out of range"},
		{name: "uint64 minus zero", msg: &mesos.Value_Range{}, in: `{"begin":-0,"end":1}`, want: `{"begin":0,"end":1}`},
		{name: "int32 max", msg: &mesos.Address{}, in: `{"port":2147483647}`, want: `{"port":2147483647}`},
		{name: "int32 min", msg: &mesos.Address{}, in: `{"port":-2147483648}`, want: `{"port":-2147483648}`},
		{name: "int32 overflow", msg: &mesos.Address{}, in: `{"port":2147483648}`, err: "Failed to convert '2147483648' to int32 for field 'port': out of range"},
		{name: "uint32 overflow", msg: &mesos.MasterInfo{}, in: `{"id":"m","ip":4294967296}`, err: "Failed to convert '4294967296' to uint32 for field 'ip': out of range"},
		{name: "integral fraction", msg: &mesos.Address{}, in: `{"port":5050.0}`, want: `{"port":5050}`},
		{name: "integral exponent", msg: &mesos.Address{}, in: `{"port":5.05e3}`, want: `{"port":5050}`},
		{name: "fraction for integer", msg: &mesos.Address{}, in: `{"port":1.5}`, err: "Failed to convert '1.5' to int32 for field 'port': not an integer"},
		{name: "bool for integer", msg: &mesos.Address{}, in: `{"port":true}`, err: "Not expecting a JSON boolean for field 'port'"},

		// Doubles.
		{name: "double numeric string", msg: &mesos.Filters{}, in: `{"refuse_seconds":"3600"}`, want: `{"refuse_seconds":3600.0}`},
		{name: "double string with spaces", msg: &mesos.Filters{}, in: `{"refuse_seconds":" 2.5 "}`, want: `{"refuse_seconds":2.5}`},
		{name: "double integer", msg: &mesos.Filters{}, in: `{"refuse_seconds":5}`, want: `{"refuse_seconds":5.0}`},
		{name: "double Infinity", msg: &mesos.Value_Scalar{}, in: `{"value":"Infinity"}`, want: `{"value":"Infinity"}`},
		{name: "double -Infinity", msg: &mesos.Value_Scalar{}, in: `{"value":"-Infinity"}`, want: `{"value":"-Infinity"}`},
		{name: "double overflow", msg: &mesos.Value_Scalar{}, in: `{"value":1e400}`, want: `{"value":"Infinity"}`},
		{name: "double NaN", msg: &mesos.Value_Scalar{}, in: `{"value":"NaN"}`, err: "Failed to parse 'NaN' as a JSON number for field 'value'"},
		{name: "double bare NaN", msg: &mesos.Value_Scalar{}, in: `{"value":NaN}`, err: `syntax`},
		{name: "double bare Infinity", msg: &mesos.Value_Scalar{}, in: `{"value":Infinity}`, err: `syntax`},
		{name: "double lower-case infinity", msg: &mesos.Value_Scalar{}, in: `{"value":"infinity"}`, err: "Failed to parse 'infinity' as a JSON number for field 'value'"},

		// Bools.
		{name: "bool string", msg: &mesos.CommandInfo{}, in: `{"shell":"false"}`, want: `{"shell":false}`},
		{name: "bool bad string", msg: &mesos.CommandInfo{}, in: `{"shell":"yes"}`, err: "Failed to parse 'yes' as a JSON boolean for field 'shell'"},
		{name: "bool number", msg: &mesos.CommandInfo{}, in: `{"shell":1}`, err: "Not expecting a JSON number for field 'shell'"},

		// Enums.
		{name: "enum name", msg: &mesos.Event{}, in: `{"type":"HEARTBEAT"}`, want: `{"type":"HEARTBEAT"}`},
		{name: "enum number", msg: &mesos.Event{}, in: `{"type":8}`, err: "Not expecting a JSON number for field 'type'"},
		{name: "enum numeric string", msg: &mesos.Event{}, in: `{"type":"8"}`, want: `{}`},
		{name: "enum unknown optional", msg: &mesos.Event{}, in: `{"type":"NOT_A_TYPE"}`, want: `{}`},
		{name: "enum unknown replaces earlier", msg: &mesos.Event{}, in: `{"type":"HEARTBEAT","type":"NOT_A_TYPE"}`, want: `{}`},
		{name: "enum unknown required", msg: &mesos.Resource{}, in: `{"name":"x","type":"BOGUS"}`, err: "Failed to find enum for 'BOGUS'"},
		{name: "enum unknown repeated", msg: &mesos.CapabilityInfo{}, in: `{"capabilities":["CHOWN","FLY","KILL"]}`, want: `{"capabilities":["CHOWN","KILL"]}`},
		{name: "enum unknown in repeated message", msg: &mesos.FrameworkInfo{}, in: `{"user":"u","name":"n","capabilities":[{"type":"FUTURE"},{"type":"MULTI_ROLE"}]}`,
			want: `{"user":"u","name":"n","failover_timeout":0.0,"checkpoint":false,"capabilities":[{},{"type":"MULTI_ROLE"}]}`},
		{name: "enum lower case", msg: &mesos.Event{}, in: `{"type":"heartbeat"}`, want: `{}`},

		// Keys, null, duplicates.
		{name: "unknown key", msg: &mesos.Event{}, in: `{"future":{"a":[1,2.5,"x",true,null,{"b":{}}]},"type":"HEARTBEAT"}`, want: `{"type":"HEARTBEAT"}`},
		{name: "camelCase key", msg: &mesos.Call{}, in: `{"type":"SUBSCRIBE","subscribe":{"frameworkInfo":{"user":"root","name":"x"}}}`, err: "Missing required fields: subscribe.framework_info"},
		{name: "null", msg: &mesos.Event{}, in: `{"type":null,"update":null}`, want: `{}`},
		{name: "null replaces earlier", msg: &mesos.Event{}, in: `{"type":"ERROR","type":null}`, want: `{}`},
		{name: "null in array", msg: &mesos.Call_Revive{}, in: `{"roles":["a",null,"b"]}`, want: `{"roles":["a","b"]}`},
		{name: "duplicate key", msg: &mesos.Call_Revive{}, in: `{"roles":["a"],"roles":["b","c"]}`, want: `{"roles":["b","c"]}`},
		{name: "duplicate message key", msg: &mesos.Address{}, in: `{"port":1,"hostname":"a","hostname":"b"}`, want: `{"hostname":"b","port":1}`},
		{name: "empty object", msg: &mesos.Call_Reconcile{}, in: `{}`, want: `{}`},
		{name: "white space", msg: &mesos.Event{}, in: " \t\r\n{ \"type\" : \"HEARTBEAT\" } \n", want: `{"type":"HEARTBEAT"}`},

		// Shapes.
		{name: "string for message", msg: &mesos.Call{}, in: `{"framework_id":"abc"}`, err: "Not expecting a JSON string for field 'framework_id'"},
		{name: "number for message", msg: &mesos.Call{}, in: `{"framework_id":1}`, err: "Not expecting a JSON number for field 'framework_id'"},
		{name: "array for singular", msg: &mesos.Call{}, in: `{"framework_id":[{"value":"x"}]}`, err: "Not expecting a JSON array for field 'framework_id'"},
		{name: "object for enum", msg: &mesos.Call{}, in: `{"type":{}}`, err: "Not expecting a JSON object for field 'type'"},
		{name: "object in string list", msg: &mesos.Call_Revive{}, in: `{"roles":[{}]}`, err: "Not expecting a JSON object for field 'roles'"},
		{name: "boolean for string", msg: &mesos.Event_Error{}, in: `{"message":true}`, err: "Not expecting a JSON boolean for field 'message'"},
		{name: "single value for repeated", msg: &mesos.Call_Revive{}, in: `{"roles":"dash"}`, want: `{"roles":["dash"]}`},
		{name: "single object for repeated", msg: &mesos.Call_Decline{}, in: `{"offer_ids":{"value":"o1"}}`, want: `{"offer_ids":[{"value":"o1"}]}`},
		{name: "nested arrays flatten", msg: &mesos.Call_Revive{}, in: `{"roles":[["a",["b"]],"c"]}`, want: `{"roles":["a","b","c"]}`},
		{name: "top level array", msg: &mesos.Event{}, in: `[{"type":"HEARTBEAT"}]`, err: "Expecting a JSON object"},
		{name: "top level string", msg: &mesos.Event{}, in: `"HEARTBEAT"`, err: "Expecting a JSON object"},

		// Maps.
		{name: "map of messages", msg: &mesos.TaskInfo{}, in: `{` + task + `,"limits":{"mem":{"value":512},"cpus":{"value":"Infinity"}}}`,
			want: `{` + task + `,"limits":{"cpus":{"value":"Infinity"},"mem":{"value":512.0}}}`},
		{name: "map bare number", msg: &mesos.TaskInfo{}, in: `{` + task + `,"limits":{"cpus":1}}`, err: "Not expecting a JSON number for field 'value'"},
		{name: "map as string", msg: &mesos.TaskInfo{}, in: `{` + task + `,"limits":"cpus"}`, err: "Not expecting a JSON string for field 'limits'"},
		{name: "map null value", msg: &mesos.TaskInfo{}, in: `{` + task + `,"limits":{"cpus":null,"mem":{"value":1}}}`, want: `{` + task + `,"limits":{"mem":{"value":1.0}}}`},
		{name: "map missing required", msg: &mesos.TaskInfo{}, in: `{` + task + `,"limits":{"mem":{"value":1},"cpus":{}}}`, err: "Missing required fields: limits[0].value.value"},

		// Bytes.
		{name: "base64 padded", msg: &mesos.Call_Acknowledge{}, in: `{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"LI9vW4o+SxydXm96i5wNHg=="}`,
			want: `{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"LI9vW4o+SxydXm96i5wNHg=="}`},
		{name: "base64 unpadded", msg: &mesos.Call_Acknowledge{}, in: `{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"LI9vW4o+SxydXm96i5wNHg"}`,
			want: `{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"LI9vW4o+SxydXm96i5wNHg=="}`},
		{name: "base64 white space", msg: &mesos.Call_Acknowledge{}, in: `{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"LI9vW4o+\nSxydXm96 i5wNHg=="}`,
			want: `{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"LI9vW4o+SxydXm96i5wNHg=="}`},
		{name: "base64 empty", msg: &mesos.Event_Message{}, in: `{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":""}`,
			want: `{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":""}`},
		{name: "base64 invalid", msg: &mesos.Call_Acknowledge{}, in: `{"uuid":"***"}`, err: "Failed to base64 decode bytes field 'uuid': Invalid character '*'"},
		{name: "base64 URL alphabet", msg: &mesos.Call_Acknowledge{}, in: `{"uuid":"LI9vW4o-SxydXm96i5wNHg=="}`, err: "Failed to base64 decode bytes field 'uuid': Invalid character '-'"},
		{name: "base64 non-ASCII", msg: &mesos.Call_Acknowledge{}, in: `{"uuid":"QQ\u00e9"}`, err: "Failed to base64 decode bytes field 'uuid': Invalid character '\\xc3'"},
		{name: "base64 stops at padding", msg: &mesos.Event_Message{}, in: `{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":"QQ=!!garbage"}`,
			want: `{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":"QQ=="}`},
		{name: "base64 partial group", msg: &mesos.Event_Message{}, in: `{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":"QUJDR"}`,
			want: `{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":"QUJD"}`},

		// Required fields.
		{name: "missing nested", msg: &mesos.Call{}, in: `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}}`, err: "Missing required fields: subscribe.framework_info.user"},
		{name: "missing several", msg: &mesos.Event{}, in: `{"type":"OFFERS","offers":{"offers":[{"framework_id":{"value":"f"},"agent_id":{}}]}}`,
			err: "Missing required fields: offers.offers[0].id, offers.offers[0].hostname, offers.offers[0].agent_id.value"},
		{name: "missing top level", msg: &mesos.TaskStatus{}, in: `{}`, err: "Missing required fields: task_id, state"},
		{name: "required with default", msg: &mesos.MasterInfo{}, in: `{"id":"m","ip":1}`, err: "Missing required fields: port"},
		{name: "mapping error before syntax error", msg: &mesos.Call{}, in: `{"framework_id":"abc",}`, err: "syntax"},

		// Strings.
		{name: "escapes", msg: &mesos.Event_Error{}, in: `{"message":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20AC\ud83d\ude00"}`,
			want: `{"message":"a\"b\\c/d\b\f\n\r\t` + "é€😀" + `"}`},
		{name: "invalid UTF-8", msg: &mesos.Event_Error{}, in: "{\"message\":\"ok\xff\xfe!\"}", want: "{\"message\":\"ok\uFFFD\uFFFD!\"}"},
		{name: "invalid UTF-8 with escape", msg: &mesos.Event_Error{}, in: "{\"message\":\"\\n\xc3\"}", want: "{\"message\":\"\\n\uFFFD\"}"},
		{name: "lone high surrogate", msg: &mesos.Event_Error{}, in: `{"message":"x\ud800y"}`, err: "syntax"},
		{name: "lone low surrogate", msg: &mesos.Event_Error{}, in: `{"message":"x\udc00"}`, err: "syntax"},
		{name: "high surrogate then letter", msg: &mesos.Event_Error{}, in: `{"message":"\ud800\u0041"}`, err: "syntax"},
		{name: "surrogate at end", msg: &mesos.Event_Error{}, in: `{"message":"\ud83d"}`, err: "syntax"},
		{name: "control character", msg: &mesos.Event_Error{}, in: "{\"message\":\"a\x01\"}", err: "syntax"},

		// Syntax.
		{name: "empty input", msg: &mesos.Event{}, in: ``, err: "syntax"},
		{name: "truncated", msg: &mesos.Event{}, in: `{"type":`, err: "syntax"},
		{name: "trailing data", msg: &mesos.Event{}, in: `{} {}`, err: "syntax"},
		{name: "leading zero", msg: &mesos.Address{}, in: `{"port":01}`, err: "syntax"},
		{name: "trailing comma", msg: &mesos.Call_Revive{}, in: `{"roles":["a",]}`, err: "syntax"},
		{name: "single quotes", msg: &mesos.Event{}, in: `{'type':'HEARTBEAT'}`, err: "syntax"},
		{name: "bad escape", msg: &mesos.Event_Error{}, in: `{"message":"\x"}`, err: "syntax"},
		{name: "bad unicode escape", msg: &mesos.Event_Error{}, in: `{"message":"\u12G4"}`, err: "syntax"},
		{name: "syntax error in unknown key", msg: &mesos.Event{}, in: `{"x":[1 2],"type":"HEARTBEAT"}`, err: "syntax"},
		{name: "bad literal", msg: &mesos.CommandInfo{}, in: `{"shell":tru}`, err: "syntax"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mesos.UnmarshalJSON([]byte(tc.in), tc.msg)
			checkSlowPath(t, []byte(tc.in), tc.msg, err)
			switch {
			case tc.err == "syntax":
				var se *mesos.SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("UnmarshalJSON(%q) = %v, want a *SyntaxError", tc.in, err)
				}
				return
			case tc.err != "":
				if err == nil || err.Error() != tc.err {
					t.Fatalf("UnmarshalJSON(%q) = %v, want %q", tc.in, err, tc.err)
				}
				var se *mesos.SyntaxError
				if errors.As(err, &se) {
					t.Fatalf("UnmarshalJSON(%q) = %v, a *SyntaxError, want a mapping error", tc.in, err)
				}
				return
			case err != nil:
				t.Fatalf("UnmarshalJSON(%q) = %v", tc.in, err)
			}
			got, err := mesos.MarshalJSON(tc.msg)
			if err != nil {
				t.Fatalf("MarshalJSON = %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("UnmarshalJSON(%q) re-encoded = %s, want %s", tc.in, got, tc.want)
			}
			if !json.Valid(got) {
				t.Fatalf("MarshalJSON wrote invalid JSON %q", got)
			}
		})
	}
}

func TestUnmarshalJSONKeepsInt64Exactly(t *testing.T) {
	const ns = 1732240000123456789 // above 2^53, so a float64 would round it
	for _, in := range []string{`{"nanoseconds":1732240000123456789}`, `{"nanoseconds":"1732240000123456789"}`} {
		var ti mesos.TimeInfo
		if err := mesos.UnmarshalJSON([]byte(in), &ti); err != nil {
			t.Fatal(err)
		}
		if ti.GetNanoseconds() != ns {
			t.Errorf("UnmarshalJSON(%s).nanoseconds = %d, want %d", in, ti.GetNanoseconds(), int64(ns))
		}
	}
	var r mesos.Value_Range
	if err := mesos.UnmarshalJSON([]byte(`{"begin":9007199254740993,"end":18446744073709551615}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.GetBegin() != 9007199254740993 || r.GetEnd() != math.MaxUint64 {
		t.Errorf("UnmarshalJSON(range) = [%d, %d], want [9007199254740993, %d]", r.GetBegin(), r.GetEnd(), uint64(math.MaxUint64))
	}
}

func TestUnmarshalJSONValues(t *testing.T) {
	var st mesos.TaskStatus
	in := `{"task_id":{"value":"t"},"state":"TASK_STARTING","uuid":"LI9vW4o+SxydXm96i5wNHg==","timestamp":"1732240001.5"}`
	if err := mesos.UnmarshalJSON([]byte(in), &st); err != nil {
		t.Fatal(err)
	}
	// TASK_STARTING is 0, so only presence tells it from "unset".
	if st.State == nil || st.GetState() != mesos.TaskState_TASK_STARTING {
		t.Errorf("state = %v, want TASK_STARTING set", st.State)
	}
	if len(st.GetUuid()) != 16 {
		t.Errorf("uuid has %d bytes, want 16", len(st.GetUuid()))
	}
	if st.GetTimestamp() != 1732240001.5 {
		t.Errorf("timestamp = %v, want 1732240001.5", st.GetTimestamp())
	}
	var s mesos.Value_Scalar
	if err := mesos.UnmarshalJSON([]byte(`{"value":"-Infinity"}`), &s); err != nil || !math.IsInf(s.GetValue(), -1) {
		t.Errorf("UnmarshalJSON(-Infinity) = %v, %v; want -Inf", s.GetValue(), err)
	}
}

func TestUnmarshalJSONDepth(t *testing.T) {
	nested := func(n int) string {
		// A ContainerID with n parents nests n+1 objects.
		return strings.Repeat(`{"value":"c","parent":`, n) + `{"value":"c"}` + strings.Repeat(`}`, n)
	}
	var c mesos.ContainerID
	if err := mesos.UnmarshalJSON([]byte(nested(99)), &c); err != nil {
		t.Fatalf("UnmarshalJSON(100 levels) = %v", err)
	}
	out, err := mesos.MarshalJSON(&c)
	if err != nil || string(out) != nested(99) {
		t.Fatalf("MarshalJSON(100 levels) = %.40s..., %v", out, err)
	}
	var se *mesos.SyntaxError
	if err := mesos.UnmarshalJSON([]byte(nested(100)), &c); !errors.As(err, &se) {
		t.Fatalf("UnmarshalJSON(101 levels) = %v, want a *SyntaxError", err)
	}
	hostile := []string{
		`{"x":` + strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000) + `}`,
		strings.Repeat(`{"a":`, 1_000_000),
		`{"roles":` + strings.Repeat("[", 1_000_000) + `}`,
	}
	for _, in := range hostile {
		if err := mesos.UnmarshalJSON([]byte(in), &mesos.Call_Revive{}); !errors.As(err, &se) {
			t.Errorf("UnmarshalJSON(deep input) = %v, want a *SyntaxError", err)
		}
	}
}

func TestUnmarshalJSONNil(t *testing.T) {
	if err := mesos.UnmarshalJSON([]byte(`{}`), nil); err == nil {
		t.Error("UnmarshalJSON(nil) succeeded")
	}
	var ev *mesos.Event
	if err := mesos.UnmarshalJSON([]byte(`{}`), ev); err == nil {
		t.Error("UnmarshalJSON(typed nil) succeeded")
	}
}

// checkSlowPath checks that decoding data through protoreflect gives the
// same result as UnmarshalJSON, which gave got and err.
func checkSlowPath(t *testing.T, data []byte, got proto.Message, err error) {
	t.Helper()
	slow := got.ProtoReflect().New().Interface()
	slowErr := mesos.UnmarshalJSONSlow(data, slow)
	if (err == nil) != (slowErr == nil) || (err != nil && err.Error() != slowErr.Error()) {
		t.Fatalf("UnmarshalJSON(%q) = %v, but the slow path says %v", data, err, slowErr)
	}
	if err == nil && !proto.Equal(got, slow) {
		t.Fatalf("UnmarshalJSON(%q) = %s, but the slow path decodes %s", data, text(got), text(slow))
	}
}
