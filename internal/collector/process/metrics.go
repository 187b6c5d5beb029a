package process

import (
	"math"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metricDesc describes one metric for summed groups (label group) and for
// PerProcess groups (labels group, pid and comm).
type metricDesc struct {
	group, proc *prometheus.Desc
}

func newMetricDesc(name, help string, extra ...string) metricDesc {
	return metricDesc{
		group: prometheus.NewDesc(name, help, append([]string{"group"}, extra...), nil),
		proc:  prometheus.NewDesc(name, help, append([]string{"group", "pid", "comm"}, extra...), nil),
	}
}

type descs struct {
	cpu, cpuMode, rss, vsize, openFDs, maxFDs, fdRatio, threads, start metricDesc
	readBytes, writeBytes, switches, majorFaults                       metricDesc
	processes, errors                                                  *prometheus.Desc
}

func newDescs() descs {
	return descs{
		cpu: newMetricDesc("process_cpu_seconds_total",
			"CPU time used, user plus system, in seconds."),
		cpuMode: newMetricDesc("process_cpu_mode_seconds_total",
			"CPU time used in user mode and in system (kernel) mode, in seconds.", "mode"),
		rss: newMetricDesc("process_resident_memory_bytes",
			"Resident memory size in bytes."),
		vsize: newMetricDesc("process_virtual_memory_bytes",
			"Virtual memory size in bytes."),
		openFDs: newMetricDesc("process_open_fds",
			"Open file descriptors."),
		maxFDs: newMetricDesc("process_max_fds",
			"Soft limit on open file descriptors; a group's is the sum over its processes."),
		fdRatio: newMetricDesc("process_open_fds_worst_ratio",
			"Highest ratio of open file descriptors to their soft limit among the processes."),
		threads: newMetricDesc("process_threads",
			"Threads of the processes."),
		start: newMetricDesc("process_start_time_seconds",
			"Start time in seconds since the Unix epoch; a group's is its oldest process's."),
		readBytes: newMetricDesc("process_io_read_bytes_total",
			"Bytes the processes had read from storage (read_bytes of /proc/PID/io)."),
		writeBytes: newMetricDesc("process_io_write_bytes_total",
			"Bytes the processes sent to storage (write_bytes of /proc/PID/io)."),
		switches: newMetricDesc("process_context_switches_total",
			"Context switches: voluntary ones wait for a resource, nonvoluntary ones are preemptions.", "kind"),
		majorFaults: newMetricDesc("process_major_page_faults_total",
			"Page faults that had to read from storage."),
		processes: prometheus.NewDesc("process_group_processes",
			"Processes in the group at this scrape.", []string{"group"}, nil),
		errors: prometheus.NewDesc("argus_process_scrape_errors_total",
			"Process files the collector could not use, by reason: permission (argus may not read them), "+
				"parse (unexpected content) or read (other errors). Processes that exit are not errors.",
			[]string{"group", "reason"}, nil),
	}
}

// values is what is reported for one process or one summed group.
type values struct {
	procs    int // processes behind the gauges; none leaves them out
	rss      uint64
	vsize    uint64
	threads  uint64
	start    uint64 // clock ticks after boot
	hasFDs   bool
	openFDs  uint64
	maxFDs   float64
	fdRatio  float64
	counters counterSet
}

func (v *values) add(s *sample) {
	if v.procs == 0 || s.start < v.start {
		v.start = s.start
	}
	v.procs++
	v.rss += s.rss
	v.vsize += s.vsize
	v.threads += s.threads
	if s.hasFDs {
		v.hasFDs = true
		v.openFDs += s.openFDs
		v.maxFDs += s.maxFDs
		if s.maxFDs > 0 {
			v.fdRatio = math.Max(v.fdRatio, float64(s.openFDs)/s.maxFDs)
		}
	}
}

// emit sends g's metrics.
func (c *Collector) emit(ch chan<- prometheus.Metric, g *group) {
	send(ch, c.desc.processes, prometheus.GaugeValue, float64(len(g.procs)), g.name)
	for r := range numReasons {
		send(ch, c.desc.errors, prometheus.CounterValue, float64(g.errors[r]), g.name, reasonNames[r])
	}
	if g.perProcess {
		for i := range g.procs {
			s := &g.procs[i]
			v := values{counters: s.counters}
			v.add(s)
			c.emitValues(ch, &v, g.name, strconv.Itoa(s.pid), s.comm)
		}
		return
	}
	v := values{counters: g.total}
	for i := range g.procs {
		v.add(&g.procs[i])
	}
	c.emitValues(ch, &v, g.name)
}

// emitValues sends v labelled with labels: group, or group, pid and comm.
func (c *Collector) emitValues(ch chan<- prometheus.Metric, v *values, labels ...string) {
	d := func(m metricDesc) *prometheus.Desc {
		if len(labels) > 1 {
			return m.proc
		}
		return m.group
	}
	with := func(extra string) []string { return append(labels[:len(labels):len(labels)], extra) }
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue

	if v.procs > 0 {
		send(ch, d(c.desc.rss), gauge, float64(v.rss), labels...)
		send(ch, d(c.desc.vsize), gauge, float64(v.vsize), labels...)
		send(ch, d(c.desc.threads), gauge, float64(v.threads), labels...)
		send(ch, d(c.desc.start), gauge, c.bootTime+float64(v.start)/userHZ, labels...)
	}
	if v.hasFDs {
		send(ch, d(c.desc.openFDs), gauge, float64(v.openFDs), labels...)
		send(ch, d(c.desc.maxFDs), gauge, v.maxFDs, labels...)
		send(ch, d(c.desc.fdRatio), gauge, v.fdRatio, labels...)
	}
	n := &v.counters
	if n.ok[cpuUser] && n.ok[cpuSystem] {
		send(ch, d(c.desc.cpu), counter, float64(n.v[cpuUser]+n.v[cpuSystem])/userHZ, labels...)
		send(ch, d(c.desc.cpuMode), counter, float64(n.v[cpuUser])/userHZ, with("user")...)
		send(ch, d(c.desc.cpuMode), counter, float64(n.v[cpuSystem])/userHZ, with("system")...)
	}
	if n.ok[majorFaults] {
		send(ch, d(c.desc.majorFaults), counter, float64(n.v[majorFaults]), labels...)
	}
	if n.ok[readBytes] {
		send(ch, d(c.desc.readBytes), counter, float64(n.v[readBytes]), labels...)
	}
	if n.ok[writeBytes] {
		send(ch, d(c.desc.writeBytes), counter, float64(n.v[writeBytes]), labels...)
	}
	if n.ok[voluntarySwitches] {
		send(ch, d(c.desc.switches), counter, float64(n.v[voluntarySwitches]), with("voluntary")...)
	}
	if n.ok[nonvoluntarySwitches] {
		send(ch, d(c.desc.switches), counter, float64(n.v[nonvoluntarySwitches]), with("nonvoluntary")...)
	}
}

// send sends one constant metric. Label values are valid UTF-8 (New checks
// group names, comm is sanitised), so the error branch is defensive.
func send(ch chan<- prometheus.Metric, desc *prometheus.Desc, typ prometheus.ValueType, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(desc, typ, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	ch <- m
}
