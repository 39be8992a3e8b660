// Package cluster is the whole Mesos cluster as an operator sees it, kept
// for the dashboard's pages: every agent, framework and task, with what
// they hold, and the cluster in numbers. A Watcher follows the master's
// operator API stream (package master) and hands out typed, immutable
// changes, the way package scheduler does for the framework's own offers
// and tasks; when the master refuses that API it reads /master/state at a
// stated interval instead. It is read-only towards the cluster.
package cluster
