package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	load1Desc  = prometheus.NewDesc("node_load1", "1m load average.", nil, nil)
	load5Desc  = prometheus.NewDesc("node_load5", "5m load average.", nil, nil)
	load15Desc = prometheus.NewDesc("node_load15", "15m load average.", nil, nil)
)

// collectLoadavg reports the three load averages of /proc/loadavg.
func (c *Collector) collectLoadavg(e *emitter) error {
	s, err := e.readString(c.procPath("loadavg"))
	if err != nil {
		return err
	}
	var loads [3]float64
	rest := s
	for i := range loads {
		var field string
		field, rest = firstField(rest)
		if loads[i], err = strconv.ParseFloat(field, 64); err != nil {
			return fmt.Errorf("parse /proc/loadavg: %w", err)
		}
	}
	e.gauge(load1Desc, loads[0])
	e.gauge(load5Desc, loads[1])
	e.gauge(load15Desc, loads[2])
	return nil
}

var unameDesc = prometheus.NewDesc("node_uname_info",
	"Labeled system information as provided by the uname system call.",
	[]string{"sysname", "release", "version", "machine", "nodename", "domainname"}, nil)

// collectUname reports uname(2) as labels.
func (c *Collector) collectUname(e *emitter) error {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return fmt.Errorf("uname: %w", err)
	}
	e.gauge(unameDesc, 1, utsString(u.Sysname[:]), utsString(u.Release[:]), utsString(u.Version[:]),
		utsString(u.Machine[:]), utsString(u.Nodename[:]), utsString(u.Domainname[:]))
	return nil
}

