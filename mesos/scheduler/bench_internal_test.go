package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// benchState is a state with no database or master behind it, for
// measuring what applying an event costs the state goroutine.
func benchState() *state {
	s := &Scheduler{cfg: Config{EventHistory: DefaultEventHistory, EventHistoryBytes: DefaultEventHistoryBytes, HoldTime: DefaultHoldTime, MaxOrphans: DefaultMaxOrphans},
		log: slog.New(slog.DiscardHandler), health: newStorageHealth(), spareEncode: make(chan *encodeBuffers, 2)}
	return &state{s: s, offers: map[string]*Offer{}, byAgent: map[string][]*Offer{}, agents: map[string]*Agent{}, tasks: map[string]*Task{}, acker: newAcker(), done: newResults(), inflight: map[string]*inflight{}, index: newTaskIndex(), shared: newSharing()}
}

// startLoop runs the state goroutine, the committer and the emitter of s
// as Run does, without a client. Once ctx is done the state goroutine
// commits what it holds; wg waits for all three.
func startLoop(ctx context.Context, wg *sync.WaitGroup, s *Scheduler, st *state) {
	batches, bursts := make(chan *batch), make(chan []Change, burstsWaiting)
	wg.Go(func() { s.commitLoop(batches, st.acker) })
	wg.Go(func() { s.emitLoop(ctx, bursts) })
	wg.Go(func() {
		if left := s.loop(ctx, st, bursts, batches); left != nil {
			s.commit(left, st.acker)
		}
		close(batches)
		close(bursts)
	})
}

// BenchmarkApplyUpdate measures applying one agent status update: history,
// persistence queued, change emitted, event recorded for the events page.
func BenchmarkApplyUpdate(b *testing.B) {
	st := benchState()
	const tasks = 10000
	events := make([]*mesos.Event, tasks)
	for i := range tasks {
		id := "task-" + strconv.Itoa(i)
		st.tasks[id] = &Task{ID: id, Launch: new(Launch), State: mesos.TaskState_TASK_STARTING}
		events[i] = &mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: &mesos.TaskStatus{
			TaskId: &mesos.TaskID{Value: proto.String(id)}, State: mesos.TaskState_TASK_RUNNING.Enum(),
			Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum(), AgentId: &mesos.AgentID{Value: proto.String("agent-1")},
			Timestamp: proto.Float64(1.7e9), Uuid: []byte("0123456789abcdef"),
		}}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := events[i%tasks]
		e.Update.Status.Uuid = []byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24), 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
		st.onEvent(e)
		if i%256 == 255 { // the loop flushes after each burst
			st.pending, st.out, st.acksReady = write{}, st.out[:0], nil
			for _, t := range st.tasks {
				if len(t.History) > 8 {
					t.History = t.History[:0]
				}
			}
		}
	}
}

// BenchmarkApplyOffers measures taking in an OFFERS event of 100 offers.
func BenchmarkApplyOffers(b *testing.B) {
	st := benchState()
	var offers []*mesos.Offer
	for i := range 100 {
		offers = append(offers, &mesos.Offer{
			Id: &mesos.OfferID{Value: proto.String("o" + strconv.Itoa(i))}, FrameworkId: &mesos.FrameworkID{Value: proto.String("f")},
			AgentId: &mesos.AgentID{Value: proto.String("a" + strconv.Itoa(i))}, Hostname: proto.String("agent-" + strconv.Itoa(i)),
			Resources:  []*mesos.Resource{mesos.Scalar("cpus", 2), mesos.Scalar("mem", 496), mesos.PortRange(9000, 10000)},
			Attributes: []*mesos.Attribute{mesos.TextAttribute("rack", "r2d2")},
		})
	}
	e := &mesos.Event{Type: mesos.Event_OFFERS.Enum(), Offers: &mesos.Event_Offers{Offers: offers}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st.onEvent(e)
		st.pending, st.out = write{}, st.out[:0]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(offers)), "ns/offer")
}

