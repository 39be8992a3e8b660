package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/recordio"
	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// clusterResult is one run against the stand-in in scale mode.
type clusterResult struct {
	Agents, Tasks int
	// StateBytes is the size of /master/state; StateTime how long it took.
	StateBytes int
	StateTime  time.Duration
	// Burst is how long each consumer took to take in an implicit
	// reconciliation of every task (one UPDATE each), and its CPU.
	FloorTime, ClientTime, SchedulerTime time.Duration
	FloorCPU, ClientCPU, SchedulerCPU    float64
	// SchedulerSubscribed is SchedulerTime from the master's SUBSCRIBED
	// on: the scheduler reconciles then, as the client's lane does by
	// hand after its own SUBSCRIBED. SchedulerTime also holds the dial,
	// the subscription and the scheduler's start.
	SchedulerSubscribed time.Duration
	// Commits are the scheduler's commits in its burst; SlowCommits how
	// many of them took over 100 ms, and LongestCommit the bound (s) of
	// the histogram's bucket the longest fell in: a lane that stalls on
	// its disk says so.
	Commits, SlowCommits int
	LongestCommit        float64
}

// clusterRun starts the stand-in with agents agents, launches tasksPer
// simulated tasks on each, and measures /master/state and the
// reconciliation burst as three consumers take it in: RecordIO framing
// only (the floor), the mesos client decoding every event, and the
// scheduler applying and persisting them.
func clusterRun(agents, tasksPer int) (clusterResult, error) {
	res := clusterResult{Agents: agents, Tasks: agents * tasksPer}
	dir, err := os.MkdirTemp("", "offerdeck-bench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	m, err := local.New(local.Config{Agents: local.ScaleAgents(agents), SimulateCommands: true, SandboxRoot: dir,
		StatusRetry: time.Hour}) // nobody acknowledges here: no resends during the runs
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx, ln) }()
	defer func() { cancel(); <-done }()
	base := "http://" + ln.Addr().String()

	// A raw framework launches the tasks, then takes the first burst.
	raw, err := subscribeRaw(ctx, base)
	if err != nil {
		return res, err
	}
	fid := raw.frameworkID
	launched := 0
	for launched < agents {
		offers, err := raw.nextOffers()
		if err != nil {
			return res, err
		}
		for _, o := range offers {
			var infos []*mesos.TaskInfo
			for i := range tasksPer {
				id := o.GetHostname() + "-" + strconv.Itoa(i)
				infos = append(infos, &mesos.TaskInfo{Name: proto.String("t"), TaskId: &mesos.TaskID{Value: proto.String(id)}, AgentId: o.GetAgentId(),
					Resources: []*mesos.Resource{mesos.Scalar("cpus", 0.1), mesos.Scalar("mem", 32)},
					Command:   &mesos.CommandInfo{Value: proto.String("sleep 3600")}})
			}
			if err := raw.call(&mesos.Call{Type: mesos.Call_ACCEPT.Enum(), Accept: &mesos.Call_Accept{OfferIds: []*mesos.OfferID{o.GetId()},
				Operations: []*mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH.Enum(), Launch: &mesos.Offer_Operation_Launch{TaskInfos: infos}}},
				Filters:    &mesos.Filters{RefuseSeconds: proto.Float64(3600)}}}); err != nil {
				return res, err
			}
			launched++
		}
	}
	// Every task sends one update (STARTING; nobody acknowledges, so the
	// next waits): take them all before the burst.
	if err := raw.countRecords(res.Tasks - raw.updates); err != nil {
		return res, err
	}

	// M5: what polling the master costs, per poll.
	start := time.Now()
	resp, err := http.Get(base + "/master/state")
	if err != nil {
		return res, err
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	res.StateBytes, res.StateTime = int(n), time.Since(start)

	// M4 floor: RecordIO framing only.
	cpu0, t0 := selfCPU(), time.Now()
	if err := raw.call(&mesos.Call{Type: mesos.Call_RECONCILE.Enum(), Reconcile: &mesos.Call_Reconcile{}}); err != nil {
		return res, err
	}
	if err := raw.countRecords(res.Tasks); err != nil {
		return res, err
	}
	res.FloorTime, res.FloorCPU = time.Since(t0), selfCPU()-cpu0
	raw.close()

	// M4 client: the same burst decoded by the mesos client.
	if res.ClientTime, res.ClientCPU, err = clientBurst(base, fid, res.Tasks); err != nil {
		return res, err
	}
	// M4 scheduler: applied and persisted by the framework itself.
	if err := schedulerBurst(&res, base, fid, dir); err != nil {
		return res, err
	}
	return res, nil
}

