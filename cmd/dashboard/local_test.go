package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offerdeck/offerdeck/mesos"
	"github.com/offerdeck/offerdeck/mesos/recordio"
)

// TestLocalServesTheSchedulerAPI runs "dashboard local" and subscribes to
// it the way the README's curl session does.
func TestLocalServesTheSchedulerAPI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"local", "--listen", addr, "--sandbox-dir", t.TempDir(), "--simulate"}, envOf(nil), io.Discard, &syncBuffer{b: &stderr})
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("dashboard local exited %d", code)
			}
		case <-time.After(10 * time.Second):
			t.Error("dashboard local did not stop")
		}
	}()

	var resp *http.Response
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/v1/scheduler",
			strings.NewReader(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"me","name":"curl"}}}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err = http.DefaultClient.Do(req)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	defer resp.Body.Close()
	r := recordio.NewReader(resp.Body, 0)
	var types []string
	for len(types) < 3 {
		rec, err := r.ReadRecord()
		if err != nil {
			t.Fatalf("read stream: %v (got %v)", err, types)
		}
		e := new(mesos.Event)
		if err := mesos.UnmarshalJSON(rec, e); err != nil {
			t.Fatal(err)
		}
		types = append(types, e.GetType().String())
	}
	if strings.Join(types, ",") != "SUBSCRIBED,HEARTBEAT,OFFERS" {
		t.Errorf("stream began %v, want SUBSCRIBED, HEARTBEAT, OFFERS", types)
	}
}

func TestLocalHelpAndBadFlags(t *testing.T) {
	var out bytes.Buffer
	if code := run(t.Context(), []string{"local", "--help"}, envOf(nil), &out, io.Discard); code != 0 {
		t.Errorf("local --help exited %d", code)
	}
	for _, want := range []string{"--agents", "OFFERDECK_SANDBOX_DIR", "curl"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("local --help lacks %q", want)
		}
	}
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"local", "--agents", "lots"}, envOf(nil), io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "--agents") {
		t.Errorf("local --agents lots = %d %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run(t.Context(), []string{"local", "--health-checks", "-5"}, envOf(nil), io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "--health-checks") {
		t.Errorf("local --health-checks -5 = %d %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run(t.Context(), []string{"local", "--run-time", "-1s"}, envOf(nil), io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "--run-time") {
		t.Errorf("local --run-time -1s = %d %q", code, stderr.String())
	}
}

// TestLocalRunTimeZeroRunsUntilKilled: --run-time 0 is the stand-in's "run
// until killed", as its usage says, not an error; the default is 5 s.
func TestLocalRunTimeZeroRunsUntilKilled(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want time.Duration
	}{
		{nil, nil, 5 * time.Second},
		{[]string{"--run-time", "0"}, nil, 0},
		{nil, map[string]string{"OFFERDECK_SIMULATED_RUN_TIME": "0s"}, 0},
		{[]string{"--run-time", "90s"}, nil, 90 * time.Second},
	} {
		var c localConfig
		getenv := envOf(tc.env)
		if err := parseOptions("dashboard local", localIntro, localOptions(&c, getenv), tc.args, getenv, io.Discard); err != nil {
			t.Errorf("%v %v: %v", tc.args, tc.env, err)
			continue
		}
		if c.RunTime != tc.want {
			t.Errorf("%v %v: run time %v, want %v", tc.args, tc.env, c.RunTime, tc.want)
		}
	}
}
