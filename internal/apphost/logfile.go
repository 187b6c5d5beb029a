package apphost

import (
	"fmt"
	"os"
	"sync"
)

// logFile is an app's log: every worker's stdout and stderr, appended to
// one file. When a write would take the file past maxSize, the file is
// renamed to <name>.1 (replacing the previous one) and a new one started,
// so an app's logs take at most about twice maxSize. It is safe for
// concurrent use; exec copies each worker's output in goroutines of its
// own.
type logFile struct {
	path string

	mu      sync.Mutex
	f       *os.File
	size    int64
	maxSize int64 // 0 for no rotation
}

func openLogFile(path string, maxSize int64) (*logFile, error) {
	l := &logFile{path: path, maxSize: maxSize}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *logFile) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open app log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open app log: %w", err)
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// setMaxSize changes the rotation size, for a reloaded app.
func (l *logFile) setMaxSize(n int64) {
	l.mu.Lock()
	l.maxSize = n
	l.mu.Unlock()
}

// Write appends p, rotating first if p would not fit. A write is never
// split between files, so a line is never cut in two by rotation (exec
// writes what a worker printed in chunks of up to 32 KiB).
func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.maxSize > 0 && l.size > 0 && l.size+int64(len(p)) > l.maxSize {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

func (l *logFile) rotate() error {
	l.f.Close()
	l.f = nil
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("rotate app log: %w", err)
	}
	return l.open()
}

func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