func clientBurst(base, fid string, tasks int) (time.Duration, float64, error) {
	c, err := mesos.NewClient(mesos.Config{Masters: []string{base}, Framework: &mesos.FrameworkInfo{User: proto.String("bench"), Name: proto.String("bench"),
		Id: &mesos.FrameworkID{Value: proto.String(fid)}, FailoverTimeout: proto.Float64(3600)}})
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	updates := 0 // touched only by the client's Run goroutine
	subscribed := make(chan struct{}, 1)
	finished := make(chan time.Time, 1)
	handle := func(_ context.Context, e *mesos.Event) {
		switch e.GetType() {
		case mesos.Event_SUBSCRIBED:
			subscribed <- struct{}{}
		case mesos.Event_UPDATE:
			if updates++; updates == tasks {
				finished <- time.Now()
			}
		}
	}
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		c.Run(ctx, handle)
	}()
	defer func() { cancel(); <-ran }()
	select {
	case <-subscribed:
	case <-ctx.Done():
		return 0, 0, fmt.Errorf("client did not subscribe")
	}
	cpu0, t0 := selfCPU(), time.Now()
	if err := c.Call(ctx, &mesos.Call{Type: mesos.Call_RECONCILE.Enum(), Reconcile: &mesos.Call_Reconcile{}}); err != nil {
		return 0, 0, err
	}
	select {
	case end := <-finished:
		return end.Sub(t0), selfCPU() - cpu0, nil
	case <-ctx.Done():
		return 0, 0, fmt.Errorf("client did not take in all %d updates", tasks)
	}
}

