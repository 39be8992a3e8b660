// Package mesos speaks the Apache Mesos v1 Scheduler HTTP API.
//
// It holds the wire types (generated from mesos.proto, a proto2 subset of
// Mesos's own schema), a codec that writes and reads them exactly as the
// Mesos master does in both application/json and application/x-protobuf,
// helpers for reading resources and attributes, and the Client that
// subscribes to a master and sends calls on the subscription's behalf.
//
// The package knows the protocol and nothing of policy: it never decides
// which offer to accept or when to decline. It imports none of Offerdeck's
// other packages.
package mesos
