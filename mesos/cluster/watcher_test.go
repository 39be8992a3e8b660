package cluster_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/cluster"
	"github.com/offerdeck/offerdeck/mesos/local"
	"github.com/offerdeck/offerdeck/mesos/local/localtest"
	"github.com/offerdeck/offerdeck/mesos/master"
)

// follower runs a Watcher for a test and keeps the view its changes
// build, as a reader such as the dashboard would.
type follower struct {
	w       *cluster.Watcher
	changes chan cluster.Change
	done    chan error
}

func follow(t *testing.T, cfg cluster.Config) *follower {
	t.Helper()
	if cfg.Client.MinBackoff == 0 {
		cfg.Client.MinBackoff, cfg.Client.MaxBackoff = 10*time.Millisecond, 100*time.Millisecond
	}
	w, err := cluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{w: w, changes: make(chan cluster.Change, 1<<16), done: make(chan error, 1)}
	go func() { f.done <- w.Run(ctx) }()
	go func() {
		for c := range w.Changes() {
			f.changes <- c
		}
		close(f.changes)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-f.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10s of cancel")
		}
	})
	return f
}

// built is the view a reader builds from the changes.
type built struct {
	agents     map[string]*cluster.Agent
	frameworks map[string]*cluster.Framework
	tasks      map[cluster.TaskKey]*cluster.Task
	summary    *cluster.Summary
	status     cluster.Status
	resets     int
}

func (b *built) apply(c cluster.Change) {
	if c.Summary != nil {
		b.summary = c.Summary
	}
	switch c.Kind {
	case cluster.Reset:
		b.resets++
		b.agents, b.frameworks, b.tasks = map[string]*cluster.Agent{}, map[string]*cluster.Framework{}, map[cluster.TaskKey]*cluster.Task{}
		for _, a := range c.Snapshot.Agents {
			b.agents[a.ID] = a
		}
		for _, f := range c.Snapshot.Frameworks {
			b.frameworks[f.ID] = f
		}
		for _, t := range c.Snapshot.Tasks {
			b.tasks[t.Key()] = t
		}
		b.summary = c.Snapshot.Summary
	case cluster.StatusChanged:
		b.status = *c.Status
	case cluster.AgentChanged:
		b.agents[c.Agent.ID] = c.Agent
	case cluster.AgentRemoved:
		delete(b.agents, c.ID)
	case cluster.FrameworkChanged:
		b.frameworks[c.Framework.ID] = c.Framework
	case cluster.FrameworkRemoved:
		delete(b.frameworks, c.ID)
	case cluster.TaskChanged:
		b.tasks[c.Task.Key()] = c.Task
	case cluster.TaskRemoved:
		delete(b.tasks, c.Key)
	}
}

// until applies changes until ok holds for the view built.
func (f *follower) until(t *testing.T, b *built, what string, ok func(b *built) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if b.agents != nil && ok(b) {
			return
		}
		select {
		case c, open := <-f.changes:
			if !open {
				t.Fatalf("changes ended before %s", what)
			}
			b.apply(c)
		case <-deadline:
			t.Fatalf("no %s within 20s; status %+v", what, b.status)
		}
	}
}

