package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/detect"
	"github.com/offerdeck/offerdeck/mesos/local/executor"
)

// Version is the Mesos version the stand-in reports; its behaviour follows
// Mesos 1.11.
const Version = "1.11.0"

// Defaults for the zero fields of Config, as a real master has them.
const (
	DefaultAllocationInterval = time.Second
	DefaultHeartbeatInterval  = 15 * time.Second
	DefaultStatusRetry        = 10 * time.Second
	maxStatusRetry            = 10 * time.Minute
	// maxBody bounds a request body; a real master has no such limit, but
	// nothing a scheduler sends comes near it.
	maxBody = 16 << 20
	// completedTasksKept is how many acknowledged terminal tasks a
	// framework keeps, as --max_completed_tasks_per_framework does.
	completedTasksKept = 1000
	// completedFrameworksKept is how many removed frameworks /master/state
	// lists, as --max_completed_frameworks does (50 by default).
	completedFrameworksKept = 50
)

// Config configures the stand-in master. Zero fields take the documented
// defaults.
type Config struct {
	// Agents are the simulated agents; nil means DemoAgents().
	Agents []AgentConfig
	// ReadTimeout bounds reading one request, body included (1 min), and
	// IdleTimeout how long a kept-alive connection may wait for its next
	// request (2 min): a client that sends slowly or not at all gives its
	// connection back. Responses have no bound: a SUBSCRIBE stream lasts.
	ReadTimeout, IdleTimeout time.Duration
	// AllocationInterval is how often free resources are offered (1 s).
	AllocationInterval time.Duration
	// HeartbeatInterval is the interval announced in SUBSCRIBED and kept
	// (15 s, as every real master).
	HeartbeatInterval time.Duration
	// OfferTimeout rescinds offers held longer; zero means never, the
	// Mesos default.
	OfferTimeout time.Duration
	// StatusRetry is the first resend delay of an unacknowledged status
	// update; it doubles up to 10 minutes (10 s, as a real agent).
	StatusRetry time.Duration

	// SandboxRoot holds the task sandboxes; required unless every task is
	// simulated, in which case a temporary folder is fine too.
	SandboxRoot string
	// SimulateCommands runs no processes: command tasks are simulated and
	// finish after SimulatedRunTime (0: they run until killed).
	SimulateCommands bool
	SimulatedRunTime time.Duration
	// HealthChecks is how many simulated health check results a second
	// are sent across running tasks, each flipping a task's health; zero
	// sends none. Scale runs use it as a steady stream of updates.
	HealthChecks float64

	// Credentials, when not empty, enable HTTP basic authentication:
	// principal to secret. Every request but /health and /version needs
	// valid credentials (the scheduler API, /master/state, /redirect and the
	// agents' /files), else it gets 401. Principals must not contain ':'.
	Credentials map[string]string

	// OperatorBacklog bounds the bytes queued for one operator API stream
	// (DefaultOperatorBacklog, 512 MiB): a client that reads slower than
	// the cluster changes is cut off rather than holding the master's
	// memory. A real master has no such bound.
	OperatorBacklog int

	// FaultAPI serves the fault methods (RemoveAgent, PartitionAgent, ...)
	// over HTTP under /faults/, for tests and presenters outside the
	// process; see faultapi.go. Off by default: no real master has it.
	FaultAPI bool

	// Neighbours are other frameworks Run starts on the master once it
	// serves (see NeighbourConfig): tenants besides the dashboard, so a
	// demo shows how the master shares the cluster.
	Neighbours []NeighbourConfig

	// Hostname is the name the master gives itself; default "localhost".
	Hostname string
	// ZooKeeper, when set (zk://host:2181/mesos), is where the master
	// announces itself as a real master does, so leader detection and
	// leader-change tests can run against stand-ins.
	ZooKeeper string
	// Logger receives lifecycle events; nil discards.
	Logger *slog.Logger
}

