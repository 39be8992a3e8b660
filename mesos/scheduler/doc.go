// Package scheduler is Offerdeck's Mesos framework: it turns master events
// into state the dashboard can show and user actions into scheduler calls.
//
// One goroutine owns the state; readers get consistent snapshots and every
// change is emitted as a typed value with a sequence number. It talks to a
// master only through package mesos and never imports the stand-in master.
package scheduler
