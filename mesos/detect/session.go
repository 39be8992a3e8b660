package detect

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// Retry delays after a failed ZooKeeper operation. The client library
// already waits about a second between rounds of connection attempts, so
// these only keep a persistent error (say, a missing permission) from
// spinning.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// session is one ZooKeeper client connection together with the two
// goroutines that serve it: one logs the connection's state changes, the
// other closes the connection once ctx is done. The connection renews its
// session by itself after expiry; callers see that as watches firing with
// zk.EventNotWatching.
type session struct {
	conn *zk.Conn
	wg   sync.WaitGroup
}

// dial connects to u's servers and, if u has credentials, adds them for the
// digest scheme. Resolving the servers' names is the only part that can
// fail up front; dial retries that until ctx is done and then returns ctx's
// error. beforeClose, if not nil, runs with the open connection when ctx is
// done, just before the connection is closed. The caller must call wait.
func dial(ctx context.Context, u zkURL, timeout time.Duration, log *slog.Logger, beforeClose func(*zk.Conn)) (*session, error) {
	var b backoff
	for {
		conn, events, err := zk.Connect(u.servers, timeout, zk.WithLogger(zkLogger{log}))
		if err != nil {
			log.Warn("zookeeper connect", "servers", u.servers, "err", err)
			if !b.wait(ctx) {
				return nil, ctx.Err()
			}
			continue
		}
		s := &session{conn: conn}
		s.wg.Go(func() { logEvents(ctx, log, conn, events) })
		s.wg.Go(func() {
			<-ctx.Done()
			if beforeClose != nil {
				beforeClose(conn)
			}
			conn.Close()
		})
		if u.auth != "" {
			if err := s.addAuth(ctx, u.auth, log); err != nil {
				s.wait()
				return nil, err
			}
		}
		return s, nil
	}
}

// wait blocks until ctx given to dial is done and the connection, with all
// of the client library's goroutines, has stopped.
func (s *session) wait() { s.wg.Wait() }

// addAuth adds digest credentials. The library re-sends them after every
// reconnect, but only once the first AddAuth succeeded, hence the retry.
func (s *session) addAuth(ctx context.Context, auth string, log *slog.Logger) error {
	var b backoff
	for {
		err := s.conn.AddAuth("digest", []byte(auth))
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("zookeeper add credentials", "err", err)
		if !b.wait(ctx) {
			return ctx.Err()
		}
	}
}

// logEvents logs the connection's session events until the library closes
// events, which it does once its own goroutines have stopped.
func logEvents(ctx context.Context, log *slog.Logger, conn *zk.Conn, events <-chan zk.Event) {
	var hadSession bool
	for ev := range events {
		if ev.Type != zk.EventSession {
			log.Debug("zookeeper event", "type", ev.Type.String(), "path", ev.Path)
			continue
		}
		switch ev.State {
		case zk.StateHasSession:
			hadSession = true
			log.Info("zookeeper session established", "server", ev.Server,
				"session_id", "0x"+strconv.FormatInt(conn.SessionID(), 16))
		case zk.StateExpired:
			log.Warn("zookeeper session expired", "server", ev.Server)
		case zk.StateDisconnected:
			if hadSession && ctx.Err() == nil {
				log.Warn("zookeeper disconnected", "server", ev.Server)
			}
			hadSession = false
		default:
			log.Debug("zookeeper state", "state", ev.State.String(), "server", ev.Server)
		}
	}
}

// backoff doubles a retry delay from minBackoff up to maxBackoff.
type backoff struct{ delay time.Duration }

// wait waits for the next delay and reports whether ctx is still live.
func (b *backoff) wait(ctx context.Context) bool {
	b.delay = min(max(2*b.delay, minBackoff), maxBackoff)
	t := time.NewTimer(b.delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (b *backoff) reset() { b.delay = 0 }

// zkLogger routes the client library's messages into slog at debug level;
// connection trouble that matters is logged by logEvents and the callers.
type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Debug("zookeeper client", "detail", printf{format, args})
}

// printf formats a library message only if a handler wants it.
type printf struct {
	format string
	args   []any
}

func (p printf) LogValue() slog.Value {
	return slog.StringValue(fmt.Sprintf(p.format, p.args...))
}

// orDiscard returns log, or a logger that discards everything if log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