// Master is the stand-in master. Create it with New and serve it with Run;
// its methods are safe for concurrent use.
type Master struct {
	cfg  Config
	log  *slog.Logger
	id   string
	exec *executor.Executor

	// mu guards everything below: the cluster state, as one master actor
	// would hold it.
	mu         sync.Mutex
	addr       string // host:port once Run has its listener
	started    time.Time
	agents     map[string]*agent
	agentOrder []*agent
	frameworks map[string]*framework
	// completedFrameworks are removed frameworks, oldest first, the last
	// completedFrameworksKept of them, for /master/state.
	completedFrameworks []*framework
	removedFrameworks   map[string]bool
	offers              map[string]*offer
	nextFramework       int
	nextOffer           int
	nextAgent           int
	allocateNow         chan struct{}
	updates             *updateQueue
	closed              bool
	faults              faults
	operators           operatorStreams // open operator API streams
	neighbours          neighbours      // other frameworks run for demos and tests (its own lock)
	healthRate          float64         // simulated health check results a second
	healthChanged       chan struct{}   // signals the health checker of a new rate
	// recovered holds, by framework id, the earlier run's tasks until
	// their framework subscribes again.
	recovered map[string][]executor.Recovered
	// earlierIDs are the agent ids an earlier master on the same sandbox
	// folder gave, by hostname.
	earlierIDs map[string]string
}

// New validates cfg and builds the master with its agents. It starts
// nothing: no listener, no goroutine, no process.
func New(cfg Config) (*Master, error) {
	if cfg.Agents == nil {
		cfg.Agents = DemoAgents()
	}
	if cfg.AllocationInterval <= 0 {
		cfg.AllocationInterval = DefaultAllocationInterval
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = time.Minute
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 2 * time.Minute
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.StatusRetry <= 0 {
		cfg.StatusRetry = DefaultStatusRetry
	}
	if cfg.OperatorBacklog <= 0 {
		cfg.OperatorBacklog = DefaultOperatorBacklog
	}
	if cfg.HealthChecks < 0 {
		return nil, errors.New("stand-in master: health checks per second must not be negative")
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.SandboxRoot == "" {
		return nil, errors.New("stand-in master: a sandbox folder is required")
	}
	for principal, secret := range cfg.Credentials {
		// Basic authentication splits "principal:secret" at a colon.
		if principal == "" || strings.Contains(principal, ":") || secret == "" {
			return nil, fmt.Errorf("stand-in master: credentials of principal %q: want a principal without ':' and a secret", principal)
		}
	}
	if len(cfg.Credentials) > 0 {
		// Neighbour frameworks authenticate as a principal of their own,
		// with a secret that never leaves the process.
		creds := maps.Clone(cfg.Credentials)
		if _, taken := creds[neighbourPrincipal]; !taken {
			creds[neighbourPrincipal] = rand.Text()
		}
		cfg.Credentials = creds
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	exec, err := executor.New(executor.Config{
		Root:             cfg.SandboxRoot,
		SimulateCommands: cfg.SimulateCommands,
		SimulatedRunTime: cfg.SimulatedRunTime,
		Logger:           log,
	})
	if err != nil {
		return nil, fmt.Errorf("stand-in master: %w", err)
	}
	m := &Master{
		cfg:               cfg,
		log:               log,
		id:                newUUID(),
		exec:              exec,
		agents:            map[string]*agent{},
		frameworks:        map[string]*framework{},
		removedFrameworks: map[string]bool{},
		offers:            map[string]*offer{},
		allocateNow:       make(chan struct{}, 1),
		healthChanged:     make(chan struct{}, 1),
		healthRate:        cfg.HealthChecks,
		updates:           newUpdateQueue(),
		recovered:         map[string][]executor.Recovered{},
		earlierIDs:        readAgentIDs(cfg.SandboxRoot),
	}
	for _, ac := range cfg.Agents {
		if _, err := m.addAgentLocked(ac); err != nil {
			return nil, fmt.Errorf("stand-in master: %w", err)
		}
	}
	return m, nil
}

// ID returns the master's id, a UUID new for every master (and for every
// simulated restart).
func (m *Master) ID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id
}

// Run serves the master on ln and runs its allocator until ctx is done,
// then closes every stream, stops every task and returns after all its
// goroutines have exited. It closes ln.
//
// Before it serves, it takes the sandbox folder (an error if another
// stand-in has it) and recovers an earlier run on it: its agents' ids, and
// what was left running of its tasks, which is killed and reported to
// each task's framework when it subscribes again.
func (m *Master) Run(ctx context.Context, ln net.Listener) error {
	m.mu.Lock()
	if m.addr != "" || m.closed {
		m.mu.Unlock()
		ln.Close()
		return errors.New("stand-in master: Run called twice")
	}
	m.addr = ln.Addr().String()
	m.started = time.Now()
	id := m.id
	m.mu.Unlock()

	lock, err := lockSandboxes(m.cfg.SandboxRoot)
	if err == nil {
		defer lock.Close()
		err = m.recoverRun(ctx)
	}
	if err != nil {
		ln.Close()
		m.exec.Close()
		return fmt.Errorf("stand-in master: %w", err)
	}

	baseCtx, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	m.neighbours.mu.Lock()
	m.neighbours.ctx = baseCtx
	m.neighbours.mu.Unlock()
	srv := &http.Server{
		Handler:           m.routes(),
		ReadHeaderTimeout: min(10*time.Second, m.cfg.ReadTimeout),
		ReadTimeout:       m.cfg.ReadTimeout,
		IdleTimeout:       m.cfg.IdleTimeout,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
	}
	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Go(func() { serveErr <- srv.Serve(ln) })
	wg.Go(func() { m.allocator(baseCtx) })
	wg.Go(func() { m.updater(baseCtx) })
	wg.Go(func() { m.healthChecker(baseCtx) })
	if m.cfg.ZooKeeper != "" {
		m.mu.Lock()
		info, err := mesos.MarshalJSON(m.masterInfo())
		m.mu.Unlock()
		if err == nil {
			wg.Go(func() {
				if err := detect.Announce(baseCtx, m.cfg.ZooKeeper, info, m.log.With("component", "zookeeper")); err != nil {
					m.log.Error("announce in ZooKeeper", "err", err)
				}
			})
		}
	}
	m.log.Info("stand-in master serving", "url", "http://"+m.addr, "master_id", id, "agents", len(m.cfg.Agents))
	for _, nc := range m.cfg.Neighbours {
		wg.Go(func() {
			if fid, err := m.StartNeighbour(baseCtx, nc); err != nil {
				if baseCtx.Err() == nil {
					m.log.Error("neighbour framework did not start", "name", nc.Name, "err", err)
				}
			} else {
				m.log.Info("neighbour framework started", "name", nc.Name, "framework_id", fid)
			}
		})
	}

	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("stand-in master: serve: %w", err)
	}

	m.mu.Lock()
	m.closed = true
	for _, f := range m.frameworks {
		f.stopTimers()
		if f.sub != nil {
			f.sub.close()
		}
	}
	for _, o := range m.offers {
		o.stopTimer()
	}
	for _, s := range m.operators.subs {
		s.close()
	}
	m.mu.Unlock()
	cancelBase() // ends streams, whose connections Shutdown does not track
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil {
		srv.Close()
	}
	if cerr := m.exec.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("stand-in master: stop tasks: %w", cerr)
	}
	wg.Wait()
	m.neighbours.wg.Wait()
	m.log.Info("stand-in master stopped")
	return err
}

