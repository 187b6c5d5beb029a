package wal

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// faultFiles creates real segment files whose writes fail like a full disk
// once a byte budget is spent, and whose Truncate and Sync can be made to
// fail. The bytes that "fit" are really written, as a kernel would.
type faultFiles struct {
	mu           sync.Mutex
	budget       int64 // bytes writes may still add; negative is unlimited
	failTruncate bool
	failSync     bool
	syncs        int
	created      int
}

func (ff *faultFiles) create(path string) (segmentFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, err
	}
	ff.mu.Lock()
	ff.created++
	ff.mu.Unlock()
	return &faultFile{ff: ff, f: f}, nil
}

func (ff *faultFiles) set(fn func(ff *faultFiles)) {
	ff.mu.Lock()
	defer ff.mu.Unlock()
	fn(ff)
}

type faultFile struct {
	ff *faultFiles
	f  *os.File
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	f.ff.mu.Lock()
	defer f.ff.mu.Unlock()
	if f.ff.budget < 0 || int64(len(p)) <= f.ff.budget {
		if f.ff.budget >= 0 {
			f.ff.budget -= int64(len(p))
		}
		return f.f.WriteAt(p, off)
	}
	n, err := f.f.WriteAt(p[:f.ff.budget], off)
	f.ff.budget = 0
	if err != nil {
		return n, err
	}
	return n, syscall.ENOSPC
}

func (f *faultFile) Sync() error {
	f.ff.mu.Lock()
	defer f.ff.mu.Unlock()
	f.ff.syncs++
	if f.ff.failSync {
		return syscall.EIO
	}
	return f.f.Sync()
}

func (f *faultFile) Truncate(size int64) error {
	f.ff.mu.Lock()
	defer f.ff.mu.Unlock()
	if f.ff.failTruncate {
		return syscall.EIO
	}
	return f.f.Truncate(size)
}

func (f *faultFile) Close() error { return f.f.Close() }

func openFault(t *testing.T, dir string, opts Options, ff *faultFiles) *WAL {
	t.Helper()
	w, err := open(dir, opts, ff.create)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return w
}

// TestDiskFull fills the "disk" at many byte offsets, including inside
// headers, payloads and page padding, then frees space and logs more. Every
// record whose Log succeeded must replay, and when the failed write can be
// truncated nothing else may.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	sizes := []int{100, 5000, PageSize + 300, 0, 31000, 7, 3 * PageSize}
	for _, failTruncate := range []bool{false, true} {
		for budget := int64(0); budget < 4*PageSize; budget += 3001 {
			ff := &faultFiles{budget: budget, failTruncate: failTruncate}
			dir := t.TempDir()
			w := openFault(t, dir, Options{SyncInterval: time.Hour, SegmentSize: 8 * PageSize}, ff)
			var ok, failed [][]byte
			var sawErr bool
			for i := range 40 {
				if i == 20 {
					ff.set(func(ff *faultFiles) { ff.budget = -1 }) // space freed
				}
				batch := [][]byte{testRecord(i, sizes[i%len(sizes)]), testRecord(1000+i, sizes[(i+3)%len(sizes)])}
				if err := w.Log(batch...); err != nil {
					if !errors.Is(err, syscall.ENOSPC) {
						t.Fatalf("budget %d: Log error %v, want ENOSPC", budget, err)
					}
					sawErr = true
					failed = append(failed, batch...)
					continue
				}
				ok = append(ok, batch...)
			}
			closeTest(t, w)
			if !sawErr {
				t.Fatalf("budget %d: no write failed", budget)
			}
			got, stats := replayAll(t, dir, 0)
			if !failTruncate {
				equalRecords(t, got, ok)
				if len(stats.Corruptions) != 0 || stats.TornSegment != -1 {
					t.Fatalf("budget %d: unexpected damage %+v", budget, stats)
				}
				continue
			}
			// The abandoned segment may keep whole records of the failed
			// call, but never a wrong or reordered one.
			if !isSubsequence(ok, got) {
				t.Fatalf("budget %d: a successfully logged record is missing", budget)
			}
			all := append(append([][]byte{}, ok...), failed...)
			for _, g := range got {
				if !isSubsequence([][]byte{g}, all) {
					t.Fatalf("budget %d: replayed a record that was never logged", budget)
				}
			}
		}
	}
}

