package recordio_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/offerdeck/offerdeck/mesos/recordio"
)

// The worked examples of section 2 of shared/docs/mesos-api.md.
const (
	heartbeat  = `{"type":"HEARTBEAT"}`
	subscribed = `{"type":"SUBSCRIBED","subscribed":{"framework_id":{"value":"f2b4e1a0-7c1d-4e5b-9a8f-0c2d4e6f8a10-0000"},"heartbeat_interval_seconds":15.0}}`
)

// sources wrap a stream so the Reader sees it in differently shaped reads.
var sources = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"OneByteReader", iotest.OneByteReader},
	{"HalfReader", iotest.HalfReader},
	{"DataErrReader", iotest.DataErrReader},
	{"OneByteDataErrReader", func(r io.Reader) io.Reader { return iotest.DataErrReader(iotest.OneByteReader(r)) }},
}

// readAll reads records until ReadRecord fails and returns copies of them
// with the error. It also checks that the error is sticky.
func readAll(t testing.TB, r *recordio.Reader) ([][]byte, error) {
	t.Helper()
	var recs [][]byte
	for {
		rec, err := r.ReadRecord()
		if err != nil {
			if rec != nil {
				t.Errorf("ReadRecord() = %q, %v; want nil record with an error", rec, err)
			}
			if again, err2 := r.ReadRecord(); again != nil || err2 != err {
				t.Errorf("ReadRecord() after error %v = %q, %v; want the same error again", err, again, err2)
			}
			return recs, err
		}
		recs = append(recs, bytes.Clone(rec))
	}
}

// equalRecords reports whether got holds the records want, in order.
func equalRecords(got [][]byte, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if string(got[i]) != want[i] {
			return false
		}
	}
	return true
}

func TestReadRecord(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   []string
	}{
		{"heartbeat", "20\n" + heartbeat, []string{heartbeat}},
		{"subscribed then heartbeat", "139\n" + subscribed + "20\n" + heartbeat, []string{subscribed, heartbeat}},
		{"empty stream", "", nil},
		{"UTF-8 length counts bytes", "6\nhéllo", []string{"héllo"}},
		{"invalid UTF-8 payload", "3\n\xff\xfe\x00", []string{"\xff\xfe\x00"}},
		{"payload with newlines and digits", "7\n12\n34\n\n2\n56", []string{"12\n34\n\n", "56"}},
		{"zero length", "0\n", []string{""}},
		{"zero lengths around a record", "0\n5\nhello0\n", []string{"", "hello", ""}},
		{"empty lines before first header", "\n\n5\nhello", []string{"hello"}},
		{"empty lines between records", "5\nhello\n\n\n5\nworld", []string{"hello", "world"}},
		{"empty lines at end", "5\nhello\n\n", []string{"hello"}},
		{"only empty lines", "\n\n\n", nil},
		{"leading zeros", "005\nhello", []string{"hello"}},
		{"20 digits with leading zeros", "00000000000000000005\nhello", []string{"hello"}},
	}
	for _, tc := range tests {
		for _, src := range sources {
			t.Run(tc.name+"/"+src.name, func(t *testing.T) {
				r := recordio.NewReader(src.wrap(strings.NewReader(tc.stream)), 0)
				got, err := readAll(t, r)
				if err != io.EOF {
					t.Errorf("ReadRecord() error = %v, want io.EOF", err)
				}
				if !equalRecords(got, tc.want) {
					t.Errorf("records = %q, want %q", got, tc.want)
				}
			})
		}
	}
}

func TestReadRecordZeroLengthIsNotNil(t *testing.T) {
	r := recordio.NewReader(strings.NewReader("0\n"), 0)
	rec, err := r.ReadRecord()
	if rec == nil || len(rec) != 0 || err != nil {
		t.Errorf("ReadRecord() = %#v, %v; want []byte{}, nil", rec, err)
	}
}