// Handler returns the master's HTTP handler, for serving it on a server of
// one's own; Run serves it on its listener. Streams it opens end when
// their request's context does.
func (m *Master) Handler() http.Handler { return m.routes() }

// URL returns the master's base URL, e.g. "http://127.0.0.1:5050", once Run
// has started; "" before.
func (m *Master) URL() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.addr == "" {
		return ""
	}
	return "http://" + m.addr
}

// newUUID returns a random UUID in its canonical 36-character form.
func newUUID() string {
	b := uuidBytes()
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// uuidBytes returns 16 random bytes shaped as a version 4 UUID.
func uuidBytes() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

// addAgentLocked registers a new agent; m.mu must be held (or m not yet
// shared).
func (m *Master) addAgentLocked(ac AgentConfig) (*agent, error) {
	id := fmt.Sprintf("%s-S%d", m.id, m.nextAgent)
	if earlier, ok := m.earlierIDs[ac.Hostname]; ok && m.agents[earlier] == nil {
		id = earlier // the agent recovers the id it had
	}
	a, err := newAgent(id, m.nextAgent, ac)
	if err != nil {
		return nil, err
	}
	m.nextAgent++
	a.registered = time.Now()
	m.agents[id] = a
	m.agentOrder = append(m.agentOrder, a)
	m.publishAgentAddedLocked(a)
	return a, nil
}

// triggerAllocation asks the allocator to run now instead of at its next
// tick, as the real allocator does on subscribe, revive and agent changes.
func (m *Master) triggerAllocation() {
	select {
	case m.allocateNow <- struct{}{}:
	default:
	}
}

// masterInfo describes this master as SUBSCRIBED and ZooKeeper carry it.
func (m *Master) masterInfo() *mesos.MasterInfo {
	return masterInfoFor(m.id, m.addr, m.cfg.Hostname)
}
