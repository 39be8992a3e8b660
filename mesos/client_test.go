package mesos_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/detect"
)

func framework() *mesos.FrameworkInfo {
	return &mesos.FrameworkInfo{
		User:            proto.String("root"),
		Name:            proto.String("offerdeck-test"),
		FailoverTimeout: proto.Float64(604800),
		Capabilities: []*mesos.FrameworkInfo_Capability{
			{Type: mesos.FrameworkInfo_Capability_MULTI_ROLE.Enum()},
		},
		Roles: []string{"*"},
	}
}

// running is a client whose Run goroutine the test owns.
type running struct {
	*mesos.Client
	events *events
	done   chan error
	cancel context.CancelFunc
	once   sync.Once
}

// stop cancels Run and waits for it to return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of cancel")
		}
	})
}

func startClient(t *testing.T, cfg mesos.Config) *running {
	t.Helper()
	if cfg.Framework == nil {
		cfg.Framework = framework()
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	c, err := mesos.NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{Client: c, events: newEvents(), done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- c.Run(ctx, r.events.handle) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// waitStatus polls the client's status until ok or the bound passes.
func waitStatus(t *testing.T, c *mesos.Client, what string, ok func(mesos.Status) bool) mesos.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := c.Status()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never became %s; last %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSubscribeAndCall(t *testing.T) {
	for _, mediaType := range []string{mesos.MediaTypeJSON, mesos.MediaTypeProtobuf} {
		t.Run(mediaType, func(t *testing.T) {
			m := newFakeMaster(t)
			c := startClient(t, mesos.Config{Masters: []string{m.URL()}, MediaType: mediaType})

			s := m.nextStream(t)
			sub := s.req.call
			if got := s.req.header.Get("Content-Type"); got != mediaType {
				t.Errorf("SUBSCRIBE Content-Type = %q, want %q", got, mediaType)
			}
			if got := s.req.header.Get("Mesos-Stream-Id"); got != "" {
				t.Errorf("SUBSCRIBE carries Mesos-Stream-Id %q; the master answers that with 400", got)
			}
			if sub.GetFrameworkId() != nil || sub.GetSubscribe().GetFrameworkInfo().GetId() != nil {
				t.Errorf("first SUBSCRIBE of a new framework carries an id: %v", sub)
			}
			if got := sub.GetSubscribe().GetFrameworkInfo().GetName(); got != "offerdeck-test" {
				t.Errorf("SUBSCRIBE framework name = %q", got)
			}

			s.subscribed(t, "fw-1", 15*time.Second)
			if ev := c.events.next(t, mesos.Event_SUBSCRIBED); ev.GetSubscribed().GetFrameworkId().GetValue() != "fw-1" {
				t.Fatalf("SUBSCRIBED delivered with framework id %v", ev.GetSubscribed().GetFrameworkId())
			}
			st := waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed })
			if st.FrameworkID != "fw-1" || st.StreamID == "" || st.HeartbeatInterval != 15*time.Second {
				t.Errorf("status = %+v, want framework fw-1, a stream id and 15s heartbeat", st)
			}

			// A call made while the stream is open must not queue behind it.
			decline := &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{
				OfferIds: []*mesos.OfferID{{Value: proto.String("o-1")}},
				Filters:  &mesos.Filters{RefuseSeconds: proto.Float64(60)},
			}}
			if err := c.Call(t.Context(), decline); err != nil {
				t.Fatalf("Call(DECLINE) = %v", err)
			}
			calls := m.receivedCalls()
			if len(calls) != 1 {
				t.Fatalf("master received %d calls, want 1", len(calls))
			}
			got := calls[0]
			if got.header.Get("Mesos-Stream-Id") != st.StreamID {
				t.Errorf("call Mesos-Stream-Id = %q, want %q", got.header.Get("Mesos-Stream-Id"), st.StreamID)
			}
			if got.call.GetFrameworkId().GetValue() != "fw-1" {
				t.Errorf("call framework_id = %v, want fw-1", got.call.GetFrameworkId())
			}
			if got.remoteAddr == s.req.remoteAddr {
				t.Errorf("call travelled on the stream's connection %s", got.remoteAddr)
			}
			if got.call.GetDecline().GetFilters().GetRefuseSeconds() != 60 {
				t.Errorf("call lost its filters: %v", got.call)
			}
		})
	}
}