// TestFailedTruncateAbandonsSegment checks that the next Log after an
// untruncatable failed write goes to a new segment, so the torn bytes are
// never followed by good records in the same file.
func TestFailedTruncateAbandonsSegment(t *testing.T) {
	t.Parallel()
	ff := &faultFiles{budget: 1000, failTruncate: true}
	dir := t.TempDir()
	w := openFault(t, dir, quietOpts(), ff)
	if err := w.Log(testRecord(0, 500)); err != nil {
		t.Fatal(err)
	}
	if err := w.Log(testRecord(1, 2000)); err == nil {
		t.Fatal("Log succeeded past the budget")
	}
	ff.set(func(ff *faultFiles) { ff.budget = -1 })
	if err := w.Log(testRecord(2, 500)); err != nil {
		t.Fatal(err)
	}
	_, last, err := w.Segments()
	if err != nil || last != 1 {
		t.Fatalf("Segments last = %d, %v; want 1", last, err)
	}
	closeTest(t, w)
	got, stats := replayAll(t, dir, 0)
	equalRecords(t, got, [][]byte{testRecord(0, 500), testRecord(2, 500)})
	if len(stats.Corruptions) != 1 || stats.Corruptions[0].Segment != 0 || stats.Corruptions[0].Offset != 507 {
		t.Fatalf("want one corruption at the end of segment 0 offset 507, got %+v", stats.Corruptions)
	}
}

func TestSyncPolicy(t *testing.T) {
	t.Parallel()
	t.Run("every_log", func(t *testing.T) {
		t.Parallel()
		ff := &faultFiles{budget: -1}
		w := openFault(t, t.TempDir(), Options{SyncInterval: -1}, ff)
		for i := range 5 {
			if err := w.Log(testRecord(i, 10)); err != nil {
				t.Fatal(err)
			}
			ff.set(func(ff *faultFiles) {
				if ff.syncs != i+1 {
					t.Errorf("after %d Log calls: %d fsyncs", i+1, ff.syncs)
				}
			})
		}
		closeTest(t, w)
	})
	t.Run("interval", func(t *testing.T) {
		t.Parallel()
		ff := &faultFiles{budget: -1}
		w := openFault(t, t.TempDir(), Options{SyncInterval: 5 * time.Millisecond}, ff)
		time.Sleep(30 * time.Millisecond)
		ff.set(func(ff *faultFiles) {
			if ff.syncs != 0 {
				t.Errorf("%d fsyncs without data, want 0", ff.syncs)
			}
		})
		if err := w.Log(testRecord(0, 10)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool {
			ff.mu.Lock()
			defer ff.mu.Unlock()
			return ff.syncs == 1
		})
		time.Sleep(30 * time.Millisecond)
		ff.set(func(ff *faultFiles) {
			if ff.syncs != 1 {
				t.Errorf("%d fsyncs after one Log, want 1", ff.syncs)
			}
		})
		closeTest(t, w)
	})
}

func TestFsyncFailureAbandonsSegment(t *testing.T) {
	t.Parallel()
	for _, interval := range []time.Duration{-1, time.Hour} {
		ff := &faultFiles{budget: -1, failSync: true}
		dir := t.TempDir()
		w := openFault(t, dir, Options{SyncInterval: interval}, ff)
		err := w.Log(testRecord(0, 10))
		if interval > 0 {
			if err != nil {
				t.Fatal(err)
			}
			err = w.Sync()
		}
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("interval %v: got %v, want EIO", interval, err)
		}
		ff.set(func(ff *faultFiles) { ff.failSync = false })
		if err := w.Log(testRecord(1, 10)); err != nil {
			t.Fatal(err)
		}
		if _, last, _ := w.Segments(); last != 1 {
			t.Fatalf("interval %v: last segment %d, want 1", interval, last)
		}
		closeTest(t, w)
		got, _ := replayAll(t, dir, 0)
		equalRecords(t, got, [][]byte{testRecord(0, 10), testRecord(1, 10)})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10s")
}
