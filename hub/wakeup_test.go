package hub_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkWakeup compares the two ways a publish can wake the parked
// subscribers of a topic: a signal on each one's own channel (what the hub
// does) or closing a channel they all wait on and replacing it. An op is one
// publish that wakes every subscriber; each subscriber then parks again.
func BenchmarkWakeup(b *testing.B) {
	for _, subs := range []int{1_000, 20_000} {
		for _, m := range []struct {
			name  string
			start func(subs int, ready func()) (wake func(), stop func())
		}{
			{"signal", startSignal},
			{"broadcast", startBroadcast},
		} {
			b.Run(fmt.Sprintf("%s/subs=%d", m.name, subs), func(b *testing.B) {
				var pending atomic.Int64
				pending.Store(int64(subs))
				allReady := make(chan struct{}, 1)
				ready := func() {
					if pending.Add(-1) == 0 {
						pending.Store(int64(subs))
						allReady <- struct{}{}
					}
				}
				wake, stop := m.start(subs, ready)
				defer stop()
				<-allReady
				b.ResetTimer()
				for range b.N {
					wake()
					<-allReady
				}
				b.StopTimer()
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(subs), "ns/wakeup")
			})
		}
	}
}

// startSignal parks each subscriber on its own channel of capacity 1,
// registered in a list that a wake takes and signals.
func startSignal(subs int, ready func()) (wake func(), stop func()) {
	var (
		mu      sync.Mutex
		waiters []chan struct{}
		wg      sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	for range subs {
		ctx, cancel := context.WithCancel(ctx)
		ch := make(chan struct{}, 1)
		wg.Go(func() {
			defer cancel()
			for {
				mu.Lock()
				waiters = append(waiters, ch)
				mu.Unlock()
				ready()
				select {
				case <-ch:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	var spare []chan struct{}
	wake = func() {
		mu.Lock()
		ws := waiters
		waiters = spare[:0]
		mu.Unlock()
		for _, ch := range ws {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
		spare = ws
	}
	return wake, func() { cancel(); wg.Wait() }
}

// startBroadcast parks every subscriber on the topic's current channel; a
// wake closes it and installs a new one.
func startBroadcast(subs int, ready func()) (wake func(), stop func()) {
	var (
		mu  sync.Mutex
		cur = make(chan struct{})
		wg  sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	for range subs {
		ctx, cancel := context.WithCancel(ctx)
		wg.Go(func() {
			defer cancel()
			for {
				mu.Lock()
				ch := cur
				mu.Unlock()
				ready()
				select {
				case <-ch:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	wake = func() {
		mu.Lock()
		old := cur
		cur = make(chan struct{})
		mu.Unlock()
		close(old)
	}
	return wake, func() { cancel(); wg.Wait() }
}
