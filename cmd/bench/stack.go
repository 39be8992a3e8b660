package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/cluster"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/master"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/web"
)

// stack is the whole dashboard in this process, driving the stand-in in
// scale mode over real HTTP: the path a master's update takes to a
// viewer's page, with nothing replaced.
type stack struct {
	master    *standIn // in a process of its own
	masterURL string
	sched     *scheduler.Scheduler
	metrics   *prometheus.Registry // the scheduler's
	url       string               // the dashboard's base URL
	tasks     int

	cancel context.CancelFunc
	wg     sync.WaitGroup
	srv    *http.Server
	dir    string
}

// startStack starts the stand-in with agents agents, the scheduler and the
// web server against it, and launches tasks simulated tasks spread evenly
// over the agents through the scheduler's own Accept, returning once all
// of them run.
func startStack(agents, tasks int) (st *stack, err error) {
	dir, err := os.MkdirTemp("", "offerdeck-stack-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	st = &stack{cancel: cancel, dir: dir, tasks: tasks}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	if st.master, err = startStandIn(agents, dir); err != nil {
		return st, err
	}
	st.masterURL = st.master.url

	discard := slog.New(slog.DiscardHandler)
	st.metrics = prometheus.NewRegistry()
	sched, err := scheduler.New(scheduler.Config{Metrics: st.metrics,
		Client: mesos.Config{Masters: []string{st.masterURL}, Logger: discard,
			Framework: &mesos.FrameworkInfo{User: proto.String("bench"), Name: proto.String("offerdeck-bench")}},
		StateDir: dir + "/state", HoldTime: time.Hour, Logger: discard,
	})
	if err != nil {
		return st, err
	}
	st.sched = sched
	// The whole cluster's view, as the dashboard follows it by default:
	// every update reaches it twice, on the scheduler's stream and on the
	// operator API's.
	view, err := cluster.New(cluster.Config{Client: master.Config{Masters: []string{st.masterURL}, Logger: discard}, Logger: discard})
	if err != nil {
		return st, err
	}
	site, err := web.New(web.Config{Scheduler: sched, Cluster: view, Master: st.masterURL, Embedded: true, Simulated: true, Logger: discard})
	if err != nil {
		return st, err
	}
	st.wg.Go(func() { sched.Run(ctx) })
	st.wg.Go(func() { site.Run(ctx) })
	st.wg.Go(func() { view.Run(ctx) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return st, err
	}
	st.url = "http://" + ln.Addr().String()
	st.srv = &http.Server{Handler: site.Handler(), BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog: slog.NewLogLogger(discard.Handler(), slog.LevelError)}
	st.wg.Go(func() { st.srv.Serve(ln) })

	if err := st.launch(ctx, agents); err != nil {
		return st, err
	}
	st.settle()
	return st, nil
}

// settle waits, up to a minute, until the scheduler has acknowledged every
// update of the launch: unacknowledged ones would be resent by the
// stand-in in the middle of the figures.
func (st *stack) settle() {
	last := st.acknowledged()
	for range 30 {
		time.Sleep(2 * time.Second)
		n := st.acknowledged()
		if n == last {
			return
		}
		last = n
	}
}

// launch accepts one offer of every agent with its share of st.tasks
// instances of a long sleep, several accepts at a time, and waits until
// every task runs.
func (st *stack) launch(ctx context.Context, agents int) error {
	deadline := time.Now().Add(5 * time.Minute)
	var offers []string
	for len(offers) < agents {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d agents offered", len(offers), agents)
		}
		time.Sleep(100 * time.Millisecond)
		snap, err := st.sched.Snapshot(ctx)
		if err != nil {
			return err
		}
		offers = offers[:0]
		for _, o := range snap.Offers {
			offers = append(offers, o.ID)
		}
	}
	type share struct {
		offer string
		tasks int
	}
	work := make(chan share)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for w := range work {
				spec := scheduler.TaskSpec{Name: "web", Command: "sleep 100000", CPUs: 0.1, Mem: 32, Instances: w.tasks}
				if _, err := st.sched.Accept(ctx, scheduler.Actor{User: "bench"}, w.offer, []scheduler.TaskSpec{spec}); err != nil {
					select {
					case errs <- fmt.Errorf("accept %s: %w", w.offer, err):
					default:
					}
				}
			}
		})
	}
	for i, id := range offers {
		if n := st.tasks/agents + min(1, max(0, st.tasks%agents-i)); n > 0 {
			work <- share{id, n}
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	for {
		snap, err := st.sched.Snapshot(ctx)
		if err != nil {
			return err
		}
		running := 0
		for _, t := range snap.Tasks {
			if t.State == mesos.TaskState_TASK_RUNNING {
				running++
			}
		}
		if running == st.tasks {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d tasks running", running, st.tasks)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (st *stack) close() {
	st.cancel()
	if st.srv != nil {
		st.srv.Close()
	}
	st.wg.Wait()
	if st.sched != nil {
		st.sched.Close()
	}
	if st.master != nil {
		st.master.close()
	}
	os.RemoveAll(st.dir)
}

var (
	topicsAttr = regexp.MustCompile(`data-topics="([^"]*)"`)
	epochAttr  = regexp.MustCompile(`data-epoch="([^"]*)"`)
)

// pageStream fetches a page of the dashboard and returns the live stream
// URL its script would open: its positions and the hub's epoch. It also
// returns the page's size, what a viewer downloads on arrival.
func pageStream(base, path string) (string, int, error) {
	resp, err := http.Get(base + path)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	topics, epoch := topicsAttr.FindSubmatch(b), epochAttr.FindSubmatch(b)
	if topics == nil || epoch == nil {
		return "", 0, errors.New("GET " + path + ": no live positions on the page")
	}
	ws := "ws" + base[len("http"):] + "/ws?since=" + string(topics[1]) + "&epoch=" + string(epoch[1])
	return ws, len(b), nil
}

// e2eResult is one end-to-end run: health check updates stamped by the
// stand-in, seen by viewers of the tasks page.
type e2eResult struct {
	Rate           float64 // updates a second asked of the stand-in
	Absorbed       float64 // updates the scheduler acknowledged a second
	Rows           float64 // stamped rows a viewer received a second
	P50, P99       float64 // stamped → parsed by a viewer, ms
	BytesPerViewer float64 // per second
	Resyncs        int
	CPUCores       float64 // the dashboard's process (the bench's), cores
	StandInCores   float64 // the stand-in's process, cores
	ForeignPct     float64
	// CPUPerUpdate (µs) and AllocPerUpdate (bytes) divide the dashboard's
	// CPU and heap allocation by the updates it acknowledged.
	CPUPerUpdate, AllocPerUpdate float64
	// GCPerUpdate is the part of CPUPerUpdate the collector took, and
	// GCIdlePerUpdate the part of that its workers took from time the
	// process's threads would otherwise have left idle.
	GCPerUpdate, GCIdlePerUpdate float64
	// Collections is how many the collector finished in the measured
	// time, and LiveMB the heap it found live at the last of them.
	Collections int
	LiveMB      float64
}

// e2eRun sets the stand-in's health check rate and has viewers of the
// tasks page measure for duration after a second to settle.
func e2eRun(st *stack, rate float64, viewers int, duration time.Duration, profile, memProfile string) (e2eResult, error) {
	res := e2eResult{Rate: rate}
	if err := st.master.SetHealthChecks(rate); err != nil {
		return res, err
	}
	defer st.master.SetHealthChecks(0)
	cmd, stdin, out, err := pageViewersProcess(st.url, "/tasks", viewers, duration, "")
	if err != nil {
		return res, err
	}
	defer cmd.Wait()
	defer stdin.Close()
	time.Sleep(3 * time.Second) // the viewers catch up from their pages' positions
	// A profile, if asked for, covers the measured time alone.
	stopProfile, err := startCPUProfile(profile)
	if err != nil {
		return res, err
	}
	if memProfile != "" {
		if err := writeHeapProfile(memProfile + ".base"); err != nil {
			return res, err
		}
	}
	cpu0, busy0, acked0, master0, alloc0 := selfCPU(), procBusy(), st.acknowledged(), st.master.cpu(), heapAllocated()
	gc0, gcIdle0 := gcCPU()
	cycles0, _ := gcCycles()
	io.WriteString(stdin, "go\n")
	vr, err := readPageViewerResult(out)
	cpu, busy, master, alloc := selfCPU()-cpu0, procBusy()-busy0, st.master.cpu()-master0, heapAllocated()-alloc0
	gc, gcIdle := gcCPU()
	gc, gcIdle = gc-gc0, gcIdle-gcIdle0
	cycles, live := gcCycles()
	res.Collections, res.LiveMB = int(cycles-cycles0), float64(live)/(1<<20)
	acked := st.acknowledged() - acked0
	stopProfile()
	if err != nil {
		return res, err
	}
	if memProfile != "" {
		if err := writeHeapProfile(memProfile); err != nil {
			return res, err
		}
	}
	secs := duration.Seconds()
	res.P50, res.P99, res.Resyncs = vr.P50, vr.P99, vr.Resyncs
	res.Absorbed = acked / secs
	if acked > 0 {
		res.CPUPerUpdate, res.AllocPerUpdate = cpu/acked*1e6, float64(alloc)/acked
		res.GCPerUpdate, res.GCIdlePerUpdate = gc/acked*1e6, gcIdle/acked*1e6
	}
	res.Rows = float64(vr.Delivered) / float64(vr.Connected) / secs
	res.BytesPerViewer = float64(vr.Bytes) / float64(vr.Connected) / secs
	res.CPUCores, res.StandInCores = cpu/secs, master/secs
	res.ForeignPct = max(0, busy-cpu-master-vr.CPU) / secs * 100
	return res, nil
}

func readPageViewerResult(out *bufio.Reader) (pageViewerResult, error) {
	var vr pageViewerResult
	line, err := out.ReadString('\n')
	if err != nil {
		return vr, fmt.Errorf("page viewers result: %v", err)
	}
	if err := json.Unmarshal([]byte(line), &vr); err != nil {
		return vr, fmt.Errorf("page viewers result %q: %v", line, err)
	}
	if vr.Connected == 0 {
		return vr, errors.New("no page viewer connected")
	}
	return vr, nil
}

// actionResult is the round trip of kill actions: the POST to the
// dashboard until every viewer shows the kill's first update (TASK_KILLING,
// or TASK_KILLED when a flush window took both), and until every viewer
// shows TASK_KILLED; and the same KILL sent straight to a stand-in until
// its first update and until TASK_KILLED arrive. Both frameworks have the
// TASK_KILLING_STATE capability, so TASK_KILLED comes only after KILLING
// is acknowledged, which the dashboard does once it has stored it.
type actionResult struct {
	P50, P99             float64 // ms, through the dashboard, to the first update shown
	DirectP50, DirectP99 float64 // ms, straight to the stand-in, to the first update
	KilledP50, KilledP99 float64 // ms, through the dashboard, to TASK_KILLED shown
	DirectKilledP50      float64 // ms, straight to the stand-in, to TASK_KILLED
	DirectKilledP99      float64
	Actions              int
	// Slowest is the slowest kill's first update, shown to every viewer
	// (ms), and SlowestFirst when the first viewer showed it: far apart,
	// one viewer held it up. Resyncs counts the viewers told to re-render.
	Slowest, SlowestFirst float64
	Resyncs               int
	// SlowCommits is how many of the dashboard's commits during the
	// kills took over 100 ms, and LongestCommit the bound (s) of the
	// histogram bucket the longest fell in.
	SlowCommits   int
	LongestCommit float64
}

// pageToKillOn returns the first page of the tasks table, of those with
// a live stream of their own, that shows n of the running tasks (by row
// id), and those tasks' ids.
func pageToKillOn(base string, running map[string]string, n int) (string, []string, error) {
	for p := 1; p <= 20; p++ {
		path := "/tasks?page=" + strconv.Itoa(p)
		resp, err := http.Get(base + path)
		if err != nil {
			return "", nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return "", nil, fmt.Errorf("GET %s: %w", path, err)
		}
		var ids []string
		for _, m := range taskRowID.FindAllSubmatch(b, -1) {
			if id, ok := running[string(m[1])]; ok && len(ids) < n {
				ids = append(ids, id)
			}
		}
		if len(ids) == n {
			return path, ids, nil
		}
	}
	return "", nil, fmt.Errorf("no page of the tasks table shows %d running tasks to kill", n)
}

// taskRowID finds the row ids of a tasks page.
var taskRowID = regexp.MustCompile(`<tr id="(task-[^"]+)"`)

// actionRun kills n running tasks, one every 100 ms, with viewers of the
// tasks page watching and background health checks at rate.
func actionRun(st *stack, n, viewers int, rate float64) (actionResult, error) {
	var res actionResult
	snap, err := st.sched.Snapshot(context.Background())
	if err != nil {
		return res, err
	}
	// The viewers follow one page of the tasks table, whose stream
	// carries that page's rows alone: the kills go to running tasks on
	// it, on the first page that still has n of them.
	running := map[string]string{} // row id → task id
	for _, t := range snap.Tasks {
		if t.State == mesos.TaskState_TASK_RUNNING && !t.Killing {
			running["task-"+t.ID] = t.ID
		}
	}
	page, ids, err := pageToKillOn(st.url, running, n)
	if err != nil {
		return res, err
	}
	if err := st.master.SetHealthChecks(rate); err != nil {
		return res, err
	}
	defer st.master.SetHealthChecks(0)
	const gap = 100 * time.Millisecond
	cmd, stdin, out, err := pageViewersProcess(st.url, page, viewers, time.Duration(n)*gap+5*time.Second, "TASK_KILLING,TASK_KILLED")
	if err != nil {
		return res, err
	}
	defer cmd.Wait()
	defer stdin.Close()
	time.Sleep(3 * time.Second) // the viewers catch up from their pages' positions
	io.WriteString(stdin, "go\n")
	commits0 := st.commitBuckets()
	posted := map[string]time.Time{}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, id := range ids {
		posted["task-"+id] = time.Now()
		resp, err := client.PostForm(st.url+"/tasks/"+id+"/kill", url.Values{"grace": {"0"}})
		if err != nil {
			return res, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			return res, fmt.Errorf("kill %s: %s", id, resp.Status)
		}
		time.Sleep(gap)
	}
	vr, err := readPageViewerResult(out)
	if err != nil {
		return res, err
	}
	res.SlowCommits, res.LongestCommit = slowCommits(commits0, st.commitBuckets(), 0.1)
	var shown, killed []float64
	res.Resyncs = vr.Resyncs
	for id, t0 := range posted {
		if at, ok := vr.Seen[id]; ok {
			ms := float64(at-t0.UnixNano()) / 1e6
			shown = append(shown, ms)
			if ms > res.Slowest {
				res.Slowest, res.SlowestFirst = ms, float64(vr.SeenFirst[id]-t0.UnixNano())/1e6
			}
		}
		if at, ok := vr.Seen[id+" TASK_KILLED"]; ok {
			killed = append(killed, float64(at-t0.UnixNano())/1e6)
		}
	}
	if len(shown) < n || len(killed) < n {
		return res, fmt.Errorf("of %d kills, %d reached every viewer, %d as TASK_KILLED", n, len(shown), len(killed))
	}
	res.Actions = len(shown)
	res.P50, res.P99 = percentile(shown, 50), percentile(shown, 99)
	res.KilledP50, res.KilledP99 = percentile(killed, 50), percentile(killed, 99)
	direct, directKilled, err := directKills(n)
	res.DirectP50, res.DirectP99 = percentile(direct, 50), percentile(direct, 99)
	res.DirectKilledP50, res.DirectKilledP99 = percentile(directKilled, 50), percentile(directKilled, 99)
	return res, err
}

// directKills is the baseline of actionRun: a framework with its own
// stand-in (the three demo agents, simulated) and the TASK_KILLING_STATE
// capability sends KILL for n running tasks and times each until its first
// update arrives and until TASK_KILLED does, acknowledging each update at
// once. The times are in milliseconds.
func directKills(n int) (first, killed []float64, err error) {
	dir, err := os.MkdirTemp("", "offerdeck-direct-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	m, err := local.New(local.Config{SimulateCommands: true, SandboxRoot: dir})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx, ln) }()
	defer func() { cancel(); <-done }()
	raw, err := subscribeRaw(ctx, "http://"+ln.Addr().String(), mesos.FrameworkInfo_Capability_TASK_KILLING_STATE)
	if err != nil {
		return nil, nil, err
	}
	defer raw.close()
	offers, err := raw.nextOffers()
	if err != nil {
		return nil, nil, err
	}
	o := offers[0]
	var infos []*mesos.TaskInfo
	for i := range n {
		infos = append(infos, &mesos.TaskInfo{Name: proto.String("t"), TaskId: &mesos.TaskID{Value: proto.String("t" + strconv.Itoa(i))}, AgentId: o.GetAgentId(),
			Resources: []*mesos.Resource{mesos.Scalar("cpus", 0.01), mesos.Scalar("mem", 1)},
			Command:   &mesos.CommandInfo{Value: proto.String("sleep 3600")}})
	}
	if err := raw.call(&mesos.Call{Type: mesos.Call_ACCEPT.Enum(), Accept: &mesos.Call_Accept{OfferIds: []*mesos.OfferID{o.GetId()},
		Operations: []*mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH.Enum(), Launch: &mesos.Offer_Operation_Launch{TaskInfos: infos}}}}}); err != nil {
		return nil, nil, err
	}
	// Acknowledge until every task runs.
	for running := 0; running < n; {
		st, err := raw.nextUpdate()
		if err != nil {
			return nil, nil, err
		}
		if err := raw.ack(st); err != nil {
			return nil, nil, err
		}
		if st.GetState() == mesos.TaskState_TASK_RUNNING {
			running++
		}
	}
	for i := range n {
		t0 := time.Now()
		var sawFirst bool
		if err := raw.call(&mesos.Call{Type: mesos.Call_KILL.Enum(), Kill: &mesos.Call_Kill{TaskId: infos[i].GetTaskId()}}); err != nil {
			return nil, nil, err
		}
		for {
			st, err := raw.nextUpdate()
			if err != nil {
				return nil, nil, err
			}
			if err := raw.ack(st); err != nil {
				return nil, nil, err
			}
			if st.GetTaskId().GetValue() != infos[i].GetTaskId().GetValue() {
				continue
			}
			ms := float64(time.Since(t0).Nanoseconds()) / 1e6
			if !sawFirst {
				sawFirst = true
				first = append(first, ms)
			}
			if st.GetState() == mesos.TaskState_TASK_KILLED {
				killed = append(killed, ms)
				break
			}
		}
	}
	return first, killed, nil
}

func percentile(xs []float64, p int) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, len(s)*p/100)]
}

