package mesos_test

import (
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// TestNotebookOffer decodes the offer of the Mesos notebook tutorial: an
// agent with attributes rack:r2d2 and pod:"demo,dev" offering cpus 2,
// mem 496, disk 4930 and ports 9000-10000, all unreserved.
func TestNotebookOffer(t *testing.T) {
	ev := decodeFile(t, "event_offers_notebook.json", &mesos.Event{})
	if ev.GetType() != mesos.Event_OFFERS || len(ev.GetOffers().GetOffers()) != 1 {
		t.Fatalf("decoded %s, want one offer", text(ev))
	}
	offer := ev.GetOffers().GetOffers()[0]
	rs := offer.GetResources()

	for _, tc := range []struct {
		name string
		want float64
	}{{"cpus", 2}, {"mem", 496}, {"disk", 4930}, {"gpus", 0}} {
		if got := mesos.ScalarSum(rs, tc.name); got != tc.want {
			t.Errorf("ScalarSum(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
	ports := mesos.Ranges(rs, "ports")
	if want := [][2]uint64{{9000, 10000}}; !slices.Equal(ports, want) {
		t.Errorf("Ranges(ports) = %v, want %v", ports, want)
	}
	if got := mesos.RangeCount(ports); got != 1001 {
		t.Errorf("RangeCount(%v) = %d, want 1001", ports, got)
	}
	for _, r := range rs {
		if got := mesos.RoleText(r); got != "*" {
			t.Errorf("RoleText(%s) = %q, want \"*\"", r.GetName(), got)
		}
	}

	attrs := offer.GetAttributes()
	var texts, strs []string
	for _, a := range attrs {
		texts = append(texts, mesos.AttributeText(a))
		strs = append(strs, mesos.AttributeString(a))
	}
	if want := []string{"r2d2", "demo,dev"}; !slices.Equal(texts, want) {
		t.Errorf("AttributeText = %q, want %q", texts, want)
	}
	if want := []string{"rack:r2d2", "pod:demo,dev"}; !slices.Equal(strs, want) {
		t.Errorf("AttributeString = %q, want %q", strs, want)
	}
	if !proto.Equal(attrs[0], mesos.TextAttribute("rack", "r2d2")) {
		t.Errorf("attribute %s differs from TextAttribute(rack, r2d2)", text(attrs[0]))
	}
	wantRes := []*mesos.Resource{mesos.Scalar("cpus", 2), mesos.PortRange(9000, 10000)}
	for i, want := range wantRes {
		got := proto.Clone(rs[[]int{0, 3}[i]]).(*mesos.Resource)
		got.Role = nil
		if !proto.Equal(got, want) {
			t.Errorf("resource %s differs from constructor %s", text(got), text(want))
		}
	}
}

func TestResourceSums(t *testing.T) {
	reserved := mesos.Scalar("cpus", 0.3)
	reserved.Reservations = []*mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_STATIC.Enum(), Role: proto.String("eng")}}
	rs := []*mesos.Resource{
		mesos.Scalar("cpus", 0.1), mesos.Scalar("cpus", 0.2), reserved, mesos.Scalar("mem", 64),
		mesos.PortRange(31000, 31004), mesos.PortRange(31006, 32000),
		{Name: proto.String("gpu_ids"), Type: mesos.Value_SET.Enum(), Set: &mesos.Value_Set{Item: []string{"0", "1"}}},
	}
	if got := mesos.ScalarSum(rs, "cpus"); got != 0.6 {
		t.Errorf("ScalarSum(cpus) = %v, want 0.6", got)
	}
	ports := mesos.Ranges(rs, "ports")
	if want := [][2]uint64{{31000, 31004}, {31006, 32000}}; !slices.Equal(ports, want) {
		t.Errorf("Ranges(ports) = %v, want %v", ports, want)
	}
	if got := mesos.RangeCount(ports); got != 1000 {
		t.Errorf("RangeCount = %d, want 1000", got)
	}
	if got := mesos.SetItems(rs, "gpu_ids"); !slices.Equal(got, []string{"0", "1"}) {
		t.Errorf("SetItems(gpu_ids) = %q, want [0 1]", got)
	}
	for _, tc := range []struct {
		ranges [][2]uint64
		want   uint64
	}{
		{nil, 0},
		{[][2]uint64{{5, 5}}, 1},
		{[][2]uint64{{6, 5}}, 0},
		{[][2]uint64{{0, math.MaxUint64}}, math.MaxUint64},
		{[][2]uint64{{0, math.MaxUint64 - 1}, {1, 1}}, math.MaxUint64},
	} {
		if got := mesos.RangeCount(tc.ranges); got != tc.want {
			t.Errorf("RangeCount(%v) = %d, want %d", tc.ranges, got, tc.want)
		}
	}
}

func TestRoleText(t *testing.T) {
	res := func(f func(r *mesos.Resource)) *mesos.Resource {
		r := mesos.Scalar("disk", 1)
		f(r)
		return r
	}
	tests := []struct {
		name string
		r    *mesos.Resource
		want string
	}{
		{"no role", mesos.Scalar("cpus", 1), "*"},
		{"star", res(func(r *mesos.Resource) { r.Role = proto.String("*") }), "*"},
		{"static", res(func(r *mesos.Resource) { r.Role = proto.String("eng") }), "eng (static)"},
		{"dynamic", res(func(r *mesos.Resource) {
			r.Role = proto.String("dash")
			r.Reservation = &mesos.Resource_ReservationInfo{Principal: proto.String("p")}
		}), "dash (dynamic, principal p)"},
		{"dynamic without principal", res(func(r *mesos.Resource) {
			r.Role = proto.String("dash")
			r.Reservation = &mesos.Resource_ReservationInfo{}
		}), "dash (dynamic)"},
		{"refined static", res(func(r *mesos.Resource) {
			r.Reservations = []*mesos.Resource_ReservationInfo{{Type: mesos.Resource_ReservationInfo_STATIC.Enum(), Role: proto.String("eng")}}
		}), "eng (static)"},
		{"refined dynamic", res(func(r *mesos.Resource) {
			r.Reservations = []*mesos.Resource_ReservationInfo{
				{Type: mesos.Resource_ReservationInfo_STATIC.Enum(), Role: proto.String("eng")},
				{Type: mesos.Resource_ReservationInfo_DYNAMIC.Enum(), Role: proto.String("eng/dash"), Principal: proto.String("p")},
			}
		}), "eng/dash (dynamic, principal p)"},
	}
	for _, tc := range tests {
		if got := mesos.RoleText(tc.r); got != tc.want {
			t.Errorf("RoleText(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAttributeText(t *testing.T) {
	rng := func(b, e uint64) *mesos.Value_Range {
		return &mesos.Value_Range{Begin: proto.Uint64(b), End: proto.Uint64(e)}
	}
	tests := []struct {
		a    *mesos.Attribute
		want string
	}{
		{mesos.TextAttribute("rack", "r2d2"), "rack:r2d2"},
		{mesos.TextAttribute("pod", "demo,dev"), "pod:demo,dev"},
		{&mesos.Attribute{Name: proto.String("gen"), Type: mesos.Value_SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: proto.Float64(3)}}, "gen:3"},
		{&mesos.Attribute{Name: proto.String("w"), Type: mesos.Value_SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: proto.Float64(0.12345)}}, "w:0.123"},
		{&mesos.Attribute{Name: proto.String("big"), Type: mesos.Value_SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: proto.Float64(1234567)}}, "big:1234567"},
		{&mesos.Attribute{Name: proto.String("zone"), Type: mesos.Value_RANGES.Enum(), Ranges: &mesos.Value_Ranges{Range: []*mesos.Value_Range{rng(1, 3)}}}, "zone:[1-3]"},
		{&mesos.Attribute{Name: proto.String("z"), Type: mesos.Value_RANGES.Enum(), Ranges: &mesos.Value_Ranges{Range: []*mesos.Value_Range{rng(1, 3), rng(5, 7)}}}, "z:[1-3, 5-7]"},
		{&mesos.Attribute{Name: proto.String("s"), Type: mesos.Value_SET.Enum(), Set: &mesos.Value_Set{Item: []string{"a", "b"}}}, "s:{a, b}"},
	}
	for _, tc := range tests {
		if got := mesos.AttributeString(tc.a); got != tc.want {
			t.Errorf("AttributeString(%s) = %q, want %q", text(tc.a), got, tc.want)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	terminal := map[mesos.TaskState]bool{
		mesos.TaskState_TASK_FINISHED: true, mesos.TaskState_TASK_FAILED: true, mesos.TaskState_TASK_KILLED: true,
		mesos.TaskState_TASK_ERROR: true, mesos.TaskState_TASK_LOST: true, mesos.TaskState_TASK_DROPPED: true,
		mesos.TaskState_TASK_GONE: true, mesos.TaskState_TASK_GONE_BY_OPERATOR: true,
	}
	for n := range mesos.TaskState_name {
		s := mesos.TaskState(n)
		if got := mesos.IsTerminal(s); got != terminal[s] {
			t.Errorf("IsTerminal(%v) = %v, want %v", s, got, terminal[s])
		}
	}
	if len(mesos.TaskState_name) != 14 {
		t.Errorf("TaskState has %d values, want 14", len(mesos.TaskState_name))
	}
}
