// Package scheduler is Offerdeck's Mesos framework: it turns master events
// into state the dashboard can show and user actions into scheduler calls.
//
// One goroutine owns the state; readers get consistent snapshots and every
// change is emitted as a typed value with a sequence number, as soon as it
// is applied: what promised durability (acknowledgements to the master, an
// ACCEPT after its launch intent, the answers to actions) waits for the
// commit, a page does not. It talks to a
// master only through package mesos and never imports the stand-in master.
package scheduler
