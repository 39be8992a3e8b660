package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/go-zookeeper/zk"
)

// Announce makes a Mesos master a member of the masters' group at zkURL
// until ctx is done, as a master contending for leadership does: it creates
// the ephemeral sequential znode <path>/json.info_<sequence> holding
// infoJSON, a MasterInfo in JSON, after creating <path> and its parents as
// persistent znodes if they are missing. The session's heartbeats keep the
// znode alive.
//
// If the znode disappears while ctx is live, because the session expired
// or someone deleted it, Announce creates a new one. The new znode gets a
// higher sequence number, so the master loses its place in the election:
// a master that led stops leading if any other master is a member. (A real
// Mesos master exits instead.)
//
// If zkURL has credentials, Announce authenticates with the digest scheme
// and, like Mesos, creates znodes that anyone may read and only those
// credentials may change; otherwise the znodes are open to all.
//
// Announce blocks until ctx is done; then it deletes the znode, closes the
// session, waits for every goroutine it started, and returns nil. If
// ZooKeeper cannot be reached at that moment, the znode stays until the
// server expires the session, as with a master that crashed. Announce
// returns an error at once, having done nothing, if zkURL or infoJSON is
// invalid. A nil log discards the log.
func Announce(ctx context.Context, zkURL string, infoJSON []byte, log *slog.Logger) error {
	u, err := parseURL(zkURL)
	if err != nil {
		return fmt.Errorf("announce master: %w", err)
	}
	m, err := ParseMasterInfo(infoJSON)
	if err != nil {
		return fmt.Errorf("announce master: %w", err)
	}
	a := &announcer{
		path: u.path,
		data: infoJSON,
		acl:  zk.WorldACL(zk.PermAll),
		log:  orDiscard(log).With("master_url", m.URL),
	}
	if u.auth != "" {
		a.acl = []zk.ACL{
			{Perms: zk.PermRead, Scheme: "world", ID: "anyone"},
			{Perms: zk.PermAll, Scheme: "auth"},
		}
	}
	s, err := dial(ctx, u, defaultSessionTimeout, a.log, a.withdraw)
	if err != nil {
		return nil // ctx is done
	}
	defer s.wait()
	a.conn = s.conn
	a.run(ctx)
	return nil
}

// announcer keeps one master's member znode alive.
type announcer struct {
	conn *zk.Conn
	path string
	data []byte
	acl  []zk.ACL
	log  *slog.Logger

	mu sync.Mutex
	// node is the member znode's full path, "" when there is none.
	node string
}

func (a *announcer) current() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.node
}

func (a *announcer) setNode(node string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.node = node
}

// run keeps the znode until ctx is done.
func (a *announcer) run(ctx context.Context) {
	var b backoff
	for ctx.Err() == nil {
		watch, err := a.keep()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("announce master", "err", err)
			b.wait(ctx)
			continue
		}
		b.reset()
		select {
		case <-ctx.Done():
		case ev := <-watch:
			a.log.Debug("master znode changed", "type", ev.Type.String(), "err", ev.Err)
		}
	}
}

// keep makes sure the znode exists and returns a watch that fires when it
// changes or the session expires.
func (a *announcer) keep() (<-chan zk.Event, error) {
	node := a.current()
	if node != "" {
		exists, _, watch, err := a.conn.ExistsW(node)
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", node, err)
		}
		if exists {
			return watch, nil
		}
		a.log.Warn("master znode gone, announcing again at the back of the election", "node", node)
		a.setNode("")
	}
	node, err := a.create()
	if err != nil {
		return nil, err
	}
	a.setNode(node)
	a.log.Info("master announced", "node", node)
	exists, _, watch, err := a.conn.ExistsW(node)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", node, err)
	}
	if !exists {
		// Gone already; a closed channel makes run call keep again at once.
		closed := make(chan zk.Event)
		close(closed)
		return closed, nil
	}
	return watch, nil
}

// create creates the member znode, or adopts the one this session created
// if a create whose reply was lost to a dropped connection went through.
func (a *announcer) create() (string, error) {
	if err := a.ensurePath(); err != nil {
		return "", err
	}
	if node, err := a.own(); err != nil || node != "" {
		return node, err
	}
	node, err := a.conn.Create(a.path+"/"+memberPrefix, a.data, zk.FlagEphemeral|zk.FlagSequence, a.acl)
	if err != nil {
		return "", fmt.Errorf("create %s/%s: %w", a.path, memberPrefix, err)
	}
	return node, nil
}

// own returns a member znode owned by the current session, or "".
func (a *announcer) own() (string, error) {
	children, _, err := a.conn.Children(a.path)
	if err != nil {
		return "", fmt.Errorf("list %s: %w", a.path, err)
	}
	session := a.conn.SessionID()
	for _, mb := range members(children) {
		node := a.path + "/" + mb.name
		exists, stat, err := a.conn.Exists(node)
		if err != nil {
			return "", fmt.Errorf("stat %s: %w", node, err)
		}
		if exists && session != 0 && stat.EphemeralOwner == session {
			return node, nil
		}
	}
	return "", nil
}

// ensurePath creates the group's path and its parents where missing.
func (a *announcer) ensurePath() error {
	for i := 1; i <= len(a.path); i++ {
		if i < len(a.path) && a.path[i] != '/' {
			continue
		}
		p := a.path[:i]
		exists, _, err := a.conn.Exists(p)
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if exists {
			continue
		}
		_, err = a.conn.Create(p, nil, zk.FlagPersistent, a.acl)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	return nil
}

// withdraw deletes the znode as ctx ends. Closing the session deletes it
// too; deleting it first confirms that it is gone and logs so.
func (a *announcer) withdraw(conn *zk.Conn) {
	node := a.current()
	if node == "" || conn.State() != zk.StateHasSession {
		return
	}
	if err := conn.Delete(node, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		a.log.Warn("withdraw master", "node", node, "err", err)
		return
	}
	a.log.Info("master withdrawn", "node", node)
}
