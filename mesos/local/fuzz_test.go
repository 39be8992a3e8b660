package local_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
)

// FuzzSchedulerCall posts arbitrary bodies to the scheduler endpoint: the
// master must answer one of the statuses a real master uses, never fail
// or panic, whatever the body, content type or stream id.
func FuzzSchedulerCall(f *testing.F) {
	for _, seed := range []struct {
		ct, body string
	}{
		{mesos.MediaTypeJSON, `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}`},
		{mesos.MediaTypeJSON, `{"type":"REVIVE","framework_id":{"value":"x"}}`},
		{mesos.MediaTypeJSON, `{"type":"ACCEPT","framework_id":{"value":"x"},"accept":{"offer_ids":[{"value":"o"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t","task_id":{"value":"t"},"agent_id":{"value":"a"},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":"NaN"}}]}]}}]}}`},
		{mesos.MediaTypeJSON, strings.Repeat("[", 10000)},
		{mesos.MediaTypeJSON, `{"type":"ACKNOWLEDGE","framework_id":{"value":"x"},"acknowledge":{"uuid":"!!!"}}`},
		{mesos.MediaTypeJSON, `{"framework_id":{"value":"` + "\xff\xfe" + `"},"type":"KILL","kill":{"task_id":{"value":"t"}}}`},
		{mesos.MediaTypeJSON, `{"type":"RECONCILE","framework_id":{"value":"x"},"reconcile":{"tasks":[{"task_id":{"value":"99999999999999999999"}}]}}`},
		{mesos.MediaTypeProtobuf, "\x10\x01\x1a\x00"},
		{mesos.MediaTypeProtobuf, "\xff\xff\xff\xff"},
		{"text/plain", "hello"},
	} {
		f.Add(seed.ct, seed.body, "")
	}
	m, err := local.New(local.Config{SandboxRoot: f.TempDir(), SimulateCommands: true})
	if err != nil {
		f.Fatal(err)
	}
	h := m.Handler()
	allowed := map[int]bool{200: true, 202: true, 400: true, 401: true, 403: true, 405: true, 406: true, 413: true, 415: true, 501: true}
	f.Fuzz(func(t *testing.T, contentType, body, streamID string) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req := httptest.NewRequest(http.MethodPost, mesos.SchedulerPath, strings.NewReader(body)).WithContext(ctx)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if streamID != "" {
			req.Header.Set("Mesos-Stream-Id", streamID)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("status %d for %q %q: %s", rec.Code, contentType, body, rec.Body.String())
		}
	})
}
