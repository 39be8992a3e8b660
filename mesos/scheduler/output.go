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

// outputTimeout bounds one read of an agent's files API.
const outputTimeout = 10 * time.Second

// TaskOutput reads file ("stdout" or "stderr") of a task's sandbox from
// offset through the agent's /files/read, at most length bytes (0 or more
// than 64 KiB: 64 KiB). An offset below zero reads the last -offset bytes,
// for a tail. The agent is reached at the address its latest offer gave
// (the one the task was launched with only when it has offered nothing
// since), with the client's transport and, for the stand-in's agents, the
// master's credentials.
func (s *Scheduler) TaskOutput(ctx context.Context, taskID, file string, offset int64, length int) (Output, error) {
	if file != "stdout" && file != "stderr" {
		return Output{}, fmt.Errorf("task output %s: file %q: want stdout or stderr", taskID, file)
	}
	snap, err := s.taskForOutput(ctx, taskID)
	if err != nil {
		return Output{}, err
	}
	if length <= 0 || length > maxOutputRead {
		length = maxOutputRead
	}
	path := "/frameworks/" + snap.Registration + "/executors/" + snap.ExecutorID + "/runs/latest/" + file
	if offset < 0 {
		size, err := s.readFile(ctx, snap, path, -1, 0)
		if err != nil {
			return Output{}, fmt.Errorf("task output %s: %w", taskID, err)
		}
		offset = max(0, size.Offset+offset)
	}
	out, err := s.readFile(ctx, snap, path, offset, length)
	if err != nil {
		return Output{}, fmt.Errorf("task output %s: %w", taskID, err)
	}
	return out, nil
}

// taskForOutput returns a copy of the task whose AgentURL is the agent's
// current address.
func (s *Scheduler) taskForOutput(ctx context.Context, taskID string) (*Task, error) {
	ch := make(chan *Task, 1)
	if !s.post(ctx, func(st *state) {
		var found *Task
		if t := st.tasks[taskID]; t != nil {
			found = t.clone()
		} else {
			for _, t := range st.older {
				if t.ID == taskID {
					found = t.clone()
					break
				}
			}
		}
		// An agent's address can change while its id stays (a restarted
		// stand-in listens on another port): its latest offer knows.
		if found != nil {
			if a := st.agents[found.AgentID]; a != nil && a.URL != "" {
				found.AgentURL = a.URL
			}
		}
		ch <- found
	}) {
		return nil, ctx.Err()
	}
	var t *Task
	select {
	case t = <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if t == nil {
		return nil, fmt.Errorf("task output %s: %w", taskID, ErrUnknownTask)
	}
	if t.AgentURL == "" || t.ExecutorID == "" || t.Registration == "" {
		return nil, fmt.Errorf("task output %s: %w: the task's agent is not known", taskID, ErrOutputUnavailable)
	}
	return t, nil
}

// readFile calls the agent's /files/read for t. An offset of -1 asks for
// the file's size only (the endpoint's quirk). Its errors are sentences a
// person can act on; the transport's own error goes to the debug log.
func (s *Scheduler) readFile(ctx context.Context, t *Task, path string, offset int64, length int) (Output, error) {
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
			return Output{}, ctx.Err()
		}
		return Output{}, fmt.Errorf("%w: agent %s does not answer at %s", ErrOutputUnavailable, agent, t.AgentURL)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return Output{}, fmt.Errorf("%w: agent %s no longer has the task's sandbox", ErrOutputUnavailable, agent)
	case http.StatusUnauthorized, http.StatusForbidden:
		return Output{}, fmt.Errorf("%w: agent %s refused to serve it (%d)", ErrOutputUnavailable, agent, resp.StatusCode)
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return Output{}, fmt.Errorf("%w: agent %s answered %d: %s", ErrOutputUnavailable, agent, resp.StatusCode, bytes.TrimSpace(b))
	}
	var body struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4*maxOutputRead)).Decode(&body); err != nil {
		return Output{}, fmt.Errorf("%w: agent %s sent an answer that is not JSON: %v", ErrOutputUnavailable, agent, err)
	}
	if offset < 0 {
		return Output{Offset: body.Offset, Next: body.Offset}, nil
	}
	return Output{Data: []byte(body.Data), Offset: body.Offset, Next: body.Offset + int64(len(body.Data))}, nil
}
