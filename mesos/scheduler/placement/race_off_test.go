//go:build !race

package placement_test

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