func frameworkNamed(b *built, name string) *cluster.Framework {
	for _, f := range b.frameworks {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func running(b *built, fw *cluster.Framework, n int) bool {
	count := 0
	for _, t := range b.tasks {
		if t.FrameworkID == fw.ID && t.State == "TASK_RUNNING" {
			count++
		}
	}
	return count == n
}

// TestWatcherFollowsTheCluster: the view starts with the whole cluster,
// then follows another framework's tasks live, with what they hold on
// their agent, their framework and the summary, in both media types.
func TestWatcherFollowsTheCluster(t *testing.T) {
	for _, mt := range []string{mesos.MediaTypeProtobuf, mesos.MediaTypeJSON} {
		t.Run(mt, func(t *testing.T) {
			_, base := localtest.Start(t, local.Config{SimulateCommands: true})
			f := follow(t, cluster.Config{Client: master.Config{Masters: []string{base}, MediaType: mt}})
			var b built
			f.until(t, &b, "first snapshot", func(b *built) bool { return b.resets == 1 && b.status.Live })
			if len(b.agents) != 3 || b.summary.Active != 3 {
				t.Fatalf("snapshot: %d agents, %d active; want 3", len(b.agents), b.summary.Active)
			}
			var total cluster.Resources
			for _, a := range b.agents {
				total = total.Add(a.Total)
				if a.Hostname == "" || len(a.Attributes) == 0 || a.Total.CPUs == 0 || a.Total.Ports == 0 {
					t.Errorf("agent %+v lacks its hostname, attributes or resources", a)
				}
			}
			if b.summary.Total != total {
				t.Errorf("summary total %+v, want the agents' sum %+v", b.summary.Total, total)
			}

			localtest.Framework(t, base, "batch", "job-1", "job-2")
			f.until(t, &b, "batch's two tasks running", func(b *built) bool {
				fw := frameworkNamed(b, "batch")
				return fw != nil && running(b, fw, 2)
			})
			fw := frameworkNamed(&b, "batch")
			want := cluster.Resources{CPUs: 0.2, Mem: 64}
			if !near(fw.Used, want) || fw.Tasks != 2 || !fw.Active || fw.User != "root" || !slices.Equal(fw.Roles, []string{"*"}) {
				t.Errorf("framework %+v: want 2 tasks holding %+v, active, user root, role *", fw, want)
			}
			if !near(b.summary.Used, want) || !near(b.summary.UsedByRole["*"], want) || b.summary.TasksByState["TASK_RUNNING"] != 2 {
				t.Errorf("summary %+v: want %+v used by role * and 2 running", b.summary, want)
			}
			var onAgents cluster.Resources
			tasks := 0
			for _, a := range b.agents {
				onAgents = onAgents.Add(a.Used)
				tasks += a.Tasks
			}
			if !near(onAgents, want) || tasks != 2 {
				t.Errorf("agents hold %+v in %d tasks, want %+v in 2", onAgents, tasks, want)
			}
		})
	}
}

// TestWatcherFallsBackToState: a master that refuses the operator API
// (an old one, or no permission) is read at /master/state instead, the
// status says so, and the view it builds equals the stream's of the same
// cluster.
func TestWatcherFallsBackToState(t *testing.T) {
	_, base := localtest.Start(t, local.Config{SimulateCommands: true})
	target, _ := url.Parse(base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1" {
			http.NotFound(w, r) // a master without the operator API
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(old.Close)

	localtest.Framework(t, base, "batch", "job-1", "job-2")
	stream := follow(t, cluster.Config{Client: master.Config{Masters: []string{base}}})
	var s built
	stream.until(t, &s, "batch running in the stream", func(b *built) bool {
		fw := frameworkNamed(b, "batch")
		return fw != nil && running(b, fw, 2)
	})

	polled := follow(t, cluster.Config{Client: master.Config{Masters: []string{old.URL}}, PollEvery: 50 * time.Millisecond})
	var p built
	polled.until(t, &p, "batch running in /master/state", func(b *built) bool {
		fw := frameworkNamed(b, "batch")
		return fw != nil && running(b, fw, 2) && b.status.LastRead.After(b.status.Since)
	})
	if p.status.Source != cluster.SourcePoll || !strings.Contains(p.status.Refused, "404") || p.status.PollEvery != 50*time.Millisecond || !p.status.Live {
		t.Errorf("status %+v: want polling every 50ms, live, refused with the 404", p.status)
	}
	if len(p.agents) != len(s.agents) {
		t.Fatalf("polled %d agents, streamed %d", len(p.agents), len(s.agents))
	}
	for id, a := range s.agents {
		pa := p.agents[id]
		if pa == nil {
			t.Errorf("agent %s missing from /master/state's view", id)
			continue
		}
		sorted := slices.Sorted(slices.Values(a.Attributes))
		if pa.Hostname != a.Hostname || !near(pa.Total, a.Total) || !near(pa.Used, a.Used) || pa.Tasks != a.Tasks ||
			!slices.Equal(pa.Attributes, sorted) || pa.Active != a.Active || !pa.Registered.Truncate(time.Second).Equal(a.Registered.Truncate(time.Second)) {
			t.Errorf("agent from /master/state %+v, from the stream %+v", pa, a)
		}
	}
	for id, f := range s.frameworks {
		pf := p.frameworks[id]
		if pf == nil || pf.Name != f.Name || pf.User != f.User || !near(pf.Used, f.Used) || pf.Tasks != f.Tasks ||
			!slices.Equal(pf.Roles, f.Roles) || pf.Active != f.Active || pf.Connected != f.Connected {
			t.Errorf("framework from /master/state %+v, from the stream %+v", pf, f)
		}
	}
	for k, task := range s.tasks {
		pt := p.tasks[k]
		if pt == nil || pt.State != task.State || pt.AgentID != task.AgentID || pt.Name != task.Name || !near(pt.Resources, task.Resources) {
			t.Errorf("task from /master/state %+v, from the stream %+v", pt, task)
		}
	}
}

// TestWatcherRefusedWithoutPolling: with polling off, a refusal is said,
// with the master's answer.
func TestWatcherRefusedWithoutPolling(t *testing.T) {
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Forbidden", http.StatusForbidden)
	}))
	t.Cleanup(old.Close)
	f := follow(t, cluster.Config{Client: master.Config{Masters: []string{old.URL}}, PollEvery: -1})
	deadline := time.After(10 * time.Second)
	for {
		select {
		case c := <-f.changes:
			if c.Kind == cluster.StatusChanged && c.Status.Refused != "" {
				if c.Status.Source != cluster.SourcePoll || c.Status.Live || !strings.Contains(c.Status.Refused, "403") {
					t.Errorf("status %+v: want refused (403), not live", c.Status)
				}
				if got := f.w.Status(); got.Refused == "" {
					t.Errorf("Status() = %+v, want the refusal", got)
				}
				return
			}
		case <-deadline:
			t.Fatal("no refusal said within 10s")
		}
	}
}

