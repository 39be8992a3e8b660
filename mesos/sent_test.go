package mesos_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// sentLog collects copies of what Config.OnCall is told, which is valid
// only while it is told.
type sentLog struct {
	mu   sync.Mutex
	sent []*mesos.SentCall
}

func (l *sentLog) add(_ context.Context, c *mesos.SentCall) {
	kept := *c
	kept.Call = proto.Clone(c.Call).(*mesos.Call)
	kept.JSON = slices.Clone(c.JSON)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, &kept)
}

func (l *sentLog) all() []*mesos.SentCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*mesos.SentCall(nil), l.sent...)
}

// TestOnCallReportsEverySend: every request is reported once per send,
// with its body as JSON (also on a protobuf connection), the stream id, the
// status and the master's text; a retry is reported as a second send; the
// secret appears nowhere, not even where a body carries it.
func TestOnCallReportsEverySend(t *testing.T) {
	const secret = "k9-known-s3cret"
	for _, mediaType := range []string{mesos.MediaTypeJSON, mesos.MediaTypeProtobuf} {
		t.Run(mediaType, func(t *testing.T) {
			var log sentLog
			m := newFakeMaster(t)
			fw := framework()
			fw.Labels = &mesos.Labels{Labels: []*mesos.Label{{Key: proto.String("note"), Value: proto.String("pass=" + secret)}}}
			c := startClient(t, mesos.Config{Masters: []string{m.URL()}, MediaType: mediaType, Framework: fw,
				Principal: "dash", Secret: secret, OnCall: log.add})
			s := m.nextStream(t)
			s.subscribed(t, "fw-1", 15*time.Second)
			st := waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed })

			decline := &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{
				OfferIds: []*mesos.OfferID{{Value: proto.String("o-1")}}, Filters: &mesos.Filters{RefuseSeconds: proto.Float64(60)}}}
			if err := c.Call(t.Context(), decline); err != nil {
				t.Fatal(err)
			}
			const refusal = "Failed to validate scheduler::Call: Expecting 'kill' to be present"
			m.set(func(m *fakeMaster) { m.callStatus, m.callBody = http.StatusBadRequest, refusal })
			if err := c.Call(t.Context(), &mesos.Call{Type: mesos.Call_KILL.Enum()}); err == nil {
				t.Fatal("KILL answered 400 returned no error")
			}
			m.set(func(m *fakeMaster) {
				m.callBody = "The stream ID 'old' included in this request didn't match the stream ID currently associated with framework ID fw-1"
			})
			c.Call(t.Context(), &mesos.Call{Type: mesos.Call_REVIVE.Enum()})

			sent := log.all()
			var types []string
			for _, sc := range sent {
				types = append(types, sc.Type)
				if sc.MediaType != mediaType || sc.Principal != "dash" || sc.Master != m.URL() || sc.Sent.IsZero() || sc.Took <= 0 {
					t.Errorf("%s reported as %+v, want media type, principal, master, time and duration", sc.Type, sc)
				}
				if !json.Valid(sc.JSON) {
					t.Errorf("%s body is not JSON: %s", sc.Type, sc.JSON)
				}
				for _, s := range []string{string(sc.JSON), sc.Answer, sc.Master, sc.StreamID} {
					if strings.Contains(s, secret) {
						t.Errorf("%s report carries the secret: %q", sc.Type, s)
					}
				}
			}
			if got, want := strings.Join(types, " "), "SUBSCRIBE DECLINE KILL REVIVE REVIVE"; got != want {
				t.Fatalf("reported %q, want %q", got, want)
			}
			sub, dec, kill, first, retry := sent[0], sent[1], sent[2], sent[3], sent[4]
			if sub.Status != 200 || sub.StreamID != "" || !strings.HasPrefix(sub.Answer, "Mesos-Stream-Id: stream-") {
				t.Errorf("SUBSCRIBE reported %d %q with stream id %q, want 200 and the new stream's id", sub.Status, sub.Answer, sub.StreamID)
			}
			if !strings.Contains(string(sub.JSON), `"pass=`+mesos.SecretPlaceholder+`"`) {
				t.Errorf("SUBSCRIBE body %s does not show the placeholder where the secret was", sub.JSON)
			}
			if dec.Status != 202 || dec.Answer != "" || dec.StreamID != st.StreamID || dec.Retry {
				t.Errorf("DECLINE reported %+v, want 202 on stream %s", dec, st.StreamID)
			}
			if want := `"offer_ids":[{"value":"o-1"}]`; !strings.Contains(string(dec.JSON), want) || !strings.Contains(string(dec.JSON), `"framework_id":{"value":"fw-1"}`) {
				t.Errorf("DECLINE body %s lacks %s or the framework id the client set", dec.JSON, want)
			}
			if kill.Status != 400 || kill.Answer != refusal {
				t.Errorf("KILL reported %d %q, want 400 with the master's text", kill.Status, kill.Answer)
			}
			if first.Retry || !retry.Retry || retry.Status != 400 {
				t.Errorf("the stale-stream REVIVE reported retry %v then %v (status %d), want a first send and a retry", first.Retry, retry.Retry, retry.Status)
			}
		})
	}
}

// TestOnCallReportsCallsThatGotNoAnswer: a call whose master is gone is
// reported without a status, saying why.
func TestOnCallReportsCallsThatGotNoAnswer(t *testing.T) {
	var log sentLog
	m := newFakeMaster(t)
	c := startClient(t, mesos.Config{Masters: []string{m.URL()}, OnCall: log.add})
	m.nextStream(t).subscribed(t, "fw-1", 15*time.Second)
	waitStatus(t, c.Client, "subscribed", func(s mesos.Status) bool { return s.State == mesos.Subscribed })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Call(ctx, &mesos.Call{Type: mesos.Call_SUPPRESS.Enum()}); err == nil {
		t.Fatal("a call with a cancelled context succeeded")
	}
	sent := log.all()
	last := sent[len(sent)-1]
	if last.Type != "SUPPRESS" || last.Status != 0 || !strings.Contains(last.Answer, "canceled") {
		t.Errorf("reported %s %d %q, want SUPPRESS without status, saying it was cancelled", last.Type, last.Status, last.Answer)
	}
}