func TestCallErrorsAreTyped(t *testing.T) {
	m := newFakeMaster(t)
	c := startClient(t, mesos.Config{Masters: []string{m.URL()}})
	s := m.nextStream(t)
	s.subscribed(t, "fw-1", 15*time.Second)
	waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed })

	for _, tc := range []struct {
		status int
		body   string
	}{
		{400, "Failed to validate scheduler::Call: Expecting 'reconcile' to be present"},
		{401, "401 Unauthorized."},
		{405, "405 Method Not Allowed."},
		{406, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'"},
		{415, "Expecting 'Content-Type' of application/json or application/x-protobuf"},
		{501, "501 Not Implemented."},
		{503, "Master has not finished recovery"},
	} {
		m.set(func(m *fakeMaster) { m.callStatus, m.callBody = tc.status, tc.body })
		err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_RECONCILE.Enum(), Reconcile: &mesos.Call_Reconcile{}})
		var apiErr *mesos.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != tc.status || apiErr.Message != tc.body || apiErr.Op != "RECONCILE" {
			t.Errorf("Call answered %d = %v, want an *APIError with status, op and message", tc.status, err)
		}
	}
	if c.Status().State != mesos.Subscribed {
		t.Errorf("an ordinary call error ended the subscription: %+v", c.Status())
	}

	// 403 "not subscribed" means the master lost our subscription.
	m.set(func(m *fakeMaster) { m.callStatus, m.callBody = 403, "Framework is not subscribed" })
	err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_REVIVE.Enum()})
	var apiErr *mesos.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 403 {
		t.Fatalf("Call answered 403 = %v", err)
	}
	s2 := m.nextStream(t)
	if got := s2.req.call.GetFrameworkId().GetValue(); got != "fw-1" {
		t.Errorf("resubscribe after 403 has framework_id %q, want fw-1", got)
	}
}

func TestCallWhileNotSubscribed(t *testing.T) {
	c, err := mesos.NewClient(mesos.Config{Masters: []string{"http://127.0.0.1:1"}, Framework: framework()})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Call(t.Context(), &mesos.Call{Type: mesos.Call_REVIVE.Enum()})
	if !errors.Is(err, mesos.ErrNotSubscribed) {
		t.Errorf("Call before Run = %v, want ErrNotSubscribed", err)
	}
}

// TestFailoverResubscribe checks that when a stream ends the client
// subscribes again with the framework id in both places Mesos requires.
func TestFailoverResubscribe(t *testing.T) {
	m := newFakeMaster(t)
	c := startClient(t, mesos.Config{Masters: []string{m.URL()}})
	s := m.nextStream(t)
	s.subscribed(t, "fw-7", 15*time.Second)
	c.events.next(t, mesos.Event_SUBSCRIBED)
	s.close()

	s2 := m.nextStream(t)
	call := s2.req.call
	if call.GetFrameworkId().GetValue() != "fw-7" || call.GetSubscribe().GetFrameworkInfo().GetId().GetValue() != "fw-7" {
		t.Fatalf("re-SUBSCRIBE = %v, want framework id fw-7 at top level and in framework_info", call)
	}
	s2.subscribed(t, "fw-7", 15*time.Second)
	waitStatus(t, c.Client, "subscribed again", func(s mesos.Status) bool { return s.State == mesos.Subscribed })
}

