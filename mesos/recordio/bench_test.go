package recordio_test

import (
	"io"
	"testing"

	"github.com/offerdeck/offerdeck/mesos/recordio"
)

// offers is a realistic OFFERS event of about 1 KB, compact as the master
// writes it.
const offers = `{"type":"OFFERS","offers":{"offers":[{"id":{"value":"9c4f2a7e-31d5-4b8a-a0c6-5e7f1d2b3c4a-O1742"},` +
	`"framework_id":{"value":"9c4f2a7e-31d5-4b8a-a0c6-5e7f1d2b3c4a-0000"},"agent_id":{"value":"9c4f2a7e-31d5-4b8a-a0c6-5e7f1d2b3c4a-S3"},` +
	`"hostname":"agent-3.example","url":{"scheme":"http","address":{"hostname":"agent-3.example","ip":"10.0.0.13","port":5051},"path":"/slave(1)"},` +
	`"domain":{"fault_domain":{"region":{"name":"eu-1"},"zone":{"name":"eu-1b"}}},` +
	`"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":7.5},"role":"*","allocation_info":{"role":"dash"}},` +
	`{"name":"mem","type":"SCALAR","scalar":{"value":30208.0},"role":"*","allocation_info":{"role":"dash"}},` +
	`{"name":"disk","type":"SCALAR","scalar":{"value":92160.0},"role":"*","allocation_info":{"role":"dash"}},` +
	`{"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31099},{"begin":31101,"end":32000}]},"role":"*","allocation_info":{"role":"dash"}}],` +
	`"attributes":[{"name":"rack","type":"TEXT","text":{"value":"r07"}},{"name":"gen","type":"SCALAR","scalar":{"value":4.0}},` +
	`{"name":"ssd","type":"TEXT","text":{"value":"true"}}],"executor_ids":[{"value":"grp-7-exec"},{"value":"grp-9-exec"}],` +
	`"allocation_info":{"role":"dash"}}]}}`

// update is a realistic UPDATE event from an agent.
const update = `{"type":"UPDATE","update":{"status":{"task_id":{"value":"web-17"},"state":"TASK_RUNNING","source":"SOURCE_EXECUTOR",` +
	`"agent_id":{"value":"9c4f2a7e-31d5-4b8a-a0c6-5e7f1d2b3c4a-S3"},"executor_id":{"value":"web-17"},"timestamp":1732240000.123456,` +
	`"uuid":"LI9vW4o+SxydXm96i5wNHg==","container_status":{"container_id":{"value":"0d6e5b1c-8a2f-4e7d-9c3b-1f6a2e8d4c70"},` +
	`"network_infos":[{"ip_addresses":[{"protocol":"IPv4","ip_address":"10.0.0.13"}]}]}}}}`

// loopReader reads data over and over, forever. data holds whole records,
// so the stream stays valid across the wrap.
type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

func BenchmarkReadRecord(b *testing.B) {
	// Mostly offers, as on a busy cluster, with updates and heartbeats
	// between them; about 1 KB a record on average.
	events := []string{offers, update, offers, offers, heartbeat, offers, update, offers}
	var stream []byte
	for _, ev := range events {
		stream = recordio.AppendRecord(stream, []byte(ev))
	}
	r := recordio.NewReader(&loopReader{data: stream}, 0)
	b.SetBytes(int64(len(stream) / len(events)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadRecord(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRecord(b *testing.B) {
	p := []byte(offers)
	dst := make([]byte, 0, 64<<10)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		dst = recordio.AppendRecord(dst[:0], p)
	}
}

func BenchmarkWriteRecord(b *testing.B) {
	p := []byte(offers)
	w := recordio.NewWriter(io.Discard)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteRecord(p); err != nil {
			b.Fatal(err)
		}
	}
}
