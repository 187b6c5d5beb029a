package rules

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are Prometheus's rule manager metrics, named argus_rule_* in
// place of prometheus_rule_*.
type metrics struct {
	evalDuration        prometheus.Summary
	iterationDuration   prometheus.Summary
	iterationsMissed    *prometheus.CounterVec
	iterationsScheduled *prometheus.CounterVec
	evalTotal           *prometheus.CounterVec
	evalFailures        *prometheus.CounterVec
	groupInterval       *prometheus.GaugeVec
	lastEvalTime        *prometheus.GaugeVec
	lastDuration        *prometheus.GaugeVec
	lastRuleDurationSum *prometheus.GaugeVec
	lastRestoreDuration *prometheus.GaugeVec
	groupRules          *prometheus.GaugeVec
	groupSamples        *prometheus.GaugeVec
	templateFailures    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	gv := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "argus_" + name, Help: help}, []string{"rule_group"})
	}
	cv := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "argus_" + name, Help: help}, []string{"rule_group"})
	}
	m := &metrics{
		evalDuration: prometheus.NewSummary(prometheus.SummaryOpts{
			Name: "argus_rule_evaluation_duration_seconds", Help: "The duration for a rule to execute.",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
		}),
		iterationDuration: prometheus.NewSummary(prometheus.SummaryOpts{
			Name: "argus_rule_group_duration_seconds", Help: "The duration of rule group evaluations.",
			Objectives: map[float64]float64{0.01: 0.001, 0.05: 0.005, 0.5: 0.05, 0.90: 0.01, 0.99: 0.001},
		}),
		iterationsMissed:    cv("rule_group_iterations_missed_total", "The total number of rule group evaluations missed due to slow rule group evaluation."),
		iterationsScheduled: cv("rule_group_iterations_total", "The total number of scheduled rule group evaluations, whether executed or missed."),
		evalTotal:           cv("rule_evaluations_total", "The total number of rule evaluations."),
		evalFailures:        cv("rule_evaluation_failures_total", "The total number of rule evaluation failures."),
		groupInterval:       gv("rule_group_interval_seconds", "The interval of a rule group."),
		lastEvalTime:        gv("rule_group_last_evaluation_timestamp_seconds", "The timestamp of the last rule group evaluation in seconds."),
		lastDuration:        gv("rule_group_last_duration_seconds", "The duration of the last rule group evaluation."),
		lastRuleDurationSum: gv("rule_group_last_rule_duration_sum_seconds", "The sum of time in seconds it took to evaluate each rule in the group."),
		lastRestoreDuration: gv("rule_group_last_restore_duration_seconds", "The duration of the last alert rules alerts restoration using the `ALERTS_FOR_STATE` series."),
		groupRules:          gv("rule_group_rules", "The number of rules."),
		groupSamples:        gv("rule_group_last_evaluation_samples", "The number of samples returned during the last rule group evaluation."),
		templateFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_template_text_expansion_failures_total", Help: "The total number of template text expansion failures.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.evalDuration, m.iterationDuration, m.iterationsMissed, m.iterationsScheduled,
			m.evalTotal, m.evalFailures, m.groupInterval, m.lastEvalTime, m.lastDuration,
			m.lastRuleDurationSum, m.lastRestoreDuration, m.groupRules, m.groupSamples, m.templateFailures)
	}
	return m
}

// init creates a group's series so they are exported from the start.
func (m *metrics) initGroup(key string, rules int, intervalSeconds float64) {
	m.iterationsMissed.WithLabelValues(key)
	m.iterationsScheduled.WithLabelValues(key)
	m.evalTotal.WithLabelValues(key)
	m.evalFailures.WithLabelValues(key)
	m.lastEvalTime.WithLabelValues(key)
	m.lastDuration.WithLabelValues(key)
	m.lastRuleDurationSum.WithLabelValues(key)
	m.groupRules.WithLabelValues(key).Set(float64(rules))
	m.groupSamples.WithLabelValues(key)
	m.groupInterval.WithLabelValues(key).Set(intervalSeconds)
}

// deleteGroup removes the series of a group that no longer exists.
func (m *metrics) deleteGroup(key string) {
	for _, v := range []*prometheus.CounterVec{m.iterationsMissed, m.iterationsScheduled, m.evalTotal, m.evalFailures} {
		v.DeleteLabelValues(key)
	}
	for _, v := range []*prometheus.GaugeVec{m.groupInterval, m.lastEvalTime, m.lastDuration, m.lastRuleDurationSum, m.lastRestoreDuration, m.groupRules, m.groupSamples} {
		v.DeleteLabelValues(key)
	}
}
