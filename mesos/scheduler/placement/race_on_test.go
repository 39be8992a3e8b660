//go:build race

package placement_test

// raceEnabled reports whether the race detector is on; allocation counts
// are not meaningful under it (the standard library skips such tests too).
const raceEnabled = true
