package mesos_test

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// standInUpdate is a health check's UPDATE as agents (and the stand-in)
// send it.
const standInUpdate = `{"type":"UPDATE","update":{"status":{"task_id":{"value":"web.41"},"state":"TASK_RUNNING",` +
	`"source":"SOURCE_EXECUTOR","reason":"REASON_TASK_HEALTH_CHECK_STATUS_UPDATED","agent_id":{"value":"a1b2-S3"},` +
	`"executor_id":{"value":"web.41"},"timestamp":1765000000.125,"uuid":"LI9vW4o+SxydXm96i5wNHg==","healthy":true}}}`

// checkDecodeEvent holds the client's decoding of data to UnmarshalJSON's:
// the same event, or the same error.
func checkDecodeEvent(t *testing.T, data []byte) (fast bool) {
	t.Helper()
	got, fast, err := mesos.DecodeEvent(mesos.MediaTypeJSON, data)
	var want mesos.Event
	wantErr := mesos.UnmarshalJSON(data, &want)
	if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
		t.Fatalf("decoding %q: error %v, UnmarshalJSON's %v", data, err, wantErr)
	}
	if err == nil && !proto.Equal(got, &want) {
		t.Fatalf("decoding %q (fast path %v):\n got %s\nwant %s", data, fast, text(got), text(&want))
	}
	return fast
}

// TestDecodeUpdate: the UPDATE fast path decodes the shapes agents send,
// with anything else a status may hold, exactly as UnmarshalJSON does, and
// leaves to it everything it would treat specially.
func TestDecodeUpdate(t *testing.T) {
	status := func(fields string) string {
		return `{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"` + fields + `}}}`
	}
	fast := []string{
		standInUpdate,
		string(readTestdata(t, "event_update_running.json")), // container_status, by UnmarshalJSON
		status(``),
		status(`,"message":"tab\there \u00e9 \ud83d\ude00 \"q\""`),
		status(",\"message\":\"bad utf-8 \xff\xfe\""),
		status(`,"uuid":"LI9vW4o+SxydXm96i5wNHg"`),    // base64 read as leniently: no padding
		status(`,"uuid":"L I9vW4o+SxydXm96i5wNHg=="`), // white space
		status(`,"labels":{"labels":[{"key":"k","value":"v"}]},"check_status":{"type":"COMMAND","command":{"exit_code":0}}`),
		status(`,"taskId":{"value":"ignored"},"extra":[1,{"a":null}],"agent_id":{"value":"a","other":1}`),
		status(`,"timestamp":-1.5e3,"healthy":false,"uuid":""`),
		status(`,"timestamp":1e400`), // +Inf, as strtod makes it
		" \n" + status(`,"source":"SOURCE_MASTER"`) + "\t ",
		`{"update":{"status":{"state":"TASK_FAILED","task_id":{"value":"t"}},"x":1},"type":"UPDATE"}`,
		`{ "type" : "UPDATE" , "update" : { "status" : { "task_id" : { "value" : "t" } , "state" : "TASK_LOST" } } }`,
	}
	for _, in := range fast {
		if !checkDecodeEvent(t, []byte(in)) {
			t.Errorf("%s: not decoded by the fast path", in)
		}
	}
	slow := []string{
		status(`,"state":"TASK_FAILED"`),                                                     // a key twice: the last wins
		status(`,"message":null`),                                                            // null leaves it unset
		status(`,"reason":"REASON_FROM_THE_FUTURE"`),                                         // an unknown name leaves it unset
		status(`,"timestamp":"1765000000.5"`),                                                // a number in a string
		status(`,"healthy":"true"`),                                                          // a bool in a string
		status(`,"uuid":"L?I9vW4o+SxydXm96i5wNHg=="`),                                        // not base64
		`{"type":"UPDATE","update":{"x":1}}`,                                                 // no status
		status(`,"data":"aGk="`),                                                             // a bytes field of its own
		status(`,"labels":{"labels":[{"value":"v"}]}`),                                       // a label without its key
		status(`,"container_status":[]`),                                                     // an array for a message
		status(`,"agent_id":{"value":"a","value":"b"}`),                                      // a key twice in an id
		status(`,"executor_id":{}`),                                                          // an id without its value
		`{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"}}}}`,                    // no state
		`{"type":"UPDATE","update":{"status":{"state":"TASK_RUNNING"}}}`,                     // no task id
		`{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_NEW"}}}`, // an unknown state
		`{"type":"UPDATE"}`,
		`{"type":"UPDATE","update":null}`,
		`{"type":"HEARTBEAT"}`,
		`{"type":"UPDATE","update":{},"type":"UPDATE"}`,
		`{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"}},"offers":{}}`,
		`{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"}}} x`,
		`{"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING"`,
		`[]`,
		``,
	}
	for _, in := range slow {
		if checkDecodeEvent(t, []byte(in)) {
			t.Errorf("%s: decoded by the fast path, which should have left it to UnmarshalJSON", in)
		}
	}
	// The nesting bound counts from the event's top, also in what the
	// fast path hands to UnmarshalJSON (skipped first, at its depth): 96
	// arrays in container_status are 100 levels, 97 too many.
	for _, n := range []int{96, 97} {
		deep := status(`,"container_status":{"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`)
		checkDecodeEvent(t, []byte(deep))
	}
	files, err := filepath.Glob("testdata/event_*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		checkDecodeEvent(t, readTestdata(t, filepath.Base(path)))
	}
}

