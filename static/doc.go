// Package static embeds the dashboard's own CSS and client script.
//
// The files are served as they are written: there is no build step and no
// JavaScript framework, so "go build" on a fresh clone never needs npm.
package static
