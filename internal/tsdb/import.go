package tsdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/argus-mon/argus/internal/tsdb/chunkenc"
	"github.com/argus-mon/argus/internal/tsdb/diskio"
)

// ImportResult describes what an import wrote.
type ImportResult struct {
	Blocks     []BlockMeta
	Series     int
	Samples    int
	MinT, MaxT int64
}

// importStageSuffix names the staging directory of an import. Its blocks are
// moved into place only once all of them are written and a "complete" marker
// exists; Open finishes a complete stage and removes an incomplete one, so an
// import is all or nothing even across a crash.
const (
	importStageSuffix = ".import"
	importCompleteTag = "complete"
)

// importSeries gathers the samples of one series, compressed, while the file
// is parsed.
type importSeries struct {
	lset  labels.Labels
	chunk chunkenc.XORAppender
	lastT int64
}

// ImportOpenMetrics parses an OpenMetrics text file with timestamps (as
// promtool tsdb create-blocks-from openmetrics does) and writes its samples as
// blocks of blockDuration (default 2h) into dataDir. A parse error names the line
// and nothing is written. A running argus picks the blocks up at its next
// compaction round.
func ImportOpenMetrics(ctx context.Context, data []byte, dataDir string, blockDuration time.Duration) (ImportResult, error) {
	res := ImportResult{MinT: math.MaxInt64, MaxT: math.MinInt64}
	if blockDuration <= 0 {
		blockDuration = 2 * time.Hour
	}
	series, err := parseOpenMetrics(ctx, data, &res)
	if err != nil {
		return res, err
	}
	res.Series = len(series)
	if res.Samples == 0 {
		return res, errors.New("no samples in input")
	}
	blocks := filepath.Join(dataDir, blocksDir)
	if err := os.MkdirAll(blocks, 0o755); err != nil {
		return res, err
	}
	stage := filepath.Join(blocks, newULID(time.Now())+importStageSuffix)
	if err := os.Mkdir(stage, 0o755); err != nil {
		return res, err
	}
	metas, err := writeImportBlocks(ctx, stage, series, blockDuration.Milliseconds())
	if err != nil {
		os.RemoveAll(stage)
		return res, err
	}
	if err := diskio.WriteFileAtomic(filepath.Join(stage, importCompleteTag), nil); err != nil {
		os.RemoveAll(stage)
		return res, err
	}
	res.Blocks = metas
	return res, finishImportStage(stage)
}

func parseOpenMetrics(ctx context.Context, data []byte, res *ImportResult) ([]*importSeries, error) {
	byHash := map[uint64][]*importSeries{}
	var all []*importSeries
	p := textparse.NewOpenMetricsParser(data, labels.NewSymbolTable())
	lt := lineTracker{data: data}
	var lset labels.Labels
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lt.next(), err)
		}
		switch e {
		case textparse.EntrySeries:
			b, ts, v := p.Series()
			line := lt.at(b)
			if ts == nil {
				return nil, fmt.Errorf("line %d: sample of %s has no timestamp", line, b)
			}
			p.Labels(&lset)
			lset = lset.WithoutEmpty()
			h := lset.Hash()
			var s *importSeries
			for _, c := range byHash[h] {
				if labels.Equal(c.lset, lset) {
					s = c
				}
			}
			if s == nil {
				s = &importSeries{lset: lset.Copy(), lastT: math.MinInt64}
				byHash[h] = append(byHash[h], s)
				all = append(all, s)
			}
			if *ts <= s.lastT {
				return nil, fmt.Errorf("line %d: sample of %s at %d is not after its previous sample at %d", line, b, *ts, s.lastT)
			}
			s.chunk.Append(*ts, v)
			s.lastT = *ts
			res.Samples++
			res.MinT, res.MaxT = min(res.MinT, *ts), max(res.MaxT, *ts)
		case textparse.EntryHistogram:
			b, _, _, _ := p.Histogram()
			return nil, fmt.Errorf("line %d: native histogram %s: not supported yet", lt.at(b), b)
		case textparse.EntryType:
			b, _ := p.Type()
			lt.at(b)
		case textparse.EntryHelp:
			b, _ := p.Help()
			lt.at(b)
		case textparse.EntryUnit:
			b, _ := p.Unit()
			lt.at(b)
		case textparse.EntryComment:
			lt.at(p.Comment())
		}
	}
	return all, nil
}

