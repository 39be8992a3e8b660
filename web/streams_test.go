package web_test

import (
	"bytes"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/offerdeck/offerdeck/hub"
	"github.com/offerdeck/offerdeck/web"
)

// TestStreamsCloseCutsABlockedWrite: a viewer that stops reading leaves
// its stream blocked in a write (for up to the 10 s write timeout); Close
// ends it, and every stream goroutine, at once. goleak (TestMain) checks
// that none is left behind.
func TestStreamsCloseCutsABlockedWrite(t *testing.T) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	streams := web.StreamHandler(h)
	srv := httptest.NewServer(streams)
	defer srv.Close()
	c, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/?since=big:0&epoch="+strconv.FormatUint(h.Epoch(), 36), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// Publish the big entry once the stream has started, as one 32 MB
	// message that the viewer never reads: far more than the socket
	// buffers hold.
	deadline := time.Now().Add(5 * time.Second)
	for !h.Subscribed("big") {
		if time.Now().After(deadline) {
			t.Fatal("the stream never subscribed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.Publish("big", hub.Entry{Data: bytes.Repeat([]byte("x"), 32<<20)})
	// Wait until the stream is inside the write (building the 32 MB
	// message takes a while under -race, and cannot be cut).
	writing := func() bool {
		buf := make([]byte, 4<<20)
		stacks := buf[:runtime.Stack(buf, true)]
		// In the library's Write, or in the one write of the frame it
		// gathered.
		return bytes.Contains(stacks, []byte("github.com/coder/websocket.(*Conn).Write(")) ||
			bytes.Contains(stacks, []byte("web.(*leanConn).flush("))
	}
	for !writing() {
		if time.Now().After(deadline) {
			t.Fatal("the stream never started writing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	streams.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %v with a write blocked; want it cut at once", took)
	} else {
		t.Logf("Close took %v with a 32 MB write blocked", took.Round(time.Millisecond))
	}
}
