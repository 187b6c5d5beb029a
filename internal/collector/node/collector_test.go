package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fixtureOptions reads the copies of a real machine's /proc, /sys, udev
// database and /etc/os-release under testdata/fixture.
func fixtureOptions(t testing.TB) Options {
	t.Helper()
	dir, err := filepath.Abs("testdata/fixture")
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		ProcPath:     filepath.Join(dir, "proc"),
		SysPath:      filepath.Join(dir, "sys"),
		RootfsPath:   filepath.Join(dir, "rootfs"),
		UdevDataPath: filepath.Join(dir, "udev"),
	}
}

// gather collects c through a pedantic registry, which also validates every
// metric (names, label consistency, duplicates).
func gather(t testing.TB, c prometheus.Collector) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// hostDependent are families whose values or label values come from the
// running machine or clock rather than the fixture files.
var hostDependent = map[string]bool{
	"node_uname_info":                        true,
	"node_time_seconds":                      true,
	"node_time_zone_offset_seconds":          true,
	"node_scrape_collector_duration_seconds": true,
}

// statfsFamilies get their values from statfs on the test machine (the
// fixture's mount points are directories of testdata).
var statfsFamilies = map[string]bool{
	"node_filesystem_size_bytes":  true,
	"node_filesystem_free_bytes":  true,
	"node_filesystem_avail_bytes": true,
	"node_filesystem_files":       true,
	"node_filesystem_files_free":  true,
}

// fixtureText renders the fixture families as exposition text, without
// host-dependent families and with statfs values replaced by 1.
func fixtureText(t testing.TB, mfs []*dto.MetricFamily) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, mf := range mfs {
		name := mf.GetName()
		if hostDependent[name] || strings.HasPrefix(name, "node_timex_") {
			continue
		}
		if statfsFamilies[name] {
			for _, m := range mf.GetMetric() {
				m.Gauge.Value = new(1.0)
			}
		}
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestFixtureGolden checks the complete output for the fixture files
// against testdata/fixture.golden.prom (rewrite with -update). The golden
// file is itself checked against node_exporter by
// TestFixtureMatchesNodeExporter.
func TestFixtureGolden(t *testing.T) {
	got := fixtureText(t, gather(t, New(fixtureOptions(t))))
	golden := "testdata/fixture.golden.prom"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update after checking):\n%s", golden, lineDiff(string(want), string(got)))
	}
}