func TestHeartbeatWatchdog(t *testing.T) {
	m := newFakeMaster(t)
	var mu sync.Mutex
	var seen []mesos.Status
	startClient(t, mesos.Config{Masters: []string{m.URL()}, HeartbeatMisses: 2, OnStatus: func(s mesos.Status) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	}})
	s := m.nextStream(t)
	start := time.Now()
	s.subscribed(t, "fw-1", 50*time.Millisecond)
	// The master goes silent but keeps the connection open: a half-open
	// stream. The client must notice within 2 x 50 ms and resubscribe.
	m.nextStream(t)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("half-open stream noticed after %v", took)
	}
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, st := range seen {
		if errors.Is(st.Err, mesos.ErrHeartbeatTimeout) {
			found = true
		}
	}
	if !found {
		t.Errorf("no status reported ErrHeartbeatTimeout; saw %d statuses", len(seen))
	}
}

func TestHeartbeatsKeepStreamAlive(t *testing.T) {
	m := newFakeMaster(t)
	c := startClient(t, mesos.Config{Masters: []string{m.URL()}, HeartbeatMisses: 3})
	s := m.nextStream(t)
	s.subscribed(t, "fw-1", 40*time.Millisecond)
	for range 15 { // 15 x 20 ms = 300 ms, far beyond 3 x 40 ms
		s.send(t, &mesos.Event{Type: mesos.Event_HEARTBEAT.Enum()})
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-m.streams:
		t.Fatal("client resubscribed although heartbeats kept coming")
	default:
	}
	if st := c.Status(); st.State != mesos.Subscribed {
		t.Errorf("status = %v, want subscribed", st.State)
	}
}

func TestMasterErrorStopsRun(t *testing.T) {
	m := newFakeMaster(t)
	c := startClient(t, mesos.Config{Masters: []string{m.URL()}})
	s := m.nextStream(t)
	s.send(t, &mesos.Event{Type: mesos.Event_ERROR.Enum(), Error: &mesos.Event_Error{Message: proto.String("Framework has been removed")}})
	select {
	case err := <-c.done:
		c.done <- err // for stop
		var me *mesos.MasterError
		if !errors.As(err, &me) || !me.FrameworkRemoved() {
			t.Fatalf("Run = %v, want a *MasterError for a removed framework", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept going after an ERROR event")
	}
	c.events.next(t, mesos.Event_ERROR)
}

// TestHostileStreams feeds broken streams and checks that the client
// neither crashes nor hangs: it reports why and subscribes again.
func TestHostileStreams(t *testing.T) {
	big := []byte("99999999999999999\n")
	tests := []struct {
		name    string
		bytes   []byte
		close   bool
		wantErr string
	}{
		{name: "garbage record", bytes: []byte("11\n{not json!}"), wantErr: "decode event"},
		{name: "non-numeric length", bytes: []byte("abc\n{}"), wantErr: "malformed"},
		{name: "record over the limit", bytes: big, wantErr: "too large"},
		{name: "closed mid-record", bytes: []byte("100\n{\"type\":\"HEART"), close: true, wantErr: "unexpected EOF"},
		{name: "closed cleanly", close: true, wantErr: "closed the event stream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newFakeMaster(t)
			c := startClient(t, mesos.Config{Masters: []string{m.URL()}, MaxRecordSize: 1 << 20})
			s := m.nextStream(t)
			s.subscribed(t, "fw-1", 15*time.Second)
			c.events.next(t, mesos.Event_SUBSCRIBED)
			if tc.bytes != nil {
				s.raw(tc.bytes)
			}
			if tc.close {
				s.close()
			}
			st := waitStatus(t, c.Client, "disconnected with a reason", func(s mesos.Status) bool {
				return s.Err != nil && strings.Contains(s.Err.Error(), tc.wantErr)
			})
			t.Logf("reason: %v", st.Err)
			s2 := m.nextStream(t)
			if s2.req.call.GetFrameworkId().GetValue() != "fw-1" {
				t.Errorf("resubscribe lost the framework id")
			}
		})
	}
}

func TestUnknownEventTypeAndTrickle(t *testing.T) {
	m := newFakeMaster(t)
	c := startClient(t, mesos.Config{Masters: []string{m.URL()}})
	s := m.nextStream(t)
	s.subscribed(t, "fw-1", 15*time.Second)
	c.events.next(t, mesos.Event_SUBSCRIBED)

	// A newer master's event type: decoded as UNKNOWN and passed on.
	rec := `{"type":"SOMETHING_NEW","something_new":{"x":1}}`
	s.raw([]byte(strconvItoa(len(rec)) + "\n" + rec))
	c.events.next(t, mesos.Event_UNKNOWN)

	// A heartbeat that arrives one byte at a time is still one event.
	hb := []byte("20\n{\"type\":\"HEARTBEAT\"}")
	for _, b := range hb {
		s.raw([]byte{b})
	}
	c.events.next(t, mesos.Event_HEARTBEAT)
	if st := c.Status(); st.State != mesos.Subscribed {
		t.Errorf("status = %v after a trickled heartbeat, want subscribed", st.State)
	}
}

func strconvItoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func TestRedirectToLeader(t *testing.T) {
	leader := newFakeMaster(t)
	follower := newFakeMaster(t)
	leaderHost := strings.TrimPrefix(leader.URL(), "http://")
	follower.set(func(m *fakeMaster) {
		m.subscribeStatus, m.location = http.StatusTemporaryRedirect, "//"+leaderHost+mesos.SchedulerPath
	})

	c := startClient(t, mesos.Config{Masters: []string{follower.URL(), leader.URL()}})
	s := leader.nextStream(t)
	s.subscribed(t, "fw-1", 15*time.Second)
	st := waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed })
	if st.Master != leader.URL() {
		t.Errorf("subscribed to %q, want the leader %q", st.Master, leader.URL())
	}
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_REVIVE.Enum()}); err != nil {
		t.Fatalf("Call after redirect = %v", err)
	}
	if n := len(leader.receivedCalls()); n != 1 {
		t.Errorf("leader received %d calls, want 1", n)
	}
}

