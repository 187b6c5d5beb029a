//go:build linux

package process

import (
	"encoding/binary"
	"syscall"
)

// The proc files are read with raw system calls into buffers the Collector
// reuses: os.File would cost several allocations and a finalizer per file,
// and a scrape opens a few files for each of hundreds of processes. Files of
// one process are opened relative to its /proc/PID directory descriptor, so
// they all describe the same process even if its pid is reused meanwhile: a
// descriptor of an exited process fails with ENOENT or ESRCH instead.

const (
	dirFlags  = syscall.O_RDONLY | syscall.O_DIRECTORY | syscall.O_CLOEXEC
	fileFlags = syscall.O_RDONLY | syscall.O_CLOEXEC
)

// openDir opens the directory at path.
func openDir(path string) (int, error) {
	return retryEINTR(func() (int, error) { return syscall.Open(path, dirFlags, 0) })
}

// openDirAt opens the directory name inside the directory dirfd.
func openDirAt(dirfd int, name string) (int, error) {
	return retryEINTR(func() (int, error) { return syscall.Openat(dirfd, name, dirFlags, 0) })
}

func closeFD(fd int) { syscall.Close(fd) }

// readFileAt reads all of the file name inside the directory dirfd into
// dst[:0], growing it as needed, and returns the filled slice.
func readFileAt(dirfd int, name string, dst []byte) ([]byte, error) {
	fd, err := retryEINTR(func() (int, error) { return syscall.Openat(dirfd, name, fileFlags, 0) })
	if err != nil {
		return dst[:0], err
	}
	defer syscall.Close(fd)
	dst = dst[:0]
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := retryEINTR(func() (int, error) { return syscall.Read(fd, dst[len(dst):cap(dst)]) })
		if err != nil {
			return dst, err
		}
		if n == 0 {
			return dst, nil
		}
		dst = dst[:len(dst)+n]
	}
}

// readDir calls fn with the name of every entry of the open directory fd
// except "." and "..", using buf (returned, maybe grown) for getdents. The
// name slice is valid only during the call.
func readDir(fd int, buf []byte, fn func(name []byte)) ([]byte, error) {
	if cap(buf) < 8192 {
		buf = make([]byte, 8192)
	}
	buf = buf[:cap(buf)]
	for {
		n, err := retryEINTR(func() (int, error) { return syscall.ReadDirent(fd, buf) })
		if err != nil {
			return buf, err
		}
		if n <= 0 {
			return buf, nil
		}
		eachDirent(buf[:n], fn)
	}
}

// eachDirent walks linux_dirent64 records: inode (8 bytes), offset (8),
// record length (2), type (1), then the NUL-terminated name.
func eachDirent(b []byte, fn func(name []byte)) {
	const nameOff = 19
	for len(b) >= nameOff {
		reclen := int(binary.NativeEndian.Uint16(b[16:18]))
		if reclen < nameOff || reclen > len(b) {
			return
		}
		name := b[nameOff:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if string(name) != "." && string(name) != ".." {
			fn(name)
		}
		b = b[reclen:]
	}
}

// countDirAt returns the number of entries of the directory name inside the
// directory dirfd: the open descriptors when name is "fd".
func countDirAt(dirfd int, name string, buf []byte) (int, []byte, error) {
	fd, err := openDirAt(dirfd, name)
	if err != nil {
		return 0, buf, err
	}
	defer syscall.Close(fd)
	n := 0
	buf, err = readDir(fd, buf, func([]byte) { n++ })
	return n, buf, err
}

// retryEINTR repeats f while it is interrupted by a signal, as package os
// does for its own system calls.
func retryEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
