// Package web is the dashboard's HTTP layer: chi routes for pages, action
// POSTs, the live WebSocket and operational endpoints, plus the middleware
// that guards them.
//
// It is the only package that knows the scheduler, the ui components and the
// hub together: it renders each change once with ui, for the topics some
// page follows, and hands the bytes to the hub (see interest). It reads no
// flags or environment variables.
package web
