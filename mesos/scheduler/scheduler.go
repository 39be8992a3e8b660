package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// Defaults for the zero fields of Config.
const (
	DefaultHoldTime        = 30 * time.Second
	DefaultRefuseSeconds   = 5.0
	DefaultFailoverTimeout = 7 * 24 * time.Hour
	DefaultEventHistory    = 1000
	DefaultLaunchCheck     = 30 * time.Second
	DefaultMaxOrphans      = 1000
	// inboxSize bounds the work waiting for the state goroutine; senders
	// wait, which pushes back on the event stream rather than growing.
	// It matches burstMax so that the stream keeps decoding a whole
	// commit's worth while the previous commit syncs.
	inboxSize = 8192
	// burstMax is how much work one commit may cover: a burst of updates
	// costs one fsync per burstMax, not one each.
	burstMax = 8192
	// changeBuffer is how many changes may wait for the consumer.
	changeBuffer = 4096
	// burstsWaiting is how many bursts' changes may wait for the emitter.
	burstsWaiting = 16
	// spareBursts is how many emptied bursts may wait to be filled again:
	// those waiting for the emitter, the one it reads and the one the
	// state goroutine fills.
	spareBursts = burstsWaiting + 2
	// commitEvery is the least time between two commits of what only the
	// master waits for: the acknowledgements of updates that repeat a
	// task's state (health checks, reconciliation answers), and their
	// records. At a moderate rate each update came alone and cost a
	// transaction and an fsync of its own, about 100 µs of CPU;
	// gathered, a few hundred updates a second share ten commits. What a
	// user or a call waits for (an action's answer, an ACCEPT, an update
	// that changes a task's state) is committed at once, and changes
	// reach the pages without waiting for either.
	commitEvery = 100 * time.Millisecond
	// holdTick is how often held offers are checked against their hold.
	holdTick = 250 * time.Millisecond
	// implicitReconcileEvery is how often the whole task set is reconciled.
	implicitReconcileEvery = 15 * time.Minute
)

// Config configures a Scheduler. Zero fields take the documented defaults.
type Config struct {
	// Client is the Mesos client configuration: masters or detector,
	// credentials, media type. Its Framework is completed with defaults:
	// name "offerdeck", user "root", roles ["*"] with MULTI_ROLE, a week's
	// failover_timeout (Mesos's own default of 0 tears every task down
	// when the connection drops), checkpointing, and the capabilities the
	// dashboard understands. OnStatus is set by the scheduler.
	Client mesos.Config
	// StateDir holds the database; required.
	StateDir string
	// HoldTime is how long an offer nobody acts on is held before it is
	// declined with RefuseSeconds (defaults 30 s and 5 s), so the framework
	// never starves other frameworks of a real cluster.
	HoldTime      time.Duration
	RefuseSeconds float64
	// EventHistory is how many master events are kept for the events
	// page, and EventHistoryBytes how many bytes they may take (default
	// DefaultEventHistoryBytes): whichever bound comes first. An event
	// over 1 MiB is kept as its summary only.
	EventHistory      int
	EventHistoryBytes int
	// CallHistory is how many calls to the master are kept for the calls
	// page, and CallHistoryBytes how many bytes they may take (defaults
	// DefaultCallHistory and DefaultCallHistoryBytes); a body over
	// MaxCallJSON is kept cut.
	CallHistory      int
	CallHistoryBytes int
	// MaxOrphans bounds the tasks kept that this framework never launched
	// (default DefaultMaxOrphans): an update for one more is refused, and
	// not acknowledged.
	MaxOrphans int
	// LaunchCheck is how long a launched task may go without any update
	// before it is reconciled, and again at that interval until the master
	// answers (default 30 s): an ACCEPT lost on its way is found this way.
	LaunchCheck time.Duration
	// Logger receives lifecycle events; nil discards.
	Logger *slog.Logger
	// Metrics, when set, receives the scheduler's Prometheus metrics.
	Metrics Registerer
}

