package local

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
)

// NeighbourConfig describes another framework on the stand-in: a tenant
// of the cluster besides the dashboard, so that the cluster's pages have
// someone else's tasks to show. It is an ordinary framework that speaks
// the scheduler API to the stand-in over HTTP, as any client would.
type NeighbourConfig struct {
	// Name is its framework name (default "neighbour").
	Name string `json:"name"`
	// Tasks is how many tasks it keeps running (default 2, at most 1000):
	// it launches more on its offers until it has them, and replaces
	// those that end.
	Tasks int `json:"tasks"`
	// CPUs and Mem are each task's (defaults 0.1 and 32).
	CPUs float64 `json:"cpus"`
	Mem  float64 `json:"mem"`
	// Command is each task's shell command (default "sleep 3600").
	Command string `json:"command"`
}

func (c NeighbourConfig) withDefaults() (NeighbourConfig, error) {
	c.Name = cmp.Or(c.Name, "neighbour")
	c.Tasks = cmp.Or(c.Tasks, 2)
	c.CPUs = cmp.Or(c.CPUs, 0.1)
	c.Mem = cmp.Or(c.Mem, 32)
	c.Command = cmp.Or(c.Command, "sleep 3600")
	switch {
	case c.Tasks < 0 || c.Tasks > 1000:
		return c, fmt.Errorf("tasks %d: want 0 to 1000", c.Tasks)
	case c.CPUs < 0 || c.Mem < 0:
		return c, errors.New("cpus and mem must not be negative")
	case len(c.Name) > 256 || len(c.Command) > 4096:
		return c, errors.New("name or command too long")
	}
	return c, nil
}

// Neighbours returns n neighbour configurations named neighbour-1 to
// neighbour-n, each keeping two small tasks running: what --neighbours
// asks for.
func Neighbours(n int) []NeighbourConfig {
	var out []NeighbourConfig
	for i := 1; i <= n; i++ {
		out = append(out, NeighbourConfig{Name: fmt.Sprintf("neighbour-%d", i), Tasks: 2})
	}
	return out
}

// neighbourPrincipal is the principal neighbours authenticate as when the
// master wants credentials.
const neighbourPrincipal = "neighbours"

// ErrUnknownNeighbour: no neighbour framework of that id runs.
var ErrUnknownNeighbour = errors.New("no such neighbour framework")

// neighbour is a running NeighbourConfig.
type neighbour struct {
	cfg    NeighbourConfig
	client *mesos.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// neighbours are the stand-in's other frameworks, stopped with it.
type neighbours struct {
	mu      sync.Mutex
	ctx     context.Context // Run's; nil before Run
	running map[string]*neighbour
	wg      sync.WaitGroup
}

// StartNeighbour starts another framework on the stand-in and returns its
// framework id once the master has registered it. It needs Run to have
// started.
func (m *Master) StartNeighbour(ctx context.Context, cfg NeighbourConfig) (string, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return "", fmt.Errorf("%w: %w", errBadFault, err)
	}
	base := m.URL()
	m.neighbours.mu.Lock()
	runCtx := m.neighbours.ctx
	m.neighbours.mu.Unlock()
	if base == "" || runCtx == nil {
		return "", errors.New("stand-in master: StartNeighbour before Run")
	}
	fc := mesos.Config{
		Masters:    []string{base},
		Framework:  &mesos.FrameworkInfo{User: proto.String("nobody"), Name: proto.String(cfg.Name)},
		MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
		Logger: m.log.With("neighbour", cfg.Name),
	}
	if secret, ok := m.cfg.Credentials[neighbourPrincipal]; ok {
		fc.Principal, fc.Secret = neighbourPrincipal, secret
		fc.Framework.Principal = proto.String(neighbourPrincipal)
	}
	client, err := mesos.NewClient(fc)
	if err != nil {
		return "", fmt.Errorf("neighbour: %w", err)
	}
	nctx, cancel := context.WithCancel(runCtx)
	n := &neighbour{cfg: cfg, client: client, cancel: cancel, done: make(chan struct{})}
	registered := make(chan string, 1)
	m.neighbours.wg.Go(func() {
		defer close(n.done)
		n.run(nctx, registered)
	})
	select {
	case id := <-registered:
		m.neighbours.mu.Lock()
		if m.neighbours.running == nil {
			m.neighbours.running = map[string]*neighbour{}
		}
		m.neighbours.running[id] = n
		m.neighbours.mu.Unlock()
		return id, nil
	case <-ctx.Done():
		cancel()
		return "", ctx.Err()
	case <-n.done:
		cancel()
		return "", errors.New("neighbour stopped before it registered")
	}
}