// orphanBurst is n orphan tasks as a reconciliation burst brings them, in
// the master's (unordered) order, each with its one status.
func orphanBurst(registration string, first, n int) []*Task {
	tasks := make([]*Task, n)
	for i := range n {
		id := fmt.Sprintf("task-%08x", uint32((first+i)*2654435761)) // scattered keys, like a map's order
		tasks[i] = &Task{ID: id, Launch: unlaunched, Orphan: true, Registration: registration, State: mesos.TaskState_TASK_RUNNING,
			keyNumber: uint64(first + i + 1), AgentID: "agent-" + strconv.Itoa(i%10000), ExecutorID: id,
			History: []Status{{State: mesos.TaskState_TASK_RUNNING, Source: mesos.TaskStatus_SOURCE_MASTER,
				Reason: mesos.TaskStatus_REASON_RECONCILIATION, HasReason: true, Message: "Reconciliation: Latest task state",
				Time: time.Unix(1_700_000_000, int64(i)), Reconciliation: true}}}
	}
	return tasks
}

// BenchmarkCommitBurst measures the group commit of one burst of burstMax
// orphan tasks, as the state goroutine hands it over during a 100,000-task
// reconciliation: encoding, bbolt puts and the fsync. The database grows
// to 65,536 tasks and then starts afresh (outside the timer).
func BenchmarkCommitBurst(b *testing.B) {
	const perDB = 8
	registration := "8c2f1d3e-5b7a-4c9d-a1e2-f3b4c5d6e7f8-0000"
	var s *store
	defer func() {
		if s != nil {
			s.close()
		}
	}()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%perDB == 0 {
			b.StopTimer()
			if s != nil {
				s.close()
			}
			var err error
			if s, err = openStore(b.TempDir()); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.StopTimer()
		w := write{tasks: orphanBurst(registration, (i%perDB)*burstMax, burstMax)}
		b.StartTimer()
		if err := commitWrite(s, &w); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*burstMax), "ns/task")
}

// commitWrite encodes w, as the state goroutine does, and commits it, as
// the committer does.
func commitWrite(s *store, w *write) error {
	var l statusLog
	e, err := w.encode(&l, l.limit(0), nil)
	if err != nil {
		return err
	}
	return s.commit(e)
}

// BenchmarkEncodeTask measures encoding one orphan task record.
func BenchmarkEncodeTask(b *testing.B) {
	t := orphanBurst("8c2f1d3e-5b7a-4c9d-a1e2-f3b4c5d6e7f8-0000", 0, 1)[0]
	b.ReportAllocs()
	var n int
	for b.Loop() {
		v, err := encodeTask(nil, t, 0)
		if err != nil {
			b.Fatal(err)
		}
		n = len(v)
	}
	b.ReportMetric(float64(n), "bytes")
}

