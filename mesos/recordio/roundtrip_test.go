package recordio_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/offerdeck/offerdeck/mesos/recordio"
)

// randomRecords returns n records of varied sizes, from empty to past the
// Reader's buffer sizes, whose bytes include digits and line feeds.
func randomRecords(n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 2, 9, 10, 20, 139, 1000, 1024, 4095, 4096, 4097, 70000}
	recs := make([][]byte, n)
	for i := range recs {
		size := sizes[rng.IntN(len(sizes))]
		if i == n/2 {
			size = 300 << 10 // one record that needs several buffer doublings
		}
		rec := make([]byte, size)
		for j := range rec {
			rec[j] = "0123456789\n{}\":ab\xff"[rng.IntN(18)]
		}
		recs[i] = rec
	}
	return recs
}

func TestRoundTrip(t *testing.T) {
	recs := randomRecords(200)
	var stream bytes.Buffer
	w := recordio.NewWriter(&stream)
	for _, rec := range recs {
		if err := w.WriteRecord(rec); err != nil {
			t.Fatalf("WriteRecord(%d bytes) = %v", len(rec), err)
		}
	}

	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			r := recordio.NewReader(src.wrap(bytes.NewReader(stream.Bytes())), 0)
			for i, want := range recs {
				got, err := r.ReadRecord()
				if err != nil {
					t.Fatalf("ReadRecord() #%d = %v, want %d bytes", i, err, len(want))
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("ReadRecord() #%d returned %d bytes differing from the %d written", i, len(got), len(want))
				}
			}
			if rec, err := r.ReadRecord(); err != io.EOF {
				t.Errorf("ReadRecord() after last record = %d bytes, %v; want io.EOF", len(rec), err)
			}
		})
	}
}