func TestRedirectToUnknownHostRefused(t *testing.T) {
	follower := newFakeMaster(t)
	follower.set(func(m *fakeMaster) {
		m.subscribeStatus, m.location = http.StatusTemporaryRedirect, "//evil.example:5050"+mesos.SchedulerPath
	})
	c := startClient(t, mesos.Config{Masters: []string{follower.URL()}, Principal: "dash", Secret: "s3cret"})
	st := waitStatus(t, c.Client, "refusing the redirect", func(s mesos.Status) bool {
		return s.Err != nil && strings.Contains(s.Err.Error(), "evil.example:5050") && strings.Contains(s.Err.Error(), "refused")
	})
	t.Logf("reason: %v", st.Err)
}

func TestRedirectLoopGivesUp(t *testing.T) {
	a := newFakeMaster(t)
	b := newFakeMaster(t)
	a.set(func(m *fakeMaster) {
		m.subscribeStatus, m.location = 307, "//"+strings.TrimPrefix(b.URL(), "http://")+mesos.SchedulerPath
	})
	b.set(func(m *fakeMaster) {
		m.subscribeStatus, m.location = 307, "//"+strings.TrimPrefix(a.URL(), "http://")+mesos.SchedulerPath
	})
	c := startClient(t, mesos.Config{Masters: []string{a.URL(), b.URL()}, MaxRedirects: 3})
	waitStatus(t, c.Client, "giving up on the loop", func(s mesos.Status) bool {
		return s.Err != nil && strings.Contains(s.Err.Error(), "gave up after 3 redirects")
	})
}

