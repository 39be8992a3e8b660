package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// The moderate-rate scenario of issue 19: `dashboard local --agents 200
// --health-checks 500 --simulate` behind a dashboard holding 500 running
// tasks and no viewers. At such a rate every update comes alone, so what
// it costs is the fixed cost of an update, which a control panel pays all
// day while a cluster merely runs.
const (
	moderateAgents = 200
	moderateTasks  = 500
)

// moderateResult is one run at a moderate rate with no viewers.
type moderateResult struct {
	Rate     float64 // health check updates a second asked of the stand-in
	Absorbed float64 // updates acknowledged a second
	// CPUCores is the dashboard's process (the bench's), StandInCores the
	// stand-in's, which makes the updates and takes their
	// acknowledgements: the same-run baseline.
	CPUCores, StandInCores float64
	ForeignPct             float64
	// Counts and StandInCounts are each process's kernel counts per
	// acknowledged update (procCounts): unlike CPU time, the machine's
	// speed on the day does not move them.
	Counts, StandInCounts procCounts
}

// MicrosPerUpdate is the dashboard's CPU time per acknowledged update.
func (r moderateResult) MicrosPerUpdate() float64 {
	if r.Absorbed == 0 {
		return 0
	}
	return r.CPUCores / r.Absorbed * 1e6
}

// StandInMicros is the stand-in's CPU time per acknowledged update.
func (r moderateResult) StandInMicros() float64 {
	if r.Absorbed == 0 {
		return 0
	}
	return r.StandInCores / r.Absorbed * 1e6
}

// moderateRun has the stand-in send rate health checks a second and, after
// a few seconds to settle (the first commits, the acknowledgement
// connections), measures for duration with no viewer connected.
func moderateRun(st *stack, rate float64, duration time.Duration) (moderateResult, error) {
	res := moderateResult{Rate: rate}
	if err := st.master.SetHealthChecks(rate); err != nil {
		return res, err
	}
	defer st.master.SetHealthChecks(0)
	time.Sleep(3 * time.Second)
	cpu0, busy0, acked0, master0, t0 := selfCPU(), procBusy(), st.acknowledged(), st.master.cpu(), time.Now()
	counts0, masterCounts0 := processCounts(os.Getpid()), st.master.counts()
	time.Sleep(duration)
	cpu, busy, master, secs := selfCPU()-cpu0, procBusy()-busy0, st.master.cpu()-master0, time.Since(t0).Seconds()
	counts, masterCounts := processCounts(os.Getpid()).minus(counts0), st.master.counts().minus(masterCounts0)
	acked := st.acknowledged() - acked0
	res.Absorbed = acked / secs
	if res.Absorbed == 0 {
		return res, fmt.Errorf("no update acknowledged in %v at %g a second asked", duration, rate)
	}
	res.CPUCores, res.StandInCores = cpu/secs, master/secs
	res.Counts, res.StandInCounts = counts.per(acked), masterCounts.per(acked)
	res.ForeignPct = max(0, busy-cpu-master) / secs * 100
	return res, nil
}

// runModerate starts a stack of moderateAgents agents and moderateTasks
// tasks and measures o.moderateRuns runs of o.moderateDuration at
// o.moderateRate updates a second.
func runModerate(o options) ([]moderateResult, error) {
	st, err := startStack(moderateAgents, moderateTasks)
	if err != nil {
		return nil, fmt.Errorf("moderate rate: start: %w", err)
	}
	defer st.close()
	var runs []moderateResult
	for r := range o.moderateRuns {
		res, err := moderateRun(st, float64(o.moderateRate), o.moderateDuration)
		if err != nil {
			return runs, fmt.Errorf("moderate rate, run %d: %w", r+1, err)
		}
		fmt.Fprintf(os.Stderr, "moderate run %d: %.0f updates/s asked, %.0f acknowledged; dashboard %.3f cores (%.0f µs an update), stand-in %.3f (%.0f µs); foreign CPU %.0f%%\n",
			r+1, res.Rate, res.Absorbed, res.CPUCores, res.MicrosPerUpdate(), res.StandInCores, res.StandInMicros(), res.ForeignPct)
		c, m := res.Counts, res.StandInCounts
		fmt.Fprintf(os.Stderr, "moderate run %d, an update: dashboard %.2f reads, %.2f writes, %.0f bytes written, %.2f context switches; stand-in %.2f, %.2f, %.0f, %.2f\n",
			r+1, c.reads, c.writes, c.written, c.switches, m.reads, m.writes, m.written, m.switches)
		runs = append(runs, res)
	}
	return runs, nil
}

