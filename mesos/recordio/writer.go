package recordio

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Writer writes RecordIO records to an io.Writer.
//
// A Writer is not safe for concurrent use. It neither flushes nor closes the
// underlying writer: a caller streaming over HTTP flushes the
// http.ResponseWriter itself after each record, or batch, it wants sent.
type Writer struct {
	w   io.Writer
	buf []byte // framed record being written; reused by the next call
	err error  // first error seen; every later call returns it
}

// NewWriter returns a Writer that writes records to w. It writes nothing
// until WriteRecord is called.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// WriteRecord writes p as one record: its length header and payload together
// in a single Write call, so an http.ResponseWriter sends each record as one
// chunk. It does not retain p.
//
// A failed or short write leaves the stream corrupt, so errors are sticky:
// once WriteRecord has returned an error, every later call returns the same
// error without writing. Errors wrap the underlying writer's error, or
// io.ErrShortWrite.
func (w *Writer) WriteRecord(p []byte) error {
	if w.err != nil {
		return w.err
	}
	w.buf = AppendRecord(w.buf[:0], p)
	n, err := w.w.Write(w.buf)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("recordio: write %d-byte record: %w", len(p), err)
		return w.err
	}
	return nil
}

// AppendRecord appends p, framed as one record, to dst and returns the
// extended slice, like the append built-in. It allocates at most once, and
// not at all when dst has room for len(p)+21 more bytes (the longest header
// and its line feed), so batching many records into one reused buffer costs
// no allocations once the buffer has grown.
func AppendRecord(dst, p []byte) []byte {
	dst = slices.Grow(dst, maxDigits+1+len(p))
	dst = strconv.AppendUint(dst, uint64(len(p)), 10)
	dst = append(dst, '\n')
	return append(dst, p...)
}
