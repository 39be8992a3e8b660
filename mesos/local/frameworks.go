package local

import (
	"encoding/binary"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/recordio"
)

// framework is a registered framework as the master tracks it.
type framework struct {
	id        string
	info      *mesos.FrameworkInfo
	principal string
	roles     []string
	// suppressed holds the roles for which no offers are made.
	suppressed map[string]bool
	// filters are the refused-resources filters, by agent and role: the
	// allocator looks at one agent's filters at a time, and a framework
	// that declined 10,000 agents must not make every look cost 10,000.
	filters   map[filterKey][]*filter
	offers    map[string]*offer
	tasks     map[string]*task // live, and terminal until acknowledged
	completed []*task          // acknowledged terminal tasks, oldest first
	// allocated is what the framework holds (offered or used), in
	// thousandths per resource name, for dominant resource fairness.
	allocated map[string]int64

	sub           *subscription // nil while disconnected
	registered    time.Time
	reregistered  time.Time // last failover, zero if none
	unregistered  time.Time // when it was removed (Master::removeFramework), zero before
	failoverTimer *time.Timer
}

func (f *framework) capable(c mesos.FrameworkInfo_Capability_Type) bool {
	for _, cap := range f.info.GetCapabilities() {
		if cap.GetType() == c {
			return true
		}
	}
	return false
}

func (f *framework) multiRole() bool { return f.capable(mesos.FrameworkInfo_Capability_MULTI_ROLE) }
func (f *framework) partitionAware() bool {
	return f.capable(mesos.FrameworkInfo_Capability_PARTITION_AWARE)
}
func (f *framework) killingState() bool {
	return f.capable(mesos.FrameworkInfo_Capability_TASK_KILLING_STATE)
}
func (f *framework) connected() bool { return f.sub != nil }

// rolesOf returns the roles a FrameworkInfo subscribes to.
func rolesOf(info *mesos.FrameworkInfo) []string {
	for _, c := range info.GetCapabilities() {
		if c.GetType() == mesos.FrameworkInfo_Capability_MULTI_ROLE {
			return slices.Clone(info.GetRoles())
		}
	}
	return []string{info.GetRole()} // "*" by default
}

func (f *framework) hold(p pool) {
	if f.allocated == nil {
		f.allocated = map[string]int64{}
	}
	for k, v := range p.scalars {
		f.allocated[k.name] += v
	}
}

func (f *framework) release(p pool) {
	for k, v := range p.scalars {
		f.allocated[k.name] -= v
	}
}

func (f *framework) stopTimers() {
	if f.failoverTimer != nil {
		f.failoverTimer.Stop()
		f.failoverTimer = nil
	}
	for _, t := range f.tasks {
		t.stopRetry()
	}
	for _, o := range f.offers {
		o.stopTimer()
	}
}

// send queues an event to the framework if it is connected. A master's
// events to a disconnected framework are lost: that is what status update
// retries and reconciliation are for.
func (f *framework) send(e *mesos.Event) {
	if f.sub != nil {
		f.sub.send(e)
	}
}

// subscription is one SUBSCRIBE stream. Events are encoded when queued and
// written by the stream's handler goroutine, so the master never writes to
// the network while holding its lock.
type subscription struct {
	streamID  string
	mediaType string
	operator  bool // an operator API stream, not a framework's

	mu      sync.Mutex
	queue   []byte // framed records not yet written
	abort   bool   // fault: break the connection after the next write
	cutMid  bool   // fault: and cut that write in the middle of a record
	notify  chan struct{}
	closed  chan struct{}
	closing sync.Once
	log     func(msg string, args ...any)
	// abortWrite, while the stream's handler runs, makes a write that is
	// blocked on a client that does not read fail at once.
	abortWrite func()
}

func newSubscription(mediaType string, log func(string, ...any)) *subscription {
	return &subscription{
		streamID:  newUUID(),
		mediaType: mediaType,
		notify:    make(chan struct{}, 1),
		closed:    make(chan struct{}),
		log:       log,
	}
}

// send encodes e in the stream's media type and queues it.
func (s *subscription) send(e *mesos.Event) {
	b, err := mesos.Marshal(s.mediaType, e)
	if err != nil {
		s.log("encode event", "type", e.GetType().String(), "err", err)
		return
	}
	s.queueRecord(b, 0)
}

// heartbeat queues a HEARTBEAT event of the stream's API.
func (s *subscription) heartbeat() {
	if s.operator {
		b, _ := mesos.Marshal(s.mediaType, operatorHeartbeat)
		s.queueRecord(b, 0)
		return
	}
	s.send(&mesos.Event{Type: mesos.Event_HEARTBEAT.Enum()})
}

// queueRecord queues one encoded record. With a limit, it queues nothing
// and reports false when the queue would exceed limit bytes.
func (s *subscription) queueRecord(b []byte, limit int) bool {
	s.mu.Lock()
	if limit > 0 && len(s.queue)+len(b) > limit {
		s.mu.Unlock()
		return false
	}
	s.queue = recordio.AppendRecord(s.queue, b)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return true
}

// take returns the queued bytes and empties the queue.
func (s *subscription) take() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.queue
	s.queue = nil
	if s.abort && s.cutMid && len(b) > 2 {
		b = b[:len(b)/2]
	}
	return b
}

// cut makes the stream's handler break the connection; with mid it first
// writes half of a record.
func (s *subscription) cut(mid bool) {
	if mid {
		s.send(&mesos.Event{Type: mesos.Event_HEARTBEAT.Enum()})
	}
	s.mu.Lock()
	s.abort, s.cutMid = true, mid
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// kill breaks the connection even while a write to it is blocked: the
// client stopped reading.
func (s *subscription) kill() {
	s.cut(false)
	s.mu.Lock()
	abort := s.abortWrite
	s.mu.Unlock()
	if abort != nil {
		abort()
	}
}

func (s *subscription) setAbortWrite(f func()) {
	s.mu.Lock()
	s.abortWrite = f
	s.mu.Unlock()
}

// aborted reports whether the stream is to be broken.
func (s *subscription) aborted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.abort
}

// close ends the stream: its handler writes what is queued and returns,
// which terminates the chunked response.
func (s *subscription) close() { s.closing.Do(func() { close(s.closed) }) }

// masterInfoFor builds MasterInfo for a master at addr (host:port).
func masterInfoFor(id, addr, hostname string) *mesos.MasterInfo {
	host, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.ParseUint(portText, 10, 32)
	var ip uint32
	if v4 := net.ParseIP(host).To4(); v4 != nil {
		// Network byte order read as a little-endian integer, as Mesos does.
		ip = binary.LittleEndian.Uint32(v4)
	}
	return &mesos.MasterInfo{
		Id:       proto.String(id),
		Ip:       proto.Uint32(ip),
		Port:     proto.Uint32(uint32(port)),
		Pid:      proto.String("master@" + addr),
		Hostname: proto.String(hostname),
		Version:  proto.String(Version),
		Address:  &mesos.Address{Hostname: proto.String(hostname), Ip: proto.String(host), Port: proto.Int32(int32(port))},
		Capabilities: []*mesos.MasterInfo_Capability{
			{Type: mesos.MasterInfo_Capability_AGENT_UPDATE.Enum()},
			{Type: mesos.MasterInfo_Capability_AGENT_DRAINING.Enum()},
			{Type: mesos.MasterInfo_Capability_QUOTA_V2.Enum()},
		},
	}
}
