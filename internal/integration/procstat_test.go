package integration_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// This file reads what processes cost from /proc, for the side-by-side
// benchmark: CPU time and memory of argus, the exporters and the servers.

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on Linux).
const clockTick = 10 * time.Millisecond

// threadsCPU returns the CPU time pid's live threads have used, from their
// schedstat run times (nanoseconds, exact; /proc/<pid>/stat counts in
// 10 ms ticks, too coarse for a process that works 1 ms per collection).
// A thread that has exited is no longer counted, which for the Go programs
// measured here (whose threads live as long as the process) loses nothing.
func threadsCPU(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if err != nil {
			continue // exited since the listing
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", task.Name(), err)
		}
		total += time.Duration(ns)
	}
	return total, nil
}

// procStat holds the fields of /proc/<pid>/stat used here.
type procStat struct {
	ppid int
	// reaped is the CPU time of the children the process has waited for
	// (cutime + cstime).
	reaped time.Duration
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name, in parentheses, may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, cutime and cstime 16 and 17.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var s procStat
	s.ppid, _ = strconv.Atoi(f[1])
	cu, _ := strconv.ParseInt(f[13], 10, 64)
	cs, _ := strconv.ParseInt(f[14], 10, 64)
	s.reaped = time.Duration(cu+cs) * clockTick
	return s, nil
}

// processTree returns roots and all their live descendants.
func processTree(roots []int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := readStat(pid); err == nil {
			children[s.ppid] = append(children[s.ppid], pid)
		}
	}
	seen := map[int]bool{}
	var out []int
	queue := append([]int(nil), roots...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	return out
}

// treeCPU returns the CPU time used by roots and their descendants: the
// live threads of every live process, and what each has reaped (the
// backends a PostgreSQL postmaster has waited for, for instance). A
// process reaped between two readings moves from the first term to the
// second, so differences of readings count it once.
func treeCPU(roots []int) time.Duration {
	var total time.Duration
	for _, pid := range processTree(roots) {
		cpu, err := threadsCPU(pid)
		if err != nil {
			continue // exited; its parent's reaped time has it
		}
		s, err := readStat(pid)
		if err != nil {
			continue
		}
		total += cpu + s.reaped
	}
	return total
}

// memory is a process's resident memory: VmRSS counts every resident
// page it maps, shared ones (the program's text, mapped by each of 50
// exporter processes) in full; Pss divides each shared page among the
// processes that map it.
type memory struct {
	RSS, PSS int64 // bytes
}

func readMemory(pid int) (memory, error) {
	var m memory
	rss, err := statusField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
	if err != nil {
		return m, err
	}
	pss, err := statusField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
	if err != nil {
		return m, err
	}
	return memory{RSS: rss, PSS: pss}, nil
}

// statusField returns the "Name:   123 kB" field of a /proc file in bytes.
func statusField(path, name string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		fields := strings.Fields(line[len(name):])
		if len(fields) == 0 {
			break
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %s: %w", path, name, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%s: no %s", path, name)
}

// listeners returns the processes holding the socket that listens on
// the loopback TCP port: the server's process (or processes, as nginx's
// master and worker both hold it).
func listeners(port int) ([]int, error) {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// local_address is HEXIP:HEXPORT; state 0A is LISTEN.
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			colon := strings.LastIndexByte(f[1], ':')
			p, err := strconv.ParseInt(f[1][colon+1:], 16, 32)
			if err == nil && int(p) == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return nil, fmt.Errorf("nothing listens on port %d", port)
	}
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			if link, err := os.Readlink(fd); err == nil && inodes[link] {
				pids = append(pids, pid)
				break
			}
		}
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("no process holds the listener on port %d", port)
	}
	return pids, nil
}
