package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxOutputRead is the most one read asks for: the agent's own cap.
const maxOutputRead = 64 << 10

// ErrOutputUnavailable is returned when the agent cannot serve a task's
// output (unknown agent, sandbox gone, agent unreachable).
var ErrOutputUnavailable = errors.New("task output is unavailable")

// Output is a piece of a task's stdout or stderr.
type Output struct {
	Data []byte
	// Offset is where Data starts; Next is where the next read starts.
	Offset, Next int64
}

// maxStateRead bounds the master's /master/state as read for an agent's
// address: a cluster of 10,000 agents and 100,000 tasks fits.
const maxStateRead = 256 << 20

// outputTimeout bounds one read of an agent's files API.
const outputTimeout = 10 * time.Second

// TaskOutput reads file ("stdout" or "stderr") of a task's sandbox from
// offset through the agent's /files/read, at most length bytes (0 or more
// than 64 KiB: 64 KiB). An offset below zero reads the last -offset bytes,
// for a tail. The agent is reached at the address its latest offer gave,
// or, when it has offered nothing since the (re)subscription, the one the
// task was launched with and, if that does not answer, the one the
// master's /master/state names; with the client's transport and, for the
// stand-in's agents, the master's credentials.
func (s *Scheduler) TaskOutput(ctx context.Context, taskID, file string, offset int64, length int) (Output, error) {
	if file != "stdout" && file != "stderr" {
		return Output{}, fmt.Errorf("task output %s: file %q: want stdout or stderr", taskID, file)
	}
	snap, current, err := s.taskForOutput(ctx, taskID)
	if err != nil {
		return Output{}, err
	}
	if length <= 0 || length > maxOutputRead {
		length = maxOutputRead
	}
	path := "/frameworks/" + snap.Registration + "/executors/" + snap.ExecutorID + "/runs/latest/" + file
	if offset < 0 {
		size, err := s.readAgain(ctx, snap, current, path, -1, 0)
		if err != nil {
			return Output{}, fmt.Errorf("task output %s: %w", taskID, err)
		}
		offset = max(0, size.Offset+offset)
		current = true // the address is settled
	}
	out, err := s.readAgain(ctx, snap, current, path, offset, length)
	if err != nil {
		return Output{}, fmt.Errorf("task output %s: %w", taskID, err)
	}
	return out, nil
}

// readAgain reads as readFile does. When the agent may have moved from an
// address that no offer has confirmed since the (re)subscription, it asks
// the master where the agent is now and reads once more there. It updates
// t.AgentURL to the address it read from.
func (s *Scheduler) readAgain(ctx context.Context, t *Task, current bool, path string, offset int64, length int) (Output, error) {
	out, elsewhere, err := s.readFile(ctx, t, path, offset, length)
	if err == nil || !elsewhere || current {
		return out, err
	}
	u, merr := s.agentFromMaster(ctx, t.AgentID)
	if merr != nil || u == t.AgentURL {
		s.log.Debug("agent address from the master", "agent_id", t.AgentID, "address", u, "err", merr)
		return out, err
	}
	t.AgentURL = u
	out, _, err = s.readFile(ctx, t, path, offset, length)
	return out, err
}

// taskForOutput returns a copy of the task, with AgentURL the agent's
// address from its latest offer when current, else from the launch.
func (s *Scheduler) taskForOutput(ctx context.Context, taskID string) (*Task, bool, error) {
	type lookup struct {
		task    *Task
		current bool
	}
	ch := make(chan lookup, 1)
	if !s.post(ctx, func(st *state) {
		var l lookup
		if t := st.tasks[taskID]; t != nil {
			l.task = t.clone()
		} else {
			for _, t := range st.older {
				if t.ID == taskID {
					l.task = t.clone()
					break
				}
			}
		}
		// An agent's address can change while its id stays (a restarted
		// stand-in listens on another port): its latest offer knows.
		if l.task != nil {
			if a := st.agents[l.task.AgentID]; a != nil && a.URL != "" {
				l.task.AgentURL, l.current = a.URL, true
			}
		}
		ch <- l
	}) {
		return nil, false, s.stopErr(ctx)
	}
	var l lookup
	select {
	case l = <-ch:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	case <-s.stopped:
		return nil, false, ErrStopped
	}
	t := l.task
	if t == nil {
		return nil, false, fmt.Errorf("task output %s: %w", taskID, ErrUnknownTask)
	}
	if t.ExecutorID == "" || t.Registration == "" || (t.AgentID == "" && t.AgentURL == "") {
		return nil, false, fmt.Errorf("task output %s: %w: the task's agent is not known", taskID, ErrOutputUnavailable)
	}
	return t, l.current, nil
}