// BenchmarkReconcileBurst measures issue 8's M4 without the master and the
// client: 100,000 reconciliation answers for tasks the framework does not
// know, posted to the state goroutine as fast as it takes them, until every
// task's change is emitted and every burst is committed.
func BenchmarkReconcileBurst(b *testing.B) {
	const tasks = 100_000
	events := make([]*mesos.Event, tasks)
	for i, t := range orphanBurst("", 0, tasks) {
		events[i] = &mesos.Event{Type: mesos.Event_UPDATE.Enum(), Update: &mesos.Event_Update{Status: &mesos.TaskStatus{
			TaskId: &mesos.TaskID{Value: proto.String(t.ID)}, State: mesos.TaskState_TASK_RUNNING.Enum(),
			Source: mesos.TaskStatus_SOURCE_MASTER.Enum(), Reason: mesos.TaskStatus_REASON_RECONCILIATION.Enum(),
			Message: proto.String("Reconciliation: Latest task state"), AgentId: &mesos.AgentID{Value: proto.String(t.AgentID)},
			ExecutorId: &mesos.ExecutorID{Value: proto.String(t.ID)},
		}}}
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		db, err := openStore(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		st := benchState()
		s := st.s
		s.store, st.registration = db, "8c2f1d3e-5b7a-4c9d-a1e2-f3b4c5d6e7f8-0000"
		// Every task of the burst is an orphan to record, as in cmd/bench;
		// under the default bound the rest are refused, and the benchmark
		// waited for their changes for ever.
		s.cfg.MaxOrphans = tasks
		s.inbox, s.changes = make(chan func(*state), inboxSize), make(chan Change, changeBuffer)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		b.StartTimer()

		startLoop(ctx, &wg, s, st)
		wg.Go(func() {
			for _, e := range events {
				s.post(ctx, func(st *state) { st.onEvent(e) })
			}
		})
		for seen := 0; seen < tasks; {
			if c := <-s.changes; c.Kind == TaskChanged {
				seen++
			}
		}
		// Changes are emitted before their commit: stop the loop, which
		// commits what it holds, and wait for the committer too.
		cancel()
		wg.Wait()
		b.StopTimer()
		db.close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*tasks), "ns/task")
}

// BenchmarkModerateUpdate measures what the state goroutine spends on one
// update at a moderate rate (issue 19): a health check of one of 500
// tasks, each with a full history, then its acknowledgement mark, with
// the writes taken and encoded a commit window's worth at a time (50
// updates: 100 ms at 500 a second), as the committer is handed them.
// records/update counts the task records encoded: each update's own, and
// none for its mark, which rides with the task's next update.
func BenchmarkModerateUpdate(b *testing.B) {
	var records int
	updates := moderateUpdates(b, func(*batch) {}, func(bt *batch) {
		if bt.encodeErr != nil {
			b.Fatal(bt.encodeErr)
		}
		records += len(bt.writes.tasks) + len(bt.writes.log)
	})
	b.ReportMetric(float64(records)/float64(updates), "records/update")
}

// BenchmarkModerateCommit is BenchmarkModerateUpdate with the commits made:
// each window's writes are committed to a real database on disk, fsync
// included, as the committer does. bytes/update is what the commits
// handed bbolt (record values, the status log's included) for each
// update, and page-bytes/update the pages bbolt allocated and wrote for
// them: it writes whole 4 KB pages, so a small record among other tasks'
// records costs a page all the same. The second is what the disk and the
// CPU pay. Run it past the status log's bound (-benchtime 100000x: the 500
// tasks' log holds 32,000 records) for figures with its compaction.
func BenchmarkModerateCommit(b *testing.B) {
	s, err := openStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	commit := func(bt *batch) {
		if bt.encodeErr != nil {
			b.Fatal(bt.encodeErr)
		}
		if err := s.commit(bt.writes); err != nil {
			b.Fatal(err)
		}
	}
	pageAlloc := func() int64 { st := s.db.Stats(); return st.TxStats.GetPageAlloc() }
	var written int
	var pages int64
	updates := moderateUpdates(b, func(bt *batch) {
		commit(bt)
		pages = pageAlloc()
	}, func(bt *batch) {
		written += bt.writes.size()
		commit(bt)
	})
	b.ReportMetric(float64(written)/float64(updates), "bytes/update")
	b.ReportMetric(float64(pageAlloc()-pages)/float64(updates), "page-bytes/update")
}