// lineTracker turns parser positions into line numbers. Every OpenMetrics entry
// is one line, and the parser returns sub-slices of its input, so a slice's
// offset is len(data)-cap(slice) and the failing line of an error is the one
// after the last entry.
type lineTracker struct {
	data []byte
	off  int // offset counted so far
	line int // line of off (1-based)
	last int // line of the last entry
}

func (lt *lineTracker) at(b []byte) int {
	off := cap(lt.data) - cap(b)
	if off < lt.off || off > len(lt.data) {
		return lt.last
	}
	lt.line += bytes.Count(lt.data[lt.off:off], []byte{'\n'})
	lt.off = off
	lt.last = lt.line + 1
	return lt.last
}

func (lt *lineTracker) next() int { return lt.last + 1 }

// writeImportBlocks writes one block per aligned range holding samples into
// the stage directory.
func writeImportBlocks(ctx context.Context, stage string, series []*importSeries, r int64) ([]BlockMeta, error) {
	slices.SortFunc(series, func(a, b *importSeries) int { return labels.Compare(a.lset, b.lset) })
	writers := map[int64]*blockWriter{}
	abort := func() {
		for _, w := range writers {
			w.abort()
		}
	}
	var (
		ts  []int64
		vs  []float64
		xor chunkenc.XORIterator
	)
	for i, s := range series {
		if i%1024 == 0 && ctx.Err() != nil {
			abort()
			return nil, ctx.Err()
		}
		ts, vs = ts[:0], vs[:0]
		xor.Reset(s.chunk.Bytes(), s.chunk.Len())
		for xor.Next() {
			t, v := xor.At()
			ts = append(ts, t)
			vs = append(vs, v)
		}
		if err := xor.Err(); err != nil {
			abort()
			return nil, fmt.Errorf("BUG: re-reading imported samples of %s: %w", s.lset, err)
		}
		for start := 0; start < len(ts); {
			w := floorDiv(ts[start], r)
			end := start + sort64(ts[start:], (w+1)*r)
			bw := writers[w]
			if bw == nil {
				var err error
				bw, err = newBlockWriter(stage, w*r, (w+1)*r, BlockCompaction{Level: 1})
				if err != nil {
					abort()
					return nil, err
				}
				writers[w] = bw
			}
			bw.addSeries(s.lset, ts[start:end], vs[start:end])
			start = end
		}
	}
	var metas []BlockMeta
	for _, w := range writers {
		meta, err := w.finish()
		if err != nil {
			abort()
			return nil, err
		}
		metas = append(metas, meta)
	}
	slices.SortFunc(metas, func(a, b BlockMeta) int { return cmpI64(a.MinTime, b.MinTime) })
	return metas, nil
}

// sort64 returns the number of leading timestamps below limit.
func sort64(ts []int64, limit int64) int {
	i, _ := slices.BinarySearch(ts, limit)
	return i
}

// finishImportStage moves the blocks of a complete stage into the blocks
// directory and removes the stage.
func finishImportStage(stage string) error {
	entries, err := os.ReadDir(stage)
	if err != nil {
		return err
	}
	parent := filepath.Dir(stage)
	for _, e := range entries {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		if err := os.Rename(filepath.Join(stage, e.Name()), filepath.Join(parent, e.Name())); err != nil {
			return fmt.Errorf("move imported block: %w", err)
		}
	}
	if err := diskio.SyncDir(parent); err != nil {
		return err
	}
	return os.RemoveAll(stage)
}
