package process

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// Counters a sample holds, indexes into counterSet.
const (
	cpuUser = iota
	cpuSystem
	majorFaults
	readBytes
	writeBytes
	voluntarySwitches
	nonvoluntarySwitches
	numCounters
)

// counterSet holds counter values and whether each is known.
type counterSet struct {
	v  [numCounters]uint64
	ok [numCounters]bool
}

func (s *counterSet) set(i int, v uint64) { s.v[i], s.ok[i] = v, true }

// sample is one process's reading at one scrape.
type sample struct {
	pid      int
	comm     string // only for PerProcess groups
	start    uint64 // clock ticks after boot
	rss      uint64 // bytes
	vsize    uint64 // bytes
	threads  uint64
	counters counterSet
	hasFDs   bool // openFDs and maxFDs are known
	openFDs  uint64
	maxFDs   float64
}

// procKey identifies a process across scrapes: pids are reused, but not
// with the same start time.
type procKey struct {
	pid   int
	start uint64
}

// group is a Matcher's state.
type group struct {
	name          string
	comm, cmdline *regexp.Regexp
	uid           int64 // -1 for any user
	pidFile       string
	byPID         bool // only pid may match: SelfGroup, or a pid file's
	pid           int  // 0 when the pid file gave none at this scrape
	perProcess    bool

	procs []sample // matched at this scrape

	// For summed groups, counters stay monotonic as processes come and go:
	// total adds up each process's increase since the scrape before,
	// remembered in last (next is the spare map swapped with it).
	total      counterSet
	last, next map[procKey]counterSet

	errors [numReasons]uint64
	warned [numReasons]bool
}

func newGroup(name string) *group {
	return &group{name: name, uid: -1, last: map[procKey]counterSet{}, next: map[procKey]counterSet{}}
}

// Reasons a file could not be used.
const (
	reasonPermission = iota // argus may not read it
	reasonParse             // its content is not what proc(5) describes
	reasonRead              // any other error
	numReasons
	reasonGone // the process exited: not an error
)

var reasonNames = [numReasons]string{"permission", "parse", "read"}

func reasonOf(err error) int {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ESRCH):
		return reasonGone
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return reasonPermission
	case errors.Is(err, errParse):
		return reasonParse
	}
	return reasonRead
}

// scratch holds buffers reused across scrapes.
type scratch struct {
	pids    []int
	dirent  []byte
	comm    []byte
	cmdline []byte
	status  []byte
	file    []byte // stat, io, limits: parsed right after reading
}

// scan reads every process once, adds the matching ones to their groups,
// and updates the groups' counter totals.
func (c *Collector) scan() error {
	root, err := openDir(c.procPath)
	if err != nil {
		return fmt.Errorf("open %s: %w", c.procPath, err)
	}
	defer closeFD(root)
	pids := c.scratch.pids[:0]
	c.scratch.dirent, err = readDir(root, c.scratch.dirent, func(name []byte) {
		// Only thread group leaders, that is processes, are listed.
		if pid, ok := parseUint(name); ok && pid > 0 && pid <= math.MaxInt32 {
			pids = append(pids, int(pid))
		}
	})
	c.scratch.pids = pids
	if err != nil {
		return fmt.Errorf("list %s: %w", c.procPath, err)
	}
	for _, g := range c.groups {
		c.readPIDFile(g)
		g.procs = g.procs[:0]
	}
	for _, pid := range pids {
		c.scanPID(root, pid)
	}
	for _, g := range c.groups {
		if !g.perProcess {
			g.accumulate()
		}
	}
	return nil
}

// readPIDFile sets g.pid from g's pid file, if it has one.
func (c *Collector) readPIDFile(g *group) {
	if g.pidFile == "" {
		return
	}
	g.pid = 0
	b, err := os.ReadFile(g.pidFile)
	if err == nil {
		g.pid, err = parsePID(b)
	}
	if err != nil {
		c.fail(g, 0, g.pidFile, err)
	}
}

// candidate is a process being matched. Its files are read at most once,
// and only when a criterion needs them.
type candidate struct {
	pid        int
	dir        int // descriptor of /proc/PID
	loaded     uint8
	comm       []byte
	cmdline    []byte
	status     procStatus
	commErr    error
	cmdlineErr error
	statusErr  error
}

const (
	loadedComm = 1 << iota
	loadedCmdline
	loadedStatus
)

// scanPID adds the process pid, listed in the directory root, to the first
// group it matches.
func (c *Collector) scanPID(root, pid int) {
	var name [20]byte
	dir, err := openDirAt(root, string(strconv.AppendInt(name[:0], int64(pid), 10)))
	if err != nil {
		return // exited since the listing
	}
	defer closeFD(dir)
	p := candidate{pid: pid, dir: dir}
	for _, g := range c.groups {
		ok, err := c.matches(g, &p)
		if err != nil {
			return // exited
		}
		if ok {
			c.read(g, &p)
			return
		}
	}
}

// matches reports whether p is in g, cheapest criteria first. Its error is
// set only when p has exited; a file that cannot be read just fails its
// criterion.
func (c *Collector) matches(g *group, p *candidate) (bool, error) {
	if g.byPID && p.pid != g.pid {
		return false, nil
	}
	if g.comm != nil {
		if err := c.loadComm(p); err != nil {
			return false, goneOnly(err)
		}
		if !g.comm.Match(p.comm) {
			return false, nil
		}
	}
	if g.uid >= 0 {
		if err := c.loadStatus(p); err != nil {
			return false, goneOnly(err)
		}
		if p.status.euid != uint64(g.uid) {
			return false, nil
		}
	}
	if g.cmdline != nil {
		if err := c.loadCmdline(p); err != nil {
			return false, goneOnly(err)
		}
		if !g.cmdline.Match(p.cmdline) {
			return false, nil
		}
	}
	return true, nil
}

