package mesos_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

func TestMarshalJSONDefaults(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{name: "filters", msg: &mesos.Filters{}, want: `{"refuse_seconds":5.0}`},
		{name: "filters set", msg: &mesos.Filters{RefuseSeconds: proto.Float64(0)}, want: `{"refuse_seconds":0.0}`},
		{name: "command shell", msg: &mesos.CommandInfo{Value: proto.String("ls")}, want: `{"shell":true,"value":"ls"}`},
		{name: "uri extract", msg: &mesos.CommandInfo_URI{Value: proto.String("http://x/a.tgz")}, want: `{"value":"http://x/a.tgz","extract":true}`},
		{name: "ip protocol", msg: &mesos.NetworkInfo_IPAddress{IpAddress: proto.String("10.0.0.11")}, want: `{"protocol":"IPv4","ip_address":"10.0.0.11"}`},
		{name: "framework info", msg: &mesos.FrameworkInfo{User: proto.String("root"), Name: proto.String("dash")},
			want: `{"user":"root","name":"dash","failover_timeout":0.0,"checkpoint":false}`},
		{name: "framework info deprecated role set", msg: &mesos.FrameworkInfo{User: proto.String("root"), Name: proto.String("dash"), Role: proto.String("eng")},
			want: `{"user":"root","name":"dash","failover_timeout":0.0,"checkpoint":false,"role":"eng"}`},
		{name: "resource role unset", msg: mesos.Scalar("cpus", 2), want: `{"name":"cpus","type":"SCALAR","scalar":{"value":2.0}}`},
		{name: "resource role set", msg: func() *mesos.Resource {
			r := mesos.Scalar("cpus", 2)
			r.Role = proto.String("*")
			return r
		}(), want: `{"name":"cpus","type":"SCALAR","scalar":{"value":2.0},"role":"*"}`},
		{name: "docker info", msg: &mesos.ContainerInfo_DockerInfo{Image: proto.String("nginx")}, want: `{"image":"nginx","network":"HOST","privileged":false}`},
		{name: "image cached", msg: &mesos.Image{Type: mesos.Image_DOCKER.Enum()}, want: `{"type":"DOCKER","cached":true}`},
		{name: "environment variable", msg: &mesos.Environment_Variable{Name: proto.String("A")}, want: `{"name":"A","type":"VALUE"}`},
		{name: "health check", msg: &mesos.HealthCheck{},
			want: `{"delay_seconds":15.0,"interval_seconds":10.0,"timeout_seconds":20.0,"consecutive_failures":3,"grace_period_seconds":10.0}`},
		{name: "check info", msg: &mesos.CheckInfo{}, want: `{"delay_seconds":15.0,"interval_seconds":10.0,"timeout_seconds":20.0}`},
		{name: "master info required default", msg: &mesos.MasterInfo{Id: proto.String("m"), Ip: proto.Uint32(1)}, want: `{"id":"m","ip":1,"port":5050}`},
		{name: "agent info", msg: &mesos.AgentInfo{Hostname: proto.String("a1")}, want: `{"hostname":"a1","port":5051}`},
		{name: "executor deprecated source", msg: &mesos.ExecutorInfo{ExecutorId: &mesos.ExecutorID{Value: proto.String("e")}},
			want: `{"executor_id":{"value":"e"}}`},
		{name: "linux info", msg: &mesos.LinuxInfo{}, want: `{"share_cgroups":true}`},
		{name: "empty repeated omitted", msg: &mesos.Call_Revive{Roles: []string{}}, want: `{}`},
		{name: "empty message kept", msg: &mesos.Resource_RevocableInfo{}, want: `{}`},
		{name: "heartbeat", msg: &mesos.Event{Type: mesos.Event_HEARTBEAT.Enum()}, want: `{"type":"HEARTBEAT"}`},
		{name: "starting is written", msg: &mesos.TaskStatus{State: mesos.TaskState_TASK_STARTING.Enum()}, want: `{"state":"TASK_STARTING"}`},
		{name: "map sorted", msg: &mesos.TaskInfo{Limits: map[string]*mesos.Value_Scalar{
			"mem": {Value: proto.Float64(512)}, "cpus": {Value: proto.Float64(math.Inf(1))}, "disk": {Value: proto.Float64(1)},
		}}, want: `{"limits":{"cpus":{"value":"Infinity"},"disk":{"value":1.0},"mem":{"value":512.0}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mesos.MarshalJSON(tc.msg)
			if err != nil {
				t.Fatalf("MarshalJSON = %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("MarshalJSON = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestMarshalJSONDoubles(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, `0.0`},
		{math.Copysign(0, -1), `-0.0`},
		{15, `15.0`},
		{0.5, `0.5`},
		{-2.5, `-2.5`},
		{0.1, `0.1`},
		{128, `128.0`},
		{14720, `14720.0`},
		{1732240000.123456, `1732240000.123456`},
		{1e20, `100000000000000000000.0`},
		{1.2345678901234568e20, `123456789012345680000.0`},
		{123456789012345678901.5, `123456789012345680000.0`},
		{1e21, `1e21`},
		{1.5e21, `1.5e21`},
		{1e22, `1e22`},
		{1.5e300, `1.5e300`},
		{math.MaxFloat64, `1.7976931348623157e308`},
		{0.000001, `0.000001`},
		{0.0000012, `0.0000012`},
		{1e-7, `1e-7`},
		{1.5e-7, `1.5e-7`},
		{5e-324, `5e-324`},
		{-1e-10, `-1e-10`},
		{math.Inf(1), `"Infinity"`},
		{math.Inf(-1), `"-Infinity"`},
	}
	for _, tc := range tests {
		got, err := mesos.MarshalJSON(&mesos.Value_Scalar{Value: proto.Float64(tc.v)})
		if err != nil {
			t.Errorf("MarshalJSON(%v) = %v", tc.v, err)
			continue
		}
		want := `{"value":` + tc.want + `}`
		if string(got) != want {
			t.Errorf("MarshalJSON(%v) = %s, want %s", tc.v, got, want)
			continue
		}
		var back mesos.Value_Scalar
		if err := mesos.UnmarshalJSON(got, &back); err != nil || math.Float64bits(back.GetValue()) != math.Float64bits(tc.v) {
			t.Errorf("UnmarshalJSON(%s) = %v, %v; want %v", got, back.GetValue(), err, tc.v)
		}
	}
	if _, err := mesos.MarshalJSON(&mesos.Value_Scalar{Value: proto.Float64(math.NaN())}); err == nil {
		t.Error("MarshalJSON(NaN) succeeded")
	}
}

func TestMarshalJSONIntegers(t *testing.T) {
	got, err := mesos.MarshalJSON(&mesos.Value_Range{Begin: proto.Uint64(0), End: proto.Uint64(math.MaxUint64)})
	if err != nil || string(got) != `{"begin":0,"end":18446744073709551615}` {
		t.Errorf("MarshalJSON(range) = %s, %v", got, err)
	}
	got, err = mesos.MarshalJSON(&mesos.TimeInfo{Nanoseconds: proto.Int64(math.MinInt64)})
	if err != nil || string(got) != `{"nanoseconds":-9223372036854775808}` {
		t.Errorf("MarshalJSON(time) = %s, %v", got, err)
	}
}

func TestMarshalJSONStrings(t *testing.T) {
	in := "a\"b\\c/\n\r\t\b\f\x01\x1f\x7fé€😀\u2028<>&\xff\xc3"
	want := `{"message":"a\"b\\c/\n\r\t\b\f\u0001\u001F` + "\x7fé€😀\u2028<>&\uFFFD\uFFFD" + `"}`
	got, err := mesos.MarshalJSON(&mesos.Event_Error{Message: proto.String(in)})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("MarshalJSON = %q, want %q", got, want)
	}
	if !json.Valid(got) {
		t.Fatalf("MarshalJSON wrote invalid JSON %q", got)
	}
}

func TestMarshalJSONBytes(t *testing.T) {
	m := &mesos.Event_Message{
		AgentId:    &mesos.AgentID{Value: proto.String("a")},
		ExecutorId: &mesos.ExecutorID{Value: proto.String("e")},
		Data:       []byte{0xfb, 0xff, 'h', 'i'},
	}
	got, err := mesos.MarshalJSON(m)
	want := `{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":"+/9oaQ=="}`
	if err != nil || string(got) != want {
		t.Fatalf("MarshalJSON = %s, %v; want %s", got, err, want)
	}
}

func TestMarshalJSONErrors(t *testing.T) {
	deep := &mesos.ContainerID{Value: proto.String("c")}
	for i := 0; i < 200; i++ {
		deep = &mesos.ContainerID{Value: proto.String("c"), Parent: deep}
	}
	tests := []struct {
		name string
		msg  proto.Message
		want string
	}{
		{name: "enum without name", msg: &mesos.Event{Type: mesos.Event_Type(99).Enum()}, want: "enum number 99"},
		{name: "NaN", msg: &mesos.Filters{RefuseSeconds: proto.Float64(math.NaN())}, want: "NaN"},
		{name: "too deep", msg: deep, want: "nested deeper"},
		{name: "typed nil", msg: (*mesos.Event)(nil), want: "nil message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mesos.AppendJSON([]byte("prefix"), tc.msg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("AppendJSON = %v, want an error containing %q", err, tc.want)
			}
			if string(got) != "prefix" {
				t.Fatalf("AppendJSON returned %q on error, want the original buffer", got)
			}
		})
	}
	if _, err := mesos.MarshalJSON(nil); err == nil {
		t.Error("MarshalJSON(nil) succeeded")
	}
}

func TestAppendJSONAppends(t *testing.T) {
	buf := make([]byte, 0, 64)
	buf = append(buf, "20\n"...)
	got, err := mesos.AppendJSON(buf, &mesos.Event{Type: mesos.Event_HEARTBEAT.Enum()})
	if err != nil || string(got) != "20\n{\"type\":\"HEARTBEAT\"}" {
		t.Fatalf("AppendJSON = %q, %v", got, err)
	}
	if &got[0] != &buf[:1][0] {
		t.Error("AppendJSON did not reuse the caller's buffer")
	}
}
