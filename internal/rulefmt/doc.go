// Package rulefmt reads rule files in Prometheus's format: groups of
// recording and alerting rules, validated as Prometheus validates them,
// with the same error messages (a test compares it with upstream
// model/rulefmt, and FuzzParse keeps them equal).
//
// It reproduces upstream model/rulefmt because that package imports the
// upstream PromQL engine (to test-parse templates), which argus does not
// link; templates are test-parsed with internal/template instead. It also
// recognises rule files in the Prometheus 1.x syntax (DetectLegacy) and
// suggests a translation.
//
// Everything here is a pure function of its input, safe for concurrent use.
//
// Imports: internal/template.
package rulefmt
