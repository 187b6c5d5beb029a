// Package ui serves argus's web UI: the single-page application built from
// the ui/ directory of the repository (TypeScript, Vite) and embedded in the
// binary. When the binary was built before the UI was, it serves a page that
// says how to build it, so that `go build` alone still gives a working
// server.
//
// Every answer carries a Content-Security-Policy that allows only the UI's
// own scripts: no inline scripts and no eval, so a label or annotation value
// that contains markup cannot run code even if a page forgot to escape it.
package ui
