package node

import (
	"fmt"
	"strconv"
	"strings"
)

// meminfoField is one /proc/meminfo line, named as node_exporter names it.
type meminfoField struct {
	name  string // e.g. "Active_anon_bytes", "HugePages_Total"
	value float64
}

// parseMeminfo parses /proc/meminfo. A "kB" value is converted to bytes and
// gets the _bytes suffix; unit-less counts (HugePages_*) keep their name.
func parseMeminfo(s string) ([]meminfoField, error) {
	fields := make([]meminfoField, 0, 64)
	for s != "" {
		var line string
		line, s = nextLine(s)
		key, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		num, unit := firstField(rest)
		unit = strings.TrimSpace(unit)
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return nil, fmt.Errorf("parse /proc/meminfo %s: %w", key, err)
		}
		// "Active(anon)" becomes "Active_anon".
		name := strings.ReplaceAll(strings.ReplaceAll(key, "(", "_"), ")", "")
		switch unit {
		case "":
		case "kB":
			v *= 1024
			name += "_bytes"
		default:
			return nil, fmt.Errorf("parse /proc/meminfo %s: unknown unit %q", key, unit)
		}
		fields = append(fields, meminfoField{name: sanitizeName(name), value: v})
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("parse /proc/meminfo: no fields")
	}
	return fields, nil
}

// collectMeminfo reports every /proc/meminfo field as a node_memory_ gauge.
func (c *Collector) collectMeminfo(e *emitter) error {
	text, err := e.readText(c.procPath("meminfo"))
	if err != nil {
		return err
	}
	fields, err := parseMeminfo(text)
	if err != nil {
		return err
	}
	for _, f := range fields {
		d := c.desc("node_memory_"+f.name, func() string {
			return "Memory information field " + f.name + "."
		})
		e.gauge(d, f.value)
	}
	return nil
}

// collectVmstat reports the selected /proc/vmstat fields, untyped because
// the file mixes counters and gauges without saying which is which.
func (c *Collector) collectVmstat(e *emitter) error {
	text, err := e.readText(c.procPath("vmstat"))
	if err != nil {
		return err
	}
	s := text
	for s != "" {
		var line string
		line, s = nextLine(s)
		key, rest := firstField(line)
		if key == "" || !c.opts.VmstatFields.MatchString(key) {
			continue
		}
		num, _ := firstField(rest)
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return fmt.Errorf("parse /proc/vmstat %s: %w", key, err)
		}
		key = sanitizeName(key)
		d := c.desc("node_vmstat_"+key, func() string {
			return "/proc/vmstat information field " + key + "."
		})
		e.untyped(d, v)
	}
	return nil
}