func TestSubscribeRefusedWithStatus(t *testing.T) {
	m := newFakeMaster(t)
	m.set(func(m *fakeMaster) { m.subscribeStatus, m.subscribeBody = 503, "No leader elected" })
	c := startClient(t, mesos.Config{Masters: []string{m.URL()}})
	st := waitStatus(t, c.Client, "failing with 503", func(s mesos.Status) bool {
		var apiErr *mesos.APIError
		return errors.As(s.Err, &apiErr) && apiErr.Status == 503 && apiErr.Message == "No leader elected"
	})
	if st.Attempt == 0 || st.RetryAt.IsZero() {
		t.Errorf("status after a failed attempt = %+v, want an attempt count and a retry time", st)
	}
	// Once the master recovers, the client gets through.
	m.set(func(m *fakeMaster) { m.subscribeStatus = 0 })
	m.nextStream(t).subscribed(t, "fw-1", 15*time.Second)
	waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed && s.Attempt == 0 })
}

func TestBasicAuthAndSecretNeverLogged(t *testing.T) {
	const secret = "t0p-s3cret-value"
	var logs bytes.Buffer
	m := newFakeMaster(t)
	c := startClient(t, mesos.Config{
		Masters: []string{m.URL()}, Principal: "dash", Secret: secret, HeartbeatMisses: 1,
		Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	s := m.nextStream(t)
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("dash:"+secret))
	if got := s.req.header.Get("Authorization"); got != want {
		t.Errorf("SUBSCRIBE Authorization = %q, want %q", got, want)
	}
	s.subscribed(t, "fw-1", 30*time.Millisecond)
	waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed })
	if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_REVIVE.Enum()}); err != nil {
		t.Fatal(err)
	}
	if got := m.receivedCalls()[0].header.Get("Authorization"); got != want {
		t.Errorf("call Authorization = %q, want %q", got, want)
	}
	m.nextStream(t) // the heartbeat deadline passed: a reconnect was logged
	c.stop(t)
	if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), base64.StdEncoding.EncodeToString([]byte("dash:"+secret))) {
		t.Errorf("logs contain the secret:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "subscribed") {
		t.Errorf("logs lack the subscribed line, so the check above saw nothing:\n%s", logs.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// fakeDetector names a leader the test can change.
type fakeDetector struct {
	mu      sync.Mutex
	leader  string
	changed chan struct{}
}

func newFakeDetector(url string) *fakeDetector {
	return &fakeDetector{leader: url, changed: make(chan struct{})}
}

func (d *fakeDetector) set(url string) {
	d.mu.Lock()
	d.leader = url
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
}

func (d *fakeDetector) Leader(ctx context.Context, notURL string) (detect.Master, error) {
	for {
		d.mu.Lock()
		leader, changed := d.leader, d.changed
		d.mu.Unlock()
		if leader != "" && leader != notURL {
			return detect.Master{URL: leader}, nil
		}
		select {
		case <-ctx.Done():
			return detect.Master{}, ctx.Err()
		case <-changed:
		}
	}
}

func TestDetectorLeaderChange(t *testing.T) {
	first := newFakeMaster(t)
	second := newFakeMaster(t)
	det := newFakeDetector(first.URL())
	c := startClient(t, mesos.Config{Detector: det})
	first.nextStream(t).subscribed(t, "fw-1", 15*time.Second)
	waitStatus(t, c.Client, "subscribed to the first", func(s mesos.Status) bool { return s.State == mesos.Subscribed && s.Master == first.URL() })

	det.set(second.URL())
	s := second.nextStream(t)
	if s.req.call.GetFrameworkId().GetValue() != "fw-1" {
		t.Errorf("SUBSCRIBE to the new leader = %v, want a failover of fw-1", s.req.call)
	}
	s.subscribed(t, "fw-1", 15*time.Second)
	waitStatus(t, c.Client, "subscribed to the second", func(s mesos.Status) bool { return s.State == mesos.Subscribed && s.Master == second.URL() })
}

func TestNewClientValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  mesos.Config
		want string
	}{
		{"no master", mesos.Config{Framework: framework()}, "no master"},
		{"bad master", mesos.Config{Masters: []string{"ftp://x"}, Framework: framework()}, "want http://"},
		{"no framework", mesos.Config{Masters: []string{"http://m:5050"}}, "user and name"},
		{"no user", mesos.Config{Masters: []string{"http://m:5050"}, Framework: &mesos.FrameworkInfo{Name: proto.String("x")}}, "user and name"},
		{"bad media type", mesos.Config{Masters: []string{"http://m:5050"}, Framework: framework(), MediaType: "application/json; charset=utf-8"}, "media type"},
		{"colon in principal", mesos.Config{Masters: []string{"http://m:5050"}, Framework: framework(), Principal: "a:b"}, "principal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mesos.NewClient(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewClient(%s) = %v, want an error containing %q", tc.name, err, tc.want)
			}
		})
	}
}

