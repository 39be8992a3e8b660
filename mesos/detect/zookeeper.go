package detect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// defaultSessionTimeout is Mesos's ZOOKEEPER_SESSION_TIMEOUT. ZooKeeper
// servers clamp it to between 2 and 20 ticks.
const defaultSessionTimeout = 10 * time.Second

// minSessionTimeout keeps the client's own deadlines, which it derives from
// the timeout it asks for, long enough to connect at all.
const minSessionTimeout = 100 * time.Millisecond

// Config configures a [ZooKeeper] detector. Only URL is required.
type Config struct {
	// URL is the masters' group, zk://[user:password@]host:port[,...]/path,
	// as [ParseURL] accepts it.
	URL string
	// SessionTimeout is the ZooKeeper session timeout to ask for; zero
	// means 10s, the timeout Mesos masters use, and less than 100ms is an
	// error. The server may grant a different one.
	SessionTimeout time.Duration
	// Logger receives lifecycle events (leader changes, session trouble) and,
	// at debug level, the ZooKeeper client library's own messages. Nil
	// discards them.
	Logger *slog.Logger
}

// ZooKeeper detects the leading Mesos master by watching the masters'
// group in ZooKeeper. Create it with [NewZooKeeper], drive it with
// [ZooKeeper.Run] and ask it with [ZooKeeper.Leader]. Its methods are safe
// for concurrent use.
//
// The leader is the json.info_ member with the lowest sequence number whose
// data is a usable MasterInfo. A member whose data does not parse is skipped
// with a warning and the next one is tried; this differs from Mesos's
// detector, which reports an error and no leader. If the skipped member
// really is the elected master, the master reported instead is a standby
// that answers with a redirect to the leader or 503, which a client must
// handle anyway (see mesos-api.md §7.1).
type ZooKeeper struct {
	url     zkURL
	timeout time.Duration
	log     *slog.Logger
	running atomic.Bool

	mu sync.Mutex
	// leader is the current leader, nil when there is none or Run is not
	// running.
	leader *Master
	// changed is closed, and replaced, whenever leader changes.
	changed chan struct{}
}

// NewZooKeeper validates cfg and returns a detector that has no leader yet.
// It starts nothing and does no I/O.
func NewZooKeeper(cfg Config) (*ZooKeeper, error) {
	u, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.SessionTimeout != 0 && cfg.SessionTimeout < minSessionTimeout {
		return nil, fmt.Errorf("zookeeper session timeout %v is below %v", cfg.SessionTimeout, minSessionTimeout)
	}
	return &ZooKeeper{
		url:     u,
		timeout: cmp.Or(cfg.SessionTimeout, defaultSessionTimeout),
		log:     orDiscard(cfg.Logger),
		changed: make(chan struct{}),
	}, nil
}

// Run connects to ZooKeeper and keeps the leader up to date until ctx is
// done. It lists the group's children with a watch, reads the leader's
// data, and detects again whenever the watch fires. It rides out lost
// connections and expired sessions, retrying failed operations with
// backoff; while ZooKeeper cannot be reached, Leader keeps reporting the
// last leader seen. If the group's path does not exist yet, Run waits for
// it to be created.
//
// Run blocks until ctx is done and returns nil, after closing the
// connection and waiting for every goroutine it started, the client
// library's included. When it returns, the detector has no leader again.
// Run returns an error at once if it is already running.
func (z *ZooKeeper) Run(ctx context.Context) error {
	if !z.running.CompareAndSwap(false, true) {
		return errors.New("run zookeeper detector: already running")
	}
	defer z.running.Store(false)
	defer z.setLeader(nil)

	z.log.Info("detecting leading master", "servers", z.url.servers, "path", z.url.path)
	s, err := dial(ctx, z.url, z.timeout, z.log, nil)
	if err != nil {
		return nil // ctx is done
	}
	defer s.wait()

	var b backoff
	for ctx.Err() == nil {
		watch, err := z.detect(s.conn)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			z.log.Warn("detect leading master", "err", err)
			b.wait(ctx)
			continue
		}
		b.reset()
		select {
		case <-ctx.Done():
		case ev := <-watch:
			z.log.Debug("masters changed", "type", ev.Type.String(), "err", ev.Err)
		}
	}
	return nil
}

// detect finds and records the current leader and returns a watch that
// fires when the group changes.
func (z *ZooKeeper) detect(conn *zk.Conn) (<-chan zk.Event, error) {
	for {
		children, _, watch, err := conn.ChildrenW(z.url.path)
		if errors.Is(err, zk.ErrNoNode) {
			exists, _, watch, err := conn.ExistsW(z.url.path)
			if err != nil {
				return nil, fmt.Errorf("watch %s: %w", z.url.path, err)
			}
			if exists {
				continue // created since ChildrenW: list it
			}
			z.log.Debug("masters' path missing, waiting for it", "path", z.url.path)
			z.setLeader(nil)
			return watch, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", z.url.path, err)
		}
		m, err := z.leading(conn, children)
		if err != nil {
			return nil, err
		}
		z.setLeader(m)
		return watch, nil
	}
}

// leading returns the first member, in sequence order, whose data is a
// usable MasterInfo, or nil if there is none.
func (z *ZooKeeper) leading(conn *zk.Conn, children []string) (*Master, error) {
	for _, mb := range members(children) {
		node := path.Join(z.url.path, mb.name)
		data, _, err := conn.Get(node)
		if errors.Is(err, zk.ErrNoNode) {
			continue // gone since the listing, which fires the watch as well
		}
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", node, err)
		}
		m, err := ParseMasterInfo(data)
		if err != nil {
			z.log.Warn("skipping master with unusable info", "node", node, "err", err)
			continue
		}
		return &m, nil
	}
	return nil, nil
}

func (z *ZooKeeper) setLeader(m *Master) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if (m == nil && z.leader == nil) || (m != nil && z.leader != nil && *m == *z.leader) {
		return
	}
	z.leader = m
	close(z.changed)
	z.changed = make(chan struct{})
	if m == nil {
		z.log.Info("no leading master", "path", z.url.path)
		return
	}
	z.log.Info("leading master changed", "url", m.URL, "master_id", m.ID, "version", m.Version)
}

// Leader returns the current leading master if its URL differs from
// notURL. Otherwise, including when there is no leader, it blocks until the
// leader changes to one whose URL differs, or until ctx is done, when it
// returns an error that wraps ctx's error. Pass "" to wait for any leader;
// pass the URL of a master that just failed to wait for a different one.
//
// Leader only reads what Run detects: without a running Run it blocks until
// ctx is done. It is safe for concurrent use.
func (z *ZooKeeper) Leader(ctx context.Context, notURL string) (Master, error) {
	for {
		z.mu.Lock()
		m, changed := z.leader, z.changed
		z.mu.Unlock()
		if m != nil && m.URL != notURL {
			return *m, nil
		}
		select {
		case <-ctx.Done():
			return Master{}, fmt.Errorf("wait for leading master in %s: %w", z.url.path, ctx.Err())
		case <-changed:
		}
	}
}
