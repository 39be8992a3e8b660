// Package local is an embedded stand-in for an Apache Mesos master with
// simulated agents, served over real HTTP on a loopback port.
//
// It exists for the zero-configuration demo, for tests, for fault injection
// and for scale benchmarks. Clients reach it only over HTTP, exactly as they
// would reach a real master; it shares the wire types of package mesos and
// must never be imported by the scheduler.
package local
