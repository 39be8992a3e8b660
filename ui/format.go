package ui

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func joinComma(s []string) string { return strings.Join(s, ", ") }

// plural is "1 offer", "2 offers": n with the word in the right number.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// stamp is a timestamp as a <time> element carries it: RFC 3339 with
// milliseconds, in UTC.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// clock is a timestamp as the server writes it for a reader without the
// client script: the time of day, with the date when it is not today's.
func clock(t time.Time) string {
	t = t.Local()
	if y, m, d := t.Date(); y == time.Now().Year() && m == time.Now().Month() && d == time.Now().Day() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

// taskURL is the address of a task's page: its id as one escaped path
// segment, so that any id (spaces, slashes, non-ASCII) opens its task.
func taskURL(id string) string { return "/tasks/" + url.PathEscape(id) }

// onOff is "on" or "off".
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
