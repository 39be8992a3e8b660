package mesos_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// acksFor makes n acknowledgements, uuid i for the i-th, from first on.
func acksFor(first, n int) []*mesos.Call_Acknowledge {
	out := make([]*mesos.Call_Acknowledge, n)
	for i := range out {
		out[i] = &mesos.Call_Acknowledge{
			AgentId: &mesos.AgentID{Value: proto.String("a1")},
			TaskId:  &mesos.TaskID{Value: proto.String("t" + strconv.Itoa(first+i))},
			Uuid:    []byte(strconv.Itoa(first + i)),
		}
	}
	return out
}

// ackedUUIDs counts the acknowledgements the master received, by uuid.
func ackedUUIDs(m *fakeMaster) map[string]int {
	out := map[string]int{}
	for _, r := range m.receivedCalls() {
		if r.call.GetType() == mesos.Call_ACKNOWLEDGE {
			out[string(r.call.GetAcknowledge().GetUuid())]++
		}
	}
	return out
}

func subscribedClient(t *testing.T, m *fakeMaster) (*running, mesos.Status) {
	t.Helper()
	c := startClient(t, mesos.Config{Masters: []string{m.URL()}})
	m.nextStream(t).subscribed(t, "fw-1", 15*time.Second)
	return c, waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed })
}

// TestAcknowledgeAllPipelines: a batch is settled by the pipeline, on one
// connection, each call as Acknowledge would send it; the next batch
// finds the connection kept, and one the master closed while idle is
// dialled again.
func TestAcknowledgeAllPipelines(t *testing.T) {
	m := newFakeMaster(t)
	c, st := subscribedClient(t, m)

	for _, errs := range [][]error{c.AcknowledgeAll(t.Context(), acksFor(0, 50)), c.AcknowledgeAll(t.Context(), acksFor(50, 50))} {
		for i, err := range errs {
			if err != nil {
				t.Fatalf("ack %d: %v", i, err)
			}
		}
	}
	if got := c.Pipelined(); got != 100 {
		t.Errorf("the pipeline settled %d of 100", got)
	}
	addrs := map[string]int{}
	for _, r := range m.receivedCalls() {
		if r.call.GetType() != mesos.Call_ACKNOWLEDGE {
			continue
		}
		addrs[r.remoteAddr]++
		if r.header.Get("Mesos-Stream-Id") != st.StreamID || r.header.Get("Content-Type") != mesos.MediaTypeJSON || r.call.GetFrameworkId().GetValue() != "fw-1" {
			t.Errorf("acknowledgement as received: stream %q, type %q, call %v", r.header.Get("Mesos-Stream-Id"), r.header.Get("Content-Type"), r.call)
		}
	}
	if len(addrs) != 1 {
		t.Errorf("two batches came on %d connections, want the one kept: %v", len(addrs), addrs)
	}

	// The master closes the kept connection while it is idle.
	m.closeIdle()
	for i, err := range c.AcknowledgeAll(t.Context(), acksFor(100, 20)) {
		if err != nil {
			t.Fatalf("after the master closed the connection, ack %d: %v", i, err)
		}
	}
	if got := c.Pipelined(); got != 120 {
		t.Errorf("after the master closed the idle connection the pipeline settled %d of 120; the rest went one at a time", got)
	}
	for i := range 120 {
		if n := ackedUUIDs(m)[strconv.Itoa(i)]; n != 1 {
			t.Errorf("uuid %d acknowledged %d times", i, n)
		}
	}
}

// TestAcknowledgeAllSendsAgainWhatThePipelineLeft: an acknowledgement
// answered otherwise than 202 goes again one at a time, and its error is
// the one-at-a-time answer's; a connection cut in the middle of a batch
// loses none: those not answered go one at a time.
func TestAcknowledgeAllSendsAgainWhatThePipelineLeft(t *testing.T) {
	m := newFakeMaster(t)
	var mu sync.Mutex
	cut := false
	m.set(func(m *fakeMaster) {
		m.onAck = func(rec received, w http.ResponseWriter) bool {
			switch string(rec.call.GetAcknowledge().GetUuid()) {
			case "3":
				http.Error(w, "Task t3 is not known", http.StatusBadRequest)
				return true
			case "10":
				mu.Lock()
				defer mu.Unlock()
				if !cut {
					cut = true
					conn, _, err := http.NewResponseController(w).Hijack()
					if err == nil {
						conn.Close()
					}
					return true
				}
			}
			return false
		}
	})
	c, _ := subscribedClient(t, m)

	// 20 acknowledgements go out in one write, so the master reads them
	// all before it cuts the connection at the eleventh.
	errs := c.AcknowledgeAll(t.Context(), acksFor(0, 20))
	for i, err := range errs {
		var apiErr *mesos.APIError
		switch {
		case i == 3 && !(errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest):
			t.Errorf("ack 3 = %v, want the master's 400", err)
		case i != 3 && err != nil:
			t.Errorf("ack %d: %v", i, err)
		}
	}
	got := ackedUUIDs(m)
	for i := range 20 {
		want := 1
		if i == 3 || i == 10 {
			want = 2 // refused, or cut: then alone
		}
		if got[strconv.Itoa(i)] != want {
			t.Errorf("uuid %d reached the master %d times, want %d", i, got[strconv.Itoa(i)], want)
		}
	}
	if p := c.Pipelined(); p != 9 {
		t.Errorf("the pipeline settled %d; want the 9 answered with a 202 before the cut", p)
	}
}

