// Package ui holds the dashboard's templ components: pure functions from a
// view model to HTML, for whole pages and for the fragments that replace
// parts of a page live.
//
// Components take one view-model struct each and do no I/O: no clock, no
// network, no context lookups. Regenerate the *_templ.go files with
// "go generate ./ui" after editing a .templ file.
package ui

// The generated files carry no templ version line: placed just above
// "package ui", it would read as the package's doc comment in a file that
// sorts before this one.
//
//go:generate go tool templ generate -include-version=false