// writeModerateReport writes the moderate-rate section from its runs.
func writeModerateReport(b *strings.Builder, runs []moderateResult, duration time.Duration) {
	if len(runs) == 0 {
		return
	}
	m := func(f func(moderateResult) float64) float64 { return medianOf(runs, f) }
	cores, standIn := m(func(r moderateResult) float64 { return r.CPUCores }), m(func(r moderateResult) float64 { return r.StandInCores })
	us, standInUs := m(moderateResult.MicrosPerUpdate), m(moderateResult.StandInMicros)
	ratio := "–"
	if standIn > 0 {
		ratio = fmt.Sprintf("%.2fx", cores/standIn)
	}
	fmt.Fprintf(b, "\n## A moderate rate with no viewers: the fixed cost of an update\n\n")
	fmt.Fprintf(b, "The stand-in with %d agents and %d running tasks (launched through the scheduler's Accept) in a process of its own,\n", moderateAgents, moderateTasks)
	fmt.Fprintf(b, "as `dashboard local --agents %d --health-checks %.0f --simulate` runs it; the dashboard (scheduler persisting to bbolt,\n", moderateAgents, runs[0].Rate)
	fmt.Fprintf(b, "web server, no page open) in the bench process. Each run measures %v after 3 s to settle; medians of %d runs.\n", duration, len(runs))
	fmt.Fprintf(b, "The baseline is the stand-in's own CPU in the same run: it makes every update and takes its acknowledgement.\n\n")
	fmt.Fprintf(b, "| # | figure | target | ours | baseline | ratio |\n|---|---|---|---|---|---|\n")
	fmt.Fprintf(b, "| – | dashboard CPU at %.0f updates/s asked (%.0f acknowledged), no viewers | ≤ 0.05 cores | %.3f cores | stand-in %.3f cores | %s |\n",
		runs[0].Rate, m(func(r moderateResult) float64 { return r.Absorbed }), cores, standIn, ratio)
	fmt.Fprintf(b, "| – | same, CPU per acknowledged update | ≤ 100 µs | %.0f µs | stand-in %.0f µs | %s |\n", us, standInUs, ratio)
	for _, row := range []struct {
		what string
		f    func(procCounts) float64
		unit string
	}{
		{"system calls per update, reads and writes", func(c procCounts) float64 { return c.reads + c.writes }, ""},
		{"context switches per update", func(c procCounts) float64 { return c.switches }, ""},
		{"bytes written per update (sockets and files)", func(c procCounts) float64 { return c.written }, " B"},
	} {
		ours := m(func(r moderateResult) float64 { return row.f(r.Counts) })
		base := m(func(r moderateResult) float64 { return row.f(r.StandInCounts) })
		ratio := "–"
		if base > 0 {
			ratio = fmt.Sprintf("%.2fx", ours/base)
		}
		fmt.Fprintf(b, "| – | same, %s | – | %.2f%s | stand-in %.2f%s | %s |\n", row.what, ours, row.unit, base, row.unit, ratio)
	}
	fmt.Fprintf(b, "\n")
	fmt.Fprintf(b, "Foreign CPU per run (percent of one core): ")
	for i, r := range runs {
		if i > 0 {
			fmt.Fprintf(b, ", ")
		}
		fmt.Fprintf(b, "%.0f%%", r.ForeignPct)
	}
	fmt.Fprintf(b, ".\n")
}