// agentFromMaster looks an agent's address up in the master's
// /master/state: its pid, slave(1)@host:port, with the master's scheme.
func (s *Scheduler) agentFromMaster(ctx context.Context, agentID string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, outputTimeout)
	defer cancel()
	resp, err := s.client.MasterGet(ctx, "/master/state")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("master state: status %d", resp.StatusCode)
	}
	var state struct {
		Slaves []struct {
			ID  string `json:"id"`
			PID string `json:"pid"`
		} `json:"slaves"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxStateRead)).Decode(&state); err != nil {
		return "", fmt.Errorf("master state: %w", err)
	}
	for _, a := range state.Slaves {
		if a.ID != agentID {
			continue
		}
		_, addr, ok := strings.Cut(a.PID, "@")
		if !ok || addr == "" {
			return "", fmt.Errorf("master state: agent %s has pid %q", agentID, a.PID)
		}
		return resp.Request.URL.Scheme + "://" + addr, nil
	}
	return "", fmt.Errorf("master state: no agent %s", agentID)
}

// readFile calls the agent's /files/read for t. An offset of -1 asks for
// the file's size only (the endpoint's quirk). Its errors are sentences a
// person can act on; the transport's own error goes to the debug log.
//
// elsewhere reports whether the agent may have moved: nothing answers at
// its address, or something there has no such sandbox.
func (s *Scheduler) readFile(ctx context.Context, t *Task, path string, offset int64, length int) (_ Output, elsewhere bool, _ error) {
	ctx, cancel := context.WithTimeout(ctx, outputTimeout)
	defer cancel()
	q := url.Values{"path": {path}, "offset": {strconv.FormatInt(offset, 10)}}
	if length > 0 {
		q.Set("length", strconv.Itoa(length))
	}
	agent := t.Hostname
	if agent == "" {
		agent = t.AgentID
	}
	// The browser never talks to agents: the dashboard reads for it.
	resp, err := s.client.AgentGet(ctx, t.AgentURL, "/files/read?"+q.Encode())
	if err != nil {
		s.log.Debug("read task output", "task_id", t.ID, "agent_id", t.AgentID, "err", err)
		if errors.Is(ctx.Err(), context.Canceled) {
			return Output{}, false, ctx.Err()
		}
		return Output{}, true, fmt.Errorf("%w: agent %s does not answer at %s", ErrOutputUnavailable, agent, t.AgentURL)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return Output{}, true, fmt.Errorf("%w: agent %s no longer has the task's sandbox", ErrOutputUnavailable, agent)
	case http.StatusUnauthorized, http.StatusForbidden:
		return Output{}, false, fmt.Errorf("%w: agent %s refused to serve it (%d)", ErrOutputUnavailable, agent, resp.StatusCode)
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return Output{}, false, fmt.Errorf("%w: agent %s answered %d: %s", ErrOutputUnavailable, agent, resp.StatusCode, bytes.TrimSpace(b))
	}
	var body struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4*maxOutputRead)).Decode(&body); err != nil {
		return Output{}, false, fmt.Errorf("%w: agent %s sent an answer that is not JSON: %v", ErrOutputUnavailable, agent, err)
	}
	if offset < 0 {
		return Output{Offset: body.Offset, Next: body.Offset}, false, nil
	}
	return Output{Data: []byte(body.Data), Offset: body.Offset, Next: body.Offset + int64(len(body.Data))}, false, nil
}