func near(a, b cluster.Resources) bool {
	close := func(x, y float64) bool { return x-y < 1e-9 && y-x < 1e-9 }
	return close(a.CPUs, b.CPUs) && close(a.Mem, b.Mem) && close(a.Disk, b.Disk) && close(a.GPUs, b.GPUs) && a.Ports == b.Ports
}

// TestWatcherRefreshesWhatTheStreamDoesNotSay: an agent that becomes
// unreachable gets no event on the operator stream, and offers to other
// frameworks are not on it at all; the watcher's refresh reads both.
func TestWatcherRefreshesWhatTheStreamDoesNotSay(t *testing.T) {
	m, base := localtest.Start(t, local.Config{SimulateCommands: true})
	f := follow(t, cluster.Config{Client: master.Config{Masters: []string{base}}, RefreshEvery: 50 * time.Millisecond})
	var b built
	f.until(t, &b, "first snapshot", func(b *built) bool { return b.resets == 1 && b.status.Live })

	// The test framework launches on its first offer and keeps the others.
	localtest.Framework(t, base, "holder", "job-1")
	f.until(t, &b, "holder's offers read", func(b *built) bool {
		fw := frameworkNamed(b, "holder")
		return fw != nil && !fw.OfferedAt.IsZero() && fw.Offered.CPUs > 0
	})

	var victim string
	for id := range b.agents {
		victim = id
		break
	}
	if err := m.PartitionAgent(victim); err != nil {
		t.Fatal(err)
	}
	f.until(t, &b, "the unreachable agent gone", func(b *built) bool { return b.agents[victim] == nil })
	if b.summary.Gone != 1 || b.summary.Active != 2 {
		t.Errorf("summary %+v: want 1 gone, 2 active", b.summary)
	}
	if err := m.HealAgent(victim); err != nil {
		t.Fatal(err)
	}
	f.until(t, &b, "the healed agent back", func(b *built) bool { return b.agents[victim] != nil })
}
