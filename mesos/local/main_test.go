package local_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the tests if a goroutine outlives them: a stopped master
// must leave nothing running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
