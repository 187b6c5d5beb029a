// Package cli is argus's command line: it parses the subcommands and flags
// (`argus server`, `argus check config`, `argus tsdb import|stats`,
// `argus top`, `argus version`), runs them and prints their results. Exit codes: 0 success,
// 1 failure (a check that found problems, a failed import), 2 bad usage.
//
// Imports: internal/apphost (the stats types), internal/config,
// internal/server, internal/tsdb.
package cli
