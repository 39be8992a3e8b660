package main

import (
	"fmt"
	"math"
	"strings"
)

// writeCrowdReport writes the many-viewer section of the report: M1 at
// 1,000 viewers, M2 and M8, each against the peers, with what is missed
// and the foreign CPU of every run. Scenarios without runs are left out.
func writeCrowdReport(b *strings.Builder, o options, r crowdResults) {
	if len(r.low) == 0 && len(r.fan) == 0 && len(r.m1k) == 0 && len(r.held) == 0 && len(r.storm) == 0 {
		return
	}
	s := o.crowd
	ratio := func(a, b float64) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2fx", a/b)
	}
	var misses []string
	for _, lane := range []struct {
		name  string
		runs  map[string][]fanResult
		rate  int
		ratio string
	}{{"at rest", r.low, s.lowRate, "≤ 1.5x raw TCP"}, {"under load (`-only fan`)", r.fan, o.rate, "≤ 35 ms"}} {
		if len(lane.runs) == 0 {
			continue
		}
		m := func(k string, f func(fanResult) float64) float64 { return medianOf(lane.runs[k], f) }
		p50 := func(r fanResult) float64 { return r.P50 }
		p99 := func(r fanResult) float64 { return r.P99 }
		cpu := func(r fanResult) float64 { return r.CPUPerDelivery }
		fmt.Fprintf(b, "M1 %s: %d viewers, %d events/s, ours against the raw TCP floor in the same runs, medians of %d runs:\n\n", lane.name, o.viewers, lane.rate, len(lane.runs["ours"]))
		fmt.Fprintf(b, "| # | figure | target | ours | raw TCP | ratio |\n|---|---|---|---|---|---|\n")
		fmt.Fprintf(b, "| M1 | event → viewer latency p50, %d events/s | – | %.2f ms | %.2f ms | %s |\n", lane.rate, m("ours", p50), m("tcp", p50), ratio(m("ours", p50), m("tcp", p50)))
		fmt.Fprintf(b, "| M1 | same, p99 | %s | %.2f ms | %.2f ms | %s |\n", lane.ratio, m("ours", p99), m("tcp", p99), ratio(m("ours", p99), m("tcp", p99)))
		fmt.Fprintf(b, "| M7 | server CPU per delivered event, same | – | %.2f µs | %.2f µs | %s |\n\n", m("ours", cpu), m("tcp", cpu), ratio(m("ours", cpu), m("tcp", cpu)))
		for _, k := range []string{"ours", "tcp"} {
			var parts []string
			for _, r := range lane.runs[k] {
				parts = append(parts, fmt.Sprintf("%.0f%%", r.ForeignPct))
			}
			fmt.Fprintf(b, "Foreign CPU, %s: %s.\n", k, strings.Join(parts, ", "))
		}
		fmt.Fprintln(b)
	}
	if len(r.m1k) == 0 && len(r.held) == 0 && len(r.storm) == 0 {
		return
	}
	fmt.Fprintf(b, "## Many viewers\n\n")

	if len(r.m1k) > 0 {
		m := func(k string, f func(fanResult) float64) float64 { return medianOf(r.m1k[k], f) }
		p50 := func(r fanResult) float64 { return r.P50 }
		p99 := func(r fanResult) float64 { return r.P99 }
		cpu := func(r fanResult) float64 { return r.CPUPerDelivery }
		fmt.Fprintf(b, "M1 again with %d viewers (`-m1k-viewers`), the same harness and rate, medians of %d runs:\n\n", s.m1kViewers, o.runs)
		fmt.Fprintf(b, "| # | figure | target | ours | raw TCP | naive | gorilla | ratio |\n|---|---|---|---|---|---|---|---|\n")
		fmt.Fprintf(b, "| M1 | event → viewer latency p50, %d viewers, %d events/s | – | %.2f ms | %.2f ms | %.2f ms | %.2f ms | ours / TCP %s |\n",
			s.m1kViewers, o.rate, m("ours", p50), m("tcp", p50), m("naive", p50), m("gorilla", p50), ratio(m("ours", p50), m("tcp", p50)))
		fmt.Fprintf(b, "| M1 | same, p99 | ≤ 60 ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms | ours / TCP %s, gorilla / ours %s |\n",
			m("ours", p99), m("tcp", p99), m("naive", p99), m("gorilla", p99), ratio(m("ours", p99), m("tcp", p99)), ratio(m("gorilla", p99), m("ours", p99)))
		fmt.Fprintf(b, "| M7 | server CPU per delivered event, same | – | %.2f µs | %.2f µs | %.2f µs | %.2f µs | naive / ours %s |\n\n",
			m("ours", cpu), m("tcp", cpu), m("naive", cpu), m("gorilla", cpu), ratio(m("naive", cpu), m("ours", cpu)))
		if v := m("ours", p99); v > 60 {
			// From the figures as the table prints them.
			deliveries := float64(s.m1kViewers) * float64(o.rate)
			ours, tcp := math.Round(m("ours", cpu)*100)/100, math.Round(m("tcp", cpu)*100)/100
			misses = append(misses, fmt.Sprintf("**M1 p99 at %d viewers (%.1f ms, target 60 ms).** %d viewers of %d events a second are %.0f million deliveries a second: at %.2f µs each, ours needs %.1f cores for sending alone, on a machine of 2 that also runs the viewers' process, so every message waits in a queue. The floor needs %.2f µs (%.1f cores) and already queues (p99 %.0f ms, also above the target); the peers that write one message per event fall as far behind as ours. Widening a viewer's flush window while it falls behind was tried and did not help (p99 3.5 to 3.7 s).",
				s.m1kViewers, v, s.m1kViewers, o.rate, deliveries/1e6, ours, deliveries*ours/1e6, tcp, deliveries*tcp/1e6, m("tcp", p99)))
		}
	}

	if len(r.held) > 0 {
		m := func(k string, f func(heldResult) float64) float64 { return medianOf(r.held[k], f) }
		held := func(r heldResult) float64 { return float64(r.Held) }
		p50 := func(r heldResult) float64 { return r.P50 }
		p99 := func(r heldResult) float64 { return r.P99 }
		growth := func(r heldResult) float64 { return (r.RSSPeak - r.RSSBase) / 1e6 }
		perViewer := func(r heldResult) float64 { return (r.RSSPeak - r.RSSBase) / max(1, float64(r.Held)) / 1024 }
		peak := func(r heldResult) float64 { return r.RSSPeak / 1e6 }
		live := func(r heldResult) float64 { return r.Live / 1e6 }
		livePer := func(r heldResult) float64 { return r.Live / max(1, float64(r.Held)) / 1024 }
		dial := func(r heldResult) float64 { return r.DialTime.Seconds() }
		cpu := func(r heldResult) float64 { return r.CPUPerDelivery }
		fmt.Fprintf(b, "M2: %d viewers (`-held-viewers`, at most %d per viewers process, each dialling %d at a time) held while one\n",
			s.heldViewers, viewersPerProcess, dialConcurrency)
		fmt.Fprintf(b, "event a second is broadcast to all, measured for %s (`-held-duration`); medians of %d runs (`-storm-runs`). The server's\n", s.heldDuration, s.runs)
		fmt.Fprintf(b, "memory is this process's VmRSS: before the server started (after `debug.FreeOSMemory`) and its peak with the viewers held.\n")
		fmt.Fprintf(b, "Latency percentiles are the worse of the viewers processes'. The raw TCP floor is left out: it has no handshake to hold.\n\n")
		fmt.Fprintf(b, "| # | figure | target | ours | naive | gorilla | ratio |\n|---|---|---|---|---|---|---|\n")
		fmt.Fprintf(b, "| M2 | viewers held to the end, of %d | ≥ 19,000 | %.0f | %.0f | %.0f | – |\n",
			s.heldViewers, m("ours", held), m("naive", held), m("gorilla", held))
		fmt.Fprintf(b, "| M2 | broadcast → viewer latency p50 | – | %.1f ms | %.1f ms | %.1f ms | gorilla / ours %s |\n",
			m("ours", p50), m("naive", p50), m("gorilla", p50), ratio(m("gorilla", p50), m("ours", p50)))
		fmt.Fprintf(b, "| M2 | same, p99 | ≤ 500 ms | %.1f ms | %.1f ms | %.1f ms | gorilla / ours %s |\n",
			m("ours", p99), m("naive", p99), m("gorilla", p99), ratio(m("gorilla", p99), m("ours", p99)))
		fmt.Fprintf(b, "| M2 | server RSS growth with the viewers held | – | %.0f MB (%.1f KB a viewer) | %.0f MB (%.1f KB) | %.0f MB (%.1f KB) | gorilla / ours %s |\n",
			m("ours", growth), m("ours", perViewer), m("naive", growth), m("naive", perViewer), m("gorilla", growth), m("gorilla", perViewer),
			ratio(m("gorilla", growth), m("ours", growth)))
		fmt.Fprintf(b, "| M2 | server RSS, peak | ≤ 400 MB | %.0f MB | %.0f MB | %.0f MB | gorilla / ours %s |\n",
			m("ours", peak), m("naive", peak), m("gorilla", peak), ratio(m("gorilla", peak), m("ours", peak)))
		fmt.Fprintf(b, "| M2 | heap and stacks in use grown, after a GC (counts pages never touched, which RSS does not) | – | %.0f MB (%.1f KB a viewer) | %.0f MB (%.1f KB) | %.0f MB (%.1f KB) | gorilla / ours %s |\n",
			m("ours", live), m("ours", livePer), m("naive", live), m("naive", livePer), m("gorilla", live), m("gorilla", livePer),
			ratio(m("gorilla", live), m("ours", live)))
		fmt.Fprintf(b, "| M2 | server CPU per delivered event | – | %.1f µs | %.1f µs | %.1f µs | gorilla / ours %s |\n",
			m("ours", cpu), m("naive", cpu), m("gorilla", cpu), ratio(m("gorilla", cpu), m("ours", cpu)))
		fmt.Fprintf(b, "| M2 | time to connect them all | – | %.1f s | %.1f s | %.1f s | – |\n\n",
			m("ours", dial), m("naive", dial), m("gorilla", dial))
		if v := m("ours", held); v < float64(s.heldViewers) {
			misses = append(misses, fmt.Sprintf("**M2 viewers held (%.0f of %d).**", v, s.heldViewers))
		}
		if v := m("ours", p99); v > 500 {
			misses = append(misses, fmt.Sprintf("**M2 p99 (%.0f ms, target 500 ms).**", v))
		}
		if v := m("ours", peak); v > 400 {
			base := math.Round(v) - math.Round(m("ours", growth)) // as the table prints them
			misses = append(misses, fmt.Sprintf("**M2 server RSS (%.0f MB, target 400 MB).** The process starts at %.0f MB; 400 MB would leave %.1f KB for each of %d viewers, and each holds %.1f KB of RSS: the library's reader goroutine (which notices a close), its connection with 64- and 128-byte buffers, its WebSocket Conn and its hub subscriber; the writer goroutine and the message buffers exist only while there is something to send. gorilla's is %.1f KB.",
				v, base, (400-base)*1e6/1024/float64(s.heldViewers), s.heldViewers, m("ours", perViewer), m("gorilla", perViewer)))
		}
	}

	if len(r.storm) > 0 {
		m := func(k string, f func(stormResult) float64) float64 { return medianOf(r.storm[k], f) }
		// A time is reported only if every viewer came back in every run.
		timeOf := func(k string, f func(stormResult) float64) string {
			for _, x := range r.storm[k] {
				if x.Back < x.Viewers {
					return fmt.Sprintf("%d of %d back in %s", x.Back, x.Viewers, stormTimeout)
				}
				if x.Viewers < x.Asked {
					return fmt.Sprintf("%.2f s, but %d of %d connected", m(k, f)/1000, x.Viewers, x.Asked)
				}
			}
			return fmt.Sprintf("%.2f s", m(k, f)/1000)
		}
		all := func(r stormResult) float64 { return r.AllBack }
		resub := func(r stormResult) float64 { return r.Resubscribed }
		bp50 := func(r stormResult) float64 { return r.BackP50 }
		bp99 := func(r stormResult) float64 { return r.BackP99 }
		missed := func(r stormResult) float64 { return float64(r.Missed) }
		gaps := func(r stormResult) float64 { return float64(r.Gaps) }
		perViewer := func(r stormResult) float64 { return float64(r.Missed) / max(1, float64(r.Viewers)) }
		fmt.Fprintf(b, "M8: %d viewers (`-storm-viewers`) connected; the server restarts on its port (hub and HTTP server closed, new ones\n", s.stormViewers)
		fmt.Fprintf(b, "started) while %d numbered, never-coalesced events a second (`-storm-rate`) are published throughout. Viewers come\n", s.stormRate)
		fmt.Fprintf(b, "back as `static/app.js` does, after min(15 s, 0.5 s · 2^attempt) · (0.5–1) of jittered backoff. Ours redials with its\n")
		fmt.Fprintf(b, "old epoch, is sent a resync and closed (4000), fetches a snapshot (the new hub's epoch, the topic's sequence number\n")
		fmt.Fprintf(b, "and the state's last event, recorded together by the publisher) and resubscribes from it; each viewer checks every\n")
		fmt.Fprintf(b, "event after that follows the one before. The naive peers have neither, so their viewers just reconnect and count\n")
		fmt.Fprintf(b, "what they lost. So each of ours makes three connections (the stale dial, the snapshot, the resumed dial) where a\n")
		fmt.Fprintf(b, "peer's makes one; app.js itself skips the stale dial after a close that is not a resync, and fetches the page first.\n")
		fmt.Fprintf(b, "Times run from the start of the restart; medians of %d runs (`-storm-runs`).\n\n", s.runs)
		fmt.Fprintf(b, "| # | figure | target | ours | naive | gorilla | ratio |\n|---|---|---|---|---|---|---|\n")
		fmt.Fprintf(b, "| M8 | restart → every viewer back and given a first event (ours: after its snapshot) | ≤ 10 s | %s | %s | %s | naive / ours %s |\n",
			timeOf("ours", all), timeOf("naive", all), timeOf("gorilla", all), ratio(m("naive", all), m("ours", all)))
		fmt.Fprintf(b, "| M8 | restart → every viewer reconnected for good (ours: resubscribed) | – | %s | %s | %s | – |\n",
			timeOf("ours", resub), timeOf("naive", resub), timeOf("gorilla", resub))
		fmt.Fprintf(b, "| M8 | per viewer back, p50 / p99 | – | %.2f / %.2f s | %.2f / %.2f s | %.2f / %.2f s | – |\n",
			m("ours", bp50)/1000, m("ours", bp99)/1000, m("naive", bp50)/1000, m("naive", bp99)/1000, m("gorilla", bp50)/1000, m("gorilla", bp99)/1000)
		fmt.Fprintf(b, "| M8 | events missing after the snapshot (ours), lost across the restart (peers); all viewers | 0 for ours | %.0f (%.0f gaps) | %.0f (%.1f a viewer) | %.0f (%.1f a viewer) | – |\n\n",
			m("ours", missed), m("ours", gaps), m("naive", missed), m("naive", perViewer), m("gorilla", missed), m("gorilla", perViewer))
		for _, x := range r.storm["ours"] {
			if x.Viewers < x.Asked {
				misses = append(misses, fmt.Sprintf("**M8: only %d of %d viewers connected before the restart in a run.**", x.Viewers, x.Asked))
				break
			}
		}
		for _, x := range r.storm["ours"] {
			if x.Back < x.Viewers {
				misses = append(misses, fmt.Sprintf("**M8: only %d of %d viewers came back within %s in a run.**", x.Back, x.Viewers, stormTimeout))
				break
			}
		}
		if v := m("ours", all); v > 10000 {
			misses = append(misses, fmt.Sprintf("**M8 time to all back (%.1f s, target 10 s).**", v/1000))
		}
		var gapsSeen int64
		for _, x := range r.storm["ours"] {
			gapsSeen += x.Gaps + x.Dups
		}
		if gapsSeen > 0 {
			misses = append(misses, fmt.Sprintf("**M8: ours had %d gaps or repeats after a snapshot over %d runs; there must be none.**", gapsSeen, len(r.storm["ours"])))
		}
	}

	if len(misses) > 0 {
		fmt.Fprintf(b, "Missed here: %s\n\n", strings.Join(misses, " "))
	}
	fmt.Fprintf(b, "Foreign CPU per run of these figures (percent of one core; above %d%% the run is marked noisy):\n\n", noisyPct)
	foreign := func(name string, pcts []float64) {
		if len(pcts) == 0 {
			return
		}
		var parts []string
		for _, p := range pcts {
			mark := ""
			if p > noisyPct {
				mark = " (noisy)"
			}
			parts = append(parts, fmt.Sprintf("%.0f%%%s", p, mark))
		}
		fmt.Fprintf(b, "- %s: %s\n", name, strings.Join(parts, ", "))
	}
	for _, k := range []string{"ours", "tcp", "naive", "gorilla"} {
		var m1k, held, storm []float64
		for _, x := range r.m1k[k] {
			m1k = append(m1k, x.ForeignPct)
		}
		for _, x := range r.held[k] {
			held = append(held, x.ForeignPct)
		}
		for _, x := range r.storm[k] {
			storm = append(storm, x.ForeignPct)
		}
		foreign("M1 at "+fmt.Sprint(s.m1kViewers)+", "+k, m1k)
		foreign("M2, "+k, held)
		foreign("M8, "+k, storm)
	}
	fmt.Fprintln(b)
}
