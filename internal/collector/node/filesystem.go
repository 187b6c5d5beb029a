package node

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// mount is one line of /proc/mounts.
type mount struct {
	device, mountPoint, fsType, options string
}

// parseMounts parses /proc/mounts (fstab(5) format), decoding the octal
// escapes of blanks in paths.
func parseMounts(s string) ([]mount, error) {
	var mounts []mount
	for s != "" {
		var line string
		line, s = nextLine(s)
		if strings.TrimSpace(line) == "" {
			continue
		}
		var f [4]string
		rest := line
		for i := range f {
			f[i], rest = firstField(rest)
			if f[i] == "" {
				return nil, fmt.Errorf("parse mounts: malformed line %q", line)
			}
		}
		mounts = append(mounts, mount{
			device:     mountPathUnescaper.Replace(f[0]),
			mountPoint: mountPathUnescaper.Replace(f[1]),
			fsType:     f[2],
			options:    f[3],
		})
	}
	return mounts, nil
}

// readOnly reports whether the mount options include "ro".
func (m mount) readOnly() bool {
	for opt := range strings.SplitSeq(m.options, ",") {
		if opt == "ro" {
			return true
		}
	}
	return false
}

var (
	fsLabels       = []string{"device", "fstype", "mountpoint"}
	fsSizeDesc     = prometheus.NewDesc("node_filesystem_size_bytes", "Filesystem size in bytes.", fsLabels, nil)
	fsFreeDesc     = prometheus.NewDesc("node_filesystem_free_bytes", "Filesystem free space in bytes.", fsLabels, nil)
	fsAvailDesc    = prometheus.NewDesc("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.", fsLabels, nil)
	fsFilesDesc    = prometheus.NewDesc("node_filesystem_files", "Filesystem total file nodes.", fsLabels, nil)
	fsFilesFree    = prometheus.NewDesc("node_filesystem_files_free", "Filesystem total free file nodes.", fsLabels, nil)
	fsReadOnlyDesc = prometheus.NewDesc("node_filesystem_readonly", "Filesystem read-only status.", fsLabels, nil)
	fsErrorDesc    = prometheus.NewDesc("node_filesystem_device_error",
		"Whether an error occurred while getting statistics for the given device.", fsLabels, nil)
)

// collectFilesystem reports size and usage of every mounted file system the
// exclusion patterns let through. A file system whose statfs fails or hangs
// reports only node_filesystem_device_error 1.
func (c *Collector) collectFilesystem(e *emitter) error {
	// PID 1's mount table is the host's even when argus runs in a container
	// that shares the host's PID namespace and mounts its / at RootfsPath.
	text, err := e.readText(c.procPath("1/mounts"))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		text, err = e.readText(c.procPath("mounts"))
	}
	if err != nil {
		return err
	}
	mounts, err := parseMounts(text)
	if err != nil {
		return err
	}
	seen := make(map[mount]bool, len(mounts))
	for _, m := range mounts {
		m.mountPoint = c.stripRootfs(m.mountPoint)
		if c.opts.FilesystemMountPointsExclude.MatchString(m.mountPoint) ||
			c.opts.FilesystemFSTypesExclude.MatchString(m.fsType) {
			continue
		}
		// Bind mounts and over-mounts repeat a line; one series each.
		key := mount{device: m.device, mountPoint: m.mountPoint, fsType: m.fsType}
		if seen[key] {
			continue
		}
		seen[key] = true
		st, err := c.statfs(filepath.Join(c.opts.RootfsPath, m.mountPoint))
		if err != nil {
			c.logger.Debug("statfs failed", "mountpoint", m.mountPoint, "err", err)
			e.gauge(fsErrorDesc, 1, m.device, m.fsType, m.mountPoint)
			continue
		}
		// node_exporter multiplies by f_bsize, not f_frsize; they are equal
		// on common local file systems, and matching keeps values identical.
		bsize := float64(st.Bsize)
		ro := 0.0
		if m.readOnly() {
			ro = 1
		}
		e.gauge(fsSizeDesc, float64(st.Blocks)*bsize, m.device, m.fsType, m.mountPoint)
		e.gauge(fsFreeDesc, float64(st.Bfree)*bsize, m.device, m.fsType, m.mountPoint)
		e.gauge(fsAvailDesc, float64(st.Bavail)*bsize, m.device, m.fsType, m.mountPoint)
		e.gauge(fsFilesDesc, float64(st.Files), m.device, m.fsType, m.mountPoint)
		e.gauge(fsFilesFree, float64(st.Ffree), m.device, m.fsType, m.mountPoint)
		e.gauge(fsReadOnlyDesc, ro, m.device, m.fsType, m.mountPoint)
		e.gauge(fsErrorDesc, 0, m.device, m.fsType, m.mountPoint)
	}
	return nil
}

// stripRootfs makes a mount point relative to RootfsPath, so that a
// containerised argus reports the host's "/" and not "/host".
func (c *Collector) stripRootfs(p string) string {
	root := strings.TrimSuffix(c.opts.RootfsPath, "/")
	if root == "" || !strings.HasPrefix(p, root) {
		return p
	}
	switch rest := p[len(root):]; {
	case rest == "":
		return "/"
	case rest[0] == '/':
		return rest
	default:
		return p // "/hostname" is not below "/host"
	}
}

// errStuckMount is returned for a mount point whose earlier statfs has not
// returned yet.
var errStuckMount = errors.New("statfs timed out earlier and has not returned yet")

// stuckMounts records mount points with a statfs call still blocked, so
// later scrapes do not pile up more blocked goroutines behind the same dead
// server.
type stuckMounts struct {
	mu    sync.Mutex
	stuck map[string]bool
}

type statfsResult struct {
	st  syscall.Statfs_t
	err error
}

// statfs calls statfs(2) with FilesystemStatTimeout. The call runs in its own
// goroutine because a blocked system call cannot be interrupted; on timeout
// the goroutine is left behind (one per stuck mount point at most) and
// removes the mark when the call finally returns.
func (c *Collector) statfs(path string) (syscall.Statfs_t, error) {
	sm := &c.mounts
	sm.mu.Lock()
	stuck := sm.stuck[path]
	sm.mu.Unlock()
	if stuck {
		return syscall.Statfs_t{}, errStuckMount
	}
	done := make(chan statfsResult, 1)
	go func() {
		var r statfsResult
		r.err = c.statfsFn(path, &r.st)
		done <- r
		sm.mu.Lock()
		delete(sm.stuck, path)
		sm.mu.Unlock()
	}()
	timer := time.NewTimer(c.opts.FilesystemStatTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.st, r.err
	case <-timer.C:
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	// The call may have returned between the timer firing and the lock; the
	// goroutine deletes the mark only after sending, so checking done under
	// the lock cannot leave a mark nobody will clear.
	select {
	case r := <-done:
		return r.st, r.err
	default:
	}
	if sm.stuck == nil {
		sm.stuck = map[string]bool{}
	}
	sm.stuck[path] = true
	c.logger.Warn("statfs timed out, skipping mount point until it returns", "path", path)
	return syscall.Statfs_t{}, fmt.Errorf("statfs %s: timed out after %v", path, c.opts.FilesystemStatTimeout)
}