// writeHeapProfile writes a heap profile of this process to path, after
// a collection, so that it shows what is live.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}

// commitBuckets is the dashboard's histogram of commit times: the
// cumulative count of each bucket, by its upper bound in seconds.
func (st *stack) commitBuckets() map[float64]uint64 { return commitBucketsOf(st.metrics) }

// commitBucketsOf reads the scheduler's commit histogram from g: each
// bucket's count by its upper bound, and the count of all under +Inf.
func commitBucketsOf(g prometheus.Gatherer) map[float64]uint64 {
	out := map[float64]uint64{}
	families, _ := g.Gather()
	for _, f := range families {
		if f.GetName() != "offerdeck_state_commit_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, b := range m.GetHistogram().GetBucket() {
				out[b.GetUpperBound()] = b.GetCumulativeCount()
			}
			out[math.Inf(1)] = m.GetHistogram().GetSampleCount()
		}
	}
	return out
}

// slowCommits compares two readings of commitBuckets: how many commits
// between them took over limit seconds (a bucket's bound), and the upper
// bound of the bucket the longest fell in.
func slowCommits(before, after map[float64]uint64, limit float64) (slow int, longest float64) {
	total := after[math.Inf(1)] - before[math.Inf(1)]
	slow = int(total - (after[limit] - before[limit]))
	for _, b := range slices.Sorted(maps.Keys(after)) {
		if after[b]-before[b] == total {
			return slow, b
		}
	}
	return slow, math.Inf(1)
}

