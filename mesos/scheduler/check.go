package scheduler

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
)

// bbolt's file format (go.etcd.io/bbolt internal/common: page.go, meta.go,
// types.go), read here so a damaged file is refused before bbolt maps it:
// bbolt trusts the high-water mark of its meta page and reads pages past
// the end of a truncated file, which is a SIGSEGV, not an error.
//
// Each of the first two pages is a meta page: a 16-byte page header, then
// magic, version, page size, flags (uint32 each), the root bucket (page
// id, sequence), the freelist page id, the high-water mark (pgid: pages in
// use), the transaction id (uint64 each) and an FNV-64a checksum of the
// meta fields before it. Fields are in the machine's byte order.
const (
	boltMagic         = 0xED0CDAED
	boltVersion       = 2
	boltPageHeader    = 16
	boltMetaSize      = 64 // meta fields up to and including the checksum
	boltMetaSummed    = 56 // the fields the checksum covers
	boltNoFreelist    = ^uint64(0)
	boltMinPageSize   = 1024
	boltMaxPageSize   = 1 << 24
	boltMetaReadBytes = 0x1000
)

// boltMeta is a meta page's fields.
type boltMeta struct {
	magic, version, pageSize uint32
	root, freelist, pgid     uint64
	txid                     uint64
	checksumOK               bool
}

func parseBoltMeta(page []byte) (boltMeta, bool) {
	if len(page) < boltPageHeader+boltMetaSize {
		return boltMeta{}, false
	}
	b := page[boltPageHeader : boltPageHeader+boltMetaSize]
	ne := binary.NativeEndian
	m := boltMeta{
		magic: ne.Uint32(b[0:]), version: ne.Uint32(b[4:]), pageSize: ne.Uint32(b[8:]),
		root: ne.Uint64(b[16:]), freelist: ne.Uint64(b[32:]), pgid: ne.Uint64(b[40:]), txid: ne.Uint64(b[48:]),
	}
	h := fnv.New64a()
	h.Write(b[:boltMetaSummed])
	m.checksumOK = h.Sum64() == ne.Uint64(b[boltMetaSummed:])
	return m, true
}

// problem says what is wrong with a meta page for a file of size bytes,
// or "" when nothing is.
func (m boltMeta) problem(size int64) string {
	switch {
	case m.magic != boltMagic:
		return "it is not a bbolt database (bad magic number)"
	case m.version != boltVersion:
		return fmt.Sprintf("bbolt format version %d, want %d", m.version, boltVersion)
	case !m.checksumOK:
		return "checksum mismatch"
	case m.pageSize < boltMinPageSize || m.pageSize > boltMaxPageSize || m.pageSize&(m.pageSize-1) != 0:
		return fmt.Sprintf("page size %d is impossible", m.pageSize)
	case m.pgid < 4 || m.pgid > uint64(size)/uint64(m.pageSize):
		return fmt.Sprintf("it says %d pages of %d bytes are in use, but the file holds %d bytes: it was cut short",
			m.pgid, m.pageSize, size)
	case m.root < 2 || m.root >= m.pgid:
		return fmt.Sprintf("root page %d is outside the %d pages in use", m.root, m.pgid)
	case m.freelist != boltNoFreelist && (m.freelist < 2 || m.freelist >= m.pgid):
		return fmt.Sprintf("freelist page %d is outside the %d pages in use", m.freelist, m.pgid)
	}
	return ""
}

// checkStateFile refuses a state database that bbolt could not open
// safely, before bbolt maps it. A missing file is fine (it is created);
// anything else must look like what this dashboard wrote. The error wraps
// ErrStateCorrupt and says what is wrong; the file is left untouched.
//
// Both meta pages must carry bbolt's magic and version. bbolt writes them
// in turn, so a crash can leave one with a bad checksum, and bbolt then
// uses the other: one bad checksum is accepted, two are not. Every meta
// page whose checksum holds must fit the file: a high-water mark past the
// end of the file is what made bbolt fault.
func checkStateFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	size := info.Size()
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s; it is left untouched: move it aside (or restore a backup) to start afresh",
			ErrStateCorrupt, path, fmt.Sprintf(format, args...))
	}
	if !info.Mode().IsRegular() {
		return damaged("not a regular file")
	}
	if size == 0 {
		// Never what we wrote: bbolt creates a file with four pages.
		// Starting afresh over it would register a new framework and
		// lose the old one's tasks, so a person must decide.
		return damaged("the file is empty (0 bytes), which this dashboard never writes (an interrupted copy or a full disk?)")
	}
	if size < 4*boltMinPageSize {
		return damaged("only %d bytes, shorter than the smallest database bbolt writes", size)
	}

	read := func(off int64) ([]byte, error) {
		buf := make([]byte, boltMetaReadBytes)
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		return buf[:n], nil
	}
	p0, err := read(0)
	if err != nil {
		return err
	}
	m0, _ := parseBoltMeta(p0)
	if m0.magic != boltMagic {
		return damaged("meta page 0: %s", m0.problem(size))
	}
	// The second meta page sits one page in: its size comes from the
	// first page when that one is intact, and otherwise is searched for
	// as bbolt does.
	offsets := []int64{int64(m0.pageSize)}
	if m0.problem(size) != "" {
		offsets = offsets[:0]
		for i := range 15 {
			offsets = append(offsets, int64(boltMinPageSize)<<i)
		}
	}
	// Prefer a page whose checksum holds; else the first with the magic.
	var m1 boltMeta
	found := false
	for _, off := range offsets {
		if off <= 0 || off >= size {
			continue
		}
		p1, err := read(off)
		if err != nil {
			return err
		}
		m, ok := parseBoltMeta(p1)
		if !ok || m.magic != boltMagic {
			continue
		}
		if !found || m.checksumOK {
			m1, found = m, true
		}
		if m.checksumOK {
			break
		}
	}
	if !found {
		return damaged("meta page 1: not found (bad magic number or cut short)")
	}
	if m1.version != boltVersion {
		return damaged("meta page 1: %s", m1.problem(size))
	}
	if m0.version != boltVersion {
		return damaged("meta page 0: %s", m0.problem(size))
	}
	p0s, p1s := m0.problem(size), m1.problem(size)
	switch {
	case p0s != "" && p1s != "":
		return damaged("meta page 0: %s; meta page 1: %s", p0s, p1s)
	case p0s != "" && m0.checksumOK:
		return damaged("meta page 0: %s", p0s)
	case p1s != "" && m1.checksumOK:
		return damaged("meta page 1: %s", p1s)
	}
	return nil
}
