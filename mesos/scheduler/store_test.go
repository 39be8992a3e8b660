package scheduler_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// goodStateFile makes a state database the way the dashboard does and
// returns its bytes.
func goodStateFile(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	s, err := scheduler.New(scheduler.Config{Client: mesos.Config{Masters: []string{"http://127.0.0.1:1"}}, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "offerdeck.db"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDamagedStateFileIsRefused: a state file that is not what the
// dashboard wrote is refused with a message that says what to do, never
// opened (bbolt faulted on a truncated one) and never replaced.
func TestDamagedStateFileIsRefused(t *testing.T) {
	good := goodStateFile(t)
	pageSize := int(binary.NativeEndian.Uint32(good[16+8:]))
	// badSum spoils the checksum of the meta page at off.
	badSum := func(b []byte, off int) []byte {
		b = bytes.Clone(b)
		b[off+16+60] ^= 0xff
		return b
	}
	// highWater sets the meta page at off to claim n pages, with a
	// checksum that holds.
	highWater := func(b []byte, off int, n uint64) []byte {
		b = bytes.Clone(b)
		m := b[off+16 : off+16+64]
		binary.NativeEndian.PutUint64(m[40:], n)
		h := fnv.New64a()
		h.Write(m[:56])
		binary.NativeEndian.PutUint64(m[56:], h.Sum64())
		return b
	}
	random := make([]byte, 4*pageSize)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for _, tc := range []struct {
		name    string
		content []byte
		want    string // "" when the file must open
	}{
		{"good", good, ""},
		{"one torn meta page", badSum(good, pageSize), ""},
		{"truncated to two pages", good[:2*pageSize], "cut short"},
		{"empty", []byte{}, "empty (0 bytes)"},
		{"random bytes", random, "not a bbolt database"},
		{"a few bytes", []byte("offerdeck"), "shorter than"},
		{"both meta pages torn", badSum(badSum(good, 0), pageSize), "checksum mismatch"},
		{"high-water mark past the end", highWater(good, 0, 1000), "cut short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "offerdeck.db")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := scheduler.New(scheduler.Config{Client: mesos.Config{Masters: []string{"http://127.0.0.1:1"}}, StateDir: dir})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New(%s) = %v, want it opened", tc.name, err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("New(%s) opened it, want it refused", tc.name)
			}
			if !errors.Is(err, scheduler.ErrStateCorrupt) || !strings.Contains(err.Error(), "state database is damaged") ||
				!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "move it aside") {
				t.Errorf("New(%s) = %v, want ErrStateCorrupt saying %q and to move it aside", tc.name, err, tc.want)
			}
			if b, _ := os.ReadFile(path); !bytes.Equal(b, tc.content) {
				t.Errorf("New(%s) changed the file: %d bytes, want %d", tc.name, len(b), len(tc.content))
			}
		})
	}
}
