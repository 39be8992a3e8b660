package scheduler

// FailWrites makes every commit of s fail with err, as a full disk would,
// until it is called with nil.
func FailWrites(s *Scheduler, err error) {
	if err == nil {
		s.store.fault.Store(nil)
		return
	}
	f := func() error { return err }
	s.store.fault.Store(&f)
}
