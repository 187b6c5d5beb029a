package node

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestParseStat(t *testing.T) {
	const in = `cpu  1109782 0 156323 646292 15433 0 6734 1733 0 0
cpu0 556764 1 65100 339566 4529 2 731 809 7 3
cpu1 553017 0 91223 306726 10904 0 6002 924 0 0
intr 34107221 0 0 0 1944 900
ctxt 80740005
btime 1795724524
processes 73396
procs_running 10
procs_blocked 2
softirq 8731246 0 750579 7 1193779
`
	st, err := parseStat(in)
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{
		cpus: []statCPU{
			{id: "0", times: [cpuColumns]float64{5567.64, 0.01, 651, 3395.66, 45.29, 0.02, 7.31, 8.09, 0.07, 0.03}},
			{id: "1", times: [cpuColumns]float64{5530.17, 0, 912.23, 3067.26, 109.04, 0, 60.02, 9.24, 0, 0}},
		},
		intr: 34107221, ctxt: 80740005, btime: 1795724524, forks: 73396, procsRunning: 10, procsBlocked: 2,
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("parseStat:\n got %+v\nwant %+v", st, want)
	}
}

func TestParseStatErrors(t *testing.T) {
	for name, in := range map[string]string{
		"bad cpu value": "cpu0 1 2 x 4\n",
		"few columns":   "cpu0 1 2 3\n",
		"bad cpu id":    "cpuX 1 2 3 4\n",
		"bad ctxt":      "ctxt -1\n",
		"empty ctxt":    "ctxt\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseStat(in); err == nil {
				t.Errorf("parseStat(%q) succeeded", in)
			}
		})
	}
	// Old kernels print seven columns: the rest stays zero.
	st, err := parseStat("cpu0 1 2 3 4 5 6 7\n")
	if err != nil || st.cpus[0].times[cpuGuest] != 0 || st.cpus[0].times[6] != 0.07 {
		t.Errorf("seven columns: %+v, %v", st, err)
	}
}

