package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
)

// The API's actions call the same scheduler actions as the pages' forms,
// with the Idempotency-Key header as the request id.

// specFields are the fields of a launch spec, as apiSpec names them.
var specFields = []string{"name", "command", "argv", "image", "cpus", "mem", "disk", "ports", "env", "instances", "constraints", "kill_grace_seconds", "wait", "agent"}

// maxKillGrace bounds a kill grace period, as the task page's form does.
const maxKillGrace = time.Hour

// decodeSpec reads a launch spec from a JSON object, listing every field
// that is wrong: unknown, of the wrong type, or refused by the
// scheduler's own checks (each field is checked alone against a spec that
// is otherwise valid, so its error names it; what only the fields
// together make wrong is checked last).
func decodeSpec(b []byte) (scheduler.TaskSpec, error) {
	if b == nil {
		return scheduler.TaskSpec{}, invalid(FieldError{In: "body", Detail: "give the spec to run as a JSON object, such as {\"command\":\"echo hello world\",\"cpus\":0.1,\"mem\":32}"})
	}
	raw, errs := decodeObject(b, specFields...)
	if raw == nil {
		return scheduler.TaskSpec{}, invalid(errs...)
	}
	var spec scheduler.TaskSpec
	var grace float64
	targets := map[string]any{
		"name": &spec.Name, "command": &spec.Command, "argv": &spec.Argv, "image": &spec.Image, "cpus": &spec.CPUs,
		"mem": &spec.Mem, "disk": &spec.Disk, "ports": &spec.Ports, "env": &spec.Env, "instances": &spec.Instances,
		"constraints": &spec.Constraints, "kill_grace_seconds": &grace, "wait": &spec.Wait, "agent": &spec.Agent,
	}
	// A valid spec whose fields are replaced one at a time.
	base := scheduler.TaskSpec{Name: "x", Command: "true", CPUs: 0.1, Mem: 32}
	for _, name := range specFields {
		v, ok := raw[name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(v, targets[name]); err != nil {
			errs = append(errs, FieldError{In: "body", Name: name, Detail: "must be " + jsonKind(targets[name])})
			continue
		}
		alone := base
		switch name {
		case "name":
			alone.Name = spec.Name
		case "command":
			if strings.TrimSpace(spec.Command) == "" {
				continue // said below, if nothing else runs
			}
			alone.Command = spec.Command
		case "argv":
			if len(spec.Argv) == 0 {
				continue // as for command
			}
			alone.Command, alone.Argv = "", spec.Argv
			if len(spec.Argv) > 0 && spec.Argv[0] == "" {
				errs = append(errs, FieldError{In: "body", Name: name, Detail: "the first argument names the program and may not be empty"})
				continue
			}
		case "image":
			alone.Image = spec.Image
		case "cpus":
			alone.CPUs = spec.CPUs
		case "mem":
			alone.Mem = spec.Mem
		case "disk":
			alone.Disk = spec.Disk
		case "ports":
			alone.Ports = spec.Ports
		case "env":
			alone.Env = spec.Env
		case "instances":
			alone.Instances = spec.Instances
			if spec.Instances == 0 {
				errs = append(errs, FieldError{In: "body", Name: name, Detail: "must be 1 or more (leave it out for 1)"})
				continue
			}
		case "constraints":
			alone.Constraints = spec.Constraints
		case "wait":
			continue // any value goes
		case "agent":
			alone.Agent = spec.Agent
		case "kill_grace_seconds":
			if grace < 0 || grace > maxKillGrace.Seconds() || math.IsNaN(grace) {
				errs = append(errs, FieldError{In: "body", Name: name, Detail: "must be from 0 to 3600 seconds"})
				continue
			}
			spec.KillGrace = time.Duration(grace * float64(time.Second))
			alone.KillGrace = spec.KillGrace
		}
		if err := alone.Validate(); err != nil {
			errs = append(errs, FieldError{In: "body", Name: name, Detail: specDetail(err)})
		}
	}
	if len(errs) == 0 {
		if err := spec.Validate(); err != nil {
			errs = append(errs, FieldError{In: "body", Detail: specDetail(err)})
		}
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Name, b.Name) })
		return scheduler.TaskSpec{}, invalid(errs...)
	}
	return spec, nil
}

// specDetail is a spec error's words without the sentinel's.
func specDetail(err error) string {
	return strings.TrimPrefix(err.Error(), scheduler.ErrBadSpec.Error()+": ")
}

// jsonKind names the JSON a field takes.
func jsonKind(target any) string {
	switch target.(type) {
	case *string:
		return "a string"
	case *float64:
		return "a number"
	case *int:
		return "a whole number"
	case *[]string:
		return "a list of strings"
	case *map[string]string:
		return "an object of strings"
	}
	return "valid"
}

