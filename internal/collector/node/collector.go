package node

import (
	"errors"
	"io/fs"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// Default exclusion and selection patterns. They are node_exporter 1.5's
// upstream flag defaults (Debian's package patches some of them, e.g. it also
// hides /run and the lo interface; argus follows upstream), so series sets
// match those of a stock node_exporter.
const (
	// DefaultFilesystemMountPointsExclude hides virtual and container-internal
	// mount points from the filesystem collector.
	DefaultFilesystemMountPointsExclude = `^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`
	// DefaultFilesystemFSTypesExclude hides pseudo file systems whose sizes
	// mean nothing.
	DefaultFilesystemFSTypesExclude = `^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$`
	// DefaultDiskstatsDeviceExclude hides RAM disks, loop devices, floppies
	// and partitions, whose I/O is already counted on the whole disk.
	DefaultDiskstatsDeviceExclude = `^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`
	// DefaultNetstatFields selects the /proc/net/{netstat,snmp,snmp6} fields
	// dashboards use; the full set is several hundred series.
	DefaultNetstatFields = `^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$`
	// DefaultVmstatFields selects the /proc/vmstat fields dashboards use.
	DefaultVmstatFields = `^(oom_kill|pgpg|pswp|pg.*fault).*`
	// DefaultFilesystemStatTimeout bounds one statfs call, so a hung network
	// mount cannot hang the scrape.
	DefaultFilesystemStatTimeout = 5 * time.Second
)

// Options configures a Collector. The zero value is valid: every empty field
// takes the default documented on it.
type Options struct {
	// ProcPath is where procfs is mounted; default "/proc".
	ProcPath string
	// SysPath is where sysfs is mounted; default "/sys".
	SysPath string
	// RootfsPath is the host's root file system, for running in a container
	// with the host's / mounted elsewhere; default "/". Mount points are
	// reported relative to it and /etc/os-release is read below it.
	RootfsPath string
	// UdevDataPath holds udev's device database, the source of disk model,
	// serial and file system labels; default "/run/udev/data".
	UdevDataPath string
	// Logger receives sub-collector failures; nil discards.
	Logger *slog.Logger

	// FilesystemMountPointsExclude hides mount points it matches; nil means
	// DefaultFilesystemMountPointsExclude. A pattern matching nothing, such
	// as `^$`, hides none.
	FilesystemMountPointsExclude *regexp.Regexp
	// FilesystemFSTypesExclude hides file system types it matches; nil means
	// DefaultFilesystemFSTypesExclude.
	FilesystemFSTypesExclude *regexp.Regexp
	// FilesystemStatTimeout bounds each statfs call; 0 means
	// DefaultFilesystemStatTimeout.
	FilesystemStatTimeout time.Duration
	// DiskstatsDeviceExclude hides block devices it matches; nil means
	// DefaultDiskstatsDeviceExclude.
	DiskstatsDeviceExclude *regexp.Regexp
	// NetdevDeviceExclude hides network devices it matches from
	// node_network_{receive,transmit}_*; nil hides none, as node_exporter.
	NetdevDeviceExclude *regexp.Regexp
	// NetstatFields selects node_netstat_<Proto>_<Field> by "<Proto>_<Field>";
	// nil means DefaultNetstatFields.
	NetstatFields *regexp.Regexp
	// VmstatFields selects node_vmstat_<field>; nil means DefaultVmstatFields.
	VmstatFields *regexp.Regexp
}

// Collector gathers host metrics. It implements prometheus.Collector as an
// unchecked collector: Describe sends nothing, because the metric families
// depend on the host (kernel version, devices).
type Collector struct {
	opts   Options
	logger *slog.Logger

	// descs caches descriptors of metric families named from file contents
	// (meminfo, netstat, vmstat, sockstat), so steady-state scrapes build
	// none. Keys are metric names; values are *prometheus.Desc.
	descs sync.Map

	cpu    cpuState
	mounts stuckMounts
	// statfsFn is syscall.Statfs; tests replace it to simulate a hung
	// network mount.
	statfsFn func(path string, st *syscall.Statfs_t) error

	// failMu guards failing, the last error text of each failing
	// sub-collector, so a persistent failure is logged at warn level once
	// rather than on every scrape.
	failMu  sync.Mutex
	failing map[string]string
}

// New returns a Collector reading the host through opts.
func New(opts Options) *Collector {
	if opts.ProcPath == "" {
		opts.ProcPath = "/proc"
	}
	if opts.SysPath == "" {
		opts.SysPath = "/sys"
	}
	if opts.RootfsPath == "" {
		opts.RootfsPath = "/"
	}
	if opts.UdevDataPath == "" {
		opts.UdevDataPath = "/run/udev/data"
	}
	if opts.FilesystemMountPointsExclude == nil {
		opts.FilesystemMountPointsExclude = regexp.MustCompile(DefaultFilesystemMountPointsExclude)
	}
	if opts.FilesystemFSTypesExclude == nil {
		opts.FilesystemFSTypesExclude = regexp.MustCompile(DefaultFilesystemFSTypesExclude)
	}
	if opts.FilesystemStatTimeout <= 0 {
		opts.FilesystemStatTimeout = DefaultFilesystemStatTimeout
	}
	if opts.DiskstatsDeviceExclude == nil {
		opts.DiskstatsDeviceExclude = regexp.MustCompile(DefaultDiskstatsDeviceExclude)
	}
	if opts.NetstatFields == nil {
		opts.NetstatFields = regexp.MustCompile(DefaultNetstatFields)
	}
	if opts.VmstatFields == nil {
		opts.VmstatFields = regexp.MustCompile(DefaultVmstatFields)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Collector{
		opts:     opts,
		logger:   logger.With("component", "collector_node"),
		failing:  map[string]string{},
		statfsFn: syscall.Statfs,
	}
}

// subcollector is one of node_exporter's collectors; name is the value of the
// collector label on node_scrape_collector_*.
type subcollector struct {
	name    string
	collect func(*Collector, *emitter) error
}

// subcollectors lists the node_exporter 1.5 default Linux collectors argus
// implements, in node_exporter's alphabetical order.
var subcollectors = [...]subcollector{
	{"arp", (*Collector).collectARP},
	{"conntrack", (*Collector).collectConntrack},
	{"cpu", (*Collector).collectCPU},
	{"diskstats", (*Collector).collectDiskstats},
	{"edac", (*Collector).collectEDAC},
	{"entropy", (*Collector).collectEntropy},
	{"filefd", (*Collector).collectFilefd},
	{"filesystem", (*Collector).collectFilesystem},
	{"loadavg", (*Collector).collectLoadavg},
	{"meminfo", (*Collector).collectMeminfo},
	{"netclass", (*Collector).collectNetclass},
	{"netdev", (*Collector).collectNetdev},
	{"netstat", (*Collector).collectNetstat},
	{"os", (*Collector).collectOS},
	{"pressure", (*Collector).collectPressure},
	{"selinux", (*Collector).collectSELinux},
	{"sockstat", (*Collector).collectSockstat},
	{"softnet", (*Collector).collectSoftnet},
	{"stat", (*Collector).collectStat},
	{"thermal_zone", (*Collector).collectThermalZone},
	{"time", (*Collector).collectTime},
	{"timex", (*Collector).collectTimex},
	{"udp_queues", (*Collector).collectUDPQueues},
	{"uname", (*Collector).collectUname},
	{"vmstat", (*Collector).collectVmstat},
}

var (
	scrapeDurationDesc = prometheus.NewDesc("node_scrape_collector_duration_seconds",
		"node_exporter: Duration of a collector scrape.", []string{"collector"}, nil)
	scrapeSuccessDesc = prometheus.NewDesc("node_scrape_collector_success",
		"node_exporter: Whether a collector succeeded.", []string{"collector"}, nil)
)

// Describe sends nothing, making Collector an unchecked collector.
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

// Collect runs every sub-collector and sends its metrics, then its duration
// and success. Sub-collectors run one after another: a whole run takes a
// few milliseconds (BenchmarkCollect), so running them in parallel would
// buy little, while in sequence they share one read buffer and their
// durations are not inflated by each other.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	e := emitter{ch: ch}
	for _, sc := range subcollectors {
		e.err = nil
		start := time.Now()
		err := sc.collect(c, &e)
		if err == nil {
			err = e.err
		}
		duration := time.Since(start).Seconds()
		success := 1.0
		if err != nil {
			success = 0
		}
		c.noteResult(sc.name, err)
		e.gauge(scrapeDurationDesc, duration, sc.name)
		e.gauge(scrapeSuccessDesc, success, sc.name)
	}
}

// noteResult logs a sub-collector failure at warn level when it starts or
// changes, at debug level while it persists, and logs recovery once. A
// missing file (no such hardware, module not loaded) is normal on many hosts
// and is only ever logged at debug level.
func (c *Collector) noteResult(name string, err error) {
	c.failMu.Lock()
	prev, wasFailing := c.failing[name]
	if err == nil {
		delete(c.failing, name)
	} else {
		c.failing[name] = err.Error()
	}
	c.failMu.Unlock()
	switch {
	case err == nil && wasFailing:
		c.logger.Info("collector recovered", "collector", name)
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) || (wasFailing && prev == err.Error()):
		c.logger.Debug("collector failed", "collector", name, "err", err)
	default:
		c.logger.Warn("collector failed", "collector", name, "err", err)
	}
}

