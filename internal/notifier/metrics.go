package notifier

import "github.com/prometheus/client_golang/prometheus"

// metrics are Prometheus's notifier metrics, argus_notifications_* in
// place of prometheus_notifications_*.
type metrics struct {
	latency      *prometheus.SummaryVec
	errors       *prometheus.CounterVec
	sent         *prometheus.CounterVec
	dropped      *prometheus.CounterVec
	queueLength  *prometheus.GaugeVec
	discovered   prometheus.Gauge
	queueCapInfo prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, capacity int) *metrics {
	l := []string{"alertmanager"}
	m := &metrics{
		latency: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name: "argus_notifications_latency_seconds", Help: "Latency quantiles for sending alert notifications.",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
		}, l),
		errors:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "argus_notifications_errors_total", Help: "Total number of sent alerts affected by errors."}, l),
		sent:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "argus_notifications_sent_total", Help: "Total number of alerts sent."}, l),
		dropped:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "argus_notifications_dropped_total", Help: "Total number of alerts dropped due to errors when sending to Alertmanager or a full queue."}, l),
		queueLength:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "argus_notifications_queue_length", Help: "The number of alert notifications in the queue."}, l),
		discovered:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "argus_notifications_alertmanagers_discovered", Help: "The number of alertmanagers discovered and active."}),
		queueCapInfo: prometheus.NewGauge(prometheus.GaugeOpts{Name: "argus_notifications_queue_capacity", Help: "The capacity of the alert notifications queue."}),
	}
	m.queueCapInfo.Set(float64(capacity))
	if reg != nil {
		reg.MustRegister(m.latency, m.errors, m.sent, m.dropped, m.queueLength, m.discovered, m.queueCapInfo)
	}
	return m
}

func (m *metrics) init(name string) {
	m.errors.WithLabelValues(name)
	m.sent.WithLabelValues(name)
	m.dropped.WithLabelValues(name)
	m.queueLength.WithLabelValues(name)
}

func (m *metrics) delete(name string) {
	m.latency.DeleteLabelValues(name)
	m.errors.DeleteLabelValues(name)
	m.sent.DeleteLabelValues(name)
	m.dropped.DeleteLabelValues(name)
	m.queueLength.DeleteLabelValues(name)
}
