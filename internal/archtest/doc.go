// Package archtest holds the tests that keep Offerdeck's shape: every
// package documented, and imports only along the flow that
// shared/docs/ARCHITECTURE.md draws. It has no code of its own.
package archtest
