package recordio_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/offerdeck/offerdeck/mesos/recordio"
)

// errClass names the kind of error ReadRecord ended with; anything but these
// is a bug for a stream read from memory.
func errClass(err error) string {
	switch {
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.Is(err, recordio.ErrMalformed):
		return "malformed"
	case errors.Is(err, recordio.ErrTooLarge):
		return "too large"
	}
	return "other"
}

// FuzzReader reads arbitrary bytes with an arbitrary limit (0 is the
// default) and checks the invariants that must hold for any input.
// Seeds beyond these are in testdata/fuzz/FuzzReader.
func FuzzReader(f *testing.F) {
	f.Add([]byte("20\n"+heartbeat), uint16(0))
	f.Add([]byte("139\n"+subscribed+"20\n"+heartbeat), uint16(0))
	f.Add([]byte("139\n"+subscribed+"20\n"+heartbeat), uint16(100))
	f.Add([]byte("0\n0\n5\nhello"), uint16(5))
	f.Add([]byte("\n\n6\nhéllo\n"), uint16(0))
	f.Add([]byte("005\nhello"), uint16(0))
	f.Add([]byte("5\nhel"), uint16(0))
	f.Add([]byte("18446744073709551616\n"), uint16(0))
	f.Add([]byte("-5\nhello"), uint16(0))

	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		maxSize := int(limit)
		if maxSize == 0 {
			maxSize = recordio.DefaultMaxSize
		}

		recs, err := readAll(t, recordio.NewReader(bytes.NewReader(data), int(limit)))
		class := errClass(err)
		if class == "other" {
			t.Fatalf("ReadRecord() error = %v, want io.EOF, io.ErrUnexpectedEOF, ErrMalformed or ErrTooLarge", err)
		}
		for i, rec := range recs {
			if len(rec) > maxSize {
				t.Fatalf("record %d is %d bytes, over the limit %d", i, len(rec), maxSize)
			}
		}

		// How the bytes arrive must not change what is read.
		recs1, err1 := readAll(t, recordio.NewReader(iotest.OneByteReader(bytes.NewReader(data)), int(limit)))
		if !sameRecords(recs1, recs) || errClass(err1) != class {
			t.Fatalf("byte at a time read %d records then %v, want %d records then %v", len(recs1), err1, len(recs), err)
		}

		var enc []byte
		for _, rec := range recs {
			enc = recordio.AppendRecord(enc, rec)
		}
		// The canonical encoding drops empty lines and leading zeros, so it
		// is never longer than a stream that ended cleanly.
		if class == "EOF" && len(enc) > len(data) {
			t.Fatalf("re-encoded stream is %d bytes, longer than the %d read", len(enc), len(data))
		}
		back, err2 := readAll(t, recordio.NewReader(bytes.NewReader(enc), int(limit)))
		if err2 != io.EOF {
			t.Fatalf("reading re-encoded records: error = %v, want io.EOF", err2)
		}
		if !sameRecords(back, recs) {
			t.Fatalf("re-encoded records read back as %q, want %q", back, recs)
		}
	})
}

// sameRecords reports whether a and b hold equal records in the same order.
func sameRecords(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
