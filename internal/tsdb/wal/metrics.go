package wal

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMetricsPrefix is the metric name prefix used when
// Options.MetricsPrefix is empty.
const DefaultMetricsPrefix = "argus_tsdb_wal_"

// metrics are always created so the hot path needs no nil checks; they are
// registered only when the caller gave a Registerer.
type metrics struct {
	reg         prometheus.Registerer
	collectors  []prometheus.Collector
	fsyncDur    prometheus.Histogram
	fsyncs      prometheus.Counter
	bytes       prometheus.Counter
	records     prometheus.Counter
	failures    prometheus.Counter
	segment     prometheus.Gauge
	corruptions prometheus.Counter
}

func newMetrics(prefix string, reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		reg: reg,
		fsyncDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: prefix + "fsync_duration_seconds",
			Help: "Duration of fsync calls on segment files.",
			// fsync takes tens of microseconds on NVMe and up to seconds
			// on a busy spinning disk.
			Buckets: []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5},
		}),
		fsyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: prefix + "fsyncs_total",
			Help: "Number of fsync calls on segment files, failed ones included.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: prefix + "bytes_written_total",
			Help: "Bytes written to segment files, headers and padding included.",
		}),
		records: prometheus.NewCounter(prometheus.CounterOpts{
			Name: prefix + "records_written_total",
			Help: "Records written to segment files.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: prefix + "write_failures_total",
			Help: "Failed writes, truncations and fsyncs of segment files.",
		}),
		segment: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: prefix + "segment_current",
			Help: "Index of the segment being written.",
		}),
		corruptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: prefix + "replay_corruptions_total",
			Help: "Damaged regions and unreadable segments found by WAL.Replay; torn tails cut after a crash are not counted.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.fsyncDur, m.fsyncs, m.bytes, m.records, m.failures, m.segment, m.corruptions} {
		if err := reg.Register(c); err != nil {
			m.unregister()
			return nil, fmt.Errorf("register WAL metrics: %w", err)
		}
		m.collectors = append(m.collectors, c)
	}
	return m, nil
}

// unregister lets a closed WAL be reopened with the same Registerer.
func (m *metrics) unregister() {
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
	m.collectors = nil
}