// decodeSeconds reads an optional body {"<field>": seconds} with seconds
// in [0, limit]; absent is -1.
func decodeSeconds(b []byte, field string, limit time.Duration) (time.Duration, error) {
	if b == nil {
		return -1, nil
	}
	raw, errs := decodeObject(b, field)
	if raw == nil || len(errs) > 0 {
		return 0, invalid(errs...)
	}
	v, ok := raw[field]
	if !ok {
		return -1, nil
	}
	var secs float64
	if err := json.Unmarshal(v, &secs); err != nil || secs < 0 || secs > limit.Seconds() {
		return 0, invalid(FieldError{In: "body", Name: field, Detail: fmt.Sprintf("must be a number of seconds from 0 to %g", limit.Seconds())})
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// answerAction answers an action's result: status on success (202 when
// the master's work follows later), with the task's address in Location
// when one task started.
func (s *Server) answerAction(w http.ResponseWriter, res scheduler.Result, err error, status int) error {
	if err != nil {
		return err
	}
	v := apiResult{Message: res.Message, TaskIDs: res.TaskIDs}
	if v.TaskIDs == nil {
		v.TaskIDs = []string{}
	}
	if len(v.TaskIDs) == 1 {
		w.Header().Set("Location", apiBase+"/tasks/"+url.PathEscape(v.TaskIDs[0]))
	}
	return writeAPI(w, status, v)
}

// apiLaunch is POST /launch: queue a spec, placed on the next offers that
// fit (at once where held offers fit already).
func (s *Server) apiLaunch(w http.ResponseWriter, r *http.Request) error {
	who, spec, err := actionSpec(w, r)
	if err != nil {
		return err
	}
	res, err := s.sched.Launch(r.Context(), who, spec)
	return s.answerAction(w, res, err, http.StatusAccepted)
}

// actionSpec reads who acts and the spec to run, listing every error of
// both.
func actionSpec(w http.ResponseWriter, r *http.Request) (scheduler.Actor, scheduler.TaskSpec, error) {
	who, werr := apiActor(r)
	b, err := readBody(w, r)
	if err != nil {
		return who, scheduler.TaskSpec{}, err
	}
	spec, serr := decodeSpec(b)
	if werr != nil || serr != nil {
		return who, spec, joinInvalid(werr, serr)
	}
	return who, spec, nil
}

// joinInvalid merges the field errors of several checks into one.
func joinInvalid(errs ...error) error {
	var all []FieldError
	for _, err := range errs {
		var inv *invalidRequest
		switch {
		case err == nil:
		case errors.As(err, &inv):
			all = append(all, inv.errs...)
		default:
			return err
		}
	}
	if len(all) == 0 {
		return nil
	}
	return invalid(all...)
}

// apiAccept is POST /offers/{id}/accept: launch a spec on that held offer.
func (s *Server) apiAccept(w http.ResponseWriter, r *http.Request) error {
	who, spec, err := actionSpec(w, r)
	if err != nil {
		return err
	}
	res, err := s.sched.Accept(r.Context(), who, chi.URLParam(r, "id"), []scheduler.TaskSpec{spec})
	return s.answerAction(w, res, err, http.StatusAccepted)
}

// apiDecline is POST /offers/{id}/decline, with {"refuse_seconds": N}
// optional (absent: the configured default).
func (s *Server) apiDecline(w http.ResponseWriter, r *http.Request) error {
	who, werr := apiActor(r)
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	refuse, rerr := decodeSeconds(b, "refuse_seconds", 365*24*time.Hour)
	if err := joinInvalid(werr, rerr); err != nil {
		return err
	}
	res, err := s.sched.Decline(r.Context(), who, chi.URLParam(r, "id"), refuse)
	return s.answerAction(w, res, err, http.StatusOK)
}

// apiKill is POST /tasks/{id}/kill, with {"grace_seconds": N} optional
// (absent: the task's own kill policy).
func (s *Server) apiKill(w http.ResponseWriter, r *http.Request) error {
	who, werr := apiActor(r)
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	grace, gerr := decodeSeconds(b, "grace_seconds", maxKillGrace)
	if err := joinInvalid(werr, gerr); err != nil {
		return err
	}
	res, err := s.sched.Kill(r.Context(), who, chi.URLParam(r, "id"), max(grace, 0))
	return s.answerAction(w, res, err, http.StatusAccepted)
}

// apiUnqueue is DELETE /queue/{id}: the spec leaves the queue; tasks it
// launched keep running.
func (s *Server) apiUnqueue(w http.ResponseWriter, r *http.Request) error {
	who, err := apiActor(r)
	if err != nil {
		return err
	}
	if err := noBody(w, r); err != nil {
		return err
	}
	res, err := s.sched.Unqueue(r.Context(), who, chi.URLParam(r, "id"))
	return s.answerAction(w, res, err, http.StatusOK)
}

// apiSimple adapts the actions without arguments: reconcile, revive and
// suppress.
func (s *Server) apiSimple(action string, do func(*scheduler.Scheduler, context.Context, scheduler.Actor) (scheduler.Result, error)) func(http.ResponseWriter, *http.Request) error {
	status := http.StatusOK
	if action == "reconcile" { // the answers come as task updates
		status = http.StatusAccepted
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		who, err := apiActor(r)
		if err != nil {
			return err
		}
		if err := noBody(w, r); err != nil {
			return err
		}
		res, err := do(s.sched, r.Context(), who)
		return s.answerAction(w, res, err, status)
	}
}

// noBody refuses a body where none is taken (an empty JSON object is
// fine), so a misplaced argument is not silently ignored.
func noBody(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(w, r)
	if err != nil || b == nil {
		return err
	}
	raw, errs := decodeObject(b)
	if raw == nil || len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}
