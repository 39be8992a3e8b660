package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// crowdOptions set the many-viewer scenarios of issue 8: M1 at 1,000
// viewers, M2 (viewers held with a slow broadcast) and M8 (the reconnect
// storm).
type crowdOptions struct {
	m1kViewers   int
	heldViewers  int
	heldDuration time.Duration
	stormViewers int
	stormRate    int
	// lowRate is the events a second of the M1 figure at rest.
	lowRate int
	// runs is the runs of M2 and M8, which take tens of seconds each.
	runs int
}

// crowdScenarios are the names -only accepts.
var crowdScenarios = []string{"low", "fan", "m1k", "held", "storm"}

// heldKinds and stormKinds are the kinds M2 and M8 compare: the raw TCP
// floor has no WebSocket handshake to hold or resume.
var (
	heldKinds  = []string{"ours", "naive", "gorilla"}
	stormKinds = []string{"ours", "naive", "gorilla"}
)

func (s *crowdOptions) register(fs *flag.FlagSet) {
	fs.IntVar(&s.m1kViewers, "m1k-viewers", 1000, "viewers of the second M1 latency figure")
	fs.IntVar(&s.heldViewers, "held-viewers", 19000, "viewers held with one broadcast a second (M2); over 10,000 they are split over child processes")
	fs.DurationVar(&s.heldDuration, "held-duration", 10*time.Second, "measuring time of each held run")
	fs.IntVar(&s.stormViewers, "storm-viewers", 10000, "viewers of the reconnect storm (M8)")
	fs.IntVar(&s.stormRate, "storm-rate", 5, "numbered events per second published throughout the storm; each is a write per viewer, so 10,000 viewers at 5 a second are 50,000 writes a second before the storm starts")
	fs.Func("held-kinds", "kinds of the held figure (M2), comma-separated (default ours,naive,gorilla)", func(v string) error {
		var kinds []string
		for _, k := range strings.Split(v, ",") {
			if !slices.Contains([]string{"ours", "naive", "gorilla"}, k) {
				return fmt.Errorf("unknown kind %q", k)
			}
			kinds = append(kinds, k)
		}
		heldKinds = kinds
		return nil
	})
	fs.IntVar(&s.lowRate, "low-rate", 200, "events per second of the M1 figure at rest (ours and raw TCP, -viewers viewers)")
	fs.IntVar(&s.runs, "storm-runs", 5, "runs of the held and storm figures (each takes tens of seconds)")
}

// quick makes the scenarios small enough for -quick.
func (s *crowdOptions) quick() {
	s.heldViewers, s.heldDuration, s.stormViewers, s.runs = 2000, 3*time.Second, 1000, 1
}

// parseOnly reads -only's comma-separated scenario names.
func parseOnly(v string) (map[string]bool, error) {
	which := map[string]bool{}
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.Contains(crowdScenarios, name) {
			return nil, fmt.Errorf("-only %q: want some of %s", name, strings.Join(crowdScenarios, ","))
		}
		which[name] = true
	}
	return which, nil
}

// crowdResults are the runs of each scenario, by kind.
type crowdResults struct {
	low   map[string][]fanResult // M1 at o.crowd.lowRate
	fan   map[string][]fanResult // M1 and M7 at o.rate, ours and TCP only (-only fan)
	m1k   map[string][]fanResult
	held  map[string][]heldResult
	storm map[string][]stormResult
}