// acknowledged is how many updates the scheduler has acknowledged: each
// was applied, stored and rendered.
func (st *stack) acknowledged() float64 {
	families, _ := st.metrics.Gather()
	for _, f := range families {
		if f.GetName() != "offerdeck_calls_total" {
			continue
		}
		var n float64
		for _, m := range f.GetMetric() {
			var typ, result string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "type":
					typ = l.GetValue()
				case "result":
					result = l.GetValue()
				}
			}
			if typ == "ACKNOWLEDGE" && result == "accepted" {
				n += m.GetCounter().GetValue()
			}
		}
		return n
	}
	return 0
}

// stackFigures are the end-to-end figures, from one stack.
type stackFigures struct {
	Agents, Tasks int
	Launch        time.Duration // to launch every task and see it run
	StateBytes    int           // the stand-in's /master/state, what polling fetches
	Pages         []pageWeight
	Rest          e2eResult   // no health checks: heartbeats and offers only
	Live          []e2eResult // o.rate health checks a second, o.viewers viewers
	Steady        e2eResult   // o.steadyRate asked: the median of SteadyRuns
	SteadyRuns    []e2eResult
	Action        actionResult // the median of ActionRuns
	ActionRuns    []actionResult
	// Err is why the figures stop where they do, if they do.
	Err string
}

