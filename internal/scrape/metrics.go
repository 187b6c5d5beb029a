package scrape

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
)

type metrics struct {
	scrapes        prometheus.Counter
	scrapeFailures prometheus.Counter
	sampleErrors   *prometheus.CounterVec
	targets        *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		scrapes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_scrape_scrapes_total",
			Help: "Scrapes performed.",
		}),
		scrapeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_scrape_failures_total",
			Help: "Scrapes that failed (target down, parse error, limit exceeded).",
		}),
		sampleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_scrape_samples_rejected_total",
			Help: "Scraped samples the storage refused, by reason.",
		}, []string{"reason"}),
		targets: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "argus_scrape_targets",
			Help: "Active targets, by scrape job.",
		}, []string{"job"}),
	}
	if reg != nil {
		reg.MustRegister(m.scrapes, m.scrapeFailures, m.sampleErrors, m.targets)
	}
	return m
}

func (m *metrics) countSampleError(err error) {
	reason := "other"
	switch {
	case errors.Is(err, storage.ErrOutOfOrderSample):
		reason = "out_of_order"
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		reason = "duplicate"
	case errors.Is(err, storage.ErrOutOfBounds):
		reason = "out_of_bounds"
	}
	m.sampleErrors.WithLabelValues(reason).Inc()
}

func (m *metrics) setTargets(job string, n int) {
	if n == 0 {
		m.targets.DeleteLabelValues(job)
		return
	}
	m.targets.WithLabelValues(job).Set(float64(n))
}
