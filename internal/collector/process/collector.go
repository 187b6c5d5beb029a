package process

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// SelfGroup is the group label of argus's own process, always reported.
const SelfGroup = "argus"

// userHZ is the unit of the clock tick fields of /proc/PID/stat. The kernel
// reports them in USER_HZ, 100 on every architecture Go supports on Linux;
// reading sysconf(_SC_CLK_TCK) would need cgo.
const userHZ = 100

// Options configure a Collector.
type Options struct {
	// ProcPath is where the proc file system is mounted; default "/proc".
	ProcPath string
	// Groups select processes to report besides argus itself. A process
	// belongs to the first group that matches it, and argus to SelfGroup
	// before any of them, so sums over groups count no process twice.
	Groups []Matcher
	// Logger receives a warning the first time a group's processes have a
	// file the collector cannot use, once per group and reason; nil discards.
	Logger *slog.Logger
}

// Matcher selects a group of processes: those that meet every criterion
// set. At least one of Comm, Cmdline, PIDFile and User must be set.
type Matcher struct {
	// Name is the group label value: required, unique, and not SelfGroup.
	Name string
	// Comm must match the command name (/proc/PID/comm, at most 15 bytes).
	// It is applied as given, so anchor it (^nginx$) to match whole names.
	Comm *regexp.Regexp
	// Cmdline must match the command line: the arguments joined by spaces.
	// It is read only for processes that meet the other criteria, so give
	// Comm too where possible: alone, it reads the command line of every
	// process that no earlier group took.
	Cmdline *regexp.Regexp
	// PIDFile names a file holding the pid of the only process that may
	// match. It is read at every scrape; while it is missing, the group is
	// empty.
	PIDFile string
	// User is a user name or numeric uid; the process's effective uid must
	// be it. A name is looked up once, by New.
	User string
	// PerProcess reports every process of the group as its own series,
	// labelled with pid and comm, instead of sums over the group. Each new
	// pid is a new set of series, so keep it for a few long-lived processes.
	PerProcess bool
}

// Collector reports the processes of its groups. It implements
// prometheus.Collector; Collect may be called concurrently, and the calls
// run one at a time.
type Collector struct {
	procPath string
	bootTime float64 // seconds since the Unix epoch
	pageSize uint64
	logger   *slog.Logger
	desc     descs

	mu      sync.Mutex // serialises Collect; guards the fields below
	groups  []*group   // groups[0] is SelfGroup
	scratch scratch
}

// New returns a Collector of argus itself and of opts.Groups. It fails on
// an invalid Matcher, and when ProcPath/stat cannot be read.
func New(opts Options) (*Collector, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("process metrics need Linux's /proc: %w", errors.ErrUnsupported)
	}
	if opts.ProcPath == "" {
		opts.ProcPath = "/proc"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b, err := os.ReadFile(filepath.Join(opts.ProcPath, "stat"))
	if err != nil {
		return nil, fmt.Errorf("read boot time: %w", err)
	}
	btime, err := parseBootTime(b)
	if err != nil {
		return nil, fmt.Errorf("read boot time from %s: %w", filepath.Join(opts.ProcPath, "stat"), err)
	}
	c := &Collector{
		procPath: opts.ProcPath,
		bootTime: float64(btime),
		pageSize: uint64(os.Getpagesize()),
		logger:   opts.Logger,
		desc:     newDescs(),
	}
	self := newGroup(SelfGroup)
	self.byPID, self.pid = true, os.Getpid()
	c.groups = append(c.groups, self)
	seen := map[string]bool{SelfGroup: true}
	for i, m := range opts.Groups {
		g, err := groupOf(m)
		if err == nil && seen[m.Name] {
			err = fmt.Errorf("name %q is taken", m.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("process group %d (%q): %w", i+1, m.Name, err)
		}
		seen[m.Name] = true
		c.groups = append(c.groups, g)
	}
	return c, nil
}

// groupOf validates m and returns its group.
func groupOf(m Matcher) (*group, error) {
	switch {
	case m.Name == "":
		return nil, errors.New("a group needs a name")
	case !utf8.ValidString(m.Name):
		return nil, errors.New("the name is not valid UTF-8")
	case m.Comm == nil && m.Cmdline == nil && m.PIDFile == "" && m.User == "":
		return nil, errors.New("selects nothing: set Comm, Cmdline, PIDFile or User")
	}
	g := newGroup(m.Name)
	g.comm, g.cmdline, g.perProcess = m.Comm, m.Cmdline, m.PerProcess
	g.pidFile, g.byPID = m.PIDFile, m.PIDFile != ""
	if m.User != "" {
		uid, err := lookupUID(m.User)
		if err != nil {
			return nil, err
		}
		g.uid = int64(uid)
	}
	return g, nil
}

// lookupUID returns the uid of a user name or numeric uid.
func lookupUID(name string) (uint32, error) {
	if uid, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(uid), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, err
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("user %q has uid %q, want a number", name, u.Uid)
	}
	return uint32(uid), nil
}

// Describe sends nothing, which makes the Collector unchecked: a metric
// name carries the label group alone for a summed group, and group, pid
// and comm for a PerProcess group, and a checked collector must give every
// name one label set. An unchecked collector may not be registered twice
// in one registry, and its names are only checked when gathered.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect reads /proc and sends the metrics of every group. A process that
// exits during the scrape is left out; a file that cannot be used leaves
// out its metrics and counts in argus_process_scrape_errors_total. Only
// failing to list ProcPath fails the scrape, with an invalid metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.scan(); err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc.processes, err)
		return
	}
	for _, g := range c.groups {
		c.emit(ch, g)
	}
}