func TestReadRecordTruncated(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   []string
	}{
		{"header without newline", "5", nil},
		{"long header without newline", "12345678901234567890", nil},
		{"header without payload", "5\n", nil},
		{"part of payload", "5\nhel", nil},
		{"heartbeat cut short", "20\n" + heartbeat[:19], nil},
		{"second header cut short", "5\nhello1", []string{"hello"}},
		{"second payload cut short", "5\nhello10\n12345", []string{"hello"}},
		{"header after empty lines", "\n\n7", nil},
		{"large record cut short", "100000\n" + strings.Repeat("x", 99999), nil},
	}
	for _, tc := range tests {
		for _, src := range sources {
			t.Run(tc.name+"/"+src.name, func(t *testing.T) {
				r := recordio.NewReader(src.wrap(strings.NewReader(tc.stream)), 0)
				got, err := readAll(t, r)
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("ReadRecord() error = %v, want io.ErrUnexpectedEOF", err)
				}
				if !equalRecords(got, tc.want) {
					t.Errorf("records = %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// failReader fails the test if the Reader reads from it.
type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("Reader read past the point where it should have stopped")
	return 0, errors.New("read past stop point")
}

func TestReadRecordMalformed(t *testing.T) {
	tests := []struct {
		name   string
		stream string // followed by a reader that must not be touched
		want   []string
	}{
		{"minus sign", "-5", nil},
		{"plus sign", "+5", nil},
		{"leading space", " 5", nil},
		{"trailing space", "5 ", nil},
		{"tab", "\t", nil},
		{"carriage return", "5\r", nil},
		{"CRLF empty line", "\r", nil},
		{"letters", "abc", nil},
		{"letter after digits", "12x", nil},
		{"hexadecimal", "0x", nil},
		{"exponent", "1e", nil},
		{"decimal point", "1.", nil},
		{"NUL", "\x00", nil},
		{"JSON with no header", `{"type"`, nil},
		{"non-ASCII digit", "\xd9\xa5", nil}, // U+0665 ARABIC-INDIC DIGIT FIVE
		{"20 digits overflowing uint64", "18446744073709551616", nil},
		{"20 nines", "99999999999999999999", nil},
		{"21 digits", "100000000000000000000", nil},
		{"25 digits", "1234567890123456789012345", nil},
		{"21 zeros", "000000000000000000000", nil},
		{"bad second header", "5\nhello-", []string{"hello"}},
		{"separator after payload", "5\nhello\r", []string{"hello"}},
	}
	for _, tc := range tests {
		for _, src := range sources {
			t.Run(tc.name+"/"+src.name, func(t *testing.T) {
				// DataErrReader reads ahead by design, so only the stream
				// itself is wrapped.
				stream := io.MultiReader(src.wrap(strings.NewReader(tc.stream)), failReader{t})
				r := recordio.NewReader(stream, 0)
				got, err := readAll(t, r)
				if !errors.Is(err, recordio.ErrMalformed) {
					t.Errorf("ReadRecord() error = %v, want ErrMalformed", err)
				}
				if !equalRecords(got, tc.want) {
					t.Errorf("records = %q, want %q", got, tc.want)
				}
			})
		}
	}
}

func TestReadRecordTooLarge(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name    string
		maxSize int
		header  string
	}{
		{"10^18 bytes", mib, "1000000000000000000\n"},
		{"20 digits", mib, "10000000000000000000\n"},
		{"largest uint64", mib, "18446744073709551615\n"},
		{"one over limit", mib, "1048577\n"},
		{"one over tiny limit", 1, "2\n"},
		{"one over default limit", 0, fmt.Sprint(recordio.DefaultMaxSize+1, "\n")},
		{"negative limit means default", -1, fmt.Sprint(recordio.DefaultMaxSize+1, "\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream := io.MultiReader(strings.NewReader(tc.header), failReader{t})
			r := recordio.NewReader(stream, tc.maxSize)

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rec, err := r.ReadRecord()
			runtime.ReadMemStats(&after)

			if rec != nil || !errors.Is(err, recordio.ErrTooLarge) {
				t.Errorf("ReadRecord() = %q, %v; want ErrTooLarge", rec, err)
			}
			if errors.Is(err, recordio.ErrMalformed) {
				t.Errorf("ReadRecord() error = %v, also matches ErrMalformed", err)
			}
			// Only the Reader's buffers and the error may be allocated.
			if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
				t.Errorf("ReadRecord() allocated %d bytes, want under 64 KiB", got)
			}
			if _, again := r.ReadRecord(); again != err {
				t.Errorf("ReadRecord() after %v = %v, want the same error", err, again)
			}
		})
	}
}

func TestReadRecordAtLimit(t *testing.T) {
	tests := []struct {
		name    string
		maxSize int
		stream  string
		want    []string
	}{
		{"record of exactly maxSize", 5, "5\nhello", []string{"hello"}},
		{"tiny limit", 1, "1\na0\n1\nb", []string{"a", "", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, recordio.NewReader(strings.NewReader(tc.stream), tc.maxSize))
			if err != io.EOF || !equalRecords(got, tc.want) {
				t.Errorf("records = %q, %v; want %q, io.EOF", got, err, tc.want)
			}
		})
	}

	// The default limit itself is accepted: the stream fails only for want
	// of a payload.
	header := fmt.Sprint(recordio.DefaultMaxSize, "\n")
	_, err := readAll(t, recordio.NewReader(strings.NewReader(header), 0))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadRecord() of header %q = %v, want io.ErrUnexpectedEOF", header, err)
	}
}

