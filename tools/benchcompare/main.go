// Command benchcompare measures argus's storage side by side with Debian's
// Prometheus and promtool on the same data in one run (loopback only, bounded):
//
//   - disk: the same OpenMetrics file backfilled with `argus tsdb import` and
//     `promtool tsdb create-blocks-from openmetrics`, bytes per sample of the blocks;
//   - live ingest: the same remote-write stream of node_exporter-shaped series
//     pushed to `argus server` and `prometheus`, CPU per sample and RSS per series;
//   - restart: both killed with SIGKILL after the ingest and restarted, time until
//     /-/ready answers 200.
//
// Usage (make bench-compare runs it with the defaults):
//
//	go run ./tools/benchcompare -argus ./argus [-disk-targets 10 -disk-hours 6]
//	    [-live-targets 100 -live-minutes 60] [-restart-targets 2000]
//
// It prints a Markdown report for docs/benchmarks.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

type options struct {
	argus          string
	prometheus     string
	promtool       string
	diskTargets    int
	diskHours      int
	liveTargets    int
	liveMinutes    int
	restartTargets int
	restartMinutes int
	keep           bool
	realtime       bool
	scrapeTargets  int
	scrapeMinutes  int
	argusBaseline  string
	scrapeSeries   int
}

func main() {
	var o options
	flag.StringVar(&o.argus, "argus", "./argus", "argus binary")
	flag.StringVar(&o.prometheus, "prometheus", "prometheus", "prometheus binary")
	flag.StringVar(&o.promtool, "promtool", "promtool", "promtool binary")
	flag.IntVar(&o.diskTargets, "disk-targets", 10, "node_exporter-shaped targets in the backfill file (0 skips the disk comparison)")
	flag.IntVar(&o.diskHours, "disk-hours", 6, "hours of 15s scrapes in the backfill file")
	flag.IntVar(&o.liveTargets, "live-targets", 100, "targets pushed live (0 skips the live comparison)")
	flag.IntVar(&o.liveMinutes, "live-minutes", 60, "minutes of 15s scrapes pushed live")
	flag.IntVar(&o.restartTargets, "restart-targets", 2000, "targets for the kill -9 restart comparison (about 500 series each; 0 skips it)")
	flag.IntVar(&o.restartMinutes, "restart-minutes", 30, "minutes of 15s scrapes pushed before the kill")
	flag.IntVar(&o.scrapeTargets, "scrape-targets", 100, "loopback targets scraped by both (0 skips the scrape comparison)")
	flag.IntVar(&o.scrapeMinutes, "scrape-minutes", 5, "minutes the scrape comparison measures")
	flag.IntVar(&o.scrapeSeries, "scrape-series", 0, "cut each scraped page after this many series (0: the whole node_exporter page), to measure the fixed cost of a scrape")
	flag.StringVar(&o.argusBaseline, "argus-baseline", "", "a second argus binary (an earlier build) that scrapes the same targets in the same run, for A/B comparisons of scrape changes")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	flag.BoolVar(&o.realtime, "realtime", false, "push the live load in real time (one scrape every 15s) instead of as fast as possible")
	flag.Parse()
	log.SetFlags(log.Ltime)
	for _, bin := range []*string{&o.argus, &o.prometheus, &o.promtool} {
		p, err := exec.LookPath(*bin)
		if err != nil {
			log.Fatalf("%s not found: %v (install the Debian package prometheus; build argus with make build)", *bin, err)
		}
		*bin = p
	}
	work, err := os.MkdirTemp("", "benchcompare-")
	if err != nil {
		log.Fatal(err)
	}
	if !o.keep {
		defer os.RemoveAll(work)
	} else {
		log.Printf("working in %s", work)
	}
	ctx := context.Background()
	// Each section is printed as soon as it is measured, so a long run that is
	// interrupted still reports what it finished.
	report := flushingReport{}
	fmt.Fprintf(report, "Run %s on %s, %d CPUs, %s; peers: %s, %s.\n\n", time.Now().UTC().Format(time.DateOnly),
		hostDesc(), runtime.NumCPU(), runtime.Version(), version(o.prometheus), version(o.promtool))
	if o.diskTargets > 0 {
		if err := diskComparison(ctx, o, work, report); err != nil {
			log.Fatalf("disk comparison: %v", err)
		}
	}
	if o.liveTargets > 0 {
		if err := liveComparison(ctx, o, work, o.liveTargets, o.liveMinutes, false, report); err != nil {
			log.Fatalf("live comparison: %v", err)
		}
	}
	if o.scrapeTargets > 0 {
		if err := scrapeComparison(ctx, o, work, report); err != nil {
			log.Fatalf("scrape comparison: %v", err)
		}
	}
	if o.restartTargets > 0 {
		if err := liveComparison(ctx, o, work, o.restartTargets, o.restartMinutes, true, report); err != nil {
			log.Fatalf("restart comparison: %v", err)
		}
	}
}

// flushingReport writes report lines to stdout as they are completed.
type flushingReport struct{}

func (flushingReport) Write(p []byte) (int, error) { return os.Stdout.Write(p) }

func version(bin string) string {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return bin
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}

func hostDesc() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
