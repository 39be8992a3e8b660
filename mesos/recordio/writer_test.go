package recordio_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos/recordio"
)

func TestAppendRecord(t *testing.T) {
	tests := []struct {
		name string
		dst  string
		p    string
		want string
	}{
		{"heartbeat", "", heartbeat, "20\n" + heartbeat},
		{"subscribed", "", subscribed, "139\n" + subscribed},
		{"appends to dst", "20\n" + heartbeat, subscribed, "20\n" + heartbeat + "139\n" + subscribed},
		{"UTF-8 length counts bytes", "", "héllo", "6\nhéllo"},
		{"invalid UTF-8", "", "\xff\xfe", "2\n\xff\xfe"},
		{"empty record", "", "", "0\n"},
		{"payload with newline", "", "a\nb", "3\na\nb"},
		{"1000 bytes", "", strings.Repeat("x", 1000), "1000\n" + strings.Repeat("x", 1000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := recordio.AppendRecord([]byte(tc.dst), []byte(tc.p))
			if string(got) != tc.want {
				t.Errorf("AppendRecord(%q, %q) = %q, want %q", tc.dst, tc.p, got, tc.want)
			}
		})
	}
}

// The bytes are the hex dump given in section 2 of shared/docs/mesos-api.md.
func TestAppendRecordHeartbeatBytes(t *testing.T) {
	want, err := hex.DecodeString(strings.ReplaceAll(
		"32 30 0a 7b 22 74 79 70 65 22 3a 22 48 45 41 52 54 42 45 41 54 22 7d", " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	if got := recordio.AppendRecord(nil, []byte(heartbeat)); !bytes.Equal(got, want) {
		t.Errorf("AppendRecord(nil, %q) = % x, want % x", heartbeat, got, want)
	}
	if len(want) != 23 {
		t.Errorf("framed heartbeat is %d bytes, want 23", len(want))
	}
}

func TestAppendRecordReusesCapacity(t *testing.T) {
	p := []byte(subscribed)
	dst := make([]byte, 0, 4<<10)
	allocs := testing.AllocsPerRun(100, func() {
		dst = recordio.AppendRecord(dst[:0], p)
		dst = recordio.AppendRecord(dst, p)
	})
	if allocs != 0 {
		t.Errorf("AppendRecord into a buffer with room allocated %v times, want 0", allocs)
	}
}

// writeRecorder records the bytes of each Write call separately.
type writeRecorder struct{ writes []string }

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func TestWriteRecordOneWritePerRecord(t *testing.T) {
	var rec writeRecorder
	w := recordio.NewWriter(&rec)
	for _, p := range []string{subscribed, heartbeat, "", "héllo"} {
		if err := w.WriteRecord([]byte(p)); err != nil {
			t.Fatalf("WriteRecord(%q) = %v", p, err)
		}
	}
	want := []string{"139\n" + subscribed, "20\n" + heartbeat, "0\n", "6\nhéllo"}
	if len(rec.writes) != len(want) {
		t.Fatalf("Write calls = %q, want %q", rec.writes, want)
	}
	for i := range want {
		if rec.writes[i] != want[i] {
			t.Errorf("Write call %d = %q, want %q", i, rec.writes[i], want[i])
		}
	}
}

func TestWriteRecordWorkedExample(t *testing.T) {
	var buf bytes.Buffer
	w := recordio.NewWriter(&buf)
	for _, p := range []string{subscribed, heartbeat} {
		if err := w.WriteRecord([]byte(p)); err != nil {
			t.Fatalf("WriteRecord(%q) = %v", p, err)
		}
	}
	want := `139
{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f2b4e1a0-7c1d-4e5b-9a8f-0c2d4e6f8a10-0000"},"heartbeat_interval_seconds":15.0}}20
{"type":"HEARTBEAT"}`
	if got := buf.String(); got != want {
		t.Errorf("stream = %q, want %q", got, want)
	}
}

// failWriter returns err after writing n bytes of its first call and counts
// its calls.
type failWriter struct {
	n     int
	err   error
	calls int
}

func (w *failWriter) Write(p []byte) (int, error) {
	w.calls++
	return min(w.n, len(p)), w.err
}

func TestWriteRecordError(t *testing.T) {
	tests := []struct {
		name    string
		w       *failWriter
		wantErr error
	}{
		{"write fails", &failWriter{err: errBoom}, errBoom},
		{"write fails part way", &failWriter{n: 3, err: errBoom}, errBoom},
		{"short write without error", &failWriter{n: 3}, io.ErrShortWrite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := recordio.NewWriter(tc.w)
			err := w.WriteRecord([]byte(heartbeat))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("WriteRecord() = %v, want %v", err, tc.wantErr)
			}
			if again := w.WriteRecord([]byte(heartbeat)); again != err {
				t.Errorf("WriteRecord() after %v = %v, want the same error", err, again)
			}
			if tc.w.calls != 1 {
				t.Errorf("underlying Write called %d times, want 1", tc.w.calls)
			}
		})
	}
}