// runCrowd runs the scenarios in which: o.runs runs of M1 at 1,000
// viewers (it is quick) and o.crowd.runs of the others, printing each
// run's figures to stderr.
func runCrowd(o options, which map[string]bool) (crowdResults, error) {
	r := crowdResults{low: map[string][]fanResult{}, fan: map[string][]fanResult{}, m1k: map[string][]fanResult{}, held: map[string][]heldResult{}, storm: map[string][]stormResult{}}
	s := o.crowd
	// The rates at rest and under load, interleaved run by run so that
	// both meet the same load of the machine.
	for i := range o.runs {
		for _, sc := range []struct {
			name string
			rate int
		}{{"low", s.lowRate}, {"fan", o.rate}} {
			if !which[sc.name] {
				continue
			}
			m := o
			m.rate = sc.rate
			for _, k := range []string{"ours", "tcp"} {
				res, err := fanoutRun(k, m)
				if err != nil {
					return r, fmt.Errorf("%s fan-out run at %d events/s %d: %w", k, m.rate, i+1, err)
				}
				fmt.Fprintf(os.Stderr, "%s run %d %-7s %d events/s: p50 %.2f ms p99 %.2f ms, %.2f us CPU/delivery, foreign CPU %.0f%%\n",
					sc.name, i+1, k, m.rate, res.P50, res.P99, res.CPUPerDelivery, res.ForeignPct)
				if sc.name == "low" {
					r.low[k] = append(r.low[k], res)
				} else {
					r.fan[k] = append(r.fan[k], res)
				}
			}
		}
	}
	if which["m1k"] {
		m := o
		m.viewers = s.m1kViewers
		for i := range o.runs {
			for _, k := range []string{"ours", "tcp", "naive", "gorilla"} {
				res, err := fanoutRun(k, m)
				if err != nil {
					return r, fmt.Errorf("%s fan-out run at %d viewers %d: %w", k, m.viewers, i+1, err)
				}
				fmt.Fprintf(os.Stderr, "m1k run %d %-7s %d viewers: p50 %.2f ms p99 %.2f ms, %.2f us CPU/delivery, foreign CPU %.0f%%\n",
					i+1, k, m.viewers, res.P50, res.P99, res.CPUPerDelivery, res.ForeignPct)
				r.m1k[k] = append(r.m1k[k], res)
			}
		}
	}
	if which["held"] {
		for i := range s.runs {
			for _, k := range heldKinds {
				res, err := heldRun(k, s.heldViewers, s.heldDuration)
				if err != nil {
					return r, fmt.Errorf("%s held run %d: %w", k, i+1, err)
				}
				fmt.Fprintf(os.Stderr, "held run %d %-7s %d of %d held (dialled in %v), p50 %.1f ms p99 %.1f ms, %d delivered of %d broadcasts, RSS %.0f MB → %.0f MB (live %.0f MB), foreign CPU %.0f%%\n",
					i+1, k, res.Held, res.Viewers, res.DialTime.Round(100*time.Millisecond), res.P50, res.P99, res.Delivered, res.Broadcasts,
					res.RSSBase/1e6, res.RSSPeak/1e6, res.Live/1e6, res.ForeignPct)
				r.held[k] = append(r.held[k], res)
			}
		}
	}
	if which["storm"] {
		for i := range s.runs {
			for _, k := range stormKinds {
				res, err := stormRun(k, s.stormViewers, s.stormRate)
				if err != nil {
					return r, fmt.Errorf("%s storm run %d: %w", k, i+1, err)
				}
				fmt.Fprintf(os.Stderr, "storm run %d %-7s %d connected of %d, %d of them back; all resubscribed %.2f s, all had an event %.2f s (p50 %.2f s, p99 %.2f s); "+
					"gaps %d (%d events), dups %d, resyncs %d, dials %d (%d failed); restart %.0f ms, foreign CPU %.0f%%\n",
					i+1, k, res.Viewers, res.Asked, res.Back, res.Resubscribed/1000, res.AllBack/1000, res.BackP50/1000, res.BackP99/1000,
					res.Gaps, res.Missed, res.Dups, res.Resyncs, res.Dials, res.Failed, res.Restart, res.ForeignPct)
				r.storm[k] = append(r.storm[k], res)
			}
		}
	}
	return r, nil
}

// medianOf is the median of f over runs.
func medianOf[T any](runs []T, f func(T) float64) float64 {
	xs := make([]float64, 0, len(runs))
	for _, r := range runs {
		xs = append(xs, f(r))
	}
	return median(xs)
}