// emitter is the working state of one Collect: it builds constant metrics
// and sends them, and lends its scratch buffer to file reads (readText).
// The first metric construction error is kept and fails the running
// sub-collector, instead of panicking as the Must* helpers would: label
// values come from files and must never crash argus.
type emitter struct {
	ch  chan<- prometheus.Metric
	err error
	buf []byte
}

func (e *emitter) send(d *prometheus.Desc, t prometheus.ValueType, v float64, labelValues []string) {
	for i, lv := range labelValues {
		if !utf8.ValidString(lv) {
			labelValues[i] = strings.ToValidUTF8(lv, "\uFFFD")
		}
	}
	m, err := prometheus.NewConstMetric(d, t, v, labelValues...)
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		return
	}
	e.ch <- m
}

func (e *emitter) gauge(d *prometheus.Desc, v float64, labelValues ...string) {
	e.send(d, prometheus.GaugeValue, v, labelValues)
}

func (e *emitter) counter(d *prometheus.Desc, v float64, labelValues ...string) {
	e.send(d, prometheus.CounterValue, v, labelValues)
}

func (e *emitter) untyped(d *prometheus.Desc, v float64, labelValues ...string) {
	e.send(d, prometheus.UntypedValue, v, labelValues)
}

// desc returns the cached label-less descriptor for a metric family whose
// name comes from file contents; help is built only on a cache miss.
func (c *Collector) desc(name string, help func() string) *prometheus.Desc {
	if d, ok := c.descs.Load(name); ok {
		return d.(*prometheus.Desc)
	}
	d, _ := c.descs.LoadOrStore(name, prometheus.NewDesc(name, help(), nil, nil))
	return d.(*prometheus.Desc)
}
