package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// netstatField is one protocol counter, keyed "<Proto>_<Field>".
type netstatField struct {
	key   string
	value float64
}

// parseNetstat parses /proc/net/netstat and /proc/net/snmp, where each
// protocol has a line of field names followed by a line of values, both
// prefixed "<Proto>:".
func parseNetstat(s string, fields []netstatField) ([]netstatField, error) {
	for s != "" {
		var names, values string
		names, s = nextLine(s)
		if strings.TrimSpace(names) == "" {
			continue
		}
		values, s = nextLine(s)
		proto, nameList, ok := strings.Cut(names, ":")
		vproto, valueList, vok := strings.Cut(values, ":")
		if !ok || !vok || proto != vproto {
			return nil, fmt.Errorf("parse netstat: unpaired line %q", names)
		}
		for {
			var name, value string
			name, nameList = firstField(nameList)
			value, valueList = firstField(valueList)
			if name == "" || value == "" {
				if name != value {
					return nil, fmt.Errorf("parse netstat %s: field and value counts differ", proto)
				}
				break
			}
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return nil, fmt.Errorf("parse netstat %s %s: %w", proto, name, err)
			}
			fields = append(fields, netstatField{key: proto + "_" + name, value: v})
		}
	}
	return fields, nil
}

// parseSNMP6 parses /proc/net/snmp6, one "<Proto>6<Field> value" per line
// ("Icmp6InMsgs 12").
func parseSNMP6(s string, fields []netstatField) ([]netstatField, error) {
	for s != "" {
		var line string
		line, s = nextLine(s)
		name, rest := firstField(line)
		value, _ := firstField(rest)
		if name == "" {
			continue
		}
		i := strings.IndexByte(name, '6')
		if i < 0 || value == "" {
			return nil, fmt.Errorf("parse snmp6: malformed line %q", line)
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("parse snmp6 %s: %w", name, err)
		}
		fields = append(fields, netstatField{key: name[:i+1] + "_" + name[i+1:], value: v})
	}
	return fields, nil
}

// collectNetstat reports the selected protocol counters of
// /proc/net/{netstat,snmp,snmp6}, untyped because the files mix counters
// (InSegs) and gauges (CurrEstab). snmp6 is absent when IPv6 is disabled.
func (c *Collector) collectNetstat(e *emitter) error {
	var fields []netstatField
	for _, file := range [...]string{"net/netstat", "net/snmp", "net/snmp6"} {
		text, err := e.readText(c.procPath(file))
		if file == "net/snmp6" && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if file == "net/snmp6" {
			fields, err = parseSNMP6(text, fields)
		} else {
			fields, err = parseNetstat(text, fields)
		}
		if err != nil {
			return err
		}
	}
	for _, f := range fields {
		if !c.opts.NetstatFields.MatchString(f.key) {
			continue
		}
		key := sanitizeName(f.key)
		d := c.desc("node_netstat_"+key, func() string {
			return "Statistic " + strings.Replace(f.key, "_", "", 1) + "."
		})
		e.untyped(d, f.value)
	}
	return nil
}

var sockstatSocketsUsedDesc = prometheus.NewDesc("node_sockstat_sockets_used",
	"Number of IPv4 sockets in use.", nil, nil)

// collectSockstat reports /proc/net/sockstat and sockstat6 ("TCP: inuse 2
// orphan 0 ..." per protocol). Memory, counted in pages, is also reported
// in bytes.
func (c *Collector) collectSockstat(e *emitter) error {
	pageSize := float64(os.Getpagesize())
	for _, file := range [...]string{"net/sockstat", "net/sockstat6"} {
		text, err := e.readText(c.procPath(file))
		if file == "net/sockstat6" && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		s := text
		for s != "" {
			var line string
			line, s = nextLine(s)
			proto, rest, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			for {
				var state, value string
				state, rest = firstField(rest)
				value, rest = firstField(rest)
				if state == "" {
					break
				}
				v, err := strconv.ParseFloat(value, 64)
				if err != nil {
					return fmt.Errorf("parse %s %s %s: %w", file, proto, state, err)
				}
				if proto == "sockets" && state == "used" {
					e.gauge(sockstatSocketsUsedDesc, v)
					continue
				}
				c.sockstatGauge(e, proto, state, v)
				if state == "mem" {
					c.sockstatGauge(e, proto, "mem_bytes", v*pageSize)
				}
			}
		}
	}
	return nil
}