// moderateUpdates runs the moderate-rate benchmarks' loop: 500 tasks with
// full histories, taken in one batch handed to setup; then in each
// iteration a health check of the next task and its acknowledgement
// mark, and every window of 50 updates (100 ms at 500 a second) the batch
// take makes, handed to done. It returns the updates the windows held.
func moderateUpdates(b *testing.B, setup, done func(*batch)) int {
	st := benchState()
	st.registration = "8c2f1d3e-5b7a-4c9d-a1e2-f3b4c5d6e7f8-0000"
	const tasks, window = 500, 50
	for i := range tasks {
		id := "web." + strconv.Itoa(i)
		for n := range maxHistory {
			st.onEvent(updateEvent(id, n))
		}
	}
	setup(st.take())
	st.out = st.out[:0] // the loop hands them to the emitter
	clear(st.acked)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id, n := "web."+strconv.Itoa(i%tasks), maxHistory+i
		e := updateEvent(id, n)
		st.onEvent(e)
		st.onAcked(ack{agentID: "agent-1", taskID: id, uuid: UUIDOf(e.Update.Status.Uuid), task: st.tasks[id]})
		if i++; i%window == 0 {
			bt := st.take()
			done(bt)
			st.s.giveBackBuffers(bt.writes) // written, as the committer's are
			st.out = st.out[:0]
		}
	}
	return max(1, i-i%window)
}

// size is how many bytes of record values e hands the database.
func (e *encoded) size() int {
	n := 0
	for _, rs := range [][]record{e.tasks, e.log, e.queuePut, e.audit, e.results} {
		for _, r := range rs {
			n += len(r.value)
		}
	}
	return n
}

// launchedTasks returns n running tasks as launches leave them, ten to an
// agent: each with its agent's attributes and URL, and cpus and mem
// resources in the MULTI_ROLE format.
func launchedTasks(registration string, n int) []*Task {
	tasks := make([]*Task, n)
	for i := range n {
		id := fmt.Sprintf("web-%08x", uint32(i*2654435761))
		agent := i / 10
		res := func(name string, v float64) *mesos.Resource {
			r := mesos.Scalar(name, v)
			r.AllocationInfo = &mesos.Resource_AllocationInfo{Role: proto.String("*")}
			return r
		}
		launch := &Launch{Name: "web", Hostname: fmt.Sprintf("agent-%d.demo", agent),
			Attributes: map[string]string{"rack": fmt.Sprintf("r%02d", agent%40), "pod": fmt.Sprintf("p%d", agent%4)},
			Resources:  []*mesos.Resource{res("cpus", 0.1), res("mem", 32)}, Command: "sleep 3600", Launched: time.Unix(1_700_000_000, 0)}
		tasks[i] = &Task{ID: id, Launch: launch, Registration: registration, State: mesos.TaskState_TASK_RUNNING,
			AgentID: "agent-" + strconv.Itoa(agent), AgentURL: fmt.Sprintf("http://10.0.%d.%d:5051", agent/250, agent%250), ExecutorID: id,
			History: []Status{{State: mesos.TaskState_TASK_RUNNING, Source: mesos.TaskStatus_SOURCE_EXECUTOR,
				Time: time.Unix(1_700_000_001, int64(i)), UUID: UUIDOf([]byte("0123456789abcdef"))}}}
	}
	return tasks
}

// BenchmarkRestore measures loading 20,000 launched tasks from the
// database, and the heap they hold once loaded (heap-B/task, after a
// collection): what a restart costs, and what every task costs the
// collector from then on.
func BenchmarkRestore(b *testing.B) {
	const n = 20_000
	s, err := openStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	tasks := launchedTasks("8c2f1d3e-5b7a-4c9d-a1e2-f3b4c5d6e7f8-0000", n)
	for i := 0; i < n; i += burstMax {
		if err := commitWrite(s, &write{tasks: tasks[i:min(n, i+burstMax)]}); err != nil {
			b.Fatal(err)
		}
	}
	tasks = nil
	var before, after runtime.MemStats
	var held float64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		l, err := s.load()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		if len(l.tasks) != n {
			b.Fatalf("loaded %d tasks, want %d", len(l.tasks), n)
		}
		held = float64(after.HeapAlloc) - float64(before.HeapAlloc)
		runtime.KeepAlive(l)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/task")
	b.ReportMetric(held/n, "heap-B/task")
}

