//go:build linux

// Benchmarks of one scrape, on a fixture tree of 300 processes and on the
// machine's /proc. For benchstat:
//
//	go test ./internal/collector/process -run '^$' -bench . -benchmem -count 6 | tee process.bench

package process

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// fixture300 copies each fixture process 50 times, as pids 10000 and up:
// 300 processes: 100 sleeps, 50 zombies, 50 kernel threads (kthreadd), 50
// Go daemons and 50 weird apps.
func fixture300(tb testing.TB) string {
	tb.Helper()
	root := fixture(tb)
	pids := []int{pidKthreadd, pidExporter, pidWeird, pidSleepA, pidSleepB, pidZombie}
	for k := range 50 {
		for i, pid := range pids {
			src := filepath.Join(root, strconv.Itoa(pid))
			dst := filepath.Join(root, strconv.Itoa(10000+10*k+i))
			if err := os.Mkdir(dst, 0o755); err != nil {
				tb.Fatal(err)
			}
			for _, name := range []string{"stat", "status", "io", "limits", "comm", "cmdline"} {
				b, err := os.ReadFile(filepath.Join(src, name))
				if err != nil {
					tb.Fatal(err)
				}
				writeFile(tb, filepath.Join(dst, name), string(b))
			}
			makeFDs(tb, dst, fixtureFDs[pid])
		}
	}
	for _, pid := range pids {
		if err := os.RemoveAll(filepath.Join(root, strconv.Itoa(pid))); err != nil {
			tb.Fatal(err)
		}
	}
	return root
}

// benchGroups is a typical configuration: most processes match nothing,
// and a group by command line alone makes every one of them read cmdline.
func benchGroups(tb testing.TB) []Matcher {
	pidFile := filepath.Join(tb.TempDir(), "daemon.pid")
	writeFile(tb, pidFile, "10011\n") // a copy of the Go daemon
	return []Matcher{
		{Name: "nginx", Comm: regexp.MustCompile(`^nginx$`)},
		{Name: "sleepers", Comm: regexp.MustCompile(`^sleep$`)},
		{Name: "daemon", PIDFile: pidFile, PerProcess: true},
		{Name: "postgres", Comm: regexp.MustCompile(`^postgres$`), Cmdline: regexp.MustCompile(`main`)},
		{Name: "weird", Cmdline: regexp.MustCompile(`\(weird\) app`)},
	}
}

func BenchmarkCollect(b *testing.B) {
	b.Run("fixture300", func(b *testing.B) {
		c := newFixtureCollector(b, fixture300(b), benchGroups(b)...)
		c.groups[0].pid = 10001 // another copy plays argus
		benchCollect(b, c)
	})
	b.Run("live", func(b *testing.B) {
		if _, err := os.Stat("/proc/self/stat"); err != nil {
			b.Skip("no /proc")
		}
		c, err := New(Options{Groups: benchGroups(b)})
		if err != nil {
			b.Fatal(err)
		}
		benchCollect(b, c)
	})
}

func benchCollect(b *testing.B, c *Collector) {
	ch := make(chan prometheus.Metric, 4096)
	var series, procs int
	b.ReportAllocs()
	for b.Loop() {
		c.Collect(ch)
		series = len(ch)
		for len(ch) > 0 {
			<-ch
		}
	}
	for _, g := range c.groups {
		procs += len(g.procs)
	}
	if err := c.scan(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(c.scratch.pids)), "procs/op")
	b.ReportMetric(float64(procs), "matched/op")
	b.ReportMetric(float64(series), "series/op")
}

// TestScanAllocs holds reading /proc to its allocation budget: one per file
// or directory opened (syscall copies the name to add a NUL), none per
// byte read.
func TestScanAllocs(t *testing.T) {
	c := newFixtureCollector(t, fixture300(t), benchGroups(t)...)
	c.groups[0].pid = 10001
	if err := c.scan(); err != nil {
		t.Fatal(err)
	}
	// A process needs at most 8 opens (its directory, comm, cmdline, stat,
	// status, io, limits, fd); few need them all.
	const perProcess = 7
	if n := testing.AllocsPerRun(5, func() { c.scan() }); n > perProcess*300 {
		t.Errorf("a scan of 300 processes allocates %v times, want at most %d", n, perProcess*300)
	}
}