func (c *Collector) sockstatGauge(e *emitter, proto, state string, v float64) {
	d := c.desc(sanitizeName("node_sockstat_"+proto+"_"+state), func() string {
		return "Number of " + proto + " sockets in state " + state + "."
	})
	e.gauge(d, v)
}

var (
	softnetProcessedDesc = prometheus.NewDesc("node_softnet_processed_total",
		"Number of processed packets", []string{"cpu"}, nil)
	softnetDroppedDesc = prometheus.NewDesc("node_softnet_dropped_total",
		"Number of dropped packets", []string{"cpu"}, nil)
	softnetSqueezedDesc = prometheus.NewDesc("node_softnet_times_squeezed_total",
		"Number of times processing packets ran out of quota", []string{"cpu"}, nil)
)

// collectSoftnet reports /proc/net/softnet_stat: one line of hex counters
// per CPU, the CPU being the line's index.
func (c *Collector) collectSoftnet(e *emitter) error {
	text, err := e.readText(c.procPath("net/softnet_stat"))
	if err != nil {
		return err
	}
	s := text
	for cpu := 0; s != ""; cpu++ {
		var line string
		line, s = nextLine(s)
		var v [3]uint64
		rest := line
		for i := range v {
			var field string
			field, rest = firstField(rest)
			if v[i], err = strconv.ParseUint(field, 16, 32); err != nil {
				return fmt.Errorf("parse softnet_stat line %d: %w", cpu, err)
			}
		}
		id := strconv.Itoa(cpu)
		e.counter(softnetProcessedDesc, float64(v[0]), id)
		e.counter(softnetDroppedDesc, float64(v[1]), id)
		e.counter(softnetSqueezedDesc, float64(v[2]), id)
	}
	return nil
}

var udpQueuesDesc = prometheus.NewDesc("node_udp_queues",
	"Number of allocated memory in the kernel for UDP datagrams in bytes.", []string{"ip", "queue"}, nil)

// collectUDPQueues reports the memory queued on all UDP sockets, summed from
// the tx_queue:rx_queue column of /proc/net/udp and udp6.
func (c *Collector) collectUDPQueues(e *emitter) error {
	for _, f := range [...]struct{ file, ip string }{{"net/udp", "v4"}, {"net/udp6", "v6"}} {
		text, err := e.readText(c.procPath(f.file))
		if f.ip == "v6" && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		tx, rx, err := parseUDPQueues(text)
		if err != nil {
			return fmt.Errorf("parse %s: %w", f.file, err)
		}
		e.gauge(udpQueuesDesc, tx, f.ip, "tx")
		e.gauge(udpQueuesDesc, rx, f.ip, "rx")
	}
	return nil
}

// parseUDPQueues sums the hex tx_queue and rx_queue of every socket line.
func parseUDPQueues(s string) (tx, rx float64, err error) {
	_, s = nextLine(s) // header
	for s != "" {
		var line string
		line, s = nextLine(s)
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 5 {
			return 0, 0, fmt.Errorf("malformed line %q", line)
		}
		t, r, ok := strings.Cut(fields[4], ":")
		if !ok {
			return 0, 0, fmt.Errorf("malformed queues %q", fields[4])
		}
		tv, err := strconv.ParseUint(t, 16, 64)
		if err != nil {
			return 0, 0, err
		}
		rv, err := strconv.ParseUint(r, 16, 64)
		if err != nil {
			return 0, 0, err
		}
		tx += float64(tv)
		rx += float64(rv)
	}
	return tx, rx, nil
}

