package master_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the tests if a goroutine outlives them: every goroutine
// the client starts must stop when Run returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
