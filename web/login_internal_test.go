package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// TestBcryptRunsUnderASemaphore: password checks run at most half the
// cores at once; a login that cannot get a turn within its time is
// answered 503, not queued for ever, and is not charged as a failure.
func TestBcryptRunsUnderASemaphore(t *testing.T) {
	sched, err := scheduler.New(scheduler.Config{StateDir: t.TempDir(), Client: mesos.Config{Masters: []string{"http://127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sched.Close()
	hash, _ := bcrypt.GenerateFromPassword([]byte("right password"), bcrypt.MinCost)
	users, err := ParseUsers("ann operator " + string(hash))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Scheduler: sched, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	if got, want := cap(s.logins.bcrypt), max(1, runtime.GOMAXPROCS(0)/2); got != want {
		t.Fatalf("%d checks may run at once, want %d", got, want)
	}
	login := func(ctx context.Context, password string) *httptest.ResponseRecorder {
		body := url.Values{"user": {"ann"}, "password": {password}}.Encode()
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// Every turn taken, as by checks in progress.
	for range cap(s.logins.bcrypt) {
		s.logins.bcrypt <- struct{}{}
	}
	for range DefaultLoginFailures + 1 {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		rec := login(ctx, "wrong")
		cancel()
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("login with every check busy = %d, want 503 with Retry-After", rec.Code)
		}
	}
	for range cap(s.logins.bcrypt) {
		<-s.logins.bcrypt
	}
	if rec := login(t.Context(), "right password"); rec.Code != http.StatusSeeOther {
		t.Fatalf("login once a turn is free = %d, want 303 (busy answers must not count as failures)", rec.Code)
	}
}
