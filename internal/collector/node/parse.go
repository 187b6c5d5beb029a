package node

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// procPath joins elem below Options.ProcPath.
func (c *Collector) procPath(elem ...string) string {
	return filepath.Join(append([]string{c.opts.ProcPath}, elem...)...)
}

// sysPath joins elem below Options.SysPath.
func (c *Collector) sysPath(elem ...string) string {
	return filepath.Join(append([]string{c.opts.SysPath}, elem...)...)
}

// maxFileSize bounds how much of one file is read, so a misconfigured path
// (a device node, a huge file) fails the sub-collector instead of exhausting
// memory. Real procfs files stay far below it even with 100k sockets.
const maxFileSize = 64 << 20

// readText returns the contents of a procfs or sysfs file. It reads with
// raw system calls into the emitter's scratch buffer: os.ReadFile also
// fstats the file and tries to register it with the network poller, which
// together cost more than reading these small virtual files (measured with
// BenchmarkCollect). Errors wrap syscall.Errno, so errors.Is(err,
// fs.ErrNotExist) works.
func (e *emitter) readText(path string) (string, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return "", &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	if e.buf == nil {
		e.buf = make([]byte, 16<<10)
	}
	n := 0
	for {
		if n == len(e.buf) {
			if n >= maxFileSize {
				return "", fmt.Errorf("read %s: larger than %d bytes", path, maxFileSize)
			}
			e.buf = append(e.buf, make([]byte, len(e.buf))...)
		}
		m, err := syscall.Read(fd, e.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return "", &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			return string(e.buf[:n]), nil
		}
		n += m
	}
}

// readString returns a file's contents without surrounding white space, the
// shape of every one-value sysfs and procfs file.
func (e *emitter) readString(path string) (string, error) {
	s, err := e.readText(path)
	return strings.TrimSpace(s), err
}

// readUint reads a one-value file holding an unsigned decimal number.
func (e *emitter) readUint(path string) (uint64, error) {
	s, err := e.readString(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// readInt reads a one-value file holding a signed number; base 0 accepts
// the "0x1003" hex form sysfs uses for flags and ids.
func (e *emitter) readInt(path string) (int64, error) {
	s, err := e.readString(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// nextLine splits s at its first newline.
func nextLine(s string) (line, rest string) {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// firstField returns the first space-separated field of s and the rest,
// without allocating: /proc/stat's intr line has thousands of fields and
// only the first is wanted.
func firstField(s string) (field, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// sanitizeName replaces every byte not valid in a metric name by '_', so a
// surprising key in a kernel file cannot produce an invalid metric name.
func sanitizeName(s string) string {
	valid := func(b byte) bool {
		return b == '_' || b == ':' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
	}
	for i := 0; i < len(s); i++ {
		if !valid(s[i]) {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if !valid(b[j]) {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return s
}

// parseCPUList parses the kernel's CPU list format ("0-3,8,10-11").
func parseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var cpus []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("parse cpu list %q: %w", s, err)
		}
		last := first
		if isRange {
			if last, err = strconv.Atoi(hi); err != nil {
				return nil, fmt.Errorf("parse cpu list %q: %w", s, err)
			}
		}
		// A range is bounded by the number of CPUs a kernel supports; a
		// larger one is garbage and must not allocate gigabytes.
		if first < 0 || last < first || last-first > 1<<16 {
			return nil, fmt.Errorf("parse cpu list %q: bad range %q", s, part)
		}
		for cpu := first; cpu <= last; cpu++ {
			cpus = append(cpus, cpu)
		}
	}
	return cpus, nil
}

// mountPathUnescaper decodes the octal escapes the kernel writes into
// /proc/mounts for blanks. Only space and tab are decoded: node_exporter
// leaves the rarer \012 (newline) and \134 (backslash) as they are, and
// label values must match its output.
var mountPathUnescaper = strings.NewReplacer(`\040`, " ", `\011`, "\t")
