package mesos

import (
	"errors"
	"fmt"
	"time"
)

// State is where a Client stands with the master.
type State int

// The states a Client moves through. It starts Disconnected, is
// Connecting while a SUBSCRIBE is under way, and Subscribed once the master
// has answered with SUBSCRIBED; any failure brings it back to Disconnected.
const (
	Disconnected State = iota
	Connecting
	Subscribed
)

// String returns the state's name in lower case.
func (s State) String() string {
	switch s {
	case Disconnected:
		return "disconnected"
	case Connecting:
		return "connecting"
	case Subscribed:
		return "subscribed"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Status is a snapshot of a Client's connection to the master.
type Status struct {
	State State
	// Since is when State was entered.
	Since time.Time
	// Master is the base URL of the master subscribed to, or being tried.
	Master string
	// MasterInfo is what the master said of itself in SUBSCRIBED.
	MasterInfo *MasterInfo
	// FrameworkID is the framework's id once the master assigned one (or
	// the configured one before that); empty for a new framework.
	FrameworkID string
	// StreamID is the Mesos-Stream-Id of the current subscription.
	StreamID string
	// HeartbeatInterval is the interval the master announced.
	HeartbeatInterval time.Duration
	// LastEvent is when the last event of any kind arrived.
	LastEvent time.Time
	// Err is why the last subscription ended or the last attempt failed.
	Err error
	// Attempt counts consecutive failed attempts; RetryAt is when the next
	// one starts while Disconnected.
	Attempt int
	RetryAt time.Time
}

// ErrNotSubscribed is returned by Call while the client has no live
// subscription.
var ErrNotSubscribed = errors.New("not subscribed to a master")

// ErrHeartbeatTimeout ends a subscription on which no event arrived for
// Config.HeartbeatMisses heartbeat intervals.
var ErrHeartbeatTimeout = errors.New("no event within the heartbeat deadline")

// ErrLeaderChanged ends a subscription when the detector names another
// leader.
var ErrLeaderChanged = errors.New("leading master changed")

// ErrStaleSubscription ends a subscription after a call was answered in a
// way that shows the master no longer knows it (a redirect, or 403 "not
// subscribed").
var ErrStaleSubscription = errors.New("subscription is stale")

// MasterError is an ERROR event: the master refused the subscription or
// ended it ("Framework failed over", "Framework has been removed"). Run
// returns it rather than re-subscribing, because subscribing again would
// get the same answer or take the framework back from whoever failed it
// over; the caller decides what to do.
type MasterError struct {
	Message string
}

// Error implements error.
func (e *MasterError) Error() string { return "master ended the subscription: " + e.Message }

// FrameworkRemoved reports whether the master said the framework id is no
// longer valid, so that a new registration is the only way on.
func (e *MasterError) FrameworkRemoved() bool {
	return e.Message == "Framework has been removed"
}

// APIError is a non-2xx answer of the master to a request.
type APIError struct {
	// Op is what was asked, e.g. "SUBSCRIBE" or "ACCEPT".
	Op string
	// Status is the HTTP status code and Message the body the master sent.
	Status  int
	Message string
	// Location is the redirect target of a 307.
	Location string
}

// Error implements error.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "(no message)"
	}
	if e.Location != "" {
		msg += " (location " + e.Location + ")"
	}
	return fmt.Sprintf("%s: master answered %d: %s", e.Op, e.Status, msg)
}
