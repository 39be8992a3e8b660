package hub_test

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// openSink returns a function that writes a message to /dev/null with one
// write(2), bypassing os.File, whose lock would serialise the subscribers.
func openSink(b *testing.B) (write func([]byte), close func()) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	fd := int(f.Fd())
	write = func(p []byte) {
		if _, err := syscall.Write(fd, p); err != nil {
			panic(err)
		}
	}
	return write, func() { f.Close() }
}