type pageWeight struct {
	Path  string
	Bytes int
}

// runStack starts one stack and measures on it: the first pages' weight,
// what a viewer receives at rest, o.stackRuns end-to-end latency runs at
// o.rate, absorption at o.steadyRate, and kill round trips.
func runStack(o options) (stackFigures, error) {
	fig := stackFigures{Agents: o.agents, Tasks: o.agents * o.tasksPer}
	t0 := time.Now()
	st, err := startStack(o.agents, o.agents*o.tasksPer)
	if err != nil {
		return fig, fmt.Errorf("start: %w", err)
	}
	defer st.close()
	fig.Launch = time.Since(t0)
	fmt.Fprintf(os.Stderr, "stack: %d tasks running on %d agents after %v\n", fig.Tasks, fig.Agents, fig.Launch.Round(time.Millisecond))
	if o.heapProfile != "" {
		if err := writeHeapProfile(o.heapProfile); err != nil {
			return fig, err
		}
	}
	resp, err := http.Get(st.masterURL + "/master/state")
	if err != nil {
		return fig, err
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fig.StateBytes = int(n)
	if fig.Rest, err = e2eRun(st, 0, o.viewers, o.duration, "", ""); err != nil {
		return fig, fmt.Errorf("at rest: %w", err)
	}
	fmt.Fprintf(os.Stderr, "stack at rest: %.0f B/s a viewer\n", fig.Rest.BytesPerViewer)
	for r := range o.stackRuns {
		res, err := e2eRun(st, float64(o.rate), o.viewers, o.duration, "", "")
		if err != nil {
			return fig, fmt.Errorf("live run %d: %w", r+1, err)
		}
		fmt.Fprintf(os.Stderr, "stack run %d: %.0f updates/s asked, %.0f absorbed, %.0f rows a viewer; p50 %.2f ms p99 %.2f ms; %.0f B/s a viewer; %d resyncs; dashboard %.2f cores, stand-in %.2f; foreign CPU %.0f%%\n",
			r+1, res.Rate, res.Absorbed, res.Rows, res.P50, res.P99, res.BytesPerViewer, res.Resyncs, res.CPUCores, res.StandInCores, res.ForeignPct)
		fig.Live = append(fig.Live, res)
	}
	// Actions before the steady run: asking more than the stack absorbs
	// leaves it a backlog to work off (and the stand-in resends what waits
	// too long), which would be in the actions' figures.
	for r := range o.stackRuns {
		a, err := actionRun(st, 30, o.viewers, float64(o.rate))
		if err != nil {
			return fig, fmt.Errorf("actions, run %d: %w", r+1, err)
		}
		fmt.Fprintf(os.Stderr, "stack actions %d: %d kills, first update shown p50 %.2f ms p99 %.2f ms (straight to a stand-in %.2f / %.2f); "+
			"TASK_KILLED shown p50 %.2f ms p99 %.2f ms (straight %.2f / %.2f); %d commits over 100 ms, the longest ≤ %g s; "+
			"the slowest kill shown by every viewer at %.2f ms, by the first at %.2f ms; %d resyncs\n",
			r+1, a.Actions, a.P50, a.P99, a.DirectP50, a.DirectP99, a.KilledP50, a.KilledP99, a.DirectKilledP50, a.DirectKilledP99, a.SlowCommits, a.LongestCommit,
			a.Slowest, a.SlowestFirst, a.Resyncs)
		fig.ActionRuns = append(fig.ActionRuns, a)
	}
	fig.Action = medianAction(fig.ActionRuns)
	for r := range o.stackRuns {
		profile, memProfile := o.steadyProfile, o.steadyMemProfile
		if r > 0 {
			profile, memProfile = "", "" // the first run's
		}
		s, err := e2eRun(st, float64(o.steadyRate), o.viewers, o.duration, profile, memProfile)
		if err != nil {
			return fig, fmt.Errorf("steady run %d: %w", r+1, err)
		}
		fmt.Fprintf(os.Stderr, "stack steady %d: %.0f updates/s asked, %.0f absorbed; p50 %.2f ms p99 %.2f ms; %d resyncs; dashboard %.2f cores, stand-in %.2f; %.1f µs (collector %.1f, %.1f of it in idle time) and %.0f B allocated an update; %d collections, %.0f MB live\n",
			r+1, s.Rate, s.Absorbed, s.P50, s.P99, s.Resyncs, s.CPUCores, s.StandInCores, s.CPUPerUpdate, s.GCPerUpdate, s.GCIdlePerUpdate, s.AllocPerUpdate,
			s.Collections, s.LiveMB)
		fig.SteadyRuns = append(fig.SteadyRuns, s)
	}
	fig.Steady = medianE2E(fig.SteadyRuns)
	// The pages' weights last: a page rendered keeps its topics followed
	// for a minute (web's followFor), and every run above would pay for
	// rendering, say, the events page that nobody has open.
	for _, p := range []string{"/", "/offers", "/tasks", "/agents", "/events", "/launch"} {
		_, n, err := pageStream(st.url, p)
		if err != nil {
			return fig, err
		}
		fig.Pages = append(fig.Pages, pageWeight{p, n})
	}
	return fig, nil
}

// medianE2E is the run made of each figure's median over rs.
func medianE2E(rs []e2eResult) e2eResult {
	m := func(f func(e2eResult) float64) float64 { return medianOf(rs, f) }
	return e2eResult{
		Rate:           m(func(r e2eResult) float64 { return r.Rate }),
		Absorbed:       m(func(r e2eResult) float64 { return r.Absorbed }),
		Rows:           m(func(r e2eResult) float64 { return r.Rows }),
		P50:            m(func(r e2eResult) float64 { return r.P50 }),
		P99:            m(func(r e2eResult) float64 { return r.P99 }),
		BytesPerViewer: m(func(r e2eResult) float64 { return r.BytesPerViewer }),
		Resyncs:        int(m(func(r e2eResult) float64 { return float64(r.Resyncs) })),
		CPUCores:       m(func(r e2eResult) float64 { return r.CPUCores }),
		StandInCores:   m(func(r e2eResult) float64 { return r.StandInCores }),
		ForeignPct:     m(func(r e2eResult) float64 { return r.ForeignPct }),
	}
}

// medianAction is the run made of each figure's median over rs.
func medianAction(rs []actionResult) actionResult {
	m := func(f func(actionResult) float64) float64 { return medianOf(rs, f) }
	return actionResult{
		P50:             m(func(r actionResult) float64 { return r.P50 }),
		P99:             m(func(r actionResult) float64 { return r.P99 }),
		DirectP50:       m(func(r actionResult) float64 { return r.DirectP50 }),
		DirectP99:       m(func(r actionResult) float64 { return r.DirectP99 }),
		KilledP50:       m(func(r actionResult) float64 { return r.KilledP50 }),
		KilledP99:       m(func(r actionResult) float64 { return r.KilledP99 }),
		DirectKilledP50: m(func(r actionResult) float64 { return r.DirectKilledP50 }),
		DirectKilledP99: m(func(r actionResult) float64 { return r.DirectKilledP99 }),
		Actions:         int(m(func(r actionResult) float64 { return float64(r.Actions) })),
	}
}

// serveStack starts one stack and serves it for other tools, such as the
// browser lane: it prints "url <base>" once every task runs, then obeys
// lines on stdin ("rate N" sets the stand-in's health checks a second)
// until stdin ends.
func serveStack(o options) error {
	st, err := startStack(o.agents, o.agents*o.tasksPer)
	if err != nil {
		return err
	}
	defer st.close()
	fmt.Println("url", st.url)
	return obeyRates(st.master.SetHealthChecks)
}
