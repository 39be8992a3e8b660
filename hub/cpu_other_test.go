//go:build !linux

package hub_test

import (
	"testing"
	"time"
)

// cpuTime reports false: the benchmarks read CPU time on Linux only.
func cpuTime() (time.Duration, bool) { return 0, false }

// openSink returns a sink that discards messages without a system call:
// the write benchmark is meaningful on Linux only.
func openSink(*testing.B) (write func([]byte), close func()) {
	return func([]byte) {}, func() {}
}
