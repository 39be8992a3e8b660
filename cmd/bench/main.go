// Command bench measures Offerdeck's live fan-out against peers run side
// by side in the same run, on loopback, and writes docs/performance.md.
//
// Each figure is the median of several runs; foreign CPU (busy time on the
// machine that is neither the server nor its viewers) is recorded, and a
// run where it is high is marked noisy. Run it with
//
//	go run ./cmd/bench            # all scenarios, 5 runs each
//	go run ./cmd/bench -quick     # one short run, for a quick look
//	go run ./cmd/bench -cluster-only -cpuprofile cpu.out
//	                              # the scale-mode figures alone, profiled;
//	                              # printed, not written to the report
//	go run ./cmd/bench -only m1k,held,storm
//	                              # the many-viewer figures (M1 at 1,000
//	                              # viewers, M2, M8) alone, printed
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/offerdeck/offerdeck/hub"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "viewers" {
		if err := runViewers(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench viewers:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "storm-viewers" {
		if err := runStormViewers(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench storm-viewers:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "stand-in" {
		if err := runStandIn(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench stand-in:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "page-viewers" {
		if err := runPageViewers(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench page-viewers:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	clusterRuns      int
	agents, tasksPer int
	runs             int
	viewers          int
	idle             int
	rate             int
	duration         time.Duration
	out              string
	crowd            crowdOptions
	stackRuns        int
	steadyRate       int
	steadyProfile    string
	steadyMemProfile string
	heapProfile      string
	windows          []string // flush windows of ours to sweep, as kinds "ours@5ms"
	browserDuration  time.Duration
	browserRates     string
	browserPaths     string
	moderateRate     int
	moderateRuns     int
	moderateDuration time.Duration
}

func run(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	fs.IntVar(&o.runs, "runs", 5, "runs per figure; the median is reported")
	fs.IntVar(&o.viewers, "viewers", 100, "viewers for the latency and CPU figures")
	fs.IntVar(&o.idle, "idle", 1000, "idle viewers for the memory figures")
	fs.IntVar(&o.rate, "rate", 2000, "events per second")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measuring time per run")
	fs.StringVar(&o.out, "out", "docs/performance.md", "where to write the report")
	quick := fs.Bool("quick", false, "one short run of everything")
	fs.IntVar(&o.clusterRuns, "cluster-runs", 5, "runs of the scale-mode cluster figures (each takes tens of seconds)")
	fs.IntVar(&o.agents, "agents", 10000, "agents of the scale-mode cluster")
	fs.IntVar(&o.tasksPer, "tasks-per-agent", 10, "simulated tasks on each agent")
	fs.IntVar(&o.stackRuns, "stack-runs", 5, "runs of each end-to-end figure on the whole dashboard (stand-in, scheduler, web) in scale mode: latency, kills, steady absorption")
	fs.IntVar(&o.steadyRate, "steady-rate", 50000, "health check updates a second asked of the stand-in for the steady absorption figure")
	fs.StringVar(&o.steadyProfile, "steady-cpuprofile", "", "write a CPU profile of the measured time of the steady absorption run (with -stack-only) to this file")
	fs.StringVar(&o.steadyMemProfile, "steady-memprofile", "", "write heap profiles of this process at the start (to this file with .base appended) and at the end (to this file) of the steady absorption run (with -stack-only); what was allocated in between is `go tool pprof -sample_index=alloc_space -base FILE.base FILE`")
	fs.StringVar(&o.heapProfile, "stack-heapprofile", "", "write a heap profile of this process (the scale mode's dashboard runs in it) once its tasks run, before the first end-to-end run (with -stack-only) to this file")
	serve := fs.Bool("serve-stack", false, "start the whole dashboard in scale mode, print \"url <base>\" and serve it until stdin ends; \"rate N\" lines set the health checks a second (for the browser lane)")
	windows := fs.String("windows", "2ms,10ms", "other flush windows of ours to measure beside the default, for the latency/CPU trade-off (comma-separated; empty for none)")
	fs.DurationVar(&o.browserDuration, "browser-duration", 30*time.Second, "measuring time of each browser lane")
	fs.StringVar(&o.browserRates, "browser-rates", "2000,10000", "update rates of the browser lanes (comma-separated)")
	fs.StringVar(&o.browserPaths, "browser-paths", "/tasks,/tasks?page=2,/board", "pages the browser lanes open (comma-separated)")
	noBrowser := fs.Bool("no-browser", false, "skip the browser lane")
	fs.IntVar(&o.moderateRate, "moderate-rate", 500, "health check updates a second of the moderate-rate figure (200 agents, 500 tasks, no viewers)")
	fs.IntVar(&o.moderateRuns, "moderate-runs", 5, "runs of the moderate-rate figure")
	fs.DurationVar(&o.moderateDuration, "moderate-duration", 20*time.Second, "measuring time of each moderate-rate run")
	moderateOnly := fs.Bool("moderate-only", false, "run only the moderate-rate figure (the dashboard's CPU per update with no viewers) and print its section; the report is left alone")
	stackOnly := fs.Bool("stack-only", false, "run only the end-to-end figures on the whole dashboard and print them; the report is left alone")
	clusterOnly := fs.Bool("cluster-only", false, "run only the scale-mode cluster figures and print them; the report is left alone")
	o.crowd.register(fs)
	only := fs.String("only", "", "run only these many-viewer scenarios (comma-separated: m1k,held,storm) and print their figures; the report is left alone")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (the scale mode's stand-in and scheduler run in it) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	for _, w := range strings.Split(*windows, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		if d, err := time.ParseDuration(w); err != nil || d <= 0 {
			return fmt.Errorf("-windows %q: want positive durations such as 5ms", w)
		}
		o.windows = append(o.windows, "ours@"+w)
	}
	if *quick {
		o.runs, o.duration, o.idle, o.clusterRuns, o.agents = 1, 2*time.Second, 300, 1, 2000
		o.stackRuns, o.browserDuration, o.browserRates = 1, 5*time.Second, "2000"
		o.moderateRuns, o.moderateDuration = 1, 5*time.Second
		o.crowd.quick()
	}
	if o.runs < 1 || o.viewers < 1 || o.rate < 1 || o.duration <= 0 {
		return fmt.Errorf("runs, viewers, rate and duration must be positive")
	}

	if *only != "" {
		which, err := parseOnly(*only)
		if err != nil {
			return err
		}
		crowd, err := runCrowd(o, which)
		if err != nil {
			return err
		}
		var b strings.Builder
		writeCrowdReport(&b, o, crowd)
		fmt.Print(b.String())
		return nil
	}

	kinds := []string{"ours", "tcp", "naive", "gorilla"}
	fan := map[string][]fanResult{}
	mem := map[string][]memResult{}
	if *serve {
		return serveStack(o)
	}
	if o.moderateRate < 1 || o.moderateRuns < 1 || o.moderateDuration <= 0 {
		return fmt.Errorf("moderate-rate, moderate-runs and moderate-duration must be positive")
	}
	if *moderateOnly {
		runs, err := runModerate(o)
		var b strings.Builder
		writeModerateReport(&b, runs, o.moderateDuration)
		fmt.Print(b.String())
		return err
	}
	if *stackOnly {
		fig, err := runStack(o)
		if err != nil {
			return fmt.Errorf("end to end: %w", err)
		}
		b, _ := json.MarshalIndent(fig, "", "  ")
		fmt.Println(string(b))
		return nil
	}
	if *clusterOnly {
		o.runs = 0
	}
	for r := 0; r < o.runs; r++ {
		// The other flush windows of ours get the fan-out figures only.
		for _, k := range append(slices.Clone(kinds), o.windows...) {
			res, err := fanoutRun(k, o)
			if err != nil {
				return fmt.Errorf("%s fan-out run %d: %w", k, r+1, err)
			}
			fmt.Fprintf(os.Stderr, "run %d %-7s p50 %.2f ms p99 %.2f ms, %.2f us CPU/delivery, %d delivered, foreign CPU %.0f%%\n",
				r+1, k, res.P50, res.P99, res.CPUPerDelivery, res.Delivered, res.ForeignPct)
			fan[k] = append(fan[k], res)
			if !slices.Contains(kinds, k) {
				continue
			}
			m, err := memoryRun(k, o)
			if err != nil {
				return fmt.Errorf("%s memory run %d: %w", k, r+1, err)
			}
			fmt.Fprintf(os.Stderr, "run %d %-7s idle %.1f KB/viewer, active %.1f KB/viewer\n", r+1, k, m.Idle/1024, m.Active/1024)
			mem[k] = append(mem[k], m)
		}
	}
	var crowd crowdResults
	if !*clusterOnly {
		var err error
		crowd, err = runCrowd(o, map[string]bool{"low": true, "m1k": true, "held": true, "storm": true})
		if err != nil {
			return err
		}
	}
	var cluster []clusterResult
	for r := 0; r < o.clusterRuns; r++ {
		c, err := clusterRun(o.agents, o.tasksPer)
		if err != nil {
			return fmt.Errorf("cluster run %d: %w", r+1, err)
		}
		fmt.Fprintf(os.Stderr, "cluster run %d: %d tasks; /master/state %d bytes in %v; burst floor %v, client %v, scheduler %v (%v from SUBSCRIBED; %d commits, %d over 100 ms, the longest ≤ %g s)\n",
			r+1, c.Tasks, c.StateBytes, c.StateTime.Round(time.Millisecond), c.FloorTime.Round(time.Millisecond),
			c.ClientTime.Round(time.Millisecond), c.SchedulerTime.Round(time.Millisecond), c.SchedulerSubscribed.Round(time.Millisecond),
			c.Commits, c.SlowCommits, c.LongestCommit)
		cluster = append(cluster, c)
	}
	if *clusterOnly {
		return nil
	}
	stack, err := runStack(o)
	if err != nil { // the report says so, with what was measured before
		fmt.Fprintln(os.Stderr, "bench: end to end:", err)
		stack.Err = err.Error()
	}
	moderate, err := runModerate(o)
	if err != nil { // the report has the runs made before
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	browser := browserResult{Skipped: "-no-browser"}
	if !*noBrowser {
		if browser, err = runBrowser(o); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			browser = browserResult{Skipped: "it failed: " + err.Error()}
		}
	}
	report := writeReport(o, kinds, fan, mem, cluster, crowd, stack, moderate, browser)
	if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
		return err
	}
	fmt.Print(report)
	return nil
}

// fanResult is one fan-out run.
type fanResult struct {
	P50, P99       float64
	Delivered      int64
	BytesPerViewer float64 // per second
	CPUPerDelivery float64 // microseconds of server CPU per delivered event
	ForeignPct     float64 // foreign busy CPU, percent of one core
}

func newFanout(kind string) (fanout, error) {
	switch kind {
	case "ours":
		return newOurs(0)
	case "tcp":
		return newTCP()
	case "naive":
		return newNaive(false)
	case "gorilla":
		return newNaive(true)
	}
	if w, ok := strings.CutPrefix(kind, "ours@"); ok { // a flush window of the sweep
		d, err := time.ParseDuration(w)
		if err != nil {
			return nil, fmt.Errorf("kind %q: %v", kind, err)
		}
		return newOurs(d)
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// event is the frame every kind delivers: the same bytes, stamped.
func event(i int) (string, []byte) {
	key := "task-" + strconv.Itoa(i%1000)
	b, _ := json.Marshal(map[string]any{
		"op": "put", "id": key, "parent": "tasks-body",
		"html": `<tr id="` + key + `"><td><span class="badge st-running">● running</span></td><td>web-` + strconv.Itoa(i) +
			`</td><td>agent-1.demo</td><td>cpus 0.5 · mem 128 MB</td><td>2 min ago</td><td>health check passed</td></tr>`,
		"at": time.Now().UnixNano(),
	})
	return key, b
}

// viewersProcess starts the viewers child and waits until it is connected.
func viewersProcess(url string, n int, duration time.Duration) (*exec.Cmd, io.WriteCloser, *bufio.Reader, error) {
	return childViewers(n, "viewers", "-url", url, "-n", strconv.Itoa(n), "-duration", duration.String())
}

// childViewers starts this program with args as a viewers child and waits
// for its "ready N" line: all n viewers connected, or an error that says
// how many did. The caller writes "go" to stdin, reads the result from the
// reader, closes stdin and waits for the command.
func childViewers(n int, args ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader, error) {
	cmd, stdin, r, err := startChild(args...)
	if err != nil {
		return nil, nil, nil, err
	}
	line, err := r.ReadString('\n')
	if got := strings.TrimSpace(strings.TrimPrefix(line, "ready")); err != nil || !strings.HasPrefix(line, "ready") || got != strconv.Itoa(n) {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, nil, nil, fmt.Errorf("%s: not all %d viewers connected: %q %v", args[0], n, line, err)
	}
	return cmd, stdin, r, nil
}

func fanoutRun(kind string, o options) (fanResult, error) {
	f, err := newFanout(kind)
	if err != nil {
		return fanResult{}, err
	}
	defer f.close()
	cmd, stdin, out, err := viewersProcess(f.url(), o.viewers, o.duration)
	if err != nil {
		return fanResult{}, err
	}
	defer cmd.Wait()

	stop := make(chan struct{})
	published := make(chan int)
	go func() { published <- publishAt(f, o.rate, stop) }()
	time.Sleep(time.Second) // warm-up

	cpu0, busy0, t0 := selfCPU(), procBusy(), time.Now()
	io.WriteString(stdin, "go\n")
	line, err := out.ReadString('\n')
	cpu, busy, wall := selfCPU()-cpu0, procBusy()-busy0, time.Since(t0)
	close(stop)
	<-published
	stdin.Close()
	if err != nil {
		return fanResult{}, fmt.Errorf("viewers result: %v", err)
	}
	var vr viewerResult
	if err := json.Unmarshal([]byte(line), &vr); err != nil {
		return fanResult{}, fmt.Errorf("viewers result %q: %v", line, err)
	}
	res := fanResult{P50: vr.P50, P99: vr.P99, Delivered: vr.Delivered}
	if vr.Delivered > 0 {
		res.CPUPerDelivery = cpu / float64(vr.Delivered) * 1e6
	}
	res.BytesPerViewer = float64(vr.Bytes) / float64(vr.Connected) / o.duration.Seconds()
	// Over the whole window: the viewers sort their samples after the
	// duration, and at 1,000 viewers that takes seconds.
	res.ForeignPct = max(0, busy-cpu-vr.CPU) / wall.Seconds() * 100
	return res, nil
}

// publishAt publishes rate events a second in 1 ms steps until stop.
func publishAt(f fanout, rate int, stop <-chan struct{}) int {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	n := 0
	for {
		select {
		case <-stop:
			return n
		case now := <-tick.C:
			due := int(now.Sub(start).Seconds() * float64(rate))
			for ; n < due; n++ {
				f.publish(event(n))
			}
		}
	}
}

// memResult is heap plus stack per viewer, after GC.
type memResult struct {
	Idle, Active float64
}

func memoryRun(kind string, o options) (memResult, error) {
	f, err := newFanout(kind)
	if err != nil {
		return memResult{}, err
	}
	defer f.close()
	before := heapAndStack()
	cmd, stdin, out, err := viewersProcess(f.url(), o.idle, 3*time.Second)
	if err != nil {
		return memResult{}, err
	}
	defer cmd.Wait()
	time.Sleep(500 * time.Millisecond)
	idle := heapAndStack()
	// Active: 20 events a second reach every viewer.
	stop := make(chan struct{})
	done := make(chan int)
	go func() { done <- publishAt(f, 20, stop) }()
	io.WriteString(stdin, "go\n")
	time.Sleep(2 * time.Second)
	active := heapAndStack()
	close(stop)
	<-done
	out.ReadString('\n')
	stdin.Close()
	return memResult{Idle: (idle - before) / float64(o.idle), Active: (active - before) / float64(o.idle)}, nil
}

func heapAndStack() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse + m.StackInuse)
}

// selfCPU is this process's user and system CPU time, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// heapAllocated is the bytes this process allocated on the heap so far.
func heapAllocated() uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// gcCPU is the CPU time this process's collector spent so far, in
// seconds: all of it, and the part its idle-time mark workers took (the
// runtime's estimates, from runtime/metrics).
func gcCPU() (total, idle float64) {
	sample := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/gc/mark/idle:cpu-seconds"}}
	metrics.Read(sample)
	return sample[0].Value.Float64(), sample[1].Value.Float64()
}

// gcCycles is how many collections this process finished so far, and the
// heap the last one found live, in bytes.
func gcCycles() (cycles, live uint64) {
	sample := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64(), sample[1].Value.Uint64()
}

// procBusy is the machine's busy CPU time so far, in seconds, from
// /proc/stat; 0 where there is no /proc.
func procBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy float64
	for i, v := range f[1:] {
		n, _ := strconv.ParseFloat(v, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		busy += n
	}
	return busy / 100 // USER_HZ
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func epochOf(h *hub.Hub) string { return strconv.FormatUint(h.Epoch(), 36) }

// startCPUProfile writes a CPU profile of this process to file until the
// function it returns is called; with no file it does nothing.
func startCPUProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// startChild starts this program with args (a child mode, such as
// "viewers"), its stdin and stdout piped to the caller and its stderr
// shared. The caller closes stdin and waits for the command.
func startChild(args ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader, error) {
	cmd := exec.Command(os.Args[0], args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("start %s: %w", args[0], err)
	}
	return cmd, stdin, bufio.NewReader(stdout), nil
}

// obeyRates reads "rate N" lines from stdin until it ends, calls set with
// each N and answers "ok" or "error ..." on stdout: how a child stand-in
// and -serve-stack are steered.
func obeyRates(set func(perSecond float64) error) error {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if cmd != "rate" {
			fmt.Printf("error unknown command %q\n", cmd)
			continue
		}
		n, err := strconv.ParseFloat(arg, 64)
		if err == nil {
			err = set(n)
		}
		if err != nil {
			fmt.Println("error", err)
			continue
		}
		fmt.Println("ok")
	}
	return sc.Err()
}
