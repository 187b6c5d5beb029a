package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/argus-mon/argus/internal/loadgen"
)

// diskComparison backfills one OpenMetrics file into both storages, with 2h
// blocks (as cut from the head) and with blocks of up to 24h (as compaction
// makes them), and compares bytes per sample.
func diskComparison(ctx context.Context, o options, work string, report io.Writer) error {
	const interval = 15 * time.Second
	steps := o.diskHours * 3600 / int(interval.Seconds())
	start := time.Now().Add(-time.Duration(o.diskHours) * time.Hour).Truncate(24 * time.Hour)
	gen, err := loadgen.New(loadgen.Options{Targets: o.diskTargets, Seed: 1, Interval: interval, Start: start.UnixMilli()})
	if err != nil {
		return err
	}
	series := len(gen.Series())
	samples := int64(series) * int64(steps)
	path := filepath.Join(work, "backfill.om")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	log.Printf("disk: writing %d series × %d scrapes (%d samples) to %s", series, steps, samples, path)
	if err := gen.WriteOpenMetrics(w, steps); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	f.Close()
	st, _ := os.Stat(path)

	fmt.Fprintf(report, "### Disk: backfill of the same OpenMetrics file\n\n")
	fmt.Fprintf(report, "%d node_exporter-shaped series (%d targets) × %d scrapes at 15s (%dh), every series changing at every scrape: %d samples, %.0f MiB of OpenMetrics text.\n\n",
		series, o.diskTargets, steps, o.diskHours, samples, float64(st.Size())/(1<<20))
	fmt.Fprintf(report, "| blocks | argus bytes | promtool bytes | argus B/sample | Prometheus B/sample | ratio argus/Prometheus | argus import CPU s | promtool CPU s |\n|---|---|---|---|---|---|---|---|\n")
	for _, dur := range []string{"2h", "24h"} {
		adir := filepath.Join(work, "argus-"+dur)
		pdir := filepath.Join(work, "prom-"+dur)
		acpu, err := runMeasured(ctx, o.argus, "tsdb", "import", "openmetrics", path, "--data", adir, "--block-duration", dur)
		if err != nil {
			return err
		}
		pcpu, err := runMeasured(ctx, o.promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", "--max-block-duration="+dur, path, pdir)
		if err != nil {
			return err
		}
		abytes, err := dirBytes(filepath.Join(adir, "blocks"))
		if err != nil {
			return err
		}
		pbytes, err := dirBytes(pdir)
		if err != nil {
			return err
		}
		ab, pb := float64(abytes)/float64(samples), float64(pbytes)/float64(samples)
		fmt.Fprintf(report, "| %s | %d | %d | %.3f | %.3f | **%.2f** | %.1f | %.1f |\n", dur, abytes, pbytes, ab, pb, ab/pb, acpu.Seconds(), pcpu.Seconds())
		os.RemoveAll(adir)
		os.RemoveAll(pdir)
	}
	io.WriteString(report, "\n")
	return os.Remove(path)
}

// runMeasured runs a command to completion and returns its CPU time.
func runMeasured(ctx context.Context, bin string, args ...string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

func dirBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}
