package mesos

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestAcknowledgeJSONAsAppendJSON: the acknowledgement the pipeline
// writes by hand is byte for byte what the generic encoder writes, for
// ids that need escaping and uuids of any bytes.
func TestAcknowledgeJSONAsAppendJSON(t *testing.T) {
	ids := []string{"", "t1", `quote " and \ backslash`, "tab\tnewline\ncontrol\x01\x1f del\x7f", "é ünïcödé 🚀", "invalid \xff\xfe utf-8", "<script>&amp;</script>", "\u2028\u2029"}
	uuids := [][]byte{{}, {1, 2, 3}, {0xff, 0xfe, 0, '"'}, make([]byte, 16)}
	for i, id := range ids {
		for _, uuid := range uuids {
			a := &Call_Acknowledge{AgentId: &AgentID{Value: proto.String(ids[(i+3)%len(ids)])}, TaskId: &TaskID{Value: proto.String(id)}, Uuid: uuid}
			framework := ids[(i+1)%len(ids)]
			if !plainAck(a) {
				t.Fatalf("plainAck(%v) = false", a)
			}
			want, err := Marshal(MediaTypeJSON, &Call{Type: Call_ACKNOWLEDGE.Enum(), Acknowledge: a, FrameworkId: &FrameworkID{Value: proto.String(framework)}})
			if err != nil {
				t.Fatal(err)
			}
			if got := appendAcknowledgeJSON(nil, framework, a); string(got) != string(want) {
				t.Errorf("acknowledgement of task %q, uuid %x:\n got %s\nwant %s", id, uuid, got, want)
			}
		}
	}
	for _, a := range []*Call_Acknowledge{
		{TaskId: &TaskID{Value: proto.String("t")}, Uuid: []byte{1}},
		{AgentId: &AgentID{Value: proto.String("a")}, Uuid: []byte{1}},
		{AgentId: &AgentID{Value: proto.String("a")}, TaskId: &TaskID{Value: proto.String("t")}},
		{AgentId: &AgentID{}, TaskId: &TaskID{Value: proto.String("t")}, Uuid: []byte{1}},
	} {
		if plainAck(a) {
			t.Errorf("plainAck(%v) = true, want false: a field is missing", a)
		}
	}
}

// BenchmarkAcknowledgeBody compares the two ways an acknowledgement's JSON
// body is written: by the generic encoder (what every other call uses)
// and by hand, as the pipeline does for each update.
func BenchmarkAcknowledgeBody(b *testing.B) {
	a := &Call_Acknowledge{AgentId: &AgentID{Value: proto.String("1c3a3ad8-7e3f-4f5b-9a43-6d0c2c6e9a1b-S12")},
		TaskId: &TaskID{Value: proto.String("web-3f9a2c")}, Uuid: []byte("0123456789abcdef")}
	const framework = "1c3a3ad8-7e3f-4f5b-9a43-6d0c2c6e9a1b-0000"
	b.Run("generic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			call := &Call{Type: Call_ACKNOWLEDGE.Enum(), Acknowledge: a, FrameworkId: &FrameworkID{Value: proto.String(framework)}}
			if _, err := Marshal(MediaTypeJSON, call); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("by-hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if plainAck(a) {
				appendAcknowledgeJSON(nil, framework, a)
			}
		}
	})
}