// StopNeighbour tears a neighbour down: the master removes it and kills
// its tasks, as for any framework that sends TEARDOWN.
func (m *Master) StopNeighbour(ctx context.Context, id string) error {
	m.neighbours.mu.Lock()
	n := m.neighbours.running[id]
	delete(m.neighbours.running, id)
	m.neighbours.mu.Unlock()
	if n == nil {
		return fmt.Errorf("%w: %s", ErrUnknownNeighbour, id)
	}
	defer n.cancel()
	if err := n.client.Call(ctx, &mesos.Call{Type: mesos.Call_TEARDOWN.Enum()}); err != nil {
		return fmt.Errorf("neighbour %s: teardown: %w", id, err)
	}
	return nil
}

// run keeps the neighbour's tasks running until ctx ends.
func (n *neighbour) run(ctx context.Context, registered chan<- string) {
	var calls sync.WaitGroup // calls are made beside the handler, which must not block
	defer calls.Wait()
	live := map[string]bool{} // task ids launched and not ended; the handler's alone
	next := 0
	n.client.Run(ctx, func(ctx context.Context, e *mesos.Event) {
		switch e.GetType() {
		case mesos.Event_SUBSCRIBED:
			select {
			case registered <- e.GetSubscribed().GetFrameworkId().GetValue():
			default:
			}
		case mesos.Event_OFFERS:
			for _, o := range e.GetOffers().GetOffers() {
				var infos []*mesos.TaskInfo
				cpus, mem := mesos.ScalarSum(o.GetResources(), "cpus"), mesos.ScalarSum(o.GetResources(), "mem")
				for len(live)+len(infos) < n.cfg.Tasks && cpus >= n.cfg.CPUs && mem >= n.cfg.Mem {
					next++
					id := fmt.Sprintf("%s-%d", n.cfg.Name, next)
					infos = append(infos, &mesos.TaskInfo{
						Name: proto.String(id), TaskId: &mesos.TaskID{Value: proto.String(id)}, AgentId: o.GetAgentId(),
						Resources: []*mesos.Resource{mesos.Scalar("cpus", n.cfg.CPUs), mesos.Scalar("mem", n.cfg.Mem)},
						Command:   &mesos.CommandInfo{Value: proto.String(n.cfg.Command)},
					})
					cpus, mem = cpus-n.cfg.CPUs, mem-n.cfg.Mem
				}
				for _, t := range infos {
					live[t.GetTaskId().GetValue()] = true
				}
				call := &mesos.Call{Type: mesos.Call_DECLINE.Enum(), Decline: &mesos.Call_Decline{
					OfferIds: []*mesos.OfferID{o.GetId()}, Filters: &mesos.Filters{RefuseSeconds: proto.Float64(30)},
				}}
				if len(infos) > 0 {
					call = &mesos.Call{Type: mesos.Call_ACCEPT.Enum(), Accept: &mesos.Call_Accept{
						OfferIds:   []*mesos.OfferID{o.GetId()},
						Operations: []*mesos.Offer_Operation{{Type: mesos.Offer_Operation_LAUNCH.Enum(), Launch: &mesos.Offer_Operation_Launch{TaskInfos: infos}}},
						Filters:    &mesos.Filters{RefuseSeconds: proto.Float64(5)},
					}}
				}
				calls.Go(func() { n.client.Call(ctx, call) })
			}
		case mesos.Event_UPDATE:
			st := e.GetUpdate().GetStatus()
			if mesos.IsTerminal(st.GetState()) && live[st.GetTaskId().GetValue()] {
				delete(live, st.GetTaskId().GetValue())
				// Its declines refused offers for a while: ask for them
				// again to replace the task.
				calls.Go(func() { n.client.Call(ctx, &mesos.Call{Type: mesos.Call_REVIVE.Enum()}) })
			}
			if len(st.GetUuid()) > 0 {
				calls.Go(func() {
					n.client.Acknowledge(ctx, &mesos.Call_Acknowledge{AgentId: st.GetAgentId(), TaskId: st.GetTaskId(), Uuid: st.GetUuid()})
				})
			}
		}
	})
}
