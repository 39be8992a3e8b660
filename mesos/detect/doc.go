// Package detect finds the leading Apache Mesos master the way Mesos's own
// detector does, by watching the masters' group in ZooKeeper, and lets a
// master announce itself in that group the way a real master does.
//
// A master contending for leadership creates an ephemeral sequential znode
// named json.info_<sequence> under the group's path (for example
// /mesos/json.info_0000000042) holding its MasterInfo as JSON. The leader is
// the member with the lowest sequence number. [ZooKeeper] watches the group
// and reports the leader's base URL through [ZooKeeper.Leader]; [Announce]
// keeps such a znode alive for a master (Offerdeck's stand-in master, and
// tests that simulate masters).
//
// Only json.info_ members take part: other children of the path, such as the
// replicated log's log_replicas folder, and the legacy info_ members holding
// binary protobuf (written by masters older than 0.24) are ignored.
//
// The package talks to ZooKeeper only. It must not speak HTTP to a master or
// import package mesos: it parses the few MasterInfo fields it needs with its
// own types, so that the client can depend on it and not the other way round.
package detect
