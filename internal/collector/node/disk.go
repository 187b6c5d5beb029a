package node

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// diskSectorSize is the unit of /proc/diskstats sector counts: always 512
// bytes, whatever the device's real sector size.
const diskSectorSize = 512

// diskStat is one line of /proc/diskstats. Kernels before 4.18 print 11
// stats, 4.18 adds 4 discard stats and 5.5 adds 2 flush stats.
type diskStat struct {
	major, minor, device string
	stats                []uint64
}

// parseDiskstats parses /proc/diskstats. Lines with fewer than 11 stats
// (the partition format of 2.6 kernels) are skipped.
func parseDiskstats(s string) ([]diskStat, error) {
	var disks []diskStat
	for s != "" {
		var line string
		line, s = nextLine(s)
		fields := strings.Fields(line)
		if len(fields) < 3+11 {
			continue
		}
		d := diskStat{major: fields[0], minor: fields[1], device: fields[2], stats: make([]uint64, len(fields)-3)}
		for i, f := range fields[3:] {
			v, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parse diskstats %s: %w", d.device, err)
			}
			d.stats[i] = v
		}
		disks = append(disks, d)
	}
	return disks, nil
}

// diskMetric describes the metric of one /proc/diskstats column.
type diskMetric struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	scale float64 // multiplier to bytes or seconds; 0 for none
}

func newDiskMetric(name, help string, typ prometheus.ValueType, scale float64) diskMetric {
	return diskMetric{prometheus.NewDesc("node_disk_"+name, help, []string{"device"}, nil), typ, scale}
}

// diskMetrics are the /proc/diskstats columns, in file order
// (Documentation/admin-guide/iostats.rst). Times are in milliseconds.
var diskMetrics = [...]diskMetric{
	newDiskMetric("reads_completed_total", "The total number of reads completed successfully.", prometheus.CounterValue, 0),
	newDiskMetric("reads_merged_total", "The total number of reads merged.", prometheus.CounterValue, 0),
	newDiskMetric("read_bytes_total", "The total number of bytes read successfully.", prometheus.CounterValue, diskSectorSize),
	newDiskMetric("read_time_seconds_total", "The total number of seconds spent by all reads.", prometheus.CounterValue, 0.001),
	newDiskMetric("writes_completed_total", "The total number of writes completed successfully.", prometheus.CounterValue, 0),
	newDiskMetric("writes_merged_total", "The number of writes merged.", prometheus.CounterValue, 0),
	newDiskMetric("written_bytes_total", "The total number of bytes written successfully.", prometheus.CounterValue, diskSectorSize),
	newDiskMetric("write_time_seconds_total", "This is the total number of seconds spent by all writes.", prometheus.CounterValue, 0.001),
	newDiskMetric("io_now", "The number of I/Os currently in progress.", prometheus.GaugeValue, 0),
	newDiskMetric("io_time_seconds_total", "Total seconds spent doing I/Os.", prometheus.CounterValue, 0.001),
	newDiskMetric("io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.", prometheus.CounterValue, 0.001),
	newDiskMetric("discards_completed_total", "The total number of discards completed successfully.", prometheus.CounterValue, 0),
	newDiskMetric("discards_merged_total", "The total number of discards merged.", prometheus.CounterValue, 0),
	newDiskMetric("discarded_sectors_total", "The total number of sectors discarded successfully.", prometheus.CounterValue, 0),
	newDiskMetric("discard_time_seconds_total", "This is the total number of seconds spent by all discards.", prometheus.CounterValue, 0.001),
	newDiskMetric("flush_requests_total", "The total number of flush requests completed successfully", prometheus.CounterValue, 0),
	newDiskMetric("flush_requests_time_seconds_total", "This is the total number of seconds spent by all flush requests.", prometheus.CounterValue, 0.001),
}