// utsString converts a NUL-terminated utsname field; its element type is
// int8 or uint8 depending on the architecture.
func utsString[T int8 | uint8](field []T) string {
	b := make([]byte, 0, len(field))
	for _, c := range field {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// osInfoLabels are node_os_info's labels and the os-release keys they come
// from, in the same order.
var osInfoLabels = [...][2]string{
	{"build_id", "BUILD_ID"}, {"id", "ID"}, {"id_like", "ID_LIKE"}, {"image_id", "IMAGE_ID"},
	{"image_version", "IMAGE_VERSION"}, {"name", "NAME"}, {"pretty_name", "PRETTY_NAME"},
	{"variant", "VARIANT"}, {"variant_id", "VARIANT_ID"}, {"version", "VERSION"},
	{"version_codename", "VERSION_CODENAME"}, {"version_id", "VERSION_ID"},
}

var (
	osInfoDesc = prometheus.NewDesc("node_os_info",
		"A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
		func() []string {
			names := make([]string, len(osInfoLabels))
			for i, l := range osInfoLabels {
				names[i] = l[0]
			}
			return names
		}(), nil)
	osVersionDesc = prometheus.NewDesc("node_os_version",
		"Metric containing the major.minor part of the OS version.", []string{"id", "id_like", "name"}, nil)

	// osVersionPrefix is the major[.minor] prefix of VERSION_ID that
	// node_os_version reports; "11.2.0" gives 11.2, "rolling" gives none.
	osVersionPrefix = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?`)
)

// collectOS reports os-release(5) of the root file system.
func (c *Collector) collectOS(e *emitter) error {
	text, err := e.readText(filepath.Join(c.opts.RootfsPath, "etc/os-release"))
	if errors.Is(err, fs.ErrNotExist) {
		text, err = e.readText(filepath.Join(c.opts.RootfsPath, "usr/lib/os-release"))
	}
	if err != nil {
		return err
	}
	release := parseOSRelease(text)
	values := make([]string, len(osInfoLabels))
	for i, l := range osInfoLabels {
		values[i] = release[l[1]]
	}
	e.gauge(osInfoDesc, 1, values...)
	if m := osVersionPrefix.FindString(release["VERSION_ID"]); m != "" {
		v, err := strconv.ParseFloat(m, 64)
		if err != nil {
			return fmt.Errorf("parse VERSION_ID %q: %w", m, err)
		}
		e.gauge(osVersionDesc, v, release["ID"], release["ID_LIKE"], release["NAME"])
	}
	return nil
}

// parseOSRelease parses the shell-like KEY=value lines of os-release(5):
// values may be single- or double-quoted, and double quotes allow backslash
// escapes.
func parseOSRelease(s string) map[string]string {
	m := map[string]string{}
	for s != "" {
		var line string
		line, s = nextLine(s)
		line = strings.TrimSpace(line)
		key, value, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		switch {
		case len(value) >= 2 && value[0] == '\'' && value[len(value)-1] == '\'':
			value = value[1 : len(value)-1]
		case len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"':
			value = unescapeShell(value[1 : len(value)-1])
		}
		m[strings.TrimSpace(key)] = value
	}
	return m
}

// unescapeShell removes the backslashes of \" \\ \$ and \` in a
// double-quoted shell string.
func unescapeShell(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var (
	timeDesc = prometheus.NewDesc("node_time_seconds",
		"System time in seconds since epoch (1970).", nil, nil)
	timeZoneOffsetDesc = prometheus.NewDesc("node_time_zone_offset_seconds",
		"System time zone offset in seconds.", []string{"time_zone"}, nil)
	clocksourceAvailableDesc = prometheus.NewDesc("node_time_clocksource_available_info",
		"Available clocksources read from '/sys/devices/system/clocksource'.", []string{"device", "clocksource"}, nil)
	clocksourceCurrentDesc = prometheus.NewDesc("node_time_clocksource_current_info",
		"Current clocksource read from '/sys/devices/system/clocksource'.", []string{"device", "clocksource"}, nil)
)

// collectTime reports the clock, the local time zone and the kernel's clock
// sources.
func (c *Collector) collectTime(e *emitter) error {
	now := time.Now()
	e.gauge(timeDesc, float64(now.UnixNano())/1e9)
	zone, offset := now.Zone()
	e.gauge(timeZoneOffsetDesc, float64(offset), zone)

	dirs, err := filepath.Glob(c.sysPath("devices/system/clocksource/clocksource[0-9]*"))
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		device := strings.TrimPrefix(filepath.Base(dir), "clocksource")
		available, err := e.readString(filepath.Join(dir, "available_clocksource"))
		if err != nil {
			return err
		}
		current, err := e.readString(filepath.Join(dir, "current_clocksource"))
		if err != nil {
			return err
		}
		for _, cs := range strings.Fields(available) {
			e.gauge(clocksourceAvailableDesc, 1, device, cs)
		}
		e.gauge(clocksourceCurrentDesc, 1, device, current)
	}
	return nil
}

// Constants of adjtimex(2).
const (
	timexStateError = 5      // TIME_ERROR: clock not synchronized
	timexStaNano    = 0x2000 // STA_NANO: offset and jitter are in ns, not µs
	// timexPPM16 scales the "ppm with a 16-bit fraction" fields (freq,
	// ppsfreq, stabil) to a plain ratio.
	timexPPM16 = 1e6 * 65536
)

var (
	timexSyncStatusDesc = timexDesc("sync_status", "Is clock synchronized to a reliable server (1 = yes, 0 = no).")
	timexOffsetDesc     = timexDesc("offset_seconds", "Time offset in between local system and reference clock.")
	timexFreqDesc       = timexDesc("frequency_adjustment_ratio", "Local clock frequency adjustment.")
	timexMaxerrorDesc   = timexDesc("maxerror_seconds", "Maximum error in seconds.")
	timexEsterrorDesc   = timexDesc("estimated_error_seconds", "Estimated error in seconds.")
	timexStatusDesc     = timexDesc("status", "Value of the status array bits.")
	timexConstantDesc   = timexDesc("loop_time_constant", "Phase-locked loop time constant.")
	timexTickDesc       = timexDesc("tick_seconds", "Seconds between clock ticks.")
	timexPPSFreqDesc    = timexDesc("pps_frequency_hertz", "Pulse per second frequency.")
	timexPPSJitterDesc  = timexDesc("pps_jitter_seconds", "Pulse per second jitter.")
	timexPPSShiftDesc   = timexDesc("pps_shift_seconds", "Pulse per second interval duration.")
	timexPPSStabilDesc  = timexDesc("pps_stability_hertz", "Pulse per second stability, average of recent frequency changes.")
	timexPPSJitcntDesc  = timexDesc("pps_jitter_total", "Pulse per second count of jitter limit exceeded events.")
	timexPPSCalcntDesc  = timexDesc("pps_calibration_total", "Pulse per second count of calibration intervals.")
	timexPPSErrcntDesc  = timexDesc("pps_error_total", "Pulse per second count of calibration errors.")
	timexPPSStbcntDesc  = timexDesc("pps_stability_exceeded_total", "Pulse per second count of stability limit exceeded events.")
	timexTAIDesc        = timexDesc("tai_offset_seconds", "International Atomic Time (TAI) offset.")
)

func timexDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("node_timex_"+name, help, nil, nil)
}

// collectTimex reports the kernel clock discipline state of adjtimex(2), in
// seconds and plain ratios instead of the syscall's mixed units.
func (c *Collector) collectTimex(e *emitter) error {
	var tx syscall.Timex
	state, err := syscall.Adjtimex(&tx)
	if err != nil {
		return fmt.Errorf("adjtimex: %w", err)
	}
	synced := 1.0
	if state == timexStateError {
		synced = 0
	}
	divisor := 1e6
	if tx.Status&timexStaNano != 0 {
		divisor = 1e9
	}
	e.gauge(timexSyncStatusDesc, synced)
	e.gauge(timexOffsetDesc, float64(tx.Offset)/divisor)
	e.gauge(timexFreqDesc, 1+float64(tx.Freq)/timexPPM16)
	e.gauge(timexMaxerrorDesc, float64(tx.Maxerror)/1e6)
	e.gauge(timexEsterrorDesc, float64(tx.Esterror)/1e6)
	e.gauge(timexStatusDesc, float64(tx.Status))
	e.gauge(timexConstantDesc, float64(tx.Constant))
	e.gauge(timexTickDesc, float64(tx.Tick)/1e6)
	e.gauge(timexPPSFreqDesc, float64(tx.Ppsfreq)/timexPPM16)
	e.gauge(timexPPSJitterDesc, float64(tx.Jitter)/divisor)
	e.gauge(timexPPSShiftDesc, float64(tx.Shift))
	e.gauge(timexPPSStabilDesc, float64(tx.Stabil)/timexPPM16)
	e.counter(timexPPSJitcntDesc, float64(tx.Jitcnt))
	e.counter(timexPPSCalcntDesc, float64(tx.Calcnt))
	e.counter(timexPPSErrcntDesc, float64(tx.Errcnt))
	e.counter(timexPPSStbcntDesc, float64(tx.Stbcnt))
	e.gauge(timexTAIDesc, float64(tx.Tai))
	return nil
}

var selinuxEnabledDesc = prometheus.NewDesc("node_selinux_enabled",
	"SELinux is enabled, 1 is true, 0 is false", nil, nil)

// collectSELinux reports whether SELinux is enabled, which is when selinuxfs
// is mounted and offers its enforce switch.
func (c *Collector) collectSELinux(e *emitter) error {
	enabled := 0.0
	if _, err := os.Stat(c.sysPath("fs/selinux/enforce")); err == nil {
		enabled = 1
	}
	e.gauge(selinuxEnabledDesc, enabled)
	return nil
}

var (
	entropyAvailableDesc = prometheus.NewDesc("node_entropy_available_bits",
		"Bits of available entropy.", nil, nil)
	entropyPoolSizeDesc = prometheus.NewDesc("node_entropy_pool_size_bits",
		"Bits of entropy pool.", nil, nil)
)

// collectEntropy reports the kernel random pool.
func (c *Collector) collectEntropy(e *emitter) error {
	avail, err := e.readUint(c.procPath("sys/kernel/random/entropy_avail"))
	if err != nil {
		return err
	}
	pool, err := e.readUint(c.procPath("sys/kernel/random/poolsize"))
	if err != nil {
		return err
	}
	e.gauge(entropyAvailableDesc, float64(avail))
	e.gauge(entropyPoolSizeDesc, float64(pool))
	return nil
}

var (
	filefdAllocatedDesc = prometheus.NewDesc("node_filefd_allocated",
		"File descriptor statistics: allocated.", nil, nil)
	filefdMaximumDesc = prometheus.NewDesc("node_filefd_maximum",
		"File descriptor statistics: maximum.", nil, nil)
)

// collectFilefd reports /proc/sys/fs/file-nr: allocated, unused (always 0
// since Linux 2.6, not reported) and maximum file handles.
func (c *Collector) collectFilefd(e *emitter) error {
	s, err := e.readString(c.procPath("sys/fs/file-nr"))
	if err != nil {
		return err
	}
	fields := strings.Fields(s)
	if len(fields) != 3 {
		return fmt.Errorf("parse file-nr %q: want 3 fields", s)
	}
	allocated, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return fmt.Errorf("parse file-nr: %w", err)
	}
	maximum, err := strconv.ParseFloat(fields[2], 64)
	if err != nil {
		return fmt.Errorf("parse file-nr: %w", err)
	}
	e.gauge(filefdAllocatedDesc, allocated)
	e.gauge(filefdMaximumDesc, maximum)
	return nil
}

// pressureMetrics maps each PSI resource file to its metrics: the "some"
// line counts time at least one task waited, the "full" line time all
// tasks stalled. node_exporter reports no "full" for cpu.
var pressureMetrics = [...]struct {
	resource   string
	some, full *prometheus.Desc
}{
	{resource: "cpu", some: prometheus.NewDesc("node_pressure_cpu_waiting_seconds_total",
		"Total time in seconds that processes have waited for CPU time", nil, nil)},
	{resource: "io", some: prometheus.NewDesc("node_pressure_io_waiting_seconds_total",
		"Total time in seconds that processes have waited due to IO congestion", nil, nil),
		full: prometheus.NewDesc("node_pressure_io_stalled_seconds_total",
			"Total time in seconds no process could make progress due to IO congestion", nil, nil)},
	{resource: "memory", some: prometheus.NewDesc("node_pressure_memory_waiting_seconds_total",
		"Total time in seconds that processes have waited for memory", nil, nil),
		full: prometheus.NewDesc("node_pressure_memory_stalled_seconds_total",
			"Total time in seconds no process could make progress due to memory congestion", nil, nil)},
}

// collectPressure reports pressure stall information (Linux 4.20+ with
// CONFIG_PSI).
func (c *Collector) collectPressure(e *emitter) error {
	for _, p := range pressureMetrics {
		text, err := e.readText(c.procPath("pressure", p.resource))
		if err != nil {
			return err
		}
		some, full, err := parsePressure(text)
		if err != nil {
			return fmt.Errorf("parse pressure/%s: %w", p.resource, err)
		}
		e.counter(p.some, some)
		if p.full != nil {
			e.counter(p.full, full)
		}
	}
	return nil
}

// parsePressure returns the total= values, in seconds, of the "some" and
// "full" lines of a /proc/pressure file.
func parsePressure(s string) (some, full float64, err error) {
	for s != "" {
		var line string
		line, s = nextLine(s)
		kind, rest := firstField(line)
		var dst *float64
		switch kind {
		case "some":
			dst = &some
		case "full":
			dst = &full
		default:
			continue
		}
		_, total, ok := strings.Cut(rest, "total=")
		if !ok {
			return 0, 0, fmt.Errorf("no total in %q", line)
		}
		total, _ = firstField(total)
		us, err := strconv.ParseUint(total, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		// µs to s in two steps, which rounds exactly as node_exporter does.
		*dst = float64(us) / 1000 / 1000
	}
	return some, full, nil
}
