package web

import (
	"errors"
	"testing"

	"github.com/offerdeck/offerdeck/mesos/scheduler"
	"github.com/offerdeck/offerdeck/ui"
)

// FuzzLaunchForm feeds arbitrary form fields through the launch form's
// parsing and the spec's validation: never a panic, every refusal lists
// its problems, and what specOf accepts the scheduler accepts.
func FuzzLaunchForm(f *testing.F) {
	f.Add("hello", "echo hello world", "", "0.1", "32", "", "", "1", "", "")
	f.Add("x", "", "nginx:1.25", "1e309", "NaN", "-1", "99999999999999999999", "1", "A=1\nB", "rack==r2d2; pod~[")
	f.Add("../etc", "sleep 1", "", "0.5", "64", "0", "2", "101", "=x", "hostname unique")
	f.Add("\x00\xff", "\xff\xfe", "", "Infinity", "", "", "", "", "PORT0=1", "a!~(b")
	f.Fuzz(func(t *testing.T, name, command, image, cpus, mem, disk, ports, instances, env, constraints string) {
		spec, err := specOf(ui.LaunchFields{Name: name, Command: command, Image: image, CPUs: cpus, Mem: mem, Disk: disk,
			Ports: ports, Instances: instances, Env: env, Constraints: constraints})
		var specErr *scheduler.SpecError
		if err != nil {
			if !errors.As(err, &specErr) || !errors.Is(err, scheduler.ErrBadSpec) || len(specErr.Problems) == 0 {
				t.Fatalf("specOf error %v is not a SpecError with its problems", err)
			}
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("specOf accepted a spec that Validate refuses: %v", err)
		}
	})
}