// TestReadAnswer reads answers as libprocess and Go's server write them,
// and others the pipeline must not misread, each followed by a 202: the
// status must be net/http's, and where the reader says the next answer
// follows, the next must read as that 202 (the body was skipped to its
// end). Where it cannot tell where the answer ends, it must say so, and
// malformed answers are errors.
func TestReadAnswer(t *testing.T) {
	const next = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
	body := func(status, headers, b string) string {
		return fmt.Sprintf("HTTP/1.1 %s\r\n%sContent-Length: %d\r\n\r\n%s", status, headers, len(b), b)
	}
	for _, tc := range []struct {
		name, answer string
		status       int
		follows      bool
	}{
		{"libprocess's 202", "HTTP/1.1 202 Accepted\r\nDate: Mon, 07 Dec 2026 09:00:00 GMT\r\nContent-Length: 0\r\n\r\n", 202, true},
		{"an error with a body", body("400 Bad Request", "Content-Type: text/plain; charset=utf-8\r\n", "Task t3 is not known\n"), 400, true},
		{"lower-case names, spaces", "HTTP/1.1 202 Accepted\r\ncontent-length:   5  \r\n\r\nhello", 202, true},
		{"no reason phrase", "HTTP/1.1 202\r\nContent-Length: 0\r\n\r\n", 202, true},
		{"bare newlines", "HTTP/1.1 202 Accepted\nContent-Length: 2\n\nok", 202, true},
		{"the same length twice", "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", 202, true},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, true},
		{"a body as long as allowed", body("400 Bad Request", "", strings.Repeat("x", maxErrorBody)), 400, true},
		{"the connection closes", "HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 202, false},
		{"close among options", "HTTP/1.1 202 Accepted\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", 202, false},
		{"HTTP/1.0", "HTTP/1.0 202 Accepted\r\nContent-Length: 0\r\n\r\n", 202, false},
		{"a chunked body", "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400, false},
		{"chunked, with a length too", "HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400, false},
		{"no length", "HTTP/1.1 200 OK\r\n\r\nto the close", 200, false},
		{"a body too long to skip", body("400 Bad Request", "", strings.Repeat("x", maxErrorBody+1)), 400, false},
		{"an interim answer", "HTTP/1.1 100 Continue\r\n\r\n", 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			theirs, err := http.ReadResponse(bufio.NewReader(strings.NewReader(tc.answer)), nil)
			if err != nil {
				t.Fatalf("net/http cannot read the answer: %v", err)
			}
			br := bufio.NewReaderSize(strings.NewReader(tc.answer+next), 4<<10)
			a, err := readAnswer(br)
			if err != nil {
				t.Fatalf("readAnswer: %v", err)
			}
			if a.status != theirs.StatusCode || a.next != tc.follows {
				t.Fatalf("readAnswer = %+v, want status %d (net/http's %d), next %v", a, tc.status, theirs.StatusCode, tc.follows)
			}
			if a.next && theirs.Close {
				t.Errorf("readAnswer goes on where net/http closes")
			}
			if a.next {
				if b, err := readAnswer(br); err != nil || b != (answer{202, true}) {
					t.Errorf("the answer after it read as %+v, %v; its body was not skipped to its end", b, err)
				}
			}
		})
	}
	for _, bad := range []string{
		"",
		"HTTP/1.1 202 Accepted\r\n",                 // no end of the headers
		"HTP/1.1 202 Accepted\r\n\r\n",              // not HTTP
		"HTTP/2.0 202 Accepted\r\n\r\n",             // not HTTP/1
		"HTTP/1.1 2a2 Accepted\r\n\r\n",             // not a number
		"HTTP/1.1 +20 Accepted\r\n\r\n",             // nor this
		"HTTP/1.1 2020 Accepted\r\n\r\n",            // four digits
		"HTTP/1.1 202 Accepted\r\nno colon\r\n\r\n", // a header without a name
		"HTTP/1.1 202 Accepted\r\n folded: x\r\n\r\n",
		"HTTP/1.1 202 Accepted\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 202 Accepted\r\nContent-Length: 1, 2\r\n\r\n",
		"HTTP/1.1 202 Accepted\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\nshort",               // the body ends early
		"HTTP/1.1 202 Accepted\r\nX: " + strings.Repeat("x", 5<<10) + "\r\n\r\n", // a header longer than the buffer
	} {
		if a, err := readAnswer(bufio.NewReaderSize(strings.NewReader(bad), 4<<10)); err == nil {
			t.Errorf("readAnswer(%.60q) = %+v, want an error", bad, a)
		}
	}
}

// BenchmarkReadAnswer compares reading libprocess's answer to an
// acknowledgement with net/http's reader and with the pipeline's.
func BenchmarkReadAnswer(b *testing.B) {
	const answer202 = "HTTP/1.1 202 Accepted\r\nDate: Mon, 07 Dec 2026 09:00:00 GMT\r\nContent-Length: 0\r\n\r\n"
	many := strings.Repeat(answer202, 1000)
	run := func(b *testing.B, read func(*bufio.Reader) error) {
		b.ReportAllocs()
		r := strings.NewReader(many)
		br := bufio.NewReaderSize(r, 4<<10)
		for i := 0; b.Loop(); i++ {
			if i%1000 == 0 {
				r.Reset(many)
				br.Reset(r)
			}
			if err := read(br); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("net-http", func(b *testing.B) {
		req := &http.Request{Method: http.MethodPost}
		run(b, func(br *bufio.Reader) error {
			resp, err := http.ReadResponse(br, req)
			if err == nil {
				resp.Body.Close()
			}
			return err
		})
	})
	b.Run("pipeline", func(b *testing.B) {
		run(b, func(br *bufio.Reader) error { _, err := readAnswer(br); return err })
	})
}

// BenchmarkAcknowledgeAll measures one pipelined batch of 64
// acknowledgements (what a sender of the scheduler's acker takes at most)
// through a real HTTP server answering 202, with OnCall set as the
// scheduler sets it: B/ack and allocs/ack are the client's and the
// server's together, the server's the same in every build.
func BenchmarkAcknowledgeAll(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c, err := NewClient(Config{Masters: []string{srv.URL}, Framework: &FrameworkInfo{User: proto.String("bench"), Name: proto.String("bench")},
		OnCall: func(context.Context, *SentCall) {}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.closePipes()
	c.setStatus(func(s *Status) {
		s.State, s.Master, s.StreamID, s.FrameworkID = Subscribed, srv.URL, "stream-1", "1c3a3ad8-7e3f-4f5b-9a43-6d0c2c6e9a1b-0000"
	})
	const batch = 64
	acks := make([]*Call_Acknowledge, batch)
	for i := range acks {
		acks[i] = &Call_Acknowledge{AgentId: &AgentID{Value: proto.String("1c3a3ad8-7e3f-4f5b-9a43-6d0c2c6e9a1b-S12")},
			TaskId: &TaskID{Value: proto.String(fmt.Sprintf("web-%06x", i))}, Uuid: []byte("0123456789abcdef")}
	}
	b.ReportAllocs()
	for b.Loop() {
		for i, err := range c.AcknowledgeAll(b.Context(), acks) {
			if err != nil {
				b.Fatalf("ack %d: %v", i, err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/ack")
}
