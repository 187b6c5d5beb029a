package tsdb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/argus-mon/argus/internal/tsdb/diskio"
)

// Stats summarises a data directory for `argus tsdb stats`.
type Stats struct {
	Dir          string
	Blocks       []BlockMeta
	BlockBytes   int64
	BlockSamples uint64
	// HeadIncluded is false when a running argus holds the directory; then
	// only blocks are counted.
	HeadIncluded bool
	HeadSeries   int
	HeadSamples  uint64
	HeadBytes    int64 // write-ahead log, series log and head parts
	Series       int
	Samples      uint64
	MinT, MaxT   int64
	// TopMetrics are metric names by series count; TopLabels are label names
	// by number of distinct values (cardinality).
	TopMetrics []NameCount
	TopLabels  []NameCount
}

// NameCount is a name and a count.
type NameCount struct {
	Name  string
	Count int
}

// ReadStats computes statistics of the data directory. If no other process
// holds it, it is opened normally (which replays its logs); otherwise only its
// blocks are read, without modifying anything.
func ReadStats(ctx context.Context, dir string, top int) (*Stats, error) {
	st := &Stats{Dir: dir, MinT: math.MaxInt64, MaxT: math.MinInt64}
	db, err := Open(ctx, dir, Options{noBackground: true})
	switch {
	case err == nil:
		defer db.Close()
		st.HeadIncluded = true
		return st, st.fromDB(ctx, db, top)
	case !errors.Is(err, ErrLocked):
		return nil, err
	}
	dirs, err := listBlockDirs(filepath.Join(dir, blocksDir), false)
	if err != nil {
		return nil, err
	}
	ro := &DB{dir: dir, head: nil}
	for _, d := range dirs {
		b, err := OpenBlock(d)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", d, err)
		}
		defer b.close()
		ro.blocks = append(ro.blocks, b)
	}
	sortBlocks(ro.blocks)
	return st, st.fromDB(ctx, ro, top)
}

func (st *Stats) fromDB(ctx context.Context, db *DB, top int) error {
	for _, b := range db.blocks {
		st.Blocks = append(st.Blocks, b.meta)
		st.BlockBytes += b.Size()
		st.BlockSamples += b.meta.Stats.NumSamples
		st.MinT, st.MaxT = min(st.MinT, b.meta.MinTime), max(st.MaxT, b.meta.MaxTime-1)
	}
	if db.head != nil {
		st.HeadSeries = db.head.series.count()
		var err error
		if st.HeadBytes, err = db.nonBlockBytes(); err != nil {
			return err
		}
	}
	var q *querier
	if db.head != nil {
		sq, err := db.Querier(math.MinInt64, math.MaxInt64)
		if err != nil {
			return err
		}
		defer sq.Close()
		q = sq.(*querier)
	} else {
		q = &querier{mint: math.MinInt64, maxt: math.MaxInt64, blocks: db.blocks}
	}
	metrics := map[string]int{}
	values := map[string]map[string]struct{}{}
	ss := q.Select(ctx, false, nil)
	var it upstream.Iterator
	for ss.Next() {
		s := ss.At()
		st.Series++
		lset := s.Labels()
		metrics[lset.Get(labels.MetricName)]++
		lset.Range(func(l labels.Label) {
			if values[l.Name] == nil {
				values[l.Name] = map[string]struct{}{}
			}
			values[l.Name][l.Value] = struct{}{}
		})
		if db.head == nil {
			continue
		}
		// Head samples are counted by reading them: parts may still hold
		// samples already cut into blocks, which the querier leaves out.
		qs := s.(*querySeries)
		hs := querySeries{chunks: headChunks(qs.chunks), mint: q.headMinT, maxt: math.MaxInt64}
		it = hs.Iterator(it)
		for it.Next() != upstream.ValNone {
			t := it.AtT()
			st.HeadSamples++
			st.MinT, st.MaxT = min(st.MinT, t), max(st.MaxT, t)
		}
		if err := it.Err(); err != nil {
			return err
		}
	}
	if err := ss.Err(); err != nil {
		return err
	}
	st.Samples = st.BlockSamples + st.HeadSamples
	for name, n := range metrics {
		st.TopMetrics = append(st.TopMetrics, NameCount{name, n})
	}
	for name, vals := range values {
		st.TopLabels = append(st.TopLabels, NameCount{name, len(vals)})
	}
	st.TopMetrics = topN(st.TopMetrics, top)
	st.TopLabels = topN(st.TopLabels, top)
	return nil
}

func headChunks(cs []chunkRef) []chunkRef {
	var out []chunkRef
	for _, c := range cs {
		if c.kind == chunkXOR {
			out = append(out, c)
		}
	}
	return out
}

func topN(l []NameCount, n int) []NameCount {
	slices.SortFunc(l, func(a, b NameCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if n > 0 && len(l) > n {
		l = l[:n]
	}
	return l
}

// Print writes the statistics as text.
func (st *Stats) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Data directory:\t%s\n", st.Dir)
	if st.Samples > 0 {
		fmt.Fprintf(tw, "Time covered:\t%s .. %s\n", fmtMillis(st.MinT), fmtMillis(st.MaxT))
	}
	fmt.Fprintf(tw, "Series:\t%d\n", st.Series)
	fmt.Fprintf(tw, "Samples:\t%d\n", st.Samples)
	fmt.Fprintf(tw, "Blocks:\t%d (%d samples, %s)\n", len(st.Blocks), st.BlockSamples, fmtBytes(st.BlockBytes))
	if st.BlockSamples > 0 {
		fmt.Fprintf(tw, "Bytes per sample in blocks:\t%.3f\n", float64(st.BlockBytes)/float64(st.BlockSamples))
	}
	if st.HeadIncluded {
		fmt.Fprintf(tw, "Head:\t%d series, %d samples, %s of logs and parts\n", st.HeadSeries, st.HeadSamples, fmtBytes(st.HeadBytes))
	} else {
		fmt.Fprintf(tw, "Head:\tnot read: a running argus holds the directory (see its argus_tsdb_* metrics)\n")
	}
	fmt.Fprintf(tw, "\nTop metric names by series:\n")
	for _, nc := range st.TopMetrics {
		fmt.Fprintf(tw, "  %d\t%s\n", nc.Count, nc.Name)
	}
	fmt.Fprintf(tw, "\nLabel names by distinct values:\n")
	for _, nc := range st.TopLabels {
		fmt.Fprintf(tw, "  %d\t%s\n", nc.Count, nc.Name)
	}
	return tw.Flush()
}

func fmtMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// blocksBytes is the size of the blocks directory, for tests and stats.
func blocksBytes(dir string) (int64, error) {
	return diskio.DirSize(filepath.Join(dir, blocksDir))
}