// schedulerBurst measures the burst taken in by the scheduler into res's
// scheduler figures.
func schedulerBurst(res *clusterResult, base, fid, dir string) error {
	tasks := res.Tasks
	reg := prometheus.NewRegistry()
	s, err := scheduler.New(scheduler.Config{
		Client:   mesos.Config{Masters: []string{base}, Framework: &mesos.FrameworkInfo{Id: &mesos.FrameworkID{Value: proto.String(fid)}}},
		StateDir: dir + "/scheduler", HoldTime: time.Hour, Metrics: reg,
		// Every task of the burst is one this scheduler never launched.
		MaxOrphans: tasks,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stopped := make(chan struct{})
	go func() { defer close(stopped); s.Run(ctx) }()
	defer func() { cancel(); <-stopped }()
	// The changes' consumer (the web layer in the dashboard) keeps up.
	tasksSeen := map[string]bool{}
	all := make(chan time.Time, 1)
	var subscribed atomic.Int64 // when the scheduler said it subscribed, Unix nanoseconds
	cpu0, t0 := selfCPU(), time.Now()
	go func() {
		for c := range s.Changes() {
			if c.Kind == scheduler.ConnectionChanged && c.Conn.State == mesos.Subscribed {
				subscribed.CompareAndSwap(0, time.Now().UnixNano())
			}
			if c.Kind == scheduler.TaskChanged && !tasksSeen[c.Task.ID] {
				if tasksSeen[c.Task.ID] = true; len(tasksSeen) == tasks {
					all <- time.Now()
				}
			}
		}
	}()
	// On subscribing it reconciles implicitly: the burst it did not ask
	// for by hand, every task arriving as an orphan to record.
	// Changes are emitted before their commit: the burst counts as taken
	// in once the scheduler has stopped, which commits what it holds.
	select {
	case <-all:
		cancel()
		<-stopped
		end := time.Now()
		at := subscribed.Load()
		if at == 0 {
			return fmt.Errorf("scheduler took in every task but never said it subscribed")
		}
		res.SchedulerTime, res.SchedulerSubscribed, res.SchedulerCPU = end.Sub(t0), end.Sub(time.Unix(0, at)), selfCPU()-cpu0
		commits := commitBucketsOf(reg)
		res.Commits = int(commits[math.Inf(1)])
		res.SlowCommits, res.LongestCommit = slowCommits(nil, commits, 0.1)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("scheduler took in %d of %d tasks", len(tasksSeen), tasks)
	}
}

// rawSub is a SUBSCRIBE stream read with RecordIO framing only.
type rawSub struct {
	base, frameworkID, streamID string
	r                           *recordio.Reader
	body                        io.Closer
	updates                     int // UPDATE records read so far
}

func subscribeRaw(ctx context.Context, base string, capabilities ...mesos.FrameworkInfo_Capability_Type) (*rawSub, error) {
	var caps []string
	for _, c := range capabilities {
		caps = append(caps, `{"type":"`+c.String()+`"}`)
	}
	body := `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"bench","name":"bench","failover_timeout":3600,"capabilities":[` +
		strings.Join(caps, ",") + `]}}}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+mesos.SchedulerPath, strings.NewReader(body))
	req.Header.Set("Content-Type", mesos.MediaTypeJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	s := &rawSub{base: base, streamID: resp.Header.Get("Mesos-Stream-Id"), r: recordio.NewReader(resp.Body, 64<<20), body: resp.Body}
	rec, err := s.r.ReadRecord()
	if err != nil {
		return nil, err
	}
	e := new(mesos.Event)
	if err := mesos.UnmarshalJSON(rec, e); err != nil {
		return nil, err
	}
	s.frameworkID = e.GetSubscribed().GetFrameworkId().GetValue()
	return s, nil
}

func (s *rawSub) nextOffers() ([]*mesos.Offer, error) {
	for {
		rec, err := s.r.ReadRecord()
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(rec, []byte(`{"type":"UPDATE"`)) {
			s.updates++
		}
		if !bytes.Contains(rec[:min(len(rec), 20)], []byte(`"OFFERS"`)) {
			continue
		}
		e := new(mesos.Event)
		if err := mesos.UnmarshalJSON(rec, e); err != nil {
			return nil, err
		}
		return e.GetOffers().GetOffers(), nil
	}
}

// countRecords reads until n UPDATE records have arrived, framing only.
func (s *rawSub) countRecords(n int) error {
	for got := 0; got < n; {
		rec, err := s.r.ReadRecord()
		if err != nil {
			return err
		}
		if bytes.HasPrefix(rec, []byte(`{"type":"UPDATE"`)) {
			got++
		}
	}
	return nil
}

func (s *rawSub) call(c *mesos.Call) error {
	c.FrameworkId = &mesos.FrameworkID{Value: proto.String(s.frameworkID)}
	b, err := mesos.MarshalJSON(c)
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodPost, s.base+mesos.SchedulerPath, bytes.NewReader(b))
	req.Header.Set("Content-Type", mesos.MediaTypeJSON)
	req.Header.Set("Mesos-Stream-Id", s.streamID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("%s: %d", c.GetType(), resp.StatusCode)
	}
	return nil
}

func (s *rawSub) close() { s.body.Close() }

// nextUpdate reads until the next UPDATE and returns its status.
func (s *rawSub) nextUpdate() (*mesos.TaskStatus, error) {
	for {
		rec, err := s.r.ReadRecord()
		if err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(rec, []byte(`{"type":"UPDATE"`)) {
			continue
		}
		e := new(mesos.Event)
		if err := mesos.UnmarshalJSON(rec, e); err != nil {
			return nil, err
		}
		return e.GetUpdate().GetStatus(), nil
	}
}

// ack acknowledges an update that carries a uuid.
func (s *rawSub) ack(st *mesos.TaskStatus) error {
	if len(st.GetUuid()) == 0 {
		return nil
	}
	return s.call(&mesos.Call{Type: mesos.Call_ACKNOWLEDGE.Enum(), Acknowledge: &mesos.Call_Acknowledge{
		AgentId: st.GetAgentId(), TaskId: st.GetTaskId(), Uuid: st.GetUuid()}})
}
