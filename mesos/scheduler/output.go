package scheduler

import (
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
// for a tail.
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
		size, err := readFile(ctx, snap.AgentURL, path, -1, 0)
		if err != nil {
			return Output{}, fmt.Errorf("task output %s: %w", taskID, err)
		}
		offset = max(0, size.Offset+offset)
	}
	out, err := readFile(ctx, snap.AgentURL, path, offset, length)
	if err != nil {
		return Output{}, fmt.Errorf("task output %s: %w", taskID, err)
	}
	return out, nil
}

func (s *Scheduler) taskForOutput(ctx context.Context, taskID string) (*Task, error) {
	ch := make(chan *Task, 1)
	if !s.post(ctx, func(st *state) {
		if t := st.tasks[taskID]; t != nil {
			ch <- t.clone()
			return
		}
		for _, t := range st.older {
			if t.ID == taskID {
				ch <- t.clone()
				return
			}
		}
		ch <- nil
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

// readFile calls the agent's /files/read. An offset of -1 asks for the
// file's size only (the endpoint's quirk).
func readFile(ctx context.Context, agent, path string, offset int64, length int) (Output, error) {
	ctx, cancel := context.WithTimeout(ctx, outputTimeout)
	defer cancel()
	q := url.Values{"path": {path}, "offset": {strconv.FormatInt(offset, 10)}}
	if length > 0 {
		q.Set("length", strconv.Itoa(length))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, agent+"/files/read?"+q.Encode(), nil)
	if err != nil {
		return Output{}, err
	}
	// The browser never talks to agents: the dashboard reads for it.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Output{}, fmt.Errorf("%w: %v", ErrOutputUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return Output{}, fmt.Errorf("%w: agent answered %d: %s", ErrOutputUnavailable, resp.StatusCode, b)
	}
	var body struct {
		Data   string `json:"data"`
		Offset int64  `json:"offset"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4*maxOutputRead)).Decode(&body); err != nil {
		return Output{}, fmt.Errorf("%w: decode agent answer: %v", ErrOutputUnavailable, err)
	}
	if offset < 0 {
		return Output{Offset: body.Offset, Next: body.Offset}, nil
	}
	return Output{Data: []byte(body.Data), Offset: body.Offset, Next: body.Offset + int64(len(body.Data))}, nil
}
