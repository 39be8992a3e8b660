package ui

import "strings"

// TaskState returns how a Mesos task state (e.g. "TASK_RUNNING") is shown.
// Colour is never the only signal: every state has a word and an icon too.
func TaskState(name string) State {
	word := strings.ToLower(strings.TrimPrefix(name, "TASK_"))
	st := State{Name: name, Word: strings.ReplaceAll(word, "_", " ")}
	switch name {
	case "TASK_STAGING", "TASK_STARTING":
		st.Class, st.Icon = "st-starting", "◌"
	case "TASK_RUNNING":
		st.Class, st.Icon = "st-running", "●"
	case "TASK_FINISHED":
		st.Class, st.Icon = "st-finished", "✓"
	case "TASK_FAILED", "TASK_ERROR":
		st.Class, st.Icon = "st-failed", "✕"
	case "TASK_KILLED", "TASK_KILLING":
		st.Class, st.Icon = "st-killed", "■"
	case "TASK_LOST", "TASK_UNREACHABLE", "TASK_GONE", "TASK_GONE_BY_OPERATOR", "TASK_DROPPED", "TASK_UNKNOWN":
		st.Class, st.Icon = "st-lost", "?"
	default:
		st.Class, st.Icon = "st-unknown", "·"
	}
	return st
}
