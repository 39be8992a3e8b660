package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/offerdeck/offerdeck/mesos/local"
)

// standIn is the scale-mode stand-in master of the end-to-end stack, in a
// process of its own, as a real master is: its heap (100,000 tasks'
// worth) and its CPU are not the dashboard's. The bench process talks to
// it over HTTP like the dashboard does, and steers its health checks over
// the child's stdin.
type standIn struct {
	cmd *exec.Cmd
	url string

	mu    sync.Mutex // one command at a time
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startStandIn starts `bench stand-in` with agents simulated agents and
// waits for its URL.
func startStandIn(agents int, dir string) (*standIn, error) {
	cmd, stdin, out, err := startChild("stand-in", "-agents", strconv.Itoa(agents), "-dir", dir)
	if err != nil {
		return nil, err
	}
	s := &standIn{cmd: cmd, stdin: stdin, out: out}
	line, err := s.out.ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "url ")
	if err != nil || !ok {
		s.close()
		return nil, fmt.Errorf("stand-in process: no URL: %q %v", line, err)
	}
	s.url = url
	return s, nil
}

// SetHealthChecks sets how many health check updates a second the stand-in
// sends, as local.Master.SetHealthChecks does in process.
func (s *standIn) SetHealthChecks(perSecond float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := fmt.Fprintf(s.stdin, "rate %g\n", perSecond); err != nil {
		return fmt.Errorf("stand-in process: %w", err)
	}
	line, err := s.out.ReadString('\n')
	if err != nil {
		return fmt.Errorf("stand-in process: %w", err)
	}
	if line = strings.TrimSpace(line); line != "ok" {
		return fmt.Errorf("stand-in process: %s", line)
	}
	return nil
}

// cpu is the CPU time the stand-in process has used so far, in seconds.
func (s *standIn) cpu() float64 { return processCPU(s.cmd.Process.Pid) }

// counts is what the kernel counted of the stand-in's process so far.
func (s *standIn) counts() procCounts { return processCounts(s.cmd.Process.Pid) }

// close ends the stand-in (its stdin ends) and waits for it.
func (s *standIn) close() {
	s.stdin.Close()
	s.cmd.Wait()
}

// runStandIn is the child process behind startStandIn: it serves the
// stand-in on loopback, prints "url <base>", and obeys "rate N" lines on
// stdin (answering "ok" or "error ...") until stdin ends.
func runStandIn(args []string) error {
	fs := flag.NewFlagSet("stand-in", flag.ContinueOnError)
	agents := fs.Int("agents", 10000, "simulated agents")
	dir := fs.String("dir", "", "a directory for the simulated sandboxes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-dir is required")
	}
	m, err := local.New(local.Config{Agents: local.ScaleAgents(*agents), SimulateCommands: true, SandboxRoot: *dir + "/sandboxes"})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, ln) }()
	fmt.Println("url", "http://"+ln.Addr().String())
	obeyRates(m.SetHealthChecks)
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// processCPU is the user and system CPU time of process pid so far, in
// seconds, from /proc; 0 where there is no /proc.
func processCPU(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count fields
	// from the last ')'. utime and stime are fields 14 and 15.
	rest := string(b)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// procCounts are what the kernel counts of a process that the speed of
// the machine does not change: system calls that read and that write,
// the bytes those wrote (to sockets and files alike), and context
// switches (a thread that waited and was woken, or was put off a core).
// On a shared machine the CPU time of the same work varies twofold from
// run to run; these vary by a tenth at most.
type procCounts struct {
	reads, writes, written, switches float64
}

func (c procCounts) minus(o procCounts) procCounts {
	return procCounts{c.reads - o.reads, c.writes - o.writes, c.written - o.written, c.switches - o.switches}
}

// per is c divided by n (per update, say).
func (c procCounts) per(n float64) procCounts {
	if n == 0 {
		return procCounts{}
	}
	return procCounts{c.reads / n, c.writes / n, c.written / n, c.switches / n}
}

// processCounts reads pid's counts from /proc/<pid>/io (the whole
// process) and the status of each of its threads; zeros where there is
// no /proc. A thread that ended takes its switches with it; Go's
// threads seldom end.
func processCounts(pid int) procCounts {
	var c procCounts
	dir := "/proc/" + strconv.Itoa(pid)
	if b, err := os.ReadFile(dir + "/io"); err == nil {
		for line := range strings.Lines(string(b)) {
			k, v, _ := strings.Cut(strings.TrimSpace(line), ": ")
			n, _ := strconv.ParseFloat(v, 64)
			switch k {
			case "syscr":
				c.reads = n
			case "syscw":
				c.writes = n
			case "wchar":
				c.written = n
			}
		}
	}
	threads, _ := os.ReadDir(dir + "/task")
	for _, th := range threads {
		b, err := os.ReadFile(dir + "/task/" + th.Name() + "/status")
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			for _, k := range []string{"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"} {
				if v, ok := strings.CutPrefix(line, k); ok {
					n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
					c.switches += n
				}
			}
		}
	}
	return c
}
