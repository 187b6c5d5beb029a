// Command argus is a single-binary monitoring stack: it hosts apps, scrapes and
// stores metrics, answers PromQL, evaluates rules, routes alerts and shows
// dashboards. See README.md; `argus help` lists the subcommands.
package main

import (
	"context"
	"os"

	"github.com/argus-mon/argus/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
