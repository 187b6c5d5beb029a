package node

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// userHZ is the unit of /proc/stat times. It is fixed at 100 by the kernel
// ABI (USER_HZ), whatever the kernel's internal HZ.
const userHZ = 100

// cpuModes names the first eight /proc/stat CPU columns, in file order, as
// node_cpu_seconds_total's mode label.
var cpuModes = [...]string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}

// Indexes of the guest columns that follow the eight cpuModes.
const (
	cpuGuest = iota + len(cpuModes)
	cpuGuestNice
	cpuColumns
)

// statCPU is one "cpuN" line of /proc/stat, in seconds.
type statCPU struct {
	id    string // N, the cpu label
	times [cpuColumns]float64
}

// procStat is /proc/stat.
type procStat struct {
	cpus                       []statCPU
	intr, ctxt, btime, forks   float64
	procsRunning, procsBlocked float64
}

// parseStat parses /proc/stat. Lines it does not use are skipped, so a
// kernel adding lines does not break it.
func parseStat(s string) (procStat, error) {
	var st procStat
	for s != "" {
		var line string
		line, s = nextLine(s)
		key, rest := firstField(line)
		var dst *float64
		switch key {
		case "", "cpu":
			continue
		case "intr":
			dst = &st.intr
		case "ctxt":
			dst = &st.ctxt
		case "btime":
			dst = &st.btime
		case "processes":
			dst = &st.forks
		case "procs_running":
			dst = &st.procsRunning
		case "procs_blocked":
			dst = &st.procsBlocked
		default:
			if strings.HasPrefix(key, "cpu") {
				cpu, err := parseStatCPU(key[len("cpu"):], rest)
				if err != nil {
					return procStat{}, err
				}
				st.cpus = append(st.cpus, cpu)
			}
			continue
		}
		field, _ := firstField(rest)
		v, err := strconv.ParseUint(field, 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("parse /proc/stat %s: %w", key, err)
		}
		*dst = float64(v)
	}
	return st, nil
}

// parseStatCPU parses the columns of a "cpuN" line. Old kernels print fewer
// than ten columns; the missing ones stay zero.
func parseStatCPU(id, rest string) (statCPU, error) {
	cpu := statCPU{id: id}
	if _, err := strconv.ParseUint(id, 10, 32); err != nil {
		return cpu, fmt.Errorf("parse /proc/stat: bad cpu id %q", id)
	}
	n := 0
	for n < cpuColumns {
		var field string
		field, rest = firstField(rest)
		if field == "" {
			break
		}
		v, err := strconv.ParseUint(field, 10, 64)
		if err != nil {
			return cpu, fmt.Errorf("parse /proc/stat cpu%s: %w", id, err)
		}
		cpu.times[n] = float64(v) / userHZ
		n++
	}
	if n < 4 {
		return cpu, fmt.Errorf("parse /proc/stat cpu%s: %d columns, want at least 4", id, n)
	}
	return cpu, nil
}

// cpuState remembers the last CPU times reported, per cpu label.
type cpuState struct {
	mu   sync.Mutex
	last map[string][cpuColumns]float64
}

// cpuJumpBack is how far back a CPU time may go before it is taken as a
// reset (CPU hot-plug) rather than kernel jitter.
const cpuJumpBack = 3.0

// smooth keeps counters monotonic: some kernels let idle and iowait go back
// by a few ticks (NO_HZ accounting), which rate() would read as a reset and
// turn into a huge spike. A small step back reports the previous value; a
// large one is a real reset and is passed through.
func (s *cpuState) smooth(cpus []statCPU) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = make(map[string][cpuColumns]float64, len(cpus))
	}
	for i := range cpus {
		cpu := &cpus[i]
		if prev, ok := s.last[cpu.id]; ok {
			for j, v := range cpu.times {
				if v < prev[j] && prev[j]-v < cpuJumpBack {
					cpu.times[j] = prev[j]
				}
			}
		}
		s.last[cpu.id] = cpu.times
	}
}

var (
	cpuSecondsDesc = prometheus.NewDesc("node_cpu_seconds_total",
		"Seconds the CPUs spent in each mode.", []string{"cpu", "mode"}, nil)
	cpuGuestSecondsDesc = prometheus.NewDesc("node_cpu_guest_seconds_total",
		"Seconds the CPUs spent in guests (VMs) for each mode.", []string{"cpu", "mode"}, nil)
	cpuCoreThrottlesDesc = prometheus.NewDesc("node_cpu_core_throttles_total",
		"Number of times this CPU core has been throttled.", []string{"package", "core"}, nil)
	cpuPackageThrottlesDesc = prometheus.NewDesc("node_cpu_package_throttles_total",
		"Number of times this CPU package has been throttled.", []string{"package"}, nil)
	cpuIsolatedDesc = prometheus.NewDesc("node_cpu_isolated",
		"Whether each core is isolated, information from /sys/devices/system/cpu/isolated.", []string{"cpu"}, nil)
)

