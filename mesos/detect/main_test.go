package detect_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine, ours or the ZooKeeper client
// library's, outlives the tests. Per-test checks would trip over the
// parallel tests' goroutines.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
