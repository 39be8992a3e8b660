package web_test

import (
	"bytes"
	"context"
	"encoding/json"
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

// dialStreams connects n viewers of topic t to a StreamHandler of h and
// waits until all are subscribed.
func dialStreams(t *testing.T, h *hub.Hub, url string, n int) []*websocket.Conn {
	t.Helper()
	var cs []*websocket.Conn
	for range n {
		c, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(url, "http")+"/?since=t:0&epoch="+strconv.FormatUint(h.Epoch(), 36), nil)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadLimit(-1)
		t.Cleanup(func() { c.CloseNow() })
		cs = append(cs, c)
	}
	return cs
}

// readChanges reads one message and returns its changes.
func readChanges(t *testing.T, c *websocket.Conn) []json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m struct{ Changes []json.RawMessage }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("message %.100q: %v", b, err)
	}
	return m.Changes
}

// writers counts the goroutines writing a stream or waiting in the hub
// for something to write.
func writers() int {
	buf := make([]byte, 8<<20)
	stacks := buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range bytes.SplitSeq(stacks, []byte("\n\n")) {
		if bytes.Contains(g, []byte("web.(*wsStream).run(")) || bytes.Contains(g, []byte("hub.(*Subscriber).")) {
			n++
		}
	}
	return n
}

// TestIdleStreamHoldsNoWriter: a stream with nothing to send has no
// goroutine of its own (only the library's reader), and the next change
// still reaches every viewer.
func TestIdleStreamHoldsNoWriter(t *testing.T) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	streams := web.StreamHandler(h)
	defer streams.Close()
	srv := httptest.NewServer(streams)
	defer srv.Close()
	const viewers = 20
	cs := dialStreams(t, h, srv.URL, viewers)
	for round := range 3 {
		data := `"change ` + strconv.Itoa(round) + `"`
		h.Publish("t", hub.Entry{Key: "k", Data: []byte(data)})
		for _, c := range cs {
			if got := readChanges(t, c); len(got) != 1 || string(got[0]) != data {
				t.Fatalf("round %d: changes %s, want [%s]", round, got, data)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for writers() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d of %d idle streams still hold a writer goroutine", round, writers(), viewers)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestStreamMessagesWhole: messages far larger than the small socket
// buffers, and small ones between them, arrive whole and in order.
func TestStreamMessagesWhole(t *testing.T) {
	h, err := hub.New(hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	streams := web.StreamHandler(h)
	defer streams.Close()
	srv := httptest.NewServer(streams)
	defer srv.Close()
	c := dialStreams(t, h, srv.URL, 1)[0]
	for i, size := range []int{10, 100, 200 << 10, 5, 4 << 10, 1 << 20, 127, 128, 129} {
		data := `"` + strings.Repeat(string(rune('a'+i)), size) + `"`
		h.Publish("t", hub.Entry{Data: []byte(data)})
		if got := readChanges(t, c); len(got) != 1 || string(got[0]) != data {
			n := 0
			for _, g := range got {
				n += len(g)
			}
			t.Fatalf("message %d of %d bytes arrived as %d changes (%d bytes)", i, size, len(got), n)
		}
	}
}