var (
	diskInfoDesc = prometheus.NewDesc("node_disk_info", "Info of /sys/block/<block_device>.",
		[]string{"device", "major", "minor", "path", "wwn", "model", "serial", "revision"}, nil)
	diskFilesystemInfoDesc = prometheus.NewDesc("node_disk_filesystem_info", "Info about disk filesystem.",
		[]string{"device", "type", "usage", "uuid", "version"}, nil)
	diskDeviceMapperInfoDesc = prometheus.NewDesc("node_disk_device_mapper_info", "Info about disk device mapper.",
		[]string{"device", "name", "uuid", "vg_name", "lv_name", "lv_layer"}, nil)
)

// diskATAMetrics are the udev properties of ATA disks reported as gauges.
var diskATAMetrics = [...]struct {
	property string
	desc     *prometheus.Desc
}{
	{"ID_ATA_WRITE_CACHE", prometheus.NewDesc("node_disk_ata_write_cache",
		"ATA disk has a write cache.", []string{"device"}, nil)},
	{"ID_ATA_WRITE_CACHE_ENABLED", prometheus.NewDesc("node_disk_ata_write_cache_enabled",
		"ATA disk has its write cache enabled.", []string{"device"}, nil)},
	{"ID_ATA_ROTATION_RATE_RPM", prometheus.NewDesc("node_disk_ata_rotation_rate_rpm",
		"ATA disk rotation rate in RPMs (0 for SSDs).", []string{"device"}, nil)},
}

// collectDiskstats reports block device I/O statistics, and the identity
// udev recorded for each device (model, serial, file system, LVM volume).
func (c *Collector) collectDiskstats(e *emitter) error {
	text, err := e.readText(c.procPath("diskstats"))
	if err != nil {
		return err
	}
	disks, err := parseDiskstats(text)
	if err != nil {
		return err
	}
	for _, d := range disks {
		if c.opts.DiskstatsDeviceExclude.MatchString(d.device) {
			continue
		}
		for i, v := range d.stats[:min(len(d.stats), len(diskMetrics))] {
			m := diskMetrics[i]
			f := float64(v)
			if m.scale != 0 {
				f *= m.scale
			}
			e.send(m.desc, m.typ, f, []string{d.device})
		}
		c.collectDiskUdev(e, d)
	}
	return nil
}

// collectDiskUdev reports node_disk_info and the udev-derived families of
// one device. Without a udev database (containers, minimal systems) the
// info labels stay empty, as with node_exporter.
func (c *Collector) collectDiskUdev(e *emitter, d diskStat) {
	props := readUdevProperties(e, filepath.Join(c.opts.UdevDataPath, "b"+d.major+":"+d.minor))
	e.gauge(diskInfoDesc, 1, d.device, d.major, d.minor, props["ID_PATH"], props["ID_WWN"],
		props["ID_MODEL"], props["ID_SERIAL_SHORT"], props["ID_REVISION"])
	if fsType := props["ID_FS_TYPE"]; fsType != "" {
		e.gauge(diskFilesystemInfoDesc, 1, d.device, fsType, props["ID_FS_USAGE"], props["ID_FS_UUID"], props["ID_FS_VERSION"])
	}
	if name := props["DM_NAME"]; name != "" {
		e.gauge(diskDeviceMapperInfoDesc, 1, d.device, name, props["DM_UUID"], props["DM_VG_NAME"],
			props["DM_LV_NAME"], props["DM_LV_LAYER"])
	}
	for _, m := range diskATAMetrics {
		s, ok := props[m.property]
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			continue // a malformed property loses one gauge, not the device
		}
		e.gauge(m.desc, v, d.device)
	}
}

// readUdevProperties returns the E: (environment) properties of a udev
// database file, or nil when there is none.
func readUdevProperties(e *emitter, path string) map[string]string {
	text, err := e.readText(path)
	if err != nil {
		return nil
	}
	props := map[string]string{}
	s := text
	for s != "" {
		var line string
		line, s = nextLine(s)
		kv, ok := strings.CutPrefix(line, "E:")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(kv, "="); ok {
			props[k] = v
		}
	}
	return props
}
