package node

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	thermalZoneTempDesc = prometheus.NewDesc("node_thermal_zone_temp",
		"Zone temperature in Celsius", []string{"zone", "type"}, nil)
	coolingCurStateDesc = prometheus.NewDesc("node_cooling_device_cur_state",
		"Current throttle state of the cooling device", []string{"name", "type"}, nil)
	coolingMaxStateDesc = prometheus.NewDesc("node_cooling_device_max_state",
		"Maximum throttle state of the cooling device", []string{"name", "type"}, nil)
)

// collectThermalZone reports ACPI/platform thermal zones and cooling devices
// of /sys/class/thermal. Virtual machines usually have none, which is not a
// failure. As with node_exporter, a zone or device missing one of its
// files fails the collector; a value the kernel refuses to read (some
// firmware returns EINVAL or ENODATA for a sensor) skips that zone or
// device.
func (c *Collector) collectThermalZone(e *emitter) error {
	zones, err := filepath.Glob(c.sysPath("class/thermal/thermal_zone[0-9]*"))
	if err != nil {
		return err
	}
	for _, dir := range zones {
		var typ string
		var milli int64
		err := firstError(
			func() (err error) { typ, err = e.readString(filepath.Join(dir, "type")); return err },
			// Unused, but its absence marks a broken zone for node_exporter.
			func() error { _, err := e.readString(filepath.Join(dir, "policy")); return err },
			func() (err error) { milli, err = e.readInt(filepath.Join(dir, "temp")); return err },
		)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		zone := strings.TrimPrefix(filepath.Base(dir), "thermal_zone")
		e.gauge(thermalZoneTempDesc, float64(milli)/1000, zone, typ)
	}
	devices, err := filepath.Glob(c.sysPath("class/thermal/cooling_device[0-9]*"))
	if err != nil {
		return err
	}
	for _, dir := range devices {
		var typ string
		var cur, maxState int64
		err := firstError(
			func() (err error) { typ, err = e.readString(filepath.Join(dir, "type")); return err },
			func() (err error) { maxState, err = e.readInt(filepath.Join(dir, "max_state")); return err },
			func() (err error) { cur, err = e.readInt(filepath.Join(dir, "cur_state")); return err },
		)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		name := strings.TrimPrefix(filepath.Base(dir), "cooling_device")
		e.gauge(coolingCurStateDesc, float64(cur), name, typ)
		e.gauge(coolingMaxStateDesc, float64(maxState), name, typ)
	}
	return nil
}

// firstError runs steps in order until one fails.
func firstError(steps ...func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

var (
	edacCEDesc = prometheus.NewDesc("node_edac_correctable_errors_total",
		"Total correctable memory errors.", []string{"controller"}, nil)
	edacUEDesc = prometheus.NewDesc("node_edac_uncorrectable_errors_total",
		"Total uncorrectable memory errors.", []string{"controller"}, nil)
	edacCsrowCEDesc = prometheus.NewDesc("node_edac_csrow_correctable_errors_total",
		"Total correctable memory errors for this csrow.", []string{"controller", "csrow"}, nil)
	edacCsrowUEDesc = prometheus.NewDesc("node_edac_csrow_uncorrectable_errors_total",
		"Total uncorrectable memory errors for this csrow.", []string{"controller", "csrow"}, nil)
)

// collectEDAC reports ECC memory error counts per memory controller and
// chip-select row. Errors the controller could not attribute to a row
// (the *_noinfo_count files) are reported under csrow="unknown".
func (c *Collector) collectEDAC(e *emitter) error {
	controllers, err := filepath.Glob(c.sysPath("devices/system/edac/mc/mc[0-9]*"))
	if err != nil {
		return err
	}
	for _, dir := range controllers {
		mc := strings.TrimPrefix(filepath.Base(dir), "mc")
		for _, f := range [...]struct {
			file, csrow string
			desc        *prometheus.Desc
		}{
			{"ce_count", "", edacCEDesc},
			{"ue_count", "", edacUEDesc},
			{"ce_noinfo_count", "unknown", edacCsrowCEDesc},
			{"ue_noinfo_count", "unknown", edacCsrowUEDesc},
		} {
			v, err := e.readUint(filepath.Join(dir, f.file))
			if err != nil {
				return err
			}
			if f.csrow == "" {
				e.counter(f.desc, float64(v), mc)
			} else {
				e.counter(f.desc, float64(v), mc, f.csrow)
			}
		}
		rows, err := filepath.Glob(filepath.Join(dir, "csrow[0-9]*"))
		if err != nil {
			return err
		}
		for _, row := range rows {
			csrow := strings.TrimPrefix(filepath.Base(row), "csrow")
			ce, err := e.readUint(filepath.Join(row, "ce_count"))
			if err != nil {
				return err
			}
			ue, err := e.readUint(filepath.Join(row, "ue_count"))
			if err != nil {
				return err
			}
			e.counter(edacCsrowCEDesc, float64(ce), mc, csrow)
			e.counter(edacCsrowUEDesc, float64(ue), mc, csrow)
		}
	}
	return nil
}