func TestParseNetDev(t *testing.T) {
	const in = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:11643864860 1382009    0    0    0     0          0         0 11643864860 1382009    0    0    0     0       0          0
  eth0: 202996179   12150    1    2    3     4          5         6  1034010    9434    7    8    9    10      11         12
 a:b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
`
	devs, err := parseNetDev(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []netDevStats{
		{"lo", [16]uint64{11643864860, 1382009, 0, 0, 0, 0, 0, 0, 11643864860, 1382009}},
		{"eth0", [16]uint64{202996179, 12150, 1, 2, 3, 4, 5, 6, 1034010, 9434, 7, 8, 9, 10, 11, 12}},
		{"a:b", [16]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
	}
	if !reflect.DeepEqual(devs, want) {
		t.Errorf("parseNetDev:\n got %+v\nwant %+v", devs, want)
	}
	for name, in := range map[string]string{
		"no colon":    "eth0 1 2 3\n",
		"short line":  "eth0: 1 2 3\n",
		"not numeric": "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseNetDev(in); err == nil {
				t.Errorf("parseNetDev(%q) succeeded", in)
			}
		})
	}
}

func TestParseMounts(t *testing.T) {
	const in = `/dev/vda / ext4 rw,relatime 0 0
/dev/vdb2 /srv/with\040space\011tab xfs ro,relatime 0 0
server:/x /mnt/back\134slash nfs4 rw 0 0

`
	mounts, err := parseMounts(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []mount{
		{"/dev/vda", "/", "ext4", "rw,relatime"},
		{"/dev/vdb2", "/srv/with space\ttab", "xfs", "ro,relatime"},
		{"server:/x", `/mnt/back\134slash`, "nfs4", "rw"},
	}
	if !reflect.DeepEqual(mounts, want) {
		t.Errorf("parseMounts:\n got %q\nwant %q", mounts, want)
	}
	if mounts[0].readOnly() || !mounts[1].readOnly() {
		t.Error("readOnly wrong")
	}
	if _, err := parseMounts("/dev/vda / ext4\n"); err == nil {
		t.Error("three-field line accepted")
	}
}

func TestParseMeminfo(t *testing.T) {
	const in = `MemTotal:       24684084 kB
Active(anon):     123 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`
	got, err := parseMeminfo(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []meminfoField{
		{"MemTotal_bytes", 24684084 * 1024},
		{"Active_anon_bytes", 123 * 1024},
		{"HugePages_Total", 0},
		{"Hugepagesize_bytes", 2048 * 1024},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseMeminfo:\n got %v\nwant %v", got, want)
	}
	for _, in := range []string{"", "MemTotal: x kB\n", "MemTotal: 1 MB\n"} {
		if _, err := parseMeminfo(in); err == nil {
			t.Errorf("parseMeminfo(%q) succeeded", in)
		}
	}
}

func TestParseDiskstats(t *testing.T) {
	const in = `   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
  11       0 sr0 10 0 80 5 0 0 0 0 0 5 5
   8       1 sda1 1 2 3 4
`
	got, err := parseDiskstats(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].device != "loop0" || len(got[0].stats) != 17 ||
		got[1].device != "sr0" || len(got[1].stats) != 11 || got[1].stats[2] != 80 {
		t.Errorf("parseDiskstats = %+v", got)
	}
	if _, err := parseDiskstats("8 0 sda 1 2 3 4 5 6 7 8 9 10 x\n"); err == nil {
		t.Error("bad number accepted")
	}
}

func TestParseNetstat(t *testing.T) {
	const in = `Tcp: RtoAlgorithm MaxConn CurrEstab
Tcp: 1 -1 7
IpExt: InOctets
IpExt: 99
`
	got, err := parseNetstat(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []netstatField{{"Tcp_RtoAlgorithm", 1}, {"Tcp_MaxConn", -1}, {"Tcp_CurrEstab", 7}, {"IpExt_InOctets", 99}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseNetstat:\n got %v\nwant %v", got, want)
	}
	for name, in := range map[string]string{
		"unpaired":        "Tcp: A B\n",
		"other protocol":  "Tcp: A\nUdp: 1\n",
		"count mismatch":  "Tcp: A B\nTcp: 1\n",
		"not numeric":     "Tcp: A\nTcp: x\n",
		"no colon in val": "Tcp: A\n1\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseNetstat(in, nil); err == nil {
				t.Errorf("parseNetstat(%q) succeeded", in)
			}
		})
	}
	got6, err := parseSNMP6("Ip6InOctets   \t12\nUdpLite6InErrors 3\n", nil)
	want6 := []netstatField{{"Ip6_InOctets", 12}, {"UdpLite6_InErrors", 3}}
	if err != nil || !reflect.DeepEqual(got6, want6) {
		t.Errorf("parseSNMP6 = %v, %v; want %v", got6, err, want6)
	}
}

func TestParseHelpers(t *testing.T) {
	t.Run("cpu list", func(t *testing.T) {
		got, err := parseCPUList("0-2,5,7-8\n")
		if want := []int{0, 1, 2, 5, 7, 8}; err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseCPUList = %v, %v; want %v", got, err, want)
		}
		for _, in := range []string{"x", "3-1", "1-", "0-99999999"} {
			if _, err := parseCPUList(in); err == nil {
				t.Errorf("parseCPUList(%q) succeeded", in)
			}
		}
	})
	t.Run("sanitize", func(t *testing.T) {
		if got := sanitizeName("a-b.c_D9"); got != "a_b_c_D9" {
			t.Errorf("sanitizeName = %q", got)
		}
	})
	t.Run("os-release", func(t *testing.T) {
		got := parseOSRelease("NAME=\"Test \\\"Q\\\" OS\"\n# c=1\nID=test\nPRETTY_NAME='single q'\nBAD\n")
		want := map[string]string{"NAME": `Test "Q" OS`, "ID": "test", "PRETTY_NAME": "single q"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parseOSRelease = %q, want %q", got, want)
		}
	})
	t.Run("pressure", func(t *testing.T) {
		some, full, err := parsePressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=1500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=3\n")
		if err != nil || some != 1.5 || full != 0.000003 {
			t.Errorf("parsePressure = %v %v %v", some, full, err)
		}
		if _, _, err := parsePressure("some avg10=1\n"); err == nil {
			t.Error("missing total accepted")
		}
	})
	t.Run("udp queues", func(t *testing.T) {
		tx, rx, err := parseUDPQueues("header\n 1: 0:0 0:0 07 00000010:00000001 rest\n 2: 0:0 0:0 07 00000001:00000002\n")
		if err != nil || tx != 17 || rx != 3 {
			t.Errorf("parseUDPQueues = %v %v %v", tx, rx, err)
		}
	})
	t.Run("conntrack stat", func(t *testing.T) {
		got, err := parseConntrackStat("entries found drop\n00000001 0000000a 00000002\n00000001 00000001 00000000\n")
		want := map[string]float64{"entries": 2, "found": 11, "drop": 2}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseConntrackStat = %v %v", got, err)
		}
	})
}

// TestCPUSmoothing checks that small steps back are hidden and large ones
// (CPU hot-plug resets) passed through.
func TestCPUSmoothing(t *testing.T) {
	var s cpuState
	cpus := func(idle, iowait float64) []statCPU {
		c := statCPU{id: "0"}
		c.times[3], c.times[4] = idle, iowait
		return []statCPU{c}
	}
	s.smooth(cpus(100, 10))
	got := cpus(101, 9.5)
	s.smooth(got)
	if got[0].times[3] != 101 || got[0].times[4] != 10 {
		t.Errorf("small step back: idle %v iowait %v, want 101 10", got[0].times[3], got[0].times[4])
	}
	got = cpus(5, 1)
	s.smooth(got)
	if got[0].times[3] != 5 || got[0].times[4] != 1 {
		t.Errorf("reset: idle %v iowait %v, want 5 1", got[0].times[3], got[0].times[4])
	}
}

// TestStatfsTimeout simulates a hung network mount: the first scrape
// reports device_error after the timeout, later scrapes skip the mount
// without waiting or calling statfs again, and once the call returns the
// mount is measured again.
func TestStatfsTimeout(t *testing.T) {
	opts := fixtureOptions(t)
	// Long enough that a scrape of the fixture never takes as long on a
	// loaded machine (at 50 ms the second scrape's check failed under load),
	// so a second scrape that took this long waited for the stuck mount.
	opts.FilesystemStatTimeout = time.Second
	opts.FilesystemMountPointsExclude = regexpMust(t, `^/(dev|proc|sys|run|boot|mnt|var)($|/)|^/srv/(back|new)`)
	c := New(opts)
	hung := make(chan struct{})
	calls := map[string]int{}
	var mu sync.Mutex
	c.statfsFn = func(path string, st *syscall.Statfs_t) error {
		mu.Lock()
		calls[path]++
		mu.Unlock()
		if strings.HasSuffix(path, "/srv/ro") {
			<-hung
		}
		return syscall.Statfs(path, st)
	}
	const metric = "node_filesystem_device_error"
	want := func(stuck string) string {
		return `# HELP node_filesystem_device_error Whether an error occurred while getting statistics for the given device.
# TYPE node_filesystem_device_error gauge
node_filesystem_device_error{device="/dev/vda",fstype="ext4",mountpoint="/"} 0
node_filesystem_device_error{device="/dev/vdb2",fstype="xfs",mountpoint="/srv/with space"} 0
node_filesystem_device_error{device="/dev/vdb3",fstype="ext4",mountpoint="/srv/ro"} ` + stuck + "\n"
	}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want("1")), metric); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := testutil.CollectAndCompare(c, strings.NewReader(want("1")), metric); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= opts.FilesystemStatTimeout {
		t.Errorf("second scrape waited %v for the stuck mount", d)
	}
	roPath := opts.RootfsPath + "/srv/ro"
	mu.Lock()
	if calls[roPath] != 1 {
		t.Errorf("statfs of the stuck mount called %d times, want 1", calls[roPath])
	}
	mu.Unlock()
	close(hung)
	// The goroutine clears the mark after returning.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := testutil.CollectAndCompare(c, strings.NewReader(want("0")), metric)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStuckMountError(t *testing.T) {
	c := New(Options{})
	c.mounts.stuck = map[string]bool{"/x": true}
	if _, err := c.statfs("/x"); !errors.Is(err, errStuckMount) {
		t.Errorf("statfs of stuck mount: %v, want errStuckMount", err)
	}
}
