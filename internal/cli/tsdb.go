package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/argus-mon/argus/internal/tsdb"
)

func tsdbImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("tsdb import")
	dataDir := fs.String("data", "data", "data directory to write blocks into")
	blockDur := fs.Duration("block-duration", 2*time.Hour, "time range of each block written")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "openmetrics" {
		return fmt.Errorf("%w: argus tsdb import openmetrics FILE [--data DIR]", errUsage)
	}
	data, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := tsdb.ImportOpenMetrics(ctx, data, *dataDir, *blockDur)
	if err != nil {
		return fmt.Errorf("import %s: %w (nothing was written)", pos[1], err)
	}
	for _, b := range res.Blocks {
		fmt.Fprintf(stdout, "block %s  %s .. %s  %d series  %d samples\n", b.ULID,
			time.UnixMilli(b.MinTime).UTC().Format(time.RFC3339), time.UnixMilli(b.MaxTime).UTC().Format(time.RFC3339),
			b.Stats.NumSeries, b.Stats.NumSamples)
	}
	fmt.Fprintf(stdout, "imported %d samples of %d series into %d blocks in %s in %s\n",
		res.Samples, res.Series, len(res.Blocks), *dataDir, time.Since(start).Round(time.Millisecond))
	return nil
}

func tsdbStats(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("tsdb stats")
	dataDir := fs.String("data", "data", "data directory")
	top := fs.Int("top", 10, "how many metric and label names to list")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if _, err := os.Stat(*dataDir); err != nil {
		return err
	}
	st, err := tsdb.ReadStats(ctx, *dataDir, *top)
	if err != nil {
		return err
	}
	return st.Print(stdout)
}