// TestDecodeUpdateMutated holds the fast path to UnmarshalJSON on updates
// damaged at random: bytes dropped, added, changed and repeated.
func TestDecodeUpdateMutated(t *testing.T) {
	seeds := [][]byte{[]byte(standInUpdate), readTestdata(t, "event_update_running.json")}
	alphabet := []byte(`{}[],:"\ 0123456789.eE-+truefalsn/=_ATSKRUNIG`)
	rng := rand.New(rand.NewPCG(7, 11))
	fast := 0
	for range 20000 {
		b := bytes.Clone(seeds[rng.IntN(len(seeds))])
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(b))
			switch rng.IntN(4) {
			case 0:
				b = append(b[:i], b[i+1:]...)
			case 1:
				b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
			case 2:
				b[i] = alphabet[rng.IntN(len(alphabet))]
			case 3:
				j := min(len(b), i+1+rng.IntN(40))
				b = append(b[:j], append(bytes.Clone(b[i:j]), b[j:]...)...)
			}
		}
		if checkDecodeEvent(t, b) {
			fast++
		}
	}
	// Most mutations break the JSON or the shape; some leave an update
	// the fast path takes, or the test would not hold it to anything.
	if fast < 1000 {
		t.Errorf("only %d of 20000 mutated updates took the fast path", fast)
	}
	t.Logf("%d of 20000 mutated updates took the fast path", fast)
}

// FuzzDecodeUpdate: whatever the input, the client's decoding is
// UnmarshalJSON's.
func FuzzDecodeUpdate(f *testing.F) {
	f.Add([]byte(standInUpdate))
	f.Add(readTestdata(f, "event_update_running.json"))
	f.Fuzz(func(t *testing.T, data []byte) { checkDecodeEvent(t, data) })
}

// TestDecodeUpdateAllocations pins what the fast path is for: an agent's
// update in a handful of allocations (the block, the ids, the uuid), where
// going through the protobuf encoding made fifteen.
func TestDecodeUpdateAllocations(t *testing.T) {
	data := []byte(standInUpdate)
	allocs := testing.AllocsPerRun(100, func() {
		if _, fast, err := mesos.DecodeEvent(mesos.MediaTypeJSON, data); err != nil || !fast {
			t.Fatalf("fast %v, err %v", fast, err)
		}
	})
	if allocs > 5 {
		t.Errorf("%.0f allocations an update, want at most 5", allocs)
	}
}
