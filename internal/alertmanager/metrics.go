package alertmanager

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	received       *prometheus.CounterVec
	invalid        prometheus.Counter
	limited        *prometheus.CounterVec
	notifications  *prometheus.CounterVec
	failed         *prometheus.CounterVec
	requests       *prometheus.CounterVec
	requestsFailed *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	groups         prometheus.Gauge
	historyDropped prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, m *Manager) *metrics {
	const ns = "argus_alertmanager_"
	x := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "alerts_received_total", Help: "Alerts received, by status.",
		}, []string{"status"}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "alerts_invalid_total", Help: "Alerts refused as invalid.",
		}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "alerts_limited_total", Help: "Alerts refused because a limit was reached, by limit: max_alerts, per_alertname, max_aggregation_groups.",
		}, []string{"limit"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "notifications_total", Help: "Notifications attempted (each with its retries counts once).",
		}, []string{"integration", "receiver"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "notifications_failed_total", Help: "Notifications that failed after their retries.",
		}, []string{"integration", "receiver", "reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "notification_requests_total", Help: "Requests to integrations, retries included.",
		}, []string{"integration", "receiver"}),
		requestsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "notification_requests_failed_total", Help: "Requests to integrations that failed.",
		}, []string{"integration", "receiver"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: ns + "notification_latency_seconds", Help: "Latency of requests to integrations.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 20},
		}, []string{"integration"}),
		groups: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: ns + "aggregation_groups", Help: "Aggregation groups.",
		}),
		historyDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "history_events_dropped_total", Help: "History events not recorded because the writer fell behind or failed.",
		}),
	}
	for _, l := range []string{limitAlerts, limitPerAlertname, limitGroups} {
		x.limited.WithLabelValues(l)
	}
	if reg == nil {
		return x
	}
	reg.MustRegister(x.received, x.invalid, x.limited, x.notifications, x.failed, x.requests, x.requestsFailed, x.latency, x.groups, x.historyDropped)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: ns + "alerts", Help: "Alerts in the store, resolved ones included until cleaned up.",
	}, func() float64 { return float64(m.store.len()) }))
	silences := prometheus.NewDesc(ns+"silences", "Silences by state.", []string{"state"}, nil)
	reg.MustRegister(silenceCollector{desc: silences, m: m})
	return x
}

type silenceCollector struct {
	desc *prometheus.Desc
	m    *Manager
}

func (c silenceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c silenceCollector) Collect(ch chan<- prometheus.Metric) {
	for state, n := range c.m.silences.count(time.Now()) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), state)
	}
}
