// Package placement decides whether a task spec fits a Mesos offer, says
// why not, and carves the resources for its instances out of the offer.
//
// It parses the attribute constraints users type in the launch form
// (rack==r2d2; pod~demo; hostname unique), checks a [Need] and its
// constraints against an offer with [Fit], which reports every reason an
// offer does not fit in words the dashboard shows as they are ("needs mem
// 512, agent-2.demo has 496"), and picks concrete resources with [Take],
// [Pack] or a [Remaining] offer, in the offer's own resource format so the
// result goes straight into a TaskInfo.
//
// Everything here is a pure function of its arguments. The package must not
// do I/O, keep state between calls, start goroutines or decide policy such
// as which offer to use or when to decline: the scheduler calls it with its
// own state. It imports only package mesos and the standard library.
//
// Resources are counted the way the master counts them: scalars in fixed
// point with three decimal places, ports as inclusive ranges. Only plain
// resources the offer's role may use are counted: unreserved ones and those
// reserved for the offer's allocation role (or an ancestor of it); persistent
// volumes and other disks with a source, revocable and shared resources are
// left alone.
package placement