// TestAcknowledgeAllWritesWhatNetHTTPWould: the pipeline writes its
// requests itself; in either media type and with credentials, the master
// must receive each acknowledgement whole, with the headers a call made
// through net/http carries.
func TestAcknowledgeAllWritesWhatNetHTTPWould(t *testing.T) {
	for _, mediaType := range []string{mesos.MediaTypeJSON, mesos.MediaTypeProtobuf} {
		t.Run(mediaType, func(t *testing.T) {
			m := newFakeMaster(t)
			c := startClient(t, mesos.Config{Masters: []string{m.URL()}, MediaType: mediaType, Principal: "ops", Secret: "s3cr:et"})
			m.nextStream(t).subscribed(t, "fw-1", 15*time.Second)
			st := waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed })
			acks := acksFor(0, 30)
			acks[7].TaskId.Value = proto.String("t \"quoted\" \\ é \x01")
			acks[8].Uuid = []byte{0xff, 0, 0xfe, '"'}
			for i, err := range c.AcknowledgeAll(t.Context(), acks) {
				if err != nil {
					t.Fatalf("ack %d: %v", i, err)
				}
			}
			if got := c.Pipelined(); got != 30 {
				t.Fatalf("the pipeline settled %d of 30", got)
			}
			var got []*mesos.Call_Acknowledge
			for _, r := range m.receivedCalls() {
				if r.call.GetType() != mesos.Call_ACKNOWLEDGE {
					continue
				}
				got = append(got, r.call.GetAcknowledge())
				user, secret, _ := (&http.Request{Header: r.header}).BasicAuth()
				if r.header.Get("Content-Type") != mediaType || r.header.Get("Accept") != mediaType ||
					r.header.Get("Mesos-Stream-Id") != st.StreamID || user != "ops" || secret != "s3cr:et" ||
					r.call.GetFrameworkId().GetValue() != "fw-1" {
					t.Errorf("acknowledgement received with headers %v, framework %q", r.header, r.call.GetFrameworkId().GetValue())
				}
			}
			if len(got) != len(acks) {
				t.Fatalf("the master received %d acknowledgements, want %d", len(got), len(acks))
			}
			for i := range acks {
				if !proto.Equal(got[i], acks[i]) {
					t.Errorf("acknowledgement %d received as %v, sent as %v", i, got[i], acks[i])
				}
			}
		})
	}
}

// TestAcknowledgeAllTellsEachCall: OnCall is told of every pipelined
// acknowledgement once, each with its own call and its own body, though a
// batch tells them all in one SentCall and the next batch writes its
// bodies where the last one's were.
func TestAcknowledgeAllTellsEachCall(t *testing.T) {
	m := newFakeMaster(t)
	var mu sync.Mutex
	told := map[string]int{}
	var mixed []string
	onCall := func(_ context.Context, sc *mesos.SentCall) {
		if sc.Call.GetType() != mesos.Call_ACKNOWLEDGE {
			return
		}
		id := sc.Call.GetAcknowledge().GetTaskId().GetValue()
		var body struct {
			Acknowledge struct {
				TaskID struct{ Value string } `json:"task_id"`
				UUID   []byte
			}
		}
		err := json.Unmarshal(sc.JSON, &body)
		mu.Lock()
		defer mu.Unlock()
		told[id]++
		if err != nil || body.Acknowledge.TaskID.Value != id || string(body.Acknowledge.UUID) != strings.TrimPrefix(id, "t") || sc.Status != http.StatusAccepted {
			mixed = append(mixed, fmt.Sprintf("call for %s told with body %s, status %d (%v)", id, sc.JSON, sc.Status, err))
		}
	}
	c := startClient(t, mesos.Config{Masters: []string{m.URL()}, OnCall: onCall})
	m.nextStream(t).subscribed(t, "fw-1", 15*time.Second)
	waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed })
	for _, acks := range [][]*mesos.Call_Acknowledge{acksFor(0, 40), acksFor(40, 40), acksFor(80, 3)} {
		for i, err := range c.AcknowledgeAll(t.Context(), acks) {
			if err != nil {
				t.Fatalf("ack %d: %v", i, err)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range mixed {
		t.Error(s)
	}
	for i := range 83 {
		if n := told["t"+strconv.Itoa(i)]; n != 1 {
			t.Errorf("OnCall was told of t%d %d times, want once", i, n)
		}
	}
	if c.Pipelined() != 83 {
		t.Errorf("the pipeline settled %d of 83", c.Pipelined())
	}
}