func goneOnly(err error) error {
	if reasonOf(err) == reasonGone {
		return err
	}
	return nil
}

func (c *Collector) loadComm(p *candidate) error {
	if p.loaded&loadedComm == 0 {
		p.loaded |= loadedComm
		c.scratch.comm, p.commErr = readFileAt(p.dir, "comm", c.scratch.comm)
		p.comm = bytes.TrimSuffix(c.scratch.comm, []byte{'\n'})
	}
	return p.commErr
}

func (c *Collector) loadStatus(p *candidate) error {
	if p.loaded&loadedStatus == 0 {
		p.loaded |= loadedStatus
		c.scratch.status, p.statusErr = readFileAt(p.dir, "status", c.scratch.status)
		if p.statusErr == nil {
			p.status, p.statusErr = parseStatus(c.scratch.status)
		}
	}
	return p.statusErr
}

// loadCmdline reads the arguments, which the kernel separates and ends with
// NULs, and joins them with spaces.
func (c *Collector) loadCmdline(p *candidate) error {
	if p.loaded&loadedCmdline == 0 {
		p.loaded |= loadedCmdline
		c.scratch.cmdline, p.cmdlineErr = readFileAt(p.dir, "cmdline", c.scratch.cmdline)
		b := bytes.TrimRight(c.scratch.cmdline, "\x00")
		for i, ch := range b {
			if ch == 0 {
				b[i] = ' '
			}
		}
		p.cmdline = b
	}
	return p.cmdlineErr
}

// read adds p's sample to g. Without a usable stat file p is left out, as
// is a zombie; without another file, only the metrics from that file are.
func (c *Collector) read(g *group, p *candidate) {
	s := sample{pid: p.pid}
	var err error
	c.scratch.file, err = readFileAt(p.dir, "stat", c.scratch.file)
	var st procStat
	if err == nil {
		st, err = parseStat(c.scratch.file)
	}
	if err != nil {
		c.fail(g, p.pid, "stat", err)
		return
	}
	if st.state == 'Z' || st.state == 'X' {
		return // exited, only not reaped yet
	}
	s.start, s.threads = st.starttime, st.threads
	s.rss, s.vsize = st.rss*c.pageSize, st.vsize
	s.counters.set(cpuUser, st.utime)
	s.counters.set(cpuSystem, st.stime)
	s.counters.set(majorFaults, st.majflt)
	if g.perProcess {
		s.comm = strings.ToValidUTF8(string(st.comm), "\uFFFD")
	}

	if err := c.loadStatus(p); err == nil {
		s.counters.set(voluntarySwitches, p.status.voluntary)
		s.counters.set(nonvoluntarySwitches, p.status.nonvoluntary)
	} else if !c.fail(g, p.pid, "status", err) {
		return
	}

	c.scratch.file, err = readFileAt(p.dir, "io", c.scratch.file)
	var io procIO
	if err == nil {
		io, err = parseIO(c.scratch.file)
	}
	if err == nil {
		s.counters.set(readBytes, io.readBytes)
		s.counters.set(writeBytes, io.writeBytes)
	} else if !c.fail(g, p.pid, "io", err) {
		return
	}

	if !c.readFDs(g, p, &s) {
		return
	}
	g.procs = append(g.procs, s)
}

// readFDs sets the open descriptors and their limit, and reports whether p
// is still there.
func (c *Collector) readFDs(g *group, p *candidate, s *sample) bool {
	var err error
	c.scratch.file, err = readFileAt(p.dir, "limits", c.scratch.file)
	if err == nil {
		s.maxFDs, err = parseMaxFDs(c.scratch.file)
	}
	if err != nil {
		return c.fail(g, p.pid, "limits", err)
	}
	var n int
	n, c.scratch.dirent, err = countDirAt(p.dir, "fd", c.scratch.dirent)
	if err != nil {
		return c.fail(g, p.pid, "fd", err)
	}
	s.openFDs, s.hasFDs = uint64(n), true
	return true
}

// fail counts err against g, warning the first time for each reason, and
// reports whether the process is still there. The pid is 0 for a pid file.
func (c *Collector) fail(g *group, pid int, file string, err error) bool {
	r := reasonOf(err)
	if r == reasonGone {
		return false
	}
	g.errors[r]++
	if !g.warned[r] {
		g.warned[r] = true
		msg := "Process collector cannot use a file; the metrics from it are left out"
		if r == reasonPermission && (file == "io" || file == "fd") {
			msg += " (reading io and fd of another user's process needs root or CAP_SYS_PTRACE)"
		}
		args := []any{"group", g.name, "file", file, "reason", reasonNames[r], "err", err}
		if pid != 0 {
			args = append(args, "pid", pid)
		}
		c.logger.Warn(msg, args...)
	}
	return true
}

// accumulate adds each process's counter increases since the last scrape
// to g.total. A process not seen before adds its whole value: it most
// likely started since. One whose counter cannot be read keeps its last
// value as the baseline for the next scrape.
func (g *group) accumulate() {
	clear(g.next)
	for i := range g.procs {
		p := &g.procs[i]
		k := procKey{p.pid, p.start}
		last, known := g.last[k]
		cur := p.counters
		for j := range numCounters {
			switch {
			case !cur.ok[j]:
				cur.v[j], cur.ok[j] = last.v[j], last.ok[j]
				continue
			case !known:
				g.total.v[j] += cur.v[j]
			case last.ok[j] && cur.v[j] >= last.v[j]:
				g.total.v[j] += cur.v[j] - last.v[j]
			}
			g.total.ok[j] = true
		}
		g.next[k] = cur
	}
	g.last, g.next = g.next, g.last
}
