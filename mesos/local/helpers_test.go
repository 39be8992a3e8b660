package local_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/local/localtest"
	"github.com/offerdeck/offerdeck/mesos/recordio"
)

// startMaster runs a stand-in master on a loopback port for the test.
func startMaster(t *testing.T, cfg local.Config) (*local.Master, string) {
	t.Helper()
	return localtest.Start(t, cfg)
}

// reply is a raw HTTP answer.
type reply struct {
	status int
	header http.Header
	body   string
}

// post sends a raw request to the scheduler endpoint.
func post(t *testing.T, base, method, contentType, accept, streamID string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+mesos.SchedulerPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// rawStream is a SUBSCRIBE stream read with nothing but HTTP and RecordIO,
// as a curl user or a notebook would.
type rawStream struct {
	streamID string
	header   http.Header
	events   chan *mesos.Event
	cancel   context.CancelFunc
	done     chan struct{}
}

// subscribeRaw POSTs SUBSCRIBE with the given JSON body and decodes the
// stream's records in the background.
func subscribeRaw(t *testing.T, base string, body string) *rawStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+mesos.SchedulerPath, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", mesos.MediaTypeJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("SUBSCRIBE = %d %s", resp.StatusCode, b)
	}
	s := &rawStream{streamID: resp.Header.Get("Mesos-Stream-Id"), header: resp.Header, events: make(chan *mesos.Event, 1024), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.events)
		defer resp.Body.Close()
		r := recordio.NewReader(resp.Body, 0)
		for {
			rec, err := r.ReadRecord()
			if err != nil {
				return
			}
			e := new(mesos.Event)
			if err := mesos.UnmarshalJSON(rec, e); err != nil {
				t.Errorf("decode event %q: %v", rec, err)
				return
			}
			s.events <- e
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *rawStream) close() {
	s.cancel()
	<-s.done
}

// next returns the next event of one of the given types, skipping others
// (heartbeats, offers) unless asked for.
func (s *rawStream) next(t *testing.T, types ...mesos.Event_Type) *mesos.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				t.Fatalf("stream ended while waiting for %v", types)
			}
			for _, typ := range types {
				if e.GetType() == typ {
					return e
				}
			}
		case <-deadline:
			t.Fatalf("no %v within 10s", types)
		}
	}
}

// ended reports whether the stream closed within the bound.
func (s *rawStream) ended(within time.Duration) bool {
	deadline := time.After(within)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// call POSTs a call on the stream's behalf and returns the answer.
func (s *rawStream) call(t *testing.T, base string, c *mesos.Call) reply {
	t.Helper()
	b, err := mesos.MarshalJSON(c)
	if err != nil {
		t.Fatal(err)
	}
	return post(t, base, http.MethodPost, mesos.MediaTypeJSON, "", s.streamID, b)
}

func fid(id string) *mesos.FrameworkID { return &mesos.FrameworkID{Value: proto.String(id)} }

// subscribeBody is the SUBSCRIBE of a new framework, as in the tutorials.
const subscribeBody = `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"conformance"}}}`