// Scheduler is Offerdeck's framework. Create it with New, run it with Run;
// its methods are safe for concurrent use. One goroutine owns the state:
// every event and action is applied there and announced as a Change at
// once. A second goroutine commits each burst while the state goroutine
// applies the next; acknowledgements, the calls the state decided on, the
// durable actions' calls (see plan) and the answers to actions wait for
// the commit of the burst that made them.
type Scheduler struct {
	cfg     Config
	log     *slog.Logger
	client  *mesos.Client
	store   *store
	metrics *metrics

	inbox   chan func(*state)
	changes chan Change
	// spare holds bursts of changes the emitter has handed on, emptied,
	// for the state goroutine to fill again rather than grow new ones:
	// room for every burst that can be in flight, so that under load,
	// with the emitter behind, no burst is made anew. The state goroutine
	// lets them go after a quiet holdTick (see dropSpares).
	spare chan []Change
	// spareEncode holds the buffers of committed writes for the state
	// goroutine's next encode (see encodeBuffers); dropSpares lets them
	// go too.
	spareEncode chan *encodeBuffers
	// burstsMade counts the bursts spareChanges made anew, and
	// burstsDropped those dropSpares let go; state goroutine only.
	burstsMade, burstsDropped int
	// health is what the committer tells the state goroutine about the
	// disk; unwritten is what failed commits left to write, committer
	// only.
	health    *storageHealth
	unwritten *encoded
	calls     sync.WaitGroup // calls to the master in flight
	running   sync.Mutex
	// stopped is closed once Run has returned: from then on nothing reads
	// the inbox, so calls answer ErrStopped instead of waiting.
	stopped  chan struct{}
	stopOnce sync.Once

	closeOnce sync.Once
	closeErr  error

	// runCtx is Run's context, for calls made on the state's behalf.
	runMu  sync.Mutex
	runCtx context.Context

	// snapReq is the snapshot waiting to be taken, if any (see Snapshot).
	snapMu  sync.Mutex
	snapReq *snapshotReq
}

// New validates cfg, opens the state database and builds the scheduler. It
// starts nothing; Close releases the database if Run is never called.
func New(cfg Config) (*Scheduler, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("scheduler: a state folder is required")
	}
	if cfg.HoldTime <= 0 {
		cfg.HoldTime = DefaultHoldTime
	}
	if cfg.RefuseSeconds == 0 {
		cfg.RefuseSeconds = DefaultRefuseSeconds
	}
	if cfg.RefuseSeconds < 0 {
		return nil, fmt.Errorf("scheduler: refuse seconds %v is negative", cfg.RefuseSeconds)
	}
	if cfg.EventHistory <= 0 {
		cfg.EventHistory = DefaultEventHistory
	}
	if cfg.EventHistoryBytes <= 0 {
		cfg.EventHistoryBytes = DefaultEventHistoryBytes
	}
	if cfg.CallHistory <= 0 {
		cfg.CallHistory = DefaultCallHistory
	}
	if cfg.CallHistoryBytes <= 0 {
		cfg.CallHistoryBytes = DefaultCallHistoryBytes
	}
	if cfg.LaunchCheck <= 0 {
		cfg.LaunchCheck = DefaultLaunchCheck
	}
	if cfg.MaxOrphans <= 0 {
		cfg.MaxOrphans = DefaultMaxOrphans
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := openStore(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	s := &Scheduler{
		cfg:     cfg,
		log:     log,
		store:   st,
		inbox:   make(chan func(*state), inboxSize),
		changes: make(chan Change, changeBuffer),
		spare:   make(chan []Change, spareBursts),
		// One write is committed while the next is encoded.
		spareEncode: make(chan *encodeBuffers, 2),
		health:      newStorageHealth(),
		stopped:     make(chan struct{}),
	}
	s.metrics = newMetrics(cfg.Metrics)
	frameworkID, err := st.frameworkID()
	if err != nil {
		st.close()
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	ccfg := cfg.Client
	ccfg.Framework = frameworkInfo(cfg.Client.Framework, frameworkID)
	ccfg.OnStatus = s.onStatus
	ccfg.OnCall = s.onCall
	if ccfg.Logger == nil {
		ccfg.Logger = log
	}
	s.client, err = mesos.NewClient(ccfg)
	if err != nil {
		st.close()
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return s, nil
}

// frameworkInfo completes the configured FrameworkInfo with defaults and
// the saved framework id.
func frameworkInfo(base *mesos.FrameworkInfo, id string) *mesos.FrameworkInfo {
	fi := &mesos.FrameworkInfo{}
	if base != nil {
		fi = proto.CloneOf(base)
	}
	if fi.Name == nil {
		fi.Name = proto.String("offerdeck")
	}
	if fi.User == nil {
		fi.User = proto.String("root")
	}
	if fi.FailoverTimeout == nil {
		fi.FailoverTimeout = proto.Float64(DefaultFailoverTimeout.Seconds())
	}
	if fi.Checkpoint == nil {
		fi.Checkpoint = proto.Bool(true)
	}
	if len(fi.Capabilities) == 0 {
		for _, c := range []mesos.FrameworkInfo_Capability_Type{
			mesos.FrameworkInfo_Capability_MULTI_ROLE,
			mesos.FrameworkInfo_Capability_PARTITION_AWARE,
			mesos.FrameworkInfo_Capability_TASK_KILLING_STATE,
		} {
			fi.Capabilities = append(fi.Capabilities, &mesos.FrameworkInfo_Capability{Type: c.Enum()})
		}
	}
	if len(fi.Roles) == 0 && fi.Role == nil {
		fi.Roles = []string{"*"}
	}
	if id != "" {
		fi.Id = &mesos.FrameworkID{Value: proto.String(id)}
	}
	return fi
}

// Close releases the state database. Run calls it when it returns; call it
// yourself only for a Scheduler that never ran. It is idempotent.
func (s *Scheduler) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.store.close() })
	return s.closeErr
}

