package apphost

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/argus-mon/argus/internal/config"
)

// maxSocketPath is the longest unix socket path Linux accepts: sun_path
// holds 108 bytes, with the terminating NUL.
const maxSocketPath = 107

// socketNameLen is the length of a socket file's name, <slot>-<8 hex
// digits>.sock with a slot of at most three digits (maxWorkers is 256).
const socketNameLen = len("255-01234567.sock")

// activationScript starts the program in socket activation mode.
// LISTEN_PID must be the program's own pid, which os/exec cannot know
// before the fork; a shell's pid is, once it execs the program. "$0" is
// the program and "$@" its arguments, so neither is parsed by the shell.
const activationScript = `LISTEN_PID=$$ exec "$0" "$@"`

// endpoint is where a worker listens, and what it is told to listen
// there.
type endpoint struct {
	network string   // "tcp" or "unix"
	addr    string   // 127.0.0.1:port, or the socket file's path
	host    string   // the worker's name in URLs: addr, or the socket file's name
	env     []string // the variables telling the worker where to listen
	file    *os.File // the socket handed over as fd 3 (socket activation), else nil
	ln      net.Listener
}

// closeListener closes argus's copies of a handed-over socket, once the
// worker has its own (or failed to start).
func (e *endpoint) closeListener() {
	if e.file != nil {
		e.file.Close()
		e.ln.Close()
	}
}

// newEndpoint prepares where the slot's next process listens, in the
// app's listen mode.
func (p *pool) newEndpoint(slot int) (*endpoint, error) {
	switch p.spec.ListenMode {
	case config.ListenUnix:
		return p.unixEndpoint(slot)
	case config.ListenSocketActivation:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("open the worker's socket: %w", err)
		}
		// File returns a duplicate of the socket, which the child
		// inherits; argus closes both of its own after the start.
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("open the worker's socket: %w", err)
		}
		addr := ln.Addr().String()
		return &endpoint{network: "tcp", addr: addr, host: addr, file: f, ln: ln,
			env: []string{config.EnvListenFDs + "=1", config.EnvListenFDNames + "=" + p.spec.Name}}, nil
	default:
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		return &endpoint{network: "tcp", addr: addr, host: addr,
			env: []string{config.EnvPort + "=" + strconv.Itoa(port)}}, nil
	}
}

// unixEndpoint returns a new socket path for the slot. The name is
// random, not the slot's alone: during a recycle or a reload, two
// processes of a slot listen at once.
func (p *pool) unixEndpoint(slot int) (*endpoint, error) {
	if p.socketDir == "" {
		return nil, fmt.Errorf("no directory for unix sockets: %s/ and the temporary directory give paths over %d bytes",
			appSocketDir(p.opts.LogDir, p.spec.Name), maxSocketPath)
	}
	if err := ownDir(p.socketDir); err != nil {
		return nil, err
	}
	var b [4]byte
	rand.Read(b[:])
	name := strconv.Itoa(slot) + "-" + hex.EncodeToString(b[:]) + ".sock"
	path := filepath.Join(p.socketDir, name)
	// A file left from an earlier run would make the worker's bind fail.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	return &endpoint{network: "unix", addr: path, host: name,
		env: []string{config.EnvSocket + "=" + path}}, nil
}

// ownDir creates dir if need be and checks that it is a directory of
// argus's user that others cannot write to: the fallback directory is in
// the shared temporary directory, where anyone could have made it first
// to put sockets of their own in the workers' place.
func ownDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the socket directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("socket directory %s must be a directory of user %d that only it can write to (it is %v, owned by %v)",
			dir, os.Getuid(), fi.Mode(), ownerOf(fi))
	}
	return nil
}

func ownerOf(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return strconv.Itoa(int(st.Uid))
	}
	return "unknown"
}

// appSocketDir is where an app's unix sockets go: next to its logs, in a
// directory of its own.
func appSocketDir(logDir, app string) string {
	return filepath.Join(logDir, app)
}

// socketDir returns the directory for the app's unix sockets, and whether
// it is the fallback under the temporary directory, used because the
// data directory's path is too long for a socket path. It returns "" if
// neither fits.
func socketDir(logDir, app string) (dir string, fallback bool) {
	dir = appSocketDir(logDir, app)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if len(dir)+1+socketNameLen <= maxSocketPath {
		return dir, false
	}
	// Named after the data directory's, so that a restarted argus finds
	// (and cleans) the same one.
	sum := sha256.Sum256([]byte(dir))
	short := filepath.Join(os.TempDir(), "argus-"+hex.EncodeToString(sum[:6]))
	if len(short)+1+socketNameLen <= maxSocketPath {
		return short, true
	}
	return "", false
}

// removeStaleSockets removes the socket files in dir nothing listens on,
// left by workers of an earlier run. It touches nothing in a directory
// that is not argus's own (see ownDir; the temporary directory is shared,
// and a squatted or linked directory must not make argus delete files),
// nor sockets younger than a minute: a worker of another pool of the app
// (during a reload) may have bound its socket and not be listening yet.
func removeStaleSockets(dir string) {
	fi, err := os.Lstat(dir)
	if err != nil {
		return
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o022 != 0 {
		return
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.sock"))
	for _, name := range names {
		if sfi, err := os.Lstat(name); err != nil || sfi.Mode()&os.ModeSocket == 0 || time.Since(sfi.ModTime()) < time.Minute {
			continue
		}
		c, err := net.Dial("unix", name)
		if err == nil {
			c.Close()
			continue
		}
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			os.Remove(name)
		}
	}
}

// workerDialer returns a DialContext that connects to the worker a
// request is for, found in its context (a *picked from the proxy, or a
// *worker from a health check), by its network and address: a unix
// socket's URL host is only a name.
func workerDialer(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		switch v := ctx.Value(workerKey{}).(type) {
		case *picked:
			return d.DialContext(ctx, v.worker.network, v.worker.addr)
		case *worker:
			return d.DialContext(ctx, v.network, v.addr)
		}
		return d.DialContext(ctx, network, addr)
	}
}

// wrapActivation makes cmd start the program through activationScript.
func wrapActivation(cmdPath string, args []string) []string {
	return append([]string{"/bin/sh", "-c", activationScript, cmdPath}, args...)
}
