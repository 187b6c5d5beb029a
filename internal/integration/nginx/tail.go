package nginx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"

	"github.com/argus-mon/argus/internal/integration"
)

// maxReadPerCollect bounds what one collection reads from the access log,
// so that a collection after a long pause (or of a log that grows faster
// than it is read) still ends quickly; the rest is read by the next ones.
const maxReadPerCollect = 16 << 20

// maxLine bounds one log line; a longer one is skipped (reason too_long),
// so a log in another format without newlines cannot grow memory.
const maxLine = 16 << 10

// readChunk is the size of one read.
const readChunk = 64 << 10

// tailer follows an access log across rotations (rename and reopen, as
// logrotate does with nginx's USR1), copytruncate, and lines written in
// several parts. It starts at the end of the file found first, so the
// backlog of an old log is not counted as a burst of new requests; a file
// that replaces it is read from its start. It is safe for concurrent use.
type tailer struct {
	path string

	mu sync.Mutex
	// cur is the file at path when last looked; nil until opened.
	cur *follow
	// prev is the file a rotation renamed away: nginx writes to it until
	// it reopens its logs, so it is read until a collection finds nothing
	// new in it.
	prev  *follow
	seen  bool   // a file was opened once: later ones are read from 0
	buf   []byte // read buffer
	stats *logStats
}

// follow is one open log file and how far it was read.
type follow struct {
	f    *os.File
	info os.FileInfo // to recognise a rotation
	off  int64
	part []byte // the start of a line whose end was not read yet
	skip bool   // discarding the rest of a too long line
}

func newTailer(path string) *tailer {
	return &tailer{path: path, stats: newLogStats()}
}

// collect reads the lines added since the last call, at most
// maxReadPerCollect bytes, and adds the totals to m. The totals are added
// even when reading fails.
func (t *tailer) collect(m *integration.Metrics) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.read()
	t.stats.add(m)
	if err != nil {
		return fmt.Errorf("access log %s: %w", t.path, err)
	}
	return nil
}

func (t *tailer) read() error {
	budget := int64(maxReadPerCollect)
	if t.prev != nil {
		n, err := t.readFile(t.prev, budget)
		budget -= n
		if n == 0 || err != nil {
			t.closeFollow(t.prev)
			t.prev = nil
		}
	}
	if t.cur == nil {
		if err := t.open(); err != nil {
			return err
		}
	}
	now, err := os.Stat(t.path)
	switch {
	case err == nil && !os.SameFile(now, t.cur.info):
		// Rotated: finish the old file, then follow the new one from its
		// start, keeping the old one for lines nginx still writes to it.
		n, err := t.readFile(t.cur, budget)
		if budget -= n; budget <= 0 || err != nil {
			return err // the rest of the old file first, next time
		}
		if t.prev != nil {
			t.closeFollow(t.prev)
		}
		t.prev, t.cur = t.cur, nil
		if err := t.open(); err != nil {
			return err
		}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	// A missing path is the moment between a rotation's rename and the
	// reopen; the old file is still written to.
	fi, err := t.cur.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < t.cur.off {
		// Truncated in place (copytruncate): start over.
		t.dropPart(t.cur)
		t.cur.off = 0
	}
	_, err = t.readFile(t.cur, budget)
	return err
}

// open opens the log as t.cur: at its end the first time, at its start
// after a rotation. Only regular files are read: opening a FIFO would
// block.
func (t *tailer) open() error {
	fi, err := os.Stat(t.path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (%v)", fi.Mode().Type())
	}
	f, err := os.OpenFile(t.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	if fi, err = f.Stat(); err != nil {
		f.Close()
		return err
	}
	t.cur = &follow{f: f, info: fi}
	if !t.seen {
		t.cur.off = fi.Size()
		t.seen = true
	}
	return nil
}

// readFile reads complete lines of fl from its offset, at most budget
// bytes, and returns how many bytes it read.
func (t *tailer) readFile(fl *follow, budget int64) (int64, error) {
	if t.buf == nil {
		t.buf = make([]byte, readChunk)
	}
	var total int64
	for total < budget {
		n, err := fl.f.ReadAt(t.buf[:min(int64(len(t.buf)), budget-total)], fl.off)
		fl.off += int64(n)
		total += int64(n)
		t.lines(fl, t.buf[:n])
		if errors.Is(err, io.EOF) || n == 0 {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// lines accounts the complete lines of b, keeping an incomplete last one.
func (t *tailer) lines(fl *follow, b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if !fl.skip {
				fl.part = append(fl.part, b...)
				if len(fl.part) > maxLine {
					t.stats.errs[reasonTooLong]++
					fl.part, fl.skip = fl.part[:0], true
				}
			}
			return
		}
		line := b[:i]
		b = b[i+1:]
		if fl.skip {
			fl.skip = false
			continue
		}
		if len(fl.part) > 0 {
			fl.part = append(fl.part, line...)
			line = fl.part
		}
		if len(line) > maxLine {
			t.stats.errs[reasonTooLong]++
		} else {
			t.stats.line(line)
		}
		fl.part = fl.part[:0]
	}
}

// dropPart forgets an incomplete line whose end will never come: the
// file was truncated or is left.
func (t *tailer) dropPart(fl *follow) {
	if len(fl.part) > 0 {
		t.stats.errs[reasonCut]++
	}
	fl.part, fl.skip = fl.part[:0], false
}

func (t *tailer) closeFollow(fl *follow) error {
	t.dropPart(fl)
	return fl.f.Close()
}

func (t *tailer) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, fl := range []*follow{t.cur, t.prev} {
		if fl != nil {
			errs = append(errs, fl.f.Close())
		}
	}
	t.cur, t.prev = nil, nil
	return errors.Join(errs...)
}
