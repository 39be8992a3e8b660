package recordio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// DefaultMaxSize is the limit, in bytes, on a single record that a Reader
// applies when NewReader is given a maxSize of zero or less: 16 MiB.
//
// The master enforces no maximum of its own. 16 MiB holds an OFFERS event
// with thousands of offers, yet stops a broken or hostile peer from making
// the Reader buffer an absurd amount.
const DefaultMaxSize = 16 << 20

// maxDigits is the longest length header a Reader accepts, not counting its
// line feed. It is the number of digits in the largest uint64,
// 18446744073709551615.
const maxDigits = 20

// minGrow is the smallest step by which a Reader grows its payload buffer.
// A record that does not fit the current buffer is read in doubling steps
// starting here, so a peer that announces a large record and then stalls or
// hangs up costs memory in proportion to what it sent, not to what it claimed.
const minGrow = 4 << 10

// maxKeptBuffer bounds the payload buffer a Reader keeps between records:
// a stream's rare big record (the operator API's first, the whole state
// of a cluster, tens of megabytes) does not leave its buffer held for as
// long as the stream lasts, while the small records that follow keep
// reusing theirs.
const maxKeptBuffer = 1 << 20

// ErrMalformed reports a length header that is not a decimal number: before
// its line feed it holds a byte other than an ASCII digit (a sign, a space, a
// carriage return, a letter), has more than 20 digits, or does not fit in a
// uint64. Errors returned by Reader.ReadRecord wrap it; test with errors.Is.
var ErrMalformed = errors.New("recordio: malformed length header")

// ErrTooLarge reports a length header that announces a record larger than the
// Reader's limit. Errors returned by Reader.ReadRecord wrap it; test with
// errors.Is. The message carries the announced length and the limit.
var ErrTooLarge = errors.New("recordio: record too large")

// Reader reads RecordIO records from an io.Reader.
//
// A Reader is not safe for concurrent use. It never closes the underlying
// reader; whoever opened the stream closes it.
type Reader struct {
	br      *bufio.Reader
	maxSize int
	buf     []byte // holds the last record returned; reused by the next call
	err     error  // first error seen; every later call returns it
}

// NewReader returns a Reader that reads records from r through its own
// bufio.Reader, so it may read ahead of the record it returns. maxSize is the
// largest record, in bytes, that it accepts; zero or less means
// DefaultMaxSize.
//
// NewReader starts nothing and reads nothing.
func NewReader(r io.Reader, maxSize int) *Reader {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	return &Reader{br: bufio.NewReader(r), maxSize: maxSize}
}

// ReadRecord reads and returns the next record, blocking until it has arrived
// in full or the stream fails.
//
// The returned slice belongs to the Reader and is valid until the next call
// to ReadRecord, which may overwrite it; callers that keep a record must copy
// it. A zero-length record is returned as a non-nil empty slice.
//
// A header is one to 20 ASCII digits followed by a line feed. Leading zeros
// are accepted ("007" is 7) but count towards the 20 digits. Empty lines
// before a header are skipped, as the reader pseudo-code in Mesos's
// recordio.md does; the master itself never sends them.
//
// ReadRecord returns io.EOF itself only when the stream ends cleanly between
// records (possibly after empty lines). A stream that ends inside a header or
// a payload gives an error wrapping io.ErrUnexpectedEOF. A header that is not
// a decimal number gives an error wrapping ErrMalformed, returned as soon as
// the offending byte is seen without reading further. A header announcing more
// than the limit gives an error wrapping ErrTooLarge before any memory is
// allocated for the record or any of it is read. Errors from the underlying
// reader are wrapped and returned.
//
// Memory: the buffer for a record grows as its bytes arrive, so a peer that
// announces a large record and stops costs about what it sent. The Reader
// keeps the buffer for later records, so it holds on to as much as its
// largest record so far. Empty lines cost no memory, but any number of them
// are skipped within one call.
//
// Errors are sticky: once ReadRecord has returned an error, every later call
// returns the same error without reading, because the Reader no longer knows
// where the next record starts.
func (r *Reader) ReadRecord() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	p, err := r.readRecord()
	if err != nil {
		r.err = err
		return nil, err
	}
	return p, nil
}

func (r *Reader) readRecord() ([]byte, error) {
	n, err := r.readHeader()
	if err != nil {
		return nil, err
	}
	if n > uint64(r.maxSize) {
		return nil, fmt.Errorf("%w: length %d exceeds limit %d", ErrTooLarge, n, r.maxSize)
	}
	return r.readPayload(int(n))
}

// readHeader reads one length header, skipping empty lines before it, and
// returns the length. It returns io.EOF unwrapped only if the stream ends
// before the first digit.
func (r *Reader) readHeader() (uint64, error) {
	var n uint64
	digits := 0
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			if err == io.EOF {
				if digits == 0 {
					return 0, io.EOF
				}
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("recordio: read length header at byte %d: %w", digits, err)
		}
		switch {
		case '0' <= c && c <= '9':
			if digits == maxDigits {
				return 0, fmt.Errorf("%w: more than %d digits", ErrMalformed, maxDigits)
			}
			digits++
			d := uint64(c - '0')
			if n > (math.MaxUint64-d)/10 {
				return 0, fmt.Errorf("%w: length does not fit in 64 bits", ErrMalformed)
			}
			n = n*10 + d
		case c == '\n' && digits == 0:
			// An empty line between records: skip it.
		case c == '\n':
			return n, nil
		default:
			return 0, fmt.Errorf("%w: unexpected byte %q at byte %d", ErrMalformed, c, digits)
		}
	}
}

// readPayload reads an n-byte payload into r.buf and returns it.
func (r *Reader) readPayload(n int) ([]byte, error) {
	if cap(r.buf) > maxKeptBuffer && n <= maxKeptBuffer {
		r.buf = nil
	}
	buf := r.buf[:0]
	for len(buf) < n {
		// Grow only once the bytes already read fill the buffer, so memory
		// follows the data that arrived rather than the length announced.
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), max(len(buf), minGrow)))
		}
		m, err := io.ReadFull(r.br, buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("recordio: read payload: got %d of %d bytes: %w", len(buf), n, err)
		}
	}
	if buf == nil {
		buf = []byte{}
	}
	r.buf = buf
	return buf, nil
}