// A peer that announces a big record and hangs up must not cost the
// announced size in memory.
func TestReadRecordMemoryFollowsData(t *testing.T) {
	const announced = 64 << 20
	stream := fmt.Sprint(announced, "\n", strings.Repeat("x", 1000))
	r := recordio.NewReader(strings.NewReader(stream), announced)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := r.ReadRecord()
	runtime.ReadMemStats(&after)

	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadRecord() error = %v, want io.ErrUnexpectedEOF", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("ReadRecord() allocated %d bytes for 1000 received, want under 1 MiB", got)
	}
}

// TestReadRecordLetsGoOfABigBuffer: the small records that follow a big
// one (the operator API's first record is a whole cluster's state) do not
// keep its buffer alive for as long as the stream lasts.
func TestReadRecordLetsGoOfABigBuffer(t *testing.T) {
	const big = 8 << 20
	stream := fmt.Sprint(big, "\n", strings.Repeat("x", big), len(heartbeat), "\n", heartbeat)
	r := recordio.NewReader(strings.NewReader(stream), big)
	if rec, err := r.ReadRecord(); err != nil || len(rec) != big {
		t.Fatalf("ReadRecord() = %d bytes, %v; want %d", len(rec), err, big)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if rec, err := r.ReadRecord(); err != nil || string(rec) != heartbeat {
		t.Fatalf("ReadRecord() = %q, %v; want %q", rec, err, heartbeat)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if freed := int64(before.HeapAlloc) - int64(after.HeapAlloc); freed < big/2 {
		t.Errorf("reading a small record after one of %d bytes freed %d bytes: the big buffer is kept", big, freed)
	}
	runtime.KeepAlive(r)
}

var errBoom = errors.New("boom")

func TestReadRecordUnderlyingError(t *testing.T) {
	tests := []struct {
		name    string
		src     io.Reader
		want    []string
		wantErr error
	}{
		{"error before any data", iotest.ErrReader(errBoom), nil, errBoom},
		{"error between records", io.MultiReader(strings.NewReader("5\nhello"), iotest.ErrReader(errBoom)), []string{"hello"}, errBoom},
		{"error inside header", io.MultiReader(strings.NewReader("12"), iotest.ErrReader(errBoom)), nil, errBoom},
		{"error inside payload", io.MultiReader(strings.NewReader("5\nhel"), iotest.ErrReader(errBoom)), nil, errBoom},
		// TimeoutReader succeeds again after its one timeout, so a record
		// after it shows that the error stuck.
		{"timeout inside header", iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader("5\nhello"))), nil, iotest.ErrTimeout},
		{"timeout between records", iotest.TimeoutReader(strings.NewReader("5\nhello")), []string{"hello"}, iotest.ErrTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, recordio.NewReader(tc.src, 0))
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("ReadRecord() error = %v, want %v", err, tc.wantErr)
			}
			if !equalRecords(got, tc.want) {
				t.Errorf("records = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReadRecordEOFAfterError(t *testing.T) {
	r := recordio.NewReader(strings.NewReader("x"), 0)
	_, first := r.ReadRecord()
	for i := range 3 {
		if _, err := r.ReadRecord(); err != first || err == io.EOF {
			t.Fatalf("ReadRecord() call %d after %v = %v, want the same error", i+2, first, err)
		}
	}
}
