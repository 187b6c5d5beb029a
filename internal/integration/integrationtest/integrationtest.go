package integrationtest

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FreeAddr returns a loopback host:port nobody listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Port returns the port of a host:port.
func Port(t testing.TB, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// Start runs the named binary (found in PATH, or failing the test with
// how to install it from pkg) with args, its output in dir, and waits until
// network/address accepts connections. It is stopped by PID at cleanup.
func Start(t testing.TB, bin, pkg, dir, network, address string, args ...string) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s is needed by this test; install the Debian package %s (.ci/run does): %v", bin, pkg, err)
	}
	return StartCmd(t, exec.Command(path, args...), bin, dir, network, address)
}

// StartCmd starts cmd, a server called name, with its output in dir, and
// waits until network/address accepts connections. It is stopped by PID
// (SIGTERM, then SIGKILL after 10s) at cleanup.
func StartCmd(t testing.TB, cmd *exec.Cmd, name, dir, network, address string) *exec.Cmd {
	t.Helper()
	bin := name
	logf, err := os.Create(filepath.Join(dir, filepath.Base(bin)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", bin, b)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout(network, address, time.Second)
		if err == nil {
			c.Close()
			return cmd
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("%s exited before listening on %s:\n%s", bin, address, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s after 30s: %v", bin, address, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Memcached starts memcached on a free loopback port and returns its
// address.
func Memcached(t testing.TB, args ...string) string {
	t.Helper()
	addr := FreeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	args = append([]string{"-l", host, "-p", port, "-U", "0", "-m", "16"}, args...)
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root") // memcached refuses to run as root otherwise
	}
	Start(t, "memcached", "memcached", t.TempDir(), "tcp", addr, args...)
	return addr
}

// MemcachedUnix starts memcached on a unix socket and returns its path.
func MemcachedUnix(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "memcached.sock")
	args := []string{"-s", sock, "-m", "16"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	Start(t, "memcached", "memcached", dir, "unix", sock, args...)
	return sock
}

// Redis starts redis-server on a free loopback port with no persistence
// and returns its address; extra are more "--name value" arguments.
func Redis(t testing.TB, extra ...string) string {
	t.Helper()
	addr := FreeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	args := append([]string{"--bind", host, "--port", port, "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no"}, extra...)
	Start(t, "redis-server", "redis-server", dir, "tcp", addr, args...)
	return addr
}

// Silent starts a server that accepts connections, reads what it is sent
// and never answers. It returns the address.
func Silent(t testing.TB) string {
	return Fake(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
}

// Garbage starts a server that answers every line it reads with reply.
func Garbage(t testing.TB, reply string) string {
	return Fake(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			if _, err := c.Write([]byte(reply)); err != nil {
				return
			}
		}
	})
}

// Fake serves each connection with handle until the test ends.
func Fake(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	closed := false
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}
