// Package recordio reads and writes RecordIO, the framing Mesos uses for its
// streaming HTTP responses: the scheduler and operator SUBSCRIBE streams and
// the agent's output streams.
//
// A record is its length in bytes, written in ASCII decimal, then a line feed
// (0x0A), then exactly that many bytes. Nothing separates a payload from the
// next length, so two heartbeats back to back read
//
//	20\n{"type":"HEARTBEAT"}20\n{"type":"HEARTBEAT"}
//
// The length counts bytes, not characters.
//
// The package moves opaque byte slices. It must not know what a record holds
// (JSON or protobuf), must not speak HTTP and must not import any other
// Offerdeck package. Because the stream comes from the network, Reader treats
// it as hostile: length headers are bounded, records have a size limit checked
// before anything is allocated, and a malformed stream is an error value,
// never a panic.
package recordio
