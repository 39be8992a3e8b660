package mesos_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// The protojson benchmarks are the baseline: compare each of ours with its
// protojson twin and report the ratio.

// offersPayload returns the OFFERS example of the API notes carrying ten
// offers, as the master would write it.
func offersPayload(b *testing.B) []byte {
	b.Helper()
	ev := decodeFile(b, "event_offers.json", &mesos.Event{})
	first := ev.GetOffers().GetOffers()[0]
	var offers []*mesos.Offer
	for i := range 10 {
		o := proto.Clone(first).(*mesos.Offer)
		o.Id.Value = proto.String(fmt.Sprintf("6b1e0c3a-9f2d-4c1e-8d7a-2f0b5c9e1a44-O%d", 17+i))
		o.AgentId.Value = proto.String(fmt.Sprintf("6b1e0c3a-9f2d-4c1e-8d7a-2f0b5c9e1a44-S%d", i))
		offers = append(offers, o)
	}
	ev.Offers.Offers = offers
	data, err := mesos.MarshalJSON(ev)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func benchUnmarshal(b *testing.B, data []byte, unmarshal func([]byte, proto.Message) error) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var ev mesos.Event
		if err := unmarshal(data, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

var protojsonDecode = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal

func BenchmarkUnmarshalJSONOffers(b *testing.B) {
	benchUnmarshal(b, offersPayload(b), mesos.UnmarshalJSON)
}

func BenchmarkProtojsonUnmarshalOffers(b *testing.B) {
	benchUnmarshal(b, offersPayload(b), protojsonDecode)
}

func BenchmarkUnmarshalJSONUpdate(b *testing.B) {
	benchUnmarshal(b, readTestdata(b, "event_update_running.json"), mesos.UnmarshalJSON)
}

func BenchmarkProtojsonUnmarshalUpdate(b *testing.B) {
	benchUnmarshal(b, readTestdata(b, "event_update_running.json"), protojsonDecode)
}

func BenchmarkUnmarshalProtobufUpdate(b *testing.B) {
	ev := decodeFile(b, "event_update_running.json", &mesos.Event{})
	data, err := proto.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	benchUnmarshal(b, data, proto.Unmarshal)
}

func BenchmarkAppendJSONUpdate(b *testing.B) {
	ev := decodeFile(b, "event_update_running.json", &mesos.Event{})
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = mesos.AppendJSON(buf[:0], ev); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkProtojsonMarshalUpdate(b *testing.B) {
	ev := decodeFile(b, "event_update_running.json", &mesos.Event{})
	opts := protojson.MarshalOptions{UseProtoNames: true}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = opts.MarshalAppend(buf[:0], ev); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkDecodeUpdate measures the client's decoding of an agent's
// UPDATE (the fast path), against BenchmarkDecodeUpdateThroughProtobuf,
// UnmarshalJSON on the same input.
func BenchmarkDecodeUpdate(b *testing.B) {
	data := []byte(standInUpdate)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, fast, err := mesos.DecodeEvent(mesos.MediaTypeJSON, data); err != nil || !fast {
			b.Fatal(fast, err)
		}
	}
}

func BenchmarkDecodeUpdateThroughProtobuf(b *testing.B) {
	benchUnmarshal(b, []byte(standInUpdate), mesos.UnmarshalJSON)
}
