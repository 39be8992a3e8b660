// Package executor runs the tasks of the stand-in master's simulated agents
// and serves their sandboxes the way a Mesos agent's /files endpoints do.
//
// Command tasks run as real processes, one process group each, in a sandbox
// laid out like a Mesos agent's work directory:
//
//	<Root>/slaves/<agentID>/frameworks/<frameworkID>/executors/<executorID>/runs/<containerID>/
//
// with a runs/latest symlink and the files stdout and stderr. Container tasks
// (Docker or Mesos containerizer with an image) are simulated, as are command
// tasks when Config.SimulateCommands is set: no image is pulled, no process
// starts, and the sandbox and the RUNNING update say so. A simulated run's
// sandbox is kept in memory and written to disk when first served, so that a
// simulated launch does no disk I/O (scale mode runs 100,000 of them); a
// waiting simulated task holds no goroutine, at most a timer. The Executor reports
// what happens to a task as Update values: TASK_STARTING, TASK_RUNNING, maybe
// TASK_KILLING, then exactly one terminal state, with the messages and reasons
// that Mesos's command executor uses (mesos-api.md §6.6, §3.7).
//
// It must not know about offers, frameworks' subscriptions, status update
// uuids, acknowledgements, retries or HTTP streaming: the stand-in master turns
// updates into TaskStatus events and delivers them. It reads no flags and no
// environment variables, and it never deletes a sandbox; the owner of Root does.
package executor