// Changes returns the stream of changes, in sequence order; it is closed
// when Run returns. It has one consumer; a consumer that stops reading
// eventually stalls the scheduler, so it must keep up or drop work of its
// own.
func (s *Scheduler) Changes() <-chan Change { return s.changes }

// Run subscribes to the master and runs the state goroutine until ctx is
// done, then persists what is pending and returns after every goroutine it
// started has exited. It closes the database.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.running.TryLock() {
		return errors.New("scheduler: Run is already active")
	}
	defer s.running.Unlock()
	// Last of all, once nothing reads the inbox any more.
	defer s.stopOnce.Do(func() { close(s.stopped) })
	defer s.Close()
	defer close(s.changes) // the consumer's range ends with Run

	st, err := s.restore()
	if err != nil {
		return err
	}
	s.runMu.Lock()
	s.runCtx = ctx
	s.runMu.Unlock()

	clientCtx, stopClient := context.WithCancel(ctx)
	defer stopClient()
	var wg sync.WaitGroup
	wg.Go(func() { s.runClient(clientCtx) })
	wg.Go(func() { st.acker.run(clientCtx, s) })
	// Unbuffered: one batch commits while the state goroutine applies the
	// next, and no more, so the state is never far ahead of the disk.
	batches := make(chan *batch)
	var committer sync.WaitGroup
	committer.Go(func() { s.commitLoop(batches, st.acker) })
	// Changes skip the disk's queue: a few bursts may wait for the
	// consumer before the state goroutine waits for it.
	bursts := make(chan []Change, burstsWaiting)
	var emitter sync.WaitGroup
	emitter.Go(func() { s.emitLoop(ctx, bursts) })
	defer emitter.Wait()
	defer close(bursts)

	left := s.loop(ctx, st, bursts, batches)
	close(batches)
	committer.Wait()
	if left != nil {
		s.commit(left, st.acker)
	}

	// Keep applying what calls in flight report while they finish, so none
	// of them blocks on a full inbox; then persist it.
	stopClient()
	drained := make(chan struct{})
	stopDrain := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			select {
			case fn := <-s.inbox:
				fn(st)
			case <-stopDrain:
				for {
					select {
					case fn := <-s.inbox:
						fn(st)
					default:
						return
					}
				}
			}
		}
	}()
	wg.Wait()
	s.calls.Wait()
	close(stopDrain)
	<-drained
	st.saveAckMarks(time.Time{}, true)
	if b := st.take(); b != nil {
		// Too late for calls: nothing would apply their answers.
		b.calls = nil
		s.commit(b, st.acker)
	}
	if w := s.unwritten; w != nil {
		// The disk never took them: say what is lost. Unacknowledged
		// updates come again from the agents; launches were answered
		// with the failure and never sent.
		s.log.Error("stopped with state not saved", "tasks", len(w.tasks), "audit_entries", len(w.audit),
			"queued_specs", len(w.queuePut), "framework_id_unsaved", w.frameworkID != nil)
	}
	return nil
}

// runClient runs the Mesos client, and starts a new registration when the
// master says the framework was removed — once, never in a loop.
func (s *Scheduler) runClient(ctx context.Context) {
	for {
		err := s.client.Run(ctx, func(ctx context.Context, e *mesos.Event) {
			s.post(ctx, func(st *state) { st.onEvent(e) })
		})
		var me *mesos.MasterError
		if !errors.As(err, &me) {
			return // ctx done
		}
		removed := me.FrameworkRemoved()
		s.post(ctx, func(st *state) { st.onMasterError(me) })
		if !removed {
			return // failed over by another instance: stop, say so, never fight it
		}
		s.client.ForgetFrameworkID()
	}
}

// post hands fn to the state goroutine, waiting while the inbox is full.
// It reports false when ctx is done or Run has returned; stopErr says
// which.
func (s *Scheduler) post(ctx context.Context, fn func(*state)) bool {
	select {
	case <-s.stopped:
		return false
	default:
	}
	select {
	case s.inbox <- fn:
		return true
	case <-ctx.Done():
		return false
	case <-s.stopped:
		return false
	}
}

