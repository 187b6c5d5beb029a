//go:build linux

package process

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The fixture tree testdata/proc holds copies of real files of these
// processes. The fd directories are made by the test, as symlinks.
const (
	pidKthreadd = 2    // a kernel thread: no memory, empty command line
	pidExporter = 6715 // a Go daemon with 5 threads; plays argus itself
	pidWeird    = 9271 // comm "my (weird) app"
	pidSleepA   = 9273 // sleep 3000
	pidSleepB   = 9275 // sleep 3001
	pidZombie   = 9277 // an unreaped sleep: left out
)

var fixtureFDs = map[int]int{pidKthreadd: 0, pidExporter: 9, pidWeird: 5, pidSleepA: 3, pidSleepB: 4, pidZombie: 0}

// fixture copies testdata/proc to a temporary directory, adds fd
// directories and returns the copy's path.
func fixture(t testing.TB) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "proc")
	if err := os.CopyFS(dst, os.DirFS("testdata/proc")); err != nil {
		t.Fatal(err)
	}
	for pid, n := range fixtureFDs {
		makeFDs(t, filepath.Join(dst, strconv.Itoa(pid)), n)
	}
	return dst
}

func makeFDs(t testing.TB, pidDir string, n int) {
	t.Helper()
	dir := filepath.Join(pidDir, "fd")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.Symlink(fmt.Sprintf("pipe:[%d]", 1000+i), filepath.Join(dir, strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
}

// newFixtureCollector returns a Collector of the fixture tree at root,
// with pidExporter as argus itself and 4 KiB pages whatever the machine's.
func newFixtureCollector(t testing.TB, root string, groups ...Matcher) *Collector {
	t.Helper()
	c, err := New(Options{ProcPath: root, Groups: groups})
	if err != nil {
		t.Fatal(err)
	}
	c.groups[0].pid = pidExporter
	c.pageSize = 4096
	return c
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixtureGroups has one group of each kind: summed by comm, PerProcess by
// command line, by pid file and user, and one that matches nothing.
func fixtureGroups(t testing.TB) []Matcher {
	pidFile := filepath.Join(t.TempDir(), "kthreadd.pid")
	writeFile(t, pidFile, "2\n")
	return []Matcher{
		{Name: "sleepers", Comm: regexp.MustCompile(`^sleep$`)},
		{Name: "weird", Cmdline: regexp.MustCompile(`\(weird\) app 3000$`), PerProcess: true},
		{Name: "kernel", PIDFile: pidFile, Comm: regexp.MustCompile(`^kthreadd$`), User: "0"},
		{Name: "absent", Comm: regexp.MustCompile(`^nosuch$`)},
	}
}

// TestCollectGolden checks the whole exposition of the fixture tree. Run
// with -update to rewrite testdata/fixture.prom, then review its diff.
func TestCollectGolden(t *testing.T) {
	c := newFixtureCollector(t, fixture(t), fixtureGroups(t)...)
	const golden = "testdata/fixture.prom"
	if *update {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
				t.Fatal(err)
			}
		}
		writeFile(t, golden, buf.String())
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.CollectAndCompare(c, f); err != nil {
		t.Error(err)
	}
}

// TestCollectValues spells out, from the fixture files, the values the
// golden file holds, so that -update cannot bless a wrong number.
func TestCollectValues(t *testing.T) {
	c := newFixtureCollector(t, fixture(t), fixtureGroups(t)...)
	got := collect(t, c)
	const btime = 1795724524
	want := map[string]float64{
		// sleepers: 9273 and 9275 sleep; 9277 is a zombie, left out.
		`process_group_processes{group="sleepers"}`:                                                          2,
		`process_resident_memory_bytes{group="sleepers"}`:                                                    (425 + 409) * 4096,
		`process_virtual_memory_bytes{group="sleepers"}`:                                                     2 * 2990080,
		`process_threads{group="sleepers"}`:                                                                  2,
		`process_start_time_seconds{group="sleepers"}`:                                                       btime + 977127.0/100,
		`process_open_fds{group="sleepers"}`:                                                                 3 + 4,
		`process_max_fds{group="sleepers"}`:                                                                  2 * 20000,
		`process_open_fds_worst_ratio{group="sleepers"}`:                                                     4.0 / 20000,
		`process_major_page_faults_total{group="sleepers"}`:                                                  1,
		`process_io_read_bytes_total{group="sleepers"}`:                                                      16384 + 20480,
		`process_io_write_bytes_total{group="sleepers"}`:                                                     4096,
		`process_context_switches_total{group="sleepers",kind="voluntary"}`:                                  10 + 6,
		`process_context_switches_total{group="sleepers",kind="nonvoluntary"}`:                               2 + 3,
		`process_cpu_seconds_total{group="weird",pid="9271",comm="my (weird) app"}`:                          0,
		`process_resident_memory_bytes{group="weird",pid="9271",comm="my (weird) app"}`:                      417 * 4096,
		`process_virtual_memory_bytes{group="weird",pid="9271",comm="my (weird) app"}`:                       2990080,
		`process_start_time_seconds{group="weird",pid="9271",comm="my (weird) app"}`:                         btime + 977126.0/100,
		`process_io_read_bytes_total{group="weird",pid="9271",comm="my (weird) app"}`:                        126976,
		`process_open_fds{group="weird",pid="9271",comm="my (weird) app"}`:                                   5,
		`process_max_fds{group="weird",pid="9271",comm="my (weird) app"}`:                                    20000,
		`process_context_switches_total{group="weird",pid="9271",comm="my (weird) app",kind="voluntary"}`:    10,
		`process_context_switches_total{group="weird",pid="9271",comm="my (weird) app",kind="nonvoluntary"}`: 3,
		`process_group_processes{group="kernel"}`:                                                            1,
		`process_resident_memory_bytes{group="kernel"}`:                                                      0,
		`process_open_fds{group="kernel"}`:                                                                   0,
		`process_group_processes{group="absent"}`:                                                            0,
		`process_group_processes{group="argus"}`:                                                             1,
		`process_threads{group="argus"}`:                                                                     5,
		`process_open_fds{group="argus"}`:                                                                    9,
		`argus_process_scrape_errors_total{group="argus",reason="permission"}`:                               0,
	}
	for series, v := range want {
		if g, ok := got[series]; !ok {
			t.Errorf("%s missing", series)
		} else if g != v {
			t.Errorf("%s = %v, want %v", series, g, v)
		}
	}
	// An empty group reports its count and error counters, nothing else.
	for series := range got {
		if strings.Contains(series, `group="absent"`) &&
			!strings.HasPrefix(series, "process_group_processes") && !strings.HasPrefix(series, "argus_") {
			t.Errorf("empty group has %s", series)
		}
	}
}

// collect gathers c and returns every sample by its series, written as
// name{labels} with the labels in the order of the Desc.
func collect(t testing.TB, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			// Desc order: group, pid, comm, then mode or kind, which
			// expfmt sorts by name; restore ours for readable keys.
			slices.SortStableFunc(labels, func(a, b string) int { return labelRank(a) - labelRank(b) })
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			got[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return got
}

func labelRank(l string) int {
	for i, p := range []string{"group=", "pid=", "comm="} {
		if strings.HasPrefix(l, p) {
			return i
		}
	}
	return 3
}

// TestCountersMonotonic checks that summed counters only grow as processes
// exit, start and reuse pids.
func TestCountersMonotonic(t *testing.T) {
	root := fixture(t)
	c := newFixtureCollector(t, root, Matcher{Name: "sleepers", Comm: regexp.MustCompile(`^sleep$`)})
	const cpu = `process_cpu_seconds_total{group="sleepers"}`
	const reads = `process_io_read_bytes_total{group="sleepers"}`
	first := collect(t, c)

	// 9275 exits; 9273 uses 1.5 s of user CPU and reads 8 KiB.
	if err := os.RemoveAll(filepath.Join(root, strconv.Itoa(pidSleepB))); err != nil {
		t.Fatal(err)
	}
	editStat(t, root, pidSleepA, 14, "150")
	editFile(t, filepath.Join(root, strconv.Itoa(pidSleepA), "io"), "read_bytes: 16384", "read_bytes: 24576")
	second := collect(t, c)
	if got, want := second[cpu], first[cpu]+1.5; got != want {
		t.Errorf("after an exit: cpu %v, want %v", got, want)
	}
	if got, want := second[reads], first[reads]+8192; got != want {
		t.Errorf("after an exit: reads %v, want %v", got, want)
	}
	if n := second[`process_group_processes{group="sleepers"}`]; n != 1 {
		t.Errorf("after an exit: %v processes, want 1", n)
	}

	// 9273's pid is reused by a new process with 0.25 s: it adds all of it.
	editStat(t, root, pidSleepA, 22, "999999")
	editStat(t, root, pidSleepA, 14, "25")
	third := collect(t, c)
	if got, want := third[cpu], second[cpu]+0.25; got != want {
		t.Errorf("after pid reuse: cpu %v, want %v", got, want)
	}

	// Its io becomes unreadable, then readable again with 4 KiB more: the
	// total neither drops nor counts the earlier 8 KiB twice.
	ioPath := filepath.Join(root, strconv.Itoa(pidSleepA), "io")
	editFile(t, ioPath, "read_bytes: 24576", "read_bytes: oops")
	fourth := collect(t, c)
	if fourth[reads] != third[reads] {
		t.Errorf("io unreadable: reads %v, want %v", fourth[reads], third[reads])
	}
	editFile(t, ioPath, "read_bytes: oops", "read_bytes: 28672")
	fifth := collect(t, c)
	if got, want := fifth[reads], fourth[reads]+4096; got != want {
		t.Errorf("io readable again: reads %v, want %v", got, want)
	}

	// All exit: counters stay, gauges go.
	for _, pid := range []int{pidSleepA, pidZombie} {
		if err := os.RemoveAll(filepath.Join(root, strconv.Itoa(pid))); err != nil {
			t.Fatal(err)
		}
	}
	last := collect(t, c)
	if last[cpu] != fifth[cpu] {
		t.Errorf("all exited: cpu %v, want %v", last[cpu], fifth[cpu])
	}
	if _, ok := last[`process_resident_memory_bytes{group="sleepers"}`]; ok {
		t.Error("all exited: resident memory still reported")
	}
	if n, ok := last[`process_group_processes{group="sleepers"}`]; !ok || n != 0 {
		t.Errorf("all exited: process_group_processes = %v, %v; want 0", n, ok)
	}
}

// editStat sets field n (numbered from 1, as in proc(5)) of pid's stat.
func editStat(t testing.TB, root string, pid, n int, value string) {
	t.Helper()
	path := filepath.Join(root, strconv.Itoa(pid), "stat")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := bytes.LastIndexByte(b, ')')
	fields := strings.Fields(string(b[end+1:]))
	fields[n-3] = value
	writeFile(t, path, string(b[:end+1])+" "+strings.Join(fields, " ")+"\n")
}

func editFile(t testing.TB, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q", path, old)
	}
	writeFile(t, path, strings.Replace(string(b), old, new, 1))
}

// TestUnusableFiles checks that a bad file leaves out only its metrics and
// counts, and that a bad stat leaves out the process.
func TestUnusableFiles(t *testing.T) {
	root := fixture(t)
	c := newFixtureCollector(t, root,
		Matcher{Name: "weird", Comm: regexp.MustCompile(`weird`), PerProcess: true},
		Matcher{Name: "sleepers", Comm: regexp.MustCompile(`^sleep$`)})
	weird := filepath.Join(root, strconv.Itoa(pidWeird))
	writeFile(t, filepath.Join(weird, "io"), "garbage\n")
	if err := os.RemoveAll(filepath.Join(weird, "fd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(weird, "fd"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(weird, "limits"), "Max open files  lots\n")
	writeFile(t, filepath.Join(root, strconv.Itoa(pidSleepB), "stat"), "9275 (sleep) S 1 2 3\n")
	// A file that is missing is a process that has just exited.
	if err := os.Remove(filepath.Join(root, strconv.Itoa(pidSleepA), "status")); err != nil {
		t.Fatal(err)
	}

	for range 2 {
		got := collect(t, c)
		const p = `{group="weird",pid="9271",comm="my (weird) app"}`
		if _, ok := got["process_resident_memory_bytes"+p]; !ok {
			t.Error("weird: resident memory missing")
		}
		for _, name := range []string{"process_io_read_bytes_total", "process_open_fds", "process_max_fds"} {
			if _, ok := got[name+p]; ok {
				t.Errorf("weird: %s reported from a bad file", name)
			}
		}
		if n := got[`process_group_processes{group="sleepers"}`]; n != 0 {
			t.Errorf("sleepers: %v processes, want 0", n)
		}
	}
	got := collect(t, c)
	for series, want := range map[string]float64{
		`argus_process_scrape_errors_total{group="weird",reason="parse"}`:    3 * 2, // io, limits, each scrape
		`argus_process_scrape_errors_total{group="sleepers",reason="parse"}`: 3,     // stat
		`argus_process_scrape_errors_total{group="weird",reason="read"}`:     0,
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v", series, got[series], want)
		}
	}
}

func TestReasonOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.ENOENT}, reasonGone},
		{syscall.ESRCH, reasonGone},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.EACCES}, reasonPermission},
		{syscall.EPERM, reasonPermission},
		{fmt.Errorf("x: %w", errParse), reasonParse},
		{syscall.EIO, reasonRead},
		{errors.New("other"), reasonRead},
	} {
		if got := reasonOf(tc.err); got != tc.want {
			t.Errorf("reasonOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestPermissionDenied needs a user that file modes apply to.
func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	root := fixture(t)
	c := newFixtureCollector(t, root, Matcher{Name: "weird", Comm: regexp.MustCompile(`weird`)})
	if err := os.Chmod(filepath.Join(root, strconv.Itoa(pidWeird), "io"), 0); err != nil {
		t.Fatal(err)
	}
	got := collect(t, c)
	if n := got[`argus_process_scrape_errors_total{group="weird",reason="permission"}`]; n != 1 {
		t.Errorf("permission errors = %v, want 1", n)
	}
	if _, ok := got[`process_io_read_bytes_total{group="weird"}`]; ok {
		t.Error("io reported from an unreadable file")
	}
}

func TestProcPathGone(t *testing.T) {
	root := fixture(t)
	c := newFixtureCollector(t, root)
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "open "+root) {
		t.Errorf("Gather error = %v, want one about opening %s", err, root)
	}
}

func TestNewErrors(t *testing.T) {
	root := fixture(t)
	comm := regexp.MustCompile(`x`)
	f := func(name string, opts Options, want string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if opts.ProcPath == "" {
				opts.ProcPath = root
			}
			_, err := New(opts)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("New error = %v, want one containing %q", err, want)
			}
		})
	}
	f("no name", Options{Groups: []Matcher{{Comm: comm}}}, "needs a name")
	f("self name", Options{Groups: []Matcher{{Name: "argus", Comm: comm}}}, `"argus" is taken`)
	f("twice", Options{Groups: []Matcher{{Name: "a", Comm: comm}, {Name: "a", Comm: comm}}}, `group 2 ("a"): name "a" is taken`)
	f("nothing", Options{Groups: []Matcher{{Name: "a", PerProcess: true}}}, "selects nothing")
	f("bad utf8", Options{Groups: []Matcher{{Name: "a\xff", Comm: comm}}}, "UTF-8")
	f("unknown user", Options{Groups: []Matcher{{Name: "a", User: "no-such-user-argus"}}}, "unknown user no-such-user-argus")
	f("no proc", Options{ProcPath: filepath.Join(root, "nonexistent")}, "read boot time")
}

func TestNewDefaults(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	c, err := New(Options{Groups: []Matcher{{Name: "root", User: "root"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.procPath != "/proc" || c.groups[0].pid != os.Getpid() || c.groups[1].uid != 0 {
		t.Errorf("procPath %q, self pid %d, root uid %d", c.procPath, c.groups[0].pid, c.groups[1].uid)
	}
}

// TestCollectConcurrently runs scrapes side by side, for the race detector.
func TestCollectConcurrently(t *testing.T) {
	c := newFixtureCollector(t, fixture(t), fixtureGroups(t)...)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	done := make(chan error)
	for range 4 {
		go func() {
			_, err := reg.Gather()
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
