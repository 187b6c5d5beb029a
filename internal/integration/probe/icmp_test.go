package probe

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// needICMP skips the test when the kernel permits neither kind of ICMP
// socket, saying why; in CI, where the tests run as root, it fails
// instead, so that the ICMP tests never go missing unnoticed.
func needICMP(t *testing.T) {
	t.Helper()
	conn, _, err := listenICMP(net.IPv4(127, 0, 0, 1), "")
	if err == nil {
		conn.Close()
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("ICMP is not permitted in CI: %v", err)
	}
	t.Skipf("the kernel permits no ICMP socket here: %v", err)
}

func TestICMPProbe(t *testing.T) {
	needICMP(t)
	mods, _ := loadModules(t, startTargets(t).caFile)
	f := func(module, target string, wantProto float64) {
		t.Helper()
		fams, ok := run(t, target, mods[module], 5*time.Second)
		if !ok {
			t.Fatalf("%s %s failed: %v", module, target, fams)
		}
		if got := value(t, fams, "probe_ip_protocol"); got != wantProto {
			t.Errorf("%s %s: probe_ip_protocol %v, want %v", module, target, got, wantProto)
		}
		if value(t, fams, "probe_icmp_duration_seconds", "phase", "rtt") <= 0 {
			t.Errorf("%s %s: no round trip time", module, target)
		}
		// Linux answers with its default TTL or hop limit, 64 unless
		// set otherwise.
		want := sysctlInt("/proc/sys/net/ipv4/ip_default_ttl", 64)
		if wantProto == 6 {
			want = sysctlInt("/proc/sys/net/ipv6/conf/lo/hop_limit", 64)
		}
		if got := value(t, fams, "probe_icmp_reply_hop_limit"); got != float64(want) {
			t.Errorf("%s %s: probe_icmp_reply_hop_limit %v, want %v", module, target, got, want)
		}
	}
	f("icmp", "127.0.0.1", 4)
	f("icmp", "localhost", 4)
	f("icmp_ttl", "127.0.0.1", 4)
	if hasIPv6Loopback() {
		f("icmp6", "::1", 6)
		f("icmp_ttl", "[::1]", 6)
	}
	// source_ip_address: from another loopback address, and from one
	// of the wrong family.
	m := &config.ProbeModule{Prober: "icmp", ICMP: config.ProbeICMP{SourceIPAddress: "127.0.0.2"}}
	if fams, ok := run(t, "127.0.0.1", m, 5*time.Second); !ok {
		t.Errorf("source_ip_address 127.0.0.2 failed: %v", fams)
	}
	m.ICMP.SourceIPAddress = "::1"
	if _, ok := run(t, "127.0.0.1", m, 5*time.Second); ok {
		t.Error("an IPv6 source address reached an IPv4 target")
	}
	// Which is a bad address, not a lack of permission.
	if _, _, err := listenICMP(net.IPv4(127, 0, 0, 1), "::1"); err == nil || strings.Contains(err.Error(), "permitted") {
		t.Errorf("listenICMP from ::1 to 127.0.0.1: %v, want an error about the address", err)
	}
	// A name that does not resolve fails before any packet is sent.
	fams, ok := run(t, "no-such-host.invalid", mods["icmp"], 5*time.Second)
	if ok || value(t, fams, "probe_icmp_duration_seconds", "phase", "rtt") != 0 {
		t.Errorf("an unresolvable target: success %v, %v", ok, fams)
	}
	if _, ok := integrationtest.Value(fams, "probe_icmp_reply_hop_limit"); ok {
		t.Error("a hop limit without a reply")
	}
}

// sysctlInt reads a number from file, or returns def.
func sysctlInt(file string, def int) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return def
	}
	return n
}

func hasIPv6Loopback() bool {
	l, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// TestICMPTimeout waits for the reply to an echo request that was never
// sent (every address on loopback answers those that are): the wait ends
// at the probe's deadline with an error saying so.
func TestICMPTimeout(t *testing.T) {
	needICMP(t)
	conn, privileged, err := listenICMP(net.IPv4(127, 0, 0, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = awaitReply(ctx, conn, net.IPv4(127, 0, 0, 1), echo{id: 1, seq: 1, data: []byte("never sent")}, privileged)
	if err == nil || !strings.Contains(err.Error(), "no echo reply") {
		t.Errorf("awaitReply = %v, want no echo reply", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v after a 300ms deadline", took)
	}
}

// icmpChildEnv names what TestICMPChild does when the test binary is run
// again by TestICMPSocketKinds, in a network namespace of its own.
const icmpChildEnv = "ARGUS_TEST_ICMP_CHILD"

// TestICMPSocketKinds runs a probe of 127.0.0.1 in a fresh network
// namespace (where net.ipv4.ping_group_range is the kernel's default,
// "1 0": no group may open unprivileged ICMP sockets) twice: as root
// with the sysctl opened to every group, where the probe must use an
// unprivileged socket, and as nobody with the sysctl left closed, where
// no kind of ICMP socket is permitted and the probe must fail saying so.
// Making namespaces and changing users needs root.
func TestICMPSocketKinds(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("network namespaces are Linux's")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI runs as root, and this test needs root")
		}
		t.Skip("needs root, to make network namespaces and run a probe as nobody")
	}
	// nobody must be able to run the test binary: a copy in a directory
	// everyone may read.
	dir, err := os.MkdirTemp("", "argus-icmp-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "probe.test")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := copyFile(self, bin); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode string
		cred *syscall.Credential
		want []string
	}{
		{"unprivileged", nil, []string{"Probe succeeded", "raw=false"}},
		{"forbidden", &syscall.Credential{Uid: 65534, Gid: 65534}, []string{"Probe failed", "no ICMP socket is permitted",
			"net.ipv4.ping_group_range is 1 0, group 65534 is not in it", "CAP_NET_RAW", "probe_success=0"}},
	} {
		t.Run(c.mode, func(t *testing.T) {
			cmd := exec.Command(bin, "-test.run=^TestICMPChild$", "-test.v")
			cmd.Env = append(os.Environ(), icmpChildEnv+"="+c.mode)
			cmd.Dir = dir
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Credential: c.cred}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range c.want {
				if !bytes.Contains(out, []byte(w)) {
					t.Errorf("no %q in the probe's output:\n%s", w, out)
				}
			}
		})
	}
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// TestICMPChild is TestICMPSocketKinds's probe, in the child process;
// run otherwise, it does nothing.
func TestICMPChild(t *testing.T) {
	mode := os.Getenv(icmpChildEnv)
	if mode == "" {
		return
	}
	if mode == "unprivileged" {
		if err := os.WriteFile("/proc/sys/net/ipv4/ping_group_range", []byte("0 2147483647"), 0); err != nil {
			t.Fatal(err)
		}
		if err := loopbackUp(); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var out integration.Metrics
	m := &config.ProbeModule{Prober: "icmp", ICMP: config.ProbeICMP{ProbeIPProtocol: config.ProbeIPProtocol{PreferredIPProtocol: "ip4"}}}
	ok := Run(ctx, "127.0.0.1", m, &out, logger)
	v, _ := integrationtest.Value(out.Families(), "probe_success")
	t.Logf("%s\nprobe_success=%v ok=%v", log.String(), v, ok)
}

// loopbackUp brings up lo, down in a new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
