package postgres

import (
	"strconv"
	"strings"
)

// setting converts a row of pg_settings as postgres_exporter does: the
// metric name (without pg_settings_) is the setting's, with a _seconds or
// _bytes suffix for time and memory units, whose values are converted to
// seconds and bytes; -1 (off, for most such settings) stays -1. Booleans
// are 1 or 0. ok is false for values that are not numbers and for units
// the exporter does not know.
func setting(name, value, unit, vartype string) (metric string, v float64, ok bool) {
	metric = sanitize(name)
	switch vartype {
	case "bool":
		switch value {
		case "on":
			return metric, 1, true
		case "off":
			return metric, 0, true
		}
		return "", 0, false
	case "integer", "real":
	default:
		return "", 0, false
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return "", 0, false
	}
	if unit == "" {
		return metric, v, true
	}
	suffix, factor, ok := unitFactor(unit)
	if !ok {
		return "", 0, false
	}
	if v != -1 {
		v *= factor
	}
	return metric + suffix, v, true
}

// timeUnits are PostgreSQL's time units in seconds.
var timeUnits = map[string]float64{"ms": 1e-3, "s": 1, "min": 60, "h": 3600, "d": 86400}

// byteUnits are PostgreSQL's memory units in bytes.
var byteUnits = map[string]float64{"B": 1, "kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}

// unitFactor returns the suffix and factor of a unit: a time unit, or a
// memory unit with an optional multiple, as in "8kB" (pages).
func unitFactor(unit string) (suffix string, factor float64, ok bool) {
	if f, ok := timeUnits[unit]; ok {
		return "_seconds", f, true
	}
	digits := strings.IndexFunc(unit, func(r rune) bool { return r < '0' || r > '9' })
	if digits < 0 {
		return "", 0, false
	}
	f, ok := byteUnits[unit[digits:]]
	if !ok {
		return "", 0, false
	}
	if digits > 0 {
		n, err := strconv.Atoi(unit[:digits])
		if err != nil || n == 0 {
			return "", 0, false
		}
		f *= float64(n)
	}
	return "_bytes", f, true
}

// sanitize makes a setting name a metric name: extension settings such as
// pg_stat_statements.max have dots.
func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
}