// stopErr is why a caller waiting on the state goroutine gave up:
// ErrStopped once Run has returned, else ctx's error.
func (s *Scheduler) stopErr(ctx context.Context) error {
	select {
	case <-s.stopped:
		return ErrStopped
	default:
		return ctx.Err()
	}
}

// onStatus receives the client's connection status.
func (s *Scheduler) onStatus(cs mesos.Status) {
	s.runMu.Lock()
	ctx := s.runCtx
	s.runMu.Unlock()
	if ctx == nil {
		return
	}
	s.post(ctx, func(st *state) { st.onConnection(cs) })
}

// loop is the state goroutine. After each burst of work it hands the
// changes it made to the emitter at once, and the rest to the committer:
// at once when an action or a call waits for it, else once commitEvery
// has passed since the last commit (see commitDue). It goes on with the
// next burst while that commits. It returns when ctx is done, with the
// batch it could not hand over, if any; changes made from then on are
// not emitted.
func (s *Scheduler) loop(ctx context.Context, st *state, bursts chan<- []Change, batches chan<- *batch) *batch {
	tick := time.NewTicker(holdTick)
	defer tick.Stop()
	reconcile := time.NewTicker(implicitReconcileEvery)
	defer reconcile.Stop()
	// flush fires when work held back for the commit window is due.
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	defer flush.Stop()
	flushArmed := false
	var lastCommit time.Time
	retry := false
	emitted := false // since the last tick
	for {
		select {
		case <-ctx.Done():
			return st.take() // Run saves the acknowledgement marks held

		case fn := <-s.inbox:
			// A failed commit is settled before anything that came after
			// its answer: a page then shows why, and an action sees the
			// failed ones undone.
			st.checkStorage()
			fn(st)
			// Take whatever else is waiting, so a burst costs one commit.
			for drained := 0; drained < burstMax; drained++ {
				select {
				case fn := <-s.inbox:
					fn(st)
					continue
				default:
				}
				break
			}
		case <-flush.C:
			flushArmed = false
		case <-s.health.wake:
			st.checkStorage()
		case <-tick.C:
			now := time.Now()
			if !emitted {
				s.dropSpares()
			}
			emitted = false
			st.checkStorage()
			st.expireHolds(now)
			st.checkLaunches(now)
			st.forgetAbandoned(now)
			st.saveAckMarks(now, false)
			// While the disk fails, try again even when nothing else
			// is to be written, so the dashboard recovers by itself.
			retry = s.health.failing()
		case <-reconcile.C:
			st.reconcile(nil, "every "+implicitReconcileEvery.String())
		}
		if len(st.out) > 0 {
			select {
			case bursts <- st.out:
				st.out = s.spareChanges(len(st.out))
				emitted = true
			case <-ctx.Done():
				return st.take()
			}
		}
		now := time.Now()
		var b *batch
		if wait, unsaved := st.commitDue(now, lastCommit); retry || unsaved && wait <= 0 {
			b = st.take()
		} else if unsaved && !flushArmed {
			flush.Reset(wait)
			flushArmed = true
		}
		if b == nil && retry {
			b = &batch{}
		}
		retry = false
		if b != nil {
			select {
			case batches <- b:
				lastCommit = now
			case <-ctx.Done():
				return b
			}
		}
		if now.Sub(st.observed) >= time.Second {
			st.observed = now
			s.metrics.observe(st)
		}
	}
}

// commitDue says whether the state holds anything unsaved and how long it
// may still wait for the commit window: 0 when it is due now, because
// someone waits for it (an action's answer, a call, an update that
// changes a task's state), a burst's worth has gathered, or commitEvery
// has passed since the last commit.
func (st *state) commitDue(now, lastCommit time.Time) (wait time.Duration, unsaved bool) {
	if st.commitNow || len(st.calls) > 0 || len(st.replies) > 0 || len(st.pending.tasks)+len(st.acksReady) >= burstMax {
		return 0, true
	}
	if st.pending.empty() && len(st.acksReady) == 0 {
		return 0, false
	}
	return max(0, commitEvery-now.Sub(lastCommit)), true
}

// callMaster sends a call on a goroutine the scheduler owns and posts the
// result back to the state goroutine.
func (s *Scheduler) callMaster(mc masterCall) {
	s.runMu.Lock()
	ctx := s.runCtx
	s.runMu.Unlock()
	s.calls.Go(func() {
		err := s.client.Call(withCause(ctx, &callTag{cause: mc.cause}), mc.call)
		s.metrics.call(mc.call.GetType().String(), err)
		if mc.after != nil {
			s.post(context.WithoutCancel(ctx), func(st *state) { mc.after(st, err) })
		}
	})
}
