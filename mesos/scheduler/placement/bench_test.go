package placement_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/scheduler/placement"
)

// scaleOffers is how many offers the dashboard holds in its scale mode.
const scaleOffers = 10000

// tutorialOffers returns n offers like the notebook tutorial's, one per
// agent, with racks and pods taken in turn from the lists given.
func tutorialOffers(n int, racks, pods []string) []*mesos.Offer {
	offers := make([]*mesos.Offer, n)
	for i := range offers {
		rs := []*mesos.Resource{
			mesos.Scalar("cpus", 2), mesos.Scalar("mem", 496), mesos.Scalar("disk", 4930), mesos.PortRange(9000, 10000),
		}
		for _, r := range rs {
			r.Role = new("*")
		}
		offers[i] = &mesos.Offer{
			Id:          &mesos.OfferID{Value: new(fmt.Sprintf("O%d", i))},
			FrameworkId: &mesos.FrameworkID{Value: new("F1")},
			AgentId:     &mesos.AgentID{Value: new(fmt.Sprintf("S%d", i))},
			Hostname:    new(fmt.Sprintf("agent-%d.demo", i)),
			Resources:   rs,
			Attributes: []*mesos.Attribute{
				mesos.TextAttribute("rack", racks[i%len(racks)]),
				mesos.TextAttribute("pod", pods[i%len(pods)]),
			},
		}
	}
	return offers
}

// BenchmarkFit evaluates one spec with three constraints against every
// offer held in scale mode, as the launch form's live preview does on each
// keystroke. One op is a pass over all 10,000 offers.
func BenchmarkFit(b *testing.B) {
	cs, err := placement.ParseConstraints("rack!=c3po; pod~demo; hostname unique")
	if err != nil {
		b.Fatal(err)
	}
	need := placement.Need{CPUs: 0.5, Mem: 128, Ports: 1}
	benchmarks := []struct {
		name        string
		racks, pods []string
		usedEvery   int // every usedEvery-th agent already runs an instance
	}{
		{"all fit", []string{"r2d2"}, []string{"demo,dev"}, 0},
		{"two thirds fail", []string{"r2d2", "c3po", "bb8"}, []string{"demo,dev", "demo", "dev"}, 100},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			offers := tutorialOffers(scaleOffers, bm.racks, bm.pods)
			var used placement.Used
			for i := 0; bm.usedEvery > 0 && i < len(offers); i += bm.usedEvery {
				used.AddOffer(offers[i])
			}
			fits := 0
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			for b.Loop() {
				fits = 0
				for _, o := range offers {
					if placement.Fit(o, need, cs, used).Fits {
						fits++
					}
				}
			}
			runtime.ReadMemStats(&after)
			if fits == 0 {
				b.Fatal("no offer fits")
			}
			perOp := float64(b.N) * float64(len(offers))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/perOp, "ns/offer")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/perOp, "allocs/offer")
			b.ReportMetric(float64(fits), "fitting")
		})
	}
}

// BenchmarkPack carves four instances from one offer, as an ACCEPT that
// launches several tasks does.
func BenchmarkPack(b *testing.B) {
	o := tutorialOffers(1, []string{"r2d2"}, []string{"demo,dev"})[0]
	needs := []placement.Need{{CPUs: 0.5, Mem: 64, Ports: 1}, {CPUs: 0.5, Mem: 64, Ports: 1}, {CPUs: 0.5, Mem: 64, Ports: 2}, {CPUs: 0.5, Mem: 64}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := placement.Pack(o, needs); err != nil {
			b.Fatal(err)
		}
	}
}