var arpEntriesDesc = prometheus.NewDesc("node_arp_entries", "ARP entries by device", []string{"device"}, nil)

// collectARP counts the neighbour table entries of /proc/net/arp per
// device, incomplete ones included.
func (c *Collector) collectARP(e *emitter) error {
	text, err := e.readText(c.procPath("net/arp"))
	if err != nil {
		return err
	}
	counts := map[string]int{}
	_, s := nextLine(text) // header
	for s != "" {
		var line string
		line, s = nextLine(s)
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 6 {
			return fmt.Errorf("parse net/arp: malformed line %q", line)
		}
		counts[fields[5]]++
	}
	for device, n := range counts {
		e.gauge(arpEntriesDesc, float64(n), device)
	}
	return nil
}

var (
	conntrackEntriesDesc = prometheus.NewDesc("node_nf_conntrack_entries",
		"Number of currently allocated flow entries for connection tracking.", nil, nil)
	conntrackLimitDesc = prometheus.NewDesc("node_nf_conntrack_entries_limit",
		"Maximum size of connection tracking table.", nil, nil)
)

// conntrackStats are the per-CPU columns of /proc/net/stat/nf_conntrack
// reported, summed over CPUs.
var conntrackStats = [...]struct {
	column string
	desc   *prometheus.Desc
}{
	{"found", conntrackStatDesc("found", "Number of searched entries which were successful.")},
	{"invalid", conntrackStatDesc("invalid", "Number of packets seen which can not be tracked.")},
	{"ignore", conntrackStatDesc("ignore", "Number of packets seen which are already connected to a conntrack entry.")},
	{"insert", conntrackStatDesc("insert", "Number of entries inserted into the list.")},
	{"insert_failed", conntrackStatDesc("insert_failed", "Number of entries for which list insertion was attempted but failed.")},
	{"drop", conntrackStatDesc("drop", "Number of packets dropped due to conntrack failure.")},
	{"early_drop", conntrackStatDesc("early_drop", "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.")},
	{"search_restart", conntrackStatDesc("search_restart", "Number of conntrack table lookups which had to be restarted due to hashtable resizes.")},
}

func conntrackStatDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("node_nf_conntrack_stat_"+name, help, nil, nil)
}

// collectConntrack reports the netfilter connection tracking table; it
// fails (with fs.ErrNotExist) when the nf_conntrack module is not loaded.
func (c *Collector) collectConntrack(e *emitter) error {
	count, err := e.readUint(c.procPath("sys/net/netfilter/nf_conntrack_count"))
	if err != nil {
		return err
	}
	limit, err := e.readUint(c.procPath("sys/net/netfilter/nf_conntrack_max"))
	if err != nil {
		return err
	}
	text, err := e.readText(c.procPath("net/stat/nf_conntrack"))
	if err != nil {
		return err
	}
	sums, err := parseConntrackStat(text)
	if err != nil {
		return err
	}
	e.gauge(conntrackEntriesDesc, float64(count))
	e.gauge(conntrackLimitDesc, float64(limit))
	for _, st := range conntrackStats {
		e.gauge(st.desc, sums[st.column])
	}
	return nil
}

// parseConntrackStat sums the hex per-CPU lines of /proc/net/stat/nf_conntrack
// by column name.
func parseConntrackStat(s string) (map[string]float64, error) {
	header, s := nextLine(s)
	names := strings.Fields(header)
	sums := make(map[string]float64, len(names))
	for s != "" {
		var line string
		line, s = nextLine(s)
		values := strings.Fields(line)
		if len(values) == 0 {
			continue
		}
		if len(values) != len(names) {
			return nil, fmt.Errorf("parse nf_conntrack stat: %d values for %d columns", len(values), len(names))
		}
		for i, v := range values {
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				return nil, fmt.Errorf("parse nf_conntrack stat %s: %w", names[i], err)
			}
			sums[names[i]] += float64(n)
		}
	}
	return sums, nil
}
