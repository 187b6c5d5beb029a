package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// netDevColumns names the 16 counters of a /proc/net/dev line, in file order.
var netDevColumns = [...]string{
	"receive_bytes", "receive_packets", "receive_errs", "receive_drop",
	"receive_fifo", "receive_frame", "receive_compressed", "receive_multicast",
	"transmit_bytes", "transmit_packets", "transmit_errs", "transmit_drop",
	"transmit_fifo", "transmit_colls", "transmit_carrier", "transmit_compressed",
}

// netDevStats is one device line of /proc/net/dev.
type netDevStats struct {
	device string
	values [len(netDevColumns)]uint64
}

// parseNetDev parses /proc/net/dev, skipping its two header lines.
func parseNetDev(s string) ([]netDevStats, error) {
	var devs []netDevStats
	for s != "" {
		var line string
		line, s = nextLine(s)
		if strings.IndexByte(line, '|') >= 0 || strings.TrimSpace(line) == "" {
			continue // header
		}
		// Counters never contain ':', device names may ("eth0:1" aliases
		// on old kernels), so the last colon ends the name.
		i := strings.LastIndexByte(line, ':')
		if i < 0 {
			return nil, fmt.Errorf("parse net/dev: no device name in %q", line)
		}
		d := netDevStats{device: strings.TrimSpace(line[:i])}
		rest := line[i+1:]
		for j := range d.values {
			var field string
			field, rest = firstField(rest)
			v, err := strconv.ParseUint(field, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parse net/dev %s %s: %w", d.device, netDevColumns[j], err)
			}
			d.values[j] = v
		}
		devs = append(devs, d)
	}
	return devs, nil
}

var (
	netDevDescs = func() (descs [len(netDevColumns)]*prometheus.Desc) {
		for i, col := range netDevColumns {
			descs[i] = netDevDesc(col)
		}
		return descs
	}()
	netDevNoHandlerDesc = netDevDesc("receive_nohandler")
)

func netDevDesc(col string) *prometheus.Desc {
	return prometheus.NewDesc("node_network_"+col+"_total",
		"Network device statistic "+col+".", []string{"device"}, nil)
}

// collectNetdev reports the per-interface counters of /proc/net/dev, plus
// packets dropped for lack of a protocol handler, which node_exporter gets
// from netlink and sysfs exposes as statistics/rx_nohandler.
func (c *Collector) collectNetdev(e *emitter) error {
	text, err := e.readText(c.procPath("net/dev"))
	if err != nil {
		return err
	}
	devs, err := parseNetDev(text)
	if err != nil {
		return err
	}
	for _, d := range devs {
		if c.opts.NetdevDeviceExclude != nil && c.opts.NetdevDeviceExclude.MatchString(d.device) {
			continue
		}
		for i, v := range d.values {
			e.counter(netDevDescs[i], float64(v), d.device)
		}
		if v, err := e.readUint(c.sysPath("class/net", d.device, "statistics/rx_nohandler")); err == nil {
			e.counter(netDevNoHandlerDesc, float64(v), d.device)
		}
	}
	return nil
}

// netClassProperties are the numeric /sys/class/net/<iface>/ files and the
// node_network_ metric each becomes. A file the kernel refuses to read
// (carrier, speed and duplex of a down interface return EINVAL) yields no
// sample, as with node_exporter.
var netClassProperties = [...]struct {
	file  string
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	scale float64
}{
	{"addr_assign_type", netClassDesc("address_assign_type"), prometheus.GaugeValue, 1},
	{"carrier", netClassDesc("carrier"), prometheus.GaugeValue, 1},
	{"carrier_changes", netClassDesc("carrier_changes_total"), prometheus.CounterValue, 1},
	{"carrier_up_count", netClassDesc("carrier_up_changes_total"), prometheus.CounterValue, 1},
	{"carrier_down_count", netClassDesc("carrier_down_changes_total"), prometheus.CounterValue, 1},
	{"dev_id", netClassDesc("device_id"), prometheus.GaugeValue, 1},
	{"dormant", netClassDesc("dormant"), prometheus.GaugeValue, 1},
	{"flags", netClassDesc("flags"), prometheus.GaugeValue, 1},
	{"ifindex", netClassDesc("iface_id"), prometheus.GaugeValue, 1},
	{"iflink", netClassDesc("iface_link"), prometheus.GaugeValue, 1},
	{"link_mode", netClassDesc("iface_link_mode"), prometheus.GaugeValue, 1},
	{"mtu", netClassDesc("mtu_bytes"), prometheus.GaugeValue, 1},
	{"name_assign_type", netClassDesc("name_assign_type"), prometheus.GaugeValue, 1},
	{"netdev_group", netClassDesc("net_dev_group"), prometheus.GaugeValue, 1},
	// speed is in Mbit/s; -1 (unknown) is passed through scaled, as
	// node_exporter does by default.
	{"speed", netClassDesc("speed_bytes"), prometheus.GaugeValue, 1e6 / 8},
	{"tx_queue_len", netClassDesc("transmit_queue_length"), prometheus.GaugeValue, 1},
	{"type", netClassDesc("protocol_type"), prometheus.GaugeValue, 1},
}

func netClassDesc(name string) *prometheus.Desc {
	return prometheus.NewDesc("node_network_"+name, "Network device property: "+name, []string{"device"}, nil)
}

var (
	netInfoDesc = prometheus.NewDesc("node_network_info",
		"Non-numeric data from /sys/class/net/<iface>, value is always 1.",
		[]string{"device", "address", "broadcast", "duplex", "operstate", "ifalias"}, nil)
	netUpDesc = prometheus.NewDesc("node_network_up",
		"Value is 1 if operstate is 'up', 0 otherwise.", []string{"device"}, nil)
)

// collectNetclass reports the attributes of every interface in
// /sys/class/net.
func (c *Collector) collectNetclass(e *emitter) error {
	entries, err := os.ReadDir(c.sysPath("class/net"))
	if err != nil {
		return err
	}
	for _, ent := range entries {
		// Interfaces are symlinks into /sys/devices (directories in
		// copies); regular files such as bonding_masters are not.
		if ent.Type().IsRegular() {
			continue
		}
		dir := c.sysPath("class/net", ent.Name())
		if err := c.collectNetclassIface(e, ent.Name(), dir); err != nil {
			return err
		}
	}
	return nil
}

func (c *Collector) collectNetclassIface(e *emitter, device, dir string) error {
	text := func(file string) string {
		s, _ := e.readString(filepath.Join(dir, file))
		return s
	}
	operstate := text("operstate")
	e.gauge(netInfoDesc, 1, device, text("address"), text("broadcast"), text("duplex"), operstate, text("ifalias"))
	up := 0.0
	if operstate == "up" {
		up = 1
	}
	e.gauge(netUpDesc, up, device)
	for _, p := range netClassProperties {
		v, err := e.readInt(filepath.Join(dir, p.file))
		if err != nil {
			var numErr *strconv.NumError
			if errors.As(err, &numErr) {
				return err
			}
			continue // absent, or refused while the link is down
		}
		e.send(p.desc, p.typ, float64(v)*p.scale, []string{device})
	}
	return nil
}