// lineDiff lists lines only in want (-) or only in got (+).
func lineDiff(want, got string) string {
	w := strings.Split(want, "\n")
	g := strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// TestFailingSubcollectorIsolated points ProcPath at an empty directory:
// the procfs collectors fail and say so, the sysfs ones still report.
func TestFailingSubcollectorIsolated(t *testing.T) {
	opts := fixtureOptions(t)
	opts.ProcPath = t.TempDir()
	c := New(opts)
	mfs := gather(t, c)
	success := map[string]float64{}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if mf.GetName() != "node_scrape_collector_success" {
			continue
		}
		for _, m := range mf.GetMetric() {
			success[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	for _, sc := range subcollectors {
		if _, ok := success[sc.name]; !ok {
			t.Errorf("no node_scrape_collector_success for %s", sc.name)
		}
	}
	for _, name := range []string{"cpu", "meminfo", "stat", "netdev", "diskstats", "filesystem", "loadavg", "pressure"} {
		if success[name] != 0 {
			t.Errorf("collector %s: success %v without procfs, want 0", name, success[name])
		}
	}
	for _, name := range []string{"netclass", "edac", "thermal_zone", "time", "uname", "os"} {
		if success[name] != 1 {
			t.Errorf("collector %s: success %v, want 1", name, success[name])
		}
	}
	for _, name := range []string{"node_network_info", "node_edac_correctable_errors_total", "node_os_info"} {
		if !names[name] {
			t.Errorf("%s missing although its collector's files exist", name)
		}
	}
	if names["node_cpu_seconds_total"] || names["node_memory_MemTotal_bytes"] {
		t.Error("procfs metrics reported without procfs")
	}
}

// TestOptionsFilters checks that the exclusion and selection options apply.
func TestOptionsFilters(t *testing.T) {
	opts := fixtureOptions(t)
	opts.NetdevDeviceExclude = regexpMust(t, "^(lo|ifb.*)$")
	opts.DiskstatsDeviceExclude = regexpMust(t, "^(sd|dm-|loop|nvme0n1p).*")
	opts.FilesystemMountPointsExclude = regexpMust(t, "^/(srv|var)/")
	opts.FilesystemFSTypesExclude = regexpMust(t, "^tmpfs$")
	opts.NetstatFields = regexpMust(t, "^Tcp_CurrEstab$")
	opts.VmstatFields = regexpMust(t, "^oom_kill$")
	c := New(opts)
	const want = `
# HELP node_network_receive_bytes_total Network device statistic receive_bytes.
# TYPE node_network_receive_bytes_total counter
node_network_receive_bytes_total{device="eth0"} 2.02996179e+08
# HELP node_disk_io_now The number of I/Os currently in progress.
# TYPE node_disk_io_now gauge
node_disk_io_now{device="nvme0n1"} 2
node_disk_io_now{device="sr0"} 0
node_disk_io_now{device="vda"} 0
node_disk_io_now{device="zram0"} 0
# HELP node_filesystem_readonly Filesystem read-only status.
# TYPE node_filesystem_readonly gauge
node_filesystem_readonly{device="/dev/vda",fstype="ext4",mountpoint="/"} 0
# HELP node_netstat_Tcp_CurrEstab Statistic TcpCurrEstab.
# TYPE node_netstat_Tcp_CurrEstab untyped
node_netstat_Tcp_CurrEstab 0
# HELP node_vmstat_oom_kill /proc/vmstat information field oom_kill.
# TYPE node_vmstat_oom_kill untyped
node_vmstat_oom_kill 0
`
	err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"node_network_receive_bytes_total", "node_disk_io_now", "node_filesystem_readonly",
		"node_netstat_Tcp_CurrEstab", "node_vmstat_oom_kill")
	if err != nil {
		t.Error(err)
	}
	n, err := testutil.GatherAndCount(gatherer(c), "node_netstat_Tcp_InSegs", "node_vmstat_pgfault")
	if err != nil || n != 0 {
		t.Errorf("deselected fields: %d series, err %v; want none", n, err)
	}
}

func gatherer(c prometheus.Collector) prometheus.Gatherer {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	return reg
}

func regexpMust(t testing.TB, expr string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

// TestConcurrentCollect runs overlapping scrapes, as two Prometheus-style
// scrapers would; run with -race.
func TestConcurrentCollect(t *testing.T) {
	c := New(fixtureOptions(t))
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3 {
				if _, err := reg.Gather(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// TestFailureLogging checks that a persistent failure is logged at warn
// level once, a missing file only at debug level, and recovery at info.
func TestFailureLogging(t *testing.T) {
	var buf bytes.Buffer
	c := New(Options{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	boom := errors.New("boom")
	c.noteResult("cpu", boom)
	c.noteResult("cpu", boom)
	c.noteResult("cpu", nil)
	c.noteResult("conntrack", fs.ErrNotExist)
	var levels []string
	for line := range strings.Lines(buf.String()) {
		var rec struct{ Level, Collector string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		levels = append(levels, rec.Level+" collector="+rec.Collector)
	}
	want := []string{"WARN collector=cpu", "DEBUG collector=cpu", "INFO collector=cpu", "DEBUG collector=conntrack"}
	if !slices.Equal(levels, want) {
		t.Errorf("log levels %q, want %q\n%s", levels, want, buf.String())
	}
}

func TestStripRootfs(t *testing.T) {
	f := func(root, in, want string) {
		t.Helper()
		c := New(Options{RootfsPath: root})
		if got := c.stripRootfs(in); got != want {
			t.Errorf("stripRootfs(%q) with root %q = %q, want %q", in, root, got, want)
		}
	}
	f("/", "/boot", "/boot")
	f("/host", "/host", "/")
	f("/host/", "/host/boot", "/boot")
	f("/host", "/hostname", "/hostname")
	f("/host", "/boot", "/boot")
}