// BenchmarkCollectHeldTasks measures what the collector spends, each
// cycle, on what the scheduler holds for 100,000 running tasks of eight
// acknowledged updates each: one full collection an op, its CPU as the
// runtime counts it (gc-cpu-ms/op), and the live heap's objects and
// bytes a task. The collector marks the whole live heap every cycle, so
// this is the part of its cost that each byte allocated an update buys.
//
// With pages, the latest copy of each task handed out is held too, as the
// pages' model holds it in the dashboard.
func BenchmarkCollectHeldTasks(b *testing.B) {
	b.Run("scheduler", func(b *testing.B) { benchmarkCollectHeldTasks(b, false) })
	b.Run("with-pages", func(b *testing.B) { benchmarkCollectHeldTasks(b, true) })
}

func benchmarkCollectHeldTasks(b *testing.B, pages bool) {
	const tasks, updates = 100_000, 8
	st := benchState()
	runtime.GC()
	before := heapFigures()
	shown := map[string]*Task{}
	handOn := func() {
		if pages {
			for _, c := range st.out {
				if c.Kind == TaskChanged {
					shown[c.Task.ID] = c.Task
				}
			}
		}
		st.pending, st.out, st.acksReady = write{}, st.out[:0], nil
	}
	resources := []*mesos.Resource{mesos.Scalar("cpus", 0.1), mesos.Scalar("mem", 32)}
	for i := range tasks {
		id, agent := "web."+strconv.Itoa(i), "agent-"+strconv.Itoa(i%10_000)
		launch := &Launch{Name: "web", Hostname: agent + ".example", OfferID: "offer-" + strconv.Itoa(i), Resources: resources,
			Ports: []uint64{31000 + uint64(i%1000)}, Command: "sleep 600", Launched: time.Now()}
		st.tasks[id] = &Task{ID: id, Launch: launch, AgentID: agent, ExecutorID: id, Registration: "fw-1",
			State: mesos.TaskState_TASK_STAGING, Launching: true}
	}
	for n := 1; n <= updates; n++ {
		for i := range tasks {
			id := "web." + strconv.Itoa(i)
			e := updateEvent(id, n)
			// An agent names the executor in every update; the id string
			// is the decoder's own each time.
			e.Update.Status.ExecutorId = &mesos.ExecutorID{Value: proto.String(strings.Clone(id))}
			st.onEvent(e)
			st.onAcked(ack{agentID: "agent-1", taskID: id, uuid: heldUUID(e.Update.Status.Uuid), task: st.tasks[id]})
			if i%256 == 255 { // the loop hands each burst on
				handOn()
			}
		}
	}
	handOn()
	clear(st.acked)
	runtime.GC()
	after := heapFigures()
	cpu0 := after.gcCPU
	for b.Loop() {
		runtime.GC()
	}
	b.ReportMetric((heapFigures().gcCPU-cpu0)*1e3/float64(b.N), "gc-cpu-ms/op")
	b.ReportMetric(float64(after.objects-before.objects)/tasks, "objects/task")
	b.ReportMetric(float64(after.bytes-before.bytes)/tasks, "B/task")
	runtime.KeepAlive(st)
	runtime.KeepAlive(shown)
}

// heapCounts are the runtime's counts of the live heap after the last
// collection, and the collectors' CPU so far.
type heapCounts struct {
	objects, bytes uint64
	gcCPU          float64
}

func heapFigures() heapCounts {
	s := []rtmetrics.Sample{{Name: "/gc/heap/objects:objects"}, {Name: "/gc/heap/live:bytes"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}}
	rtmetrics.Read(s)
	return heapCounts{objects: s[0].Value.Uint64(), bytes: s[1].Value.Uint64(), gcCPU: s[2].Value.Float64()}
}

// heldUUID is how an acknowledgement holds the uuid of an update.
func heldUUID(b []byte) UUID { return UUIDOf(b) }
