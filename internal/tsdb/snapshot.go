package tsdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/argus-mon/argus/internal/tsdb/diskio"
)

// Snapshot writes a copy of the database into dir, which must be empty or not
// exist, as a data directory argus can open: every block is hard-linked (blocks
// are immutable, so a link costs no disk), and with withHead the head's samples
// are written as one more block. The background work (flushes, block cuts,
// merges, retention) waits while the snapshot is taken, so the blocks and the
// head it copies are one consistent view; appends carry on, and samples
// committed during the snapshot may or may not be in it.
func (db *DB) Snapshot(ctx context.Context, dir string, withHead bool) error {
	db.compactMu.Lock()
	defer db.compactMu.Unlock()
	bdir := filepath.Join(dir, blocksDir)
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for _, b := range db.Blocks() {
		if err := linkDir(b.dir, filepath.Join(bdir, filepath.Base(b.dir))); err != nil {
			return fmt.Errorf("snapshot block %s: %w", b.meta.ULID, err)
		}
	}
	if withHead {
		if err := db.snapshotHead(ctx, bdir); err != nil {
			return fmt.Errorf("snapshot head: %w", err)
		}
	}
	if err := diskio.SyncDir(bdir); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// snapshotHead writes the head's samples (those not yet in blocks) as a block
// in dir. compactMu is held, so no flush or block cut moves them meanwhile.
func (db *DB) snapshotHead(ctx context.Context, dir string) error {
	h := db.head
	mint := max(h.minMax.min.Load(), h.truncatedBefore.Load())
	maxt := h.minMax.max.Load()
	if maxt == math.MinInt64 || mint > maxt {
		return nil // An empty head.
	}
	q := db.headQuerier(mint, maxt)
	defer q.Close()
	// HeadMaxTime stays 0, as for an imported block: the snapshot has no head
	// of its own for it to bound.
	w, err := newBlockWriter(dir, mint, maxt+1, BlockCompaction{Level: 1})
	if err != nil {
		return err
	}
	ss := q.Select(ctx, false, nil)
	var (
		ts []int64
		vs []float64
		it upstream.Iterator
	)
	for ss.Next() {
		s := ss.At()
		ts, vs = ts[:0], vs[:0]
		it = s.Iterator(it)
		for it.Next() == upstream.ValFloat {
			t, v := it.At()
			ts = append(ts, t)
			vs = append(vs, v)
		}
		if err := it.Err(); err != nil {
			w.abort()
			return fmt.Errorf("series %s: %w", s.Labels(), err)
		}
		w.addSeries(s.Labels(), ts, vs)
	}
	if err := ss.Err(); err != nil {
		w.abort()
		return err
	}
	if w.meta.Stats.NumSamples == 0 {
		w.abort()
		return nil
	}
	_, err = w.finish()
	return err
}

// linkDir recreates the files of the block directory src in dst as hard links,
// or as copies where the file system refuses links (another device).
func linkDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if err := os.Link(from, to); err != nil {
			if errors.Is(err, os.ErrExist) {
				return err
			}
			if err := copyFile(from, to); err != nil {
				return err
			}
		}
	}
	return diskio.SyncDir(dst)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
