package web_test

import (
	"runtime"
	"testing"
	"time"
)

// TestConnectStormsLeaveNoGoroutines: hundreds of viewers connecting and
// dropping leave the server with the goroutines it had.
func TestConnectStormsLeaveNoGoroutines(t *testing.T) {
	st := newStack(t)
	_, since, epoch := st.page(t, "/offers", "agent-1.demo")
	settle := func() int {
		runtime.GC()
		time.Sleep(100 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	before := settle()
	for range 300 {
		c, err := st.dial(t, since, epoch, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.CloseNow()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		after := settle()
		if after <= before+5 {
			t.Logf("goroutines: %d before, %d after 300 connects", before, after)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after 300 connects and disconnects", before, after)
		}
	}
}
