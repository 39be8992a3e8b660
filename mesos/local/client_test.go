package local_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// testClient is a framework driven by the real mesos.Client.
type testClient struct {
	*mesos.Client
	events chan *mesos.Event
	// offers holds offers that arrived while the test waited for something
	// else, so nextOffer can still hand them out.
	offers []*mesos.Offer
	done   chan struct{} // closed when Run has returned
	cancel context.CancelFunc
	// wait bounds how long next waits for an event; 10 s when zero.
	wait time.Duration
}

func newClient(t *testing.T, base, mediaType string, mutate func(*mesos.FrameworkInfo)) *testClient {
	t.Helper()
	return newClientAt(t, []string{base}, mediaType, mutate)
}

// newClientAt runs a framework against the given masters, tried in turn.
func newClientAt(t *testing.T, masters []string, mediaType string, mutate func(*mesos.FrameworkInfo)) *testClient {
	t.Helper()
	fi := &mesos.FrameworkInfo{User: proto.String("root"), Name: proto.String("client-test")}
	if mutate != nil {
		mutate(fi)
	}
	c, err := mesos.NewClient(mesos.Config{
		Masters: masters, Framework: fi, MediaType: mediaType,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tc := &testClient{Client: c, events: make(chan *mesos.Event, 4096), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(tc.done)
		c.Run(ctx, func(_ context.Context, e *mesos.Event) {
			select {
			case tc.events <- e:
			default:
				t.Errorf("test client event buffer full; dropped %v", e.GetType())
			}
		})
	}()
	t.Cleanup(tc.stop)
	return tc
}

// stop cancels Run and waits for it; it may be called more than once.
func (c *testClient) stop() {
	c.cancel()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		panic("test client: Run did not return within 10s of cancel")
	}
}

// next returns the next event of one of types.
func (c *testClient) next(t *testing.T, types ...mesos.Event_Type) *mesos.Event {
	t.Helper()
	wait := c.wait
	if wait == 0 {
		wait = 10 * time.Second
	}
	deadline := time.After(wait)
	for {
		select {
		case e := <-c.events:
			for _, typ := range types {
				if e.GetType() == typ {
					return e
				}
			}
			c.offers = append(c.offers, e.GetOffers().GetOffers()...)
		case <-deadline:
			t.Fatalf("no %v within %v", types, wait)
		}
	}
}

// nextOffer waits for an offer, from hostname when it is not empty.
func (c *testClient) nextOffer(t *testing.T, hostname string) *mesos.Offer {
	t.Helper()
	for {
		for i, o := range c.offers {
			if hostname == "" || o.GetHostname() == hostname {
				c.offers = append(c.offers[:i], c.offers[i+1:]...)
				return o
			}
		}
		c.offers = append(c.offers, c.next(t, mesos.Event_OFFERS).GetOffers().GetOffers()...)
	}
}

// nextUpdate waits for an UPDATE of the task.
func (c *testClient) nextUpdate(t *testing.T, taskID string) *mesos.TaskStatus {
	t.Helper()
	for {
		st := c.next(t, mesos.Event_UPDATE).GetUpdate().GetStatus()
		if st.GetTaskId().GetValue() == taskID {
			return st
		}
	}
}

// ack acknowledges an update that carries a uuid.
func (c *testClient) ack(t *testing.T, st *mesos.TaskStatus) {
	t.Helper()
	if len(st.GetUuid()) == 0 {
		return
	}
	err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_ACKNOWLEDGE.Enum(), Acknowledge: &mesos.Call_Acknowledge{
		AgentId: st.GetAgentId(), TaskId: st.GetTaskId(), Uuid: st.GetUuid(),
	}})
	if err != nil {
		t.Fatalf("ACKNOWLEDGE: %v", err)
	}
}

// launch accepts an offer with one command task.
func (c *testClient) launch(t *testing.T, o *mesos.Offer, ti *mesos.TaskInfo, filters *mesos.Filters) {
	t.Helper()
	if ti.AgentId == nil {
		ti.AgentId = o.GetAgentId()
	}
	err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_ACCEPT.Enum(), Accept: &mesos.Call_Accept{
		OfferIds: []*mesos.OfferID{o.GetId()},
		Operations: []*mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH.Enum(),
			Launch: &mesos.Offer_Operation_Launch{TaskInfos: []*mesos.TaskInfo{ti}}}},
		Filters: filters,
	}})
	if err != nil {
		t.Fatalf("ACCEPT: %v", err)
	}
}

// launchRunning launches a command task on o and acknowledges its updates
// until it runs.
func (c *testClient) launchRunning(t *testing.T, o *mesos.Offer, id, cmd string) {
	t.Helper()
	c.launch(t, o, commandTask(id, cmd), nil)
	for {
		st := c.nextUpdate(t, id)
		c.ack(t, st)
		if st.GetState() == mesos.TaskState_TASK_RUNNING {
			return
		}
	}
}

// commandTask is a task running a shell command with small resources.
func commandTask(id, cmd string) *mesos.TaskInfo {
	return &mesos.TaskInfo{
		Name:      proto.String(id),
		TaskId:    &mesos.TaskID{Value: proto.String(id)},
		Resources: []*mesos.Resource{mesos.Scalar("cpus", 0.1), mesos.Scalar("mem", 32)},
		Command:   &mesos.CommandInfo{Value: proto.String(cmd)},
	}
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", resp.Request.URL.Path, err)
	}
}
