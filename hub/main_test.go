package hub_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them; the
// hub starts none, and every test's subscriber goroutines must end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