// TestStaleStreamCallRetriedOnce: a call refused for carrying an old
// stream id (it raced a re-subscription) is sent once more, never more.
func TestStaleStreamCallRetriedOnce(t *testing.T) {
	m := newFakeMaster(t)
	c := startClient(t, mesos.Config{Masters: []string{m.URL()}})
	m.nextStream(t).subscribed(t, "fw-1", 15*time.Second)
	waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed })
	m.set(func(m *fakeMaster) {
		m.callStatus = 400
		m.callBody = "The stream ID 'an-old-one' included in this request didn't match the stream ID currently associated with framework ID fw-1"
	})
	err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_REVIVE.Enum()})
	var apiErr *mesos.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Fatalf("Call = %v, want the 400 after the retry", err)
	}
	if n := len(m.receivedCalls()); n != 2 {
		t.Errorf("master received %d calls, want the call and one retry", n)
	}
}

// TestAcknowledgementsTravelSideBySide: acknowledgements go out on
// connections of their own, AckConnections at a time, and a call made
// meanwhile does not wait behind them.
func TestAcknowledgementsTravelSideBySide(t *testing.T) {
	m := newFakeMaster(t)
	hold := make(chan struct{})
	m.set(func(m *fakeMaster) { m.holdAcks = hold })
	c := startClient(t, mesos.Config{Masters: []string{m.URL()}})
	m.nextStream(t).subscribed(t, "fw-1", 15*time.Second)
	st := waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed })

	const n = mesos.AckConnections
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- c.Acknowledge(t.Context(), &mesos.Call_Acknowledge{
				AgentId: &mesos.AgentID{Value: proto.String("a1")},
				TaskId:  &mesos.TaskID{Value: proto.String("t" + string(rune('0'+i)))},
				Uuid:    []byte{byte(i)},
			})
		}()
	}
	// All of them reach the master while none is answered: they travel
	// side by side.
	deadline := time.Now().Add(10 * time.Second)
	for len(m.receivedCalls()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the master holds %d acknowledgements, want %d at once", len(m.receivedCalls()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	decline := &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{OfferIds: []*mesos.OfferID{{Value: proto.String("o-1")}}}}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := c.Call(ctx, decline); err != nil {
		t.Fatalf("DECLINE while acknowledgements are held = %v; it must not wait behind them", err)
	}
	close(hold)
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Acknowledge = %v", err)
		}
	}
	addrs := map[string]bool{}
	for _, r := range m.receivedCalls() {
		if r.call.GetType() != mesos.Call_ACKNOWLEDGE {
			continue
		}
		addrs[r.remoteAddr] = true
		if r.header.Get("Mesos-Stream-Id") != st.StreamID || r.call.GetFrameworkId().GetValue() != "fw-1" || len(r.call.GetAcknowledge().GetUuid()) != 1 {
			t.Errorf("acknowledgement as received: stream %q, call %v", r.header.Get("Mesos-Stream-Id"), r.call)
		}
	}
	if len(addrs) != n {
		t.Errorf("acknowledgements came on %d connections, want %d", len(addrs), n)
	}
}
