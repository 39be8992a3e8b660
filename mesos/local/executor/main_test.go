package executor_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// goroutine the Executor starts must have stopped when Close returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