// collectCPU reports per-CPU times from /proc/stat, thermal throttling
// counts and isolated CPUs from sysfs.
func (c *Collector) collectCPU(e *emitter) error {
	text, err := e.readText(c.procPath("stat"))
	if err != nil {
		return err
	}
	st, err := parseStat(text)
	if err != nil {
		return err
	}
	c.cpu.smooth(st.cpus)
	for _, cpu := range st.cpus {
		for i, mode := range cpuModes {
			e.counter(cpuSecondsDesc, cpu.times[i], cpu.id, mode)
		}
		e.counter(cpuGuestSecondsDesc, cpu.times[cpuGuest], cpu.id, "user")
		e.counter(cpuGuestSecondsDesc, cpu.times[cpuGuestNice], cpu.id, "nice")
	}
	if err := c.collectCPUThrottles(e); err != nil {
		return err
	}
	return c.collectCPUIsolated(e)
}

// collectCPUThrottles reports thermal throttling counts, which x86 kernels
// keep per core and per package; every CPU of a core or package repeats the
// same count, so each is reported once.
func (c *Collector) collectCPUThrottles(e *emitter) error {
	dirs, err := filepath.Glob(c.sysPath("devices/system/cpu/cpu[0-9]*"))
	if err != nil {
		return err
	}
	seenCore := map[[2]string]bool{}
	seenPackage := map[string]bool{}
	for _, dir := range dirs {
		pkg, err := e.readString(filepath.Join(dir, "topology/physical_package_id"))
		if err != nil {
			continue // offline CPU or no topology: nothing to report
		}
		core, err := e.readString(filepath.Join(dir, "topology/core_id"))
		if err != nil {
			continue
		}
		if key := [2]string{pkg, core}; !seenCore[key] {
			v, err := e.readUint(filepath.Join(dir, "thermal_throttle/core_throttle_count"))
			if err == nil {
				seenCore[key] = true
				e.counter(cpuCoreThrottlesDesc, float64(v), pkg, core)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if !seenPackage[pkg] {
			v, err := e.readUint(filepath.Join(dir, "thermal_throttle/package_throttle_count"))
			if err == nil {
				seenPackage[pkg] = true
				e.counter(cpuPackageThrottlesDesc, float64(v), pkg)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// collectCPUIsolated reports the CPUs listed in isolated (isolcpus=).
func (c *Collector) collectCPUIsolated(e *emitter) error {
	s, err := e.readString(c.sysPath("devices/system/cpu/isolated"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	cpus, err := parseCPUList(s)
	if err != nil {
		return err
	}
	for _, cpu := range cpus {
		e.gauge(cpuIsolatedDesc, 1, strconv.Itoa(cpu))
	}
	return nil
}

var (
	bootTimeDesc = prometheus.NewDesc("node_boot_time_seconds",
		"Node boot time, in unixtime.", nil, nil)
	contextSwitchesDesc = prometheus.NewDesc("node_context_switches_total",
		"Total number of context switches.", nil, nil)
	forksDesc = prometheus.NewDesc("node_forks_total",
		"Total number of forks.", nil, nil)
	intrDesc = prometheus.NewDesc("node_intr_total",
		"Total number of interrupts serviced.", nil, nil)
	procsRunningDesc = prometheus.NewDesc("node_procs_running",
		"Number of processes in runnable state.", nil, nil)
	procsBlockedDesc = prometheus.NewDesc("node_procs_blocked",
		"Number of processes blocked waiting for I/O to complete.", nil, nil)
)

// collectStat reports the system-wide counters of /proc/stat.
func (c *Collector) collectStat(e *emitter) error {
	text, err := e.readText(c.procPath("stat"))
	if err != nil {
		return err
	}
	st, err := parseStat(text)
	if err != nil {
		return err
	}
	e.counter(intrDesc, st.intr)
	e.counter(contextSwitchesDesc, st.ctxt)
	e.counter(forksDesc, st.forks)
	e.gauge(bootTimeDesc, st.btime)
	e.gauge(procsRunningDesc, st.procsRunning)
	e.gauge(procsBlockedDesc, st.procsBlocked)
	return nil
}
