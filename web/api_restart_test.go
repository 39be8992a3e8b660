package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/local/localtest"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/web"
)

// TestAPIIdempotencyKeyAcrossRestart: a launch repeated with the same
// Idempotency-Key after the dashboard restarted on its state gets the
// first answer and launches nothing again.
func TestAPIIdempotencyKeyAcrossRestart(t *testing.T) {
	_, master := localtest.Start(t, local.Config{SimulateCommands: true})
	dir := t.TempDir()
	// start runs the dashboard on dir until the returned stop is called.
	start := func() (*apiStack, func()) {
		sched, err := scheduler.New(scheduler.Config{
			Client:   mesos.Config{Masters: []string{master}, MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond},
			StateDir: dir,
			HoldTime: time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		s, err := web.New(web.Config{Scheduler: sched, Master: master, Embedded: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { sched.Run(ctx) })
		wg.Go(func() { s.Run(ctx) })
		h := s.Handler()
		srv := httptest.NewServer(h)
		stop := func() {
			srv.CloseClientConnections()
			srv.Close()
			cancel()
			wg.Wait()
		}
		waitReady(t, srv)
		return &apiStack{&stack{srv: srv, handler: h}}, stop
	}
	spec := map[string]any{"name": "once", "command": "sleep 600", "cpus": 0.1, "mem": 16}
	launch := func(st *apiStack) []string {
		t.Helper()
		var res result
		a := st.call(t, "", "POST", "/launch", spec, "Idempotency-Key", "restart-key-1")
		a.json(t, &res)
		if a.status != http.StatusAccepted || len(res.TaskIDs) != 1 {
			t.Fatalf("launch = %d %s, want one task placed at once", a.status, a.body)
		}
		return res.TaskIDs
	}

	st, stop := start()
	st.waitOffers(t, 3)
	first := launch(st)
	stop()

	st, stop = start()
	defer stop()
	if again := launch(st); !slices.Equal(again, first) {
		t.Errorf("after a restart the repeat answered %v, want the first answer %v", again, first)
	}
	var list struct{ Total int }
	st.call(t, "", "GET", "/tasks", nil).json(t, &list)
	if list.Total != 1 {
		t.Errorf("%d tasks after the repeat, want 1", list.Total)
	}
}
