package tsdb

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a sample is rejected, the values of the reason label of
// argus_tsdb_samples_rejected_total.
const (
	reasonOutOfOrder  = "out_of_order"
	reasonDuplicate   = "duplicate"
	reasonOutOfBounds = "out_of_bounds"
	reasonInvalid     = "invalid_series"
)

type metrics struct {
	samplesAppended   prometheus.Counter
	rejected          *prometheus.CounterVec
	seriesCreated     prometheus.Counter
	seriesRemoved     prometheus.Counter
	flushes           prometheus.Counter
	flushFailures     prometheus.Counter
	flushDuration     prometheus.Histogram
	compactions       *prometheus.CounterVec
	compactionFails   prometheus.Counter
	compactionSeconds prometheus.Histogram
	damagedChunks     prometheus.Counter
	retentionDeletes  *prometheus.CounterVec
	replaySeconds     prometheus.Gauge

	reg        prometheus.Registerer
	registered []prometheus.Collector
}

// unregister removes the metrics from the registerer.
func (m *metrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}

func newMetrics(db *DB, reg prometheus.Registerer) *metrics {
	m := &metrics{
		samplesAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_tsdb_head_samples_appended_total",
			Help: "Samples committed to the head.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_tsdb_samples_rejected_total",
			Help: "Samples refused by the storage, by reason.",
		}, []string{"reason"}),
		seriesCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_tsdb_head_series_created_total",
			Help: "Series created in the head.",
		}),
		seriesRemoved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_tsdb_head_series_removed_total",
			Help: "Series removed from the head after their samples moved to blocks.",
		}),
		flushes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_tsdb_head_flushes_total",
			Help: "Head parts written.",
		}),
		flushFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_tsdb_head_flush_failures_total",
			Help: "Head part writes that failed (retried at the next flush).",
		}),
		flushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "argus_tsdb_head_flush_duration_seconds",
			Help:    "Time to cut and write a head part.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
		compactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_tsdb_compactions_total",
			Help: "Blocks written, by kind: head (cut from the head) or merge.",
		}, []string{"kind"}),
		compactionFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_tsdb_compactions_failed_total",
			Help: "Compactions that failed.",
		}),
		compactionSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "argus_tsdb_compaction_duration_seconds",
			Help:    "Time to write a block.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 8),
		}),
		damagedChunks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_tsdb_damaged_chunks_total",
			Help: "Head chunks that failed their checksum or did not decode and were left out of a block.",
		}),
		retentionDeletes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_tsdb_blocks_deleted_total",
			Help: "Blocks deleted, by reason: time or size retention, or superseded by a merge.",
		}, []string{"reason"}),
		replaySeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "argus_tsdb_head_replay_duration_seconds",
			Help: "Time the last open took to rebuild the head.",
		}),
	}
	if reg == nil {
		return m
	}
	m.reg = reg
	m.registered = append(m.registered, m.samplesAppended, m.rejected, m.seriesCreated, m.seriesRemoved,
		m.flushes, m.flushFailures, m.flushDuration, m.compactions, m.compactionFails,
		m.compactionSeconds, m.damagedChunks, m.retentionDeletes, m.replaySeconds)
	m.registered = append(m.registered,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "argus_tsdb_head_series",
			Help: "Series in the head.",
		}, func() float64 { return float64(db.head.series.count()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "argus_tsdb_head_min_time",
			Help: "Oldest sample time served by the head, in milliseconds.",
		}, func() float64 { return float64(db.head.minMax.min.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "argus_tsdb_head_max_time",
			Help: "Newest sample time in the head, in milliseconds.",
		}, func() float64 { return float64(db.head.minMax.max.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "argus_tsdb_head_parts",
			Help: "Head parts on disk or being written.",
		}, func() float64 {
			db.head.partsMu.RLock()
			defer db.head.partsMu.RUnlock()
			return float64(len(db.head.parts))
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "argus_tsdb_blocks_loaded",
			Help: "Blocks open.",
		}, func() float64 { return float64(len(db.Blocks())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "argus_tsdb_storage_blocks_bytes",
			Help: "Bytes on disk used by blocks.",
		}, func() float64 {
			var n int64
			for _, b := range db.Blocks() {
				n += b.Size()
			}
			return float64(n)
		}),
	)
	reg.MustRegister(m.registered...)
	return m
}
