// Package master speaks the Apache Mesos v1 operator API, the master's
// POST /api/v1: the calls an operator tool makes (GET_STATE, GET_AGENTS,
// ...) and the SUBSCRIBE event stream that reports every framework, agent
// and task of the cluster as it changes.
//
// It holds the wire types (generated from master.proto, a proto2 subset of
// Mesos's mesos.v1.master package, over package mesos's types) and the
// Client that keeps a subscription to the leading master. The package is
// read-only towards the cluster: it sends no call that changes it. It
// imports only package mesos and its helpers.
package master
