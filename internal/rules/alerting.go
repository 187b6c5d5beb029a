package rules

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/argus-mon/argus/internal/promql"
	"github.com/argus-mon/argus/internal/rulefmt"
	"github.com/argus-mon/argus/internal/template"
)

// The series alerting rules write, and the label holding the state.
const (
	alertMetricName         = "ALERTS"
	alertForStateMetricName = "ALERTS_FOR_STATE"
	alertStateLabel         = "alertstate"
)

// resolvedRetention is how long a resolved alert is kept, and sent again
// as resolved, so that every Alertmanager learns of the resolution.
const resolvedRetention = 15 * time.Minute

// AlertState is the state of an alert or, for a rule, of its most severe
// alert.
type AlertState int

// The alert states, in increasing severity.
const (
	StateUnknown AlertState = iota
	StateInactive
	StatePending
	StateFiring
)

func (s AlertState) String() string {
	switch s {
	case StateInactive:
		return "inactive"
	case StatePending:
		return "pending"
	case StateFiring:
		return "firing"
	}
	return "unknown"
}

// Alert is one alert of an alerting rule: one series of its expression.
type Alert struct {
	State       AlertState
	Labels      labels.Labels
	Annotations labels.Labels
	// Value is the expression's value at the last evaluation.
	Value float64
	// ActiveAt is when the alert became pending; FiredAt when it fired;
	// ResolvedAt when it resolved. LastSentAt is when it was last handed
	// to the notifier, and ValidUntil the end time sent with it.
	ActiveAt, FiredAt, ResolvedAt, LastSentAt, ValidUntil time.Time
	// KeepFiringSince is when the expression stopped returning the alert
	// while keep_firing_for keeps it firing.
	KeepFiringSince time.Time
}

func (a *Alert) needsSending(ts time.Time, resendDelay time.Duration) bool {
	if a.State == StatePending {
		return false
	}
	// A resolution not sent yet is sent now.
	if a.ResolvedAt.After(a.LastSentAt) {
		return true
	}
	return a.LastSentAt.Add(resendDelay).Before(ts)
}

// AlertingRule turns the series of an expression into alerts.
type AlertingRule struct {
	name          string
	expr          parser.Expr
	holdDuration  time.Duration
	keepFiringFor time.Duration
	labels        labels.Labels
	annotations   labels.Labels
	// externalLabels and externalURL are given to templates.
	externalLabels map[string]string
	externalURL    *url.URL
	logger         *slog.Logger
	*ruleStatus

	mu sync.Mutex
	// active holds the alerts by label hash: pending, firing, and resolved
	// ones for resolvedRetention.
	active map[uint64]*Alert
	// restored is false until the group has restored the for state from
	// storage; no ALERTS series are written before.
	restored bool
	// templateErr is the first template error of the last evaluation.
	templateErr error
	// templateFailures counts template errors; may be nil.
	templateFailures interface{ Inc() }
}

// AlertingRuleOptions are the parts of an alerting rule.
type AlertingRuleOptions struct {
	Name          string
	Expr          parser.Expr
	For           time.Duration
	KeepFiringFor time.Duration
	Labels        labels.Labels
	Annotations   labels.Labels
	// ExternalLabels and ExternalURL are $externalLabels and $externalURL
	// in templates.
	ExternalLabels labels.Labels
	ExternalURL    *url.URL
	// Restored says there is no for state to restore.
	Restored bool
	Logger   *slog.Logger
}

// NewAlertingRule returns an alerting rule.
func NewAlertingRule(o AlertingRuleOptions) *AlertingRule {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ExternalURL == nil {
		o.ExternalURL = &url.URL{}
	}
	return &AlertingRule{
		name: o.Name, expr: o.Expr, holdDuration: o.For, keepFiringFor: o.KeepFiringFor,
		labels: o.Labels, annotations: o.Annotations,
		externalLabels: o.ExternalLabels.Map(), externalURL: o.ExternalURL,
		logger: o.Logger, ruleStatus: newRuleStatus(),
		active: map[uint64]*Alert{}, restored: o.Restored,
	}
}

func (r *AlertingRule) Name() string                 { return r.name }
func (r *AlertingRule) Query() parser.Expr           { return r.expr }
func (r *AlertingRule) Labels() labels.Labels        { return r.labels }
func (r *AlertingRule) Annotations() labels.Labels   { return r.annotations }
func (r *AlertingRule) HoldDuration() time.Duration  { return r.holdDuration }
func (r *AlertingRule) KeepFiringFor() time.Duration { return r.keepFiringFor }

// sample is the ALERTS series of an alert.
func (r *AlertingRule) sample(a *Alert, ts time.Time) promql.Sample {
	lb := labels.NewBuilder(r.labels)
	a.Labels.Range(func(l labels.Label) { lb.Set(l.Name, l.Value) })
	lb.Set(model.MetricNameLabel, alertMetricName)
	lb.Set(model.AlertNameLabel, r.name)
	lb.Set(alertStateLabel, a.State.String())
	return promql.Sample{Metric: lb.Labels(), T: ts.UnixMilli(), F: 1}
}

// forStateSample is the ALERTS_FOR_STATE series of an alert: its value is
// when the alert became active, which survives a restart in storage.
func (r *AlertingRule) forStateSample(a *Alert, ts time.Time, v float64) promql.Sample {
	lb := labels.NewBuilder(r.labels)
	if a != nil {
		a.Labels.Range(func(l labels.Label) { lb.Set(l.Name, l.Value) })
	}
	lb.Set(model.MetricNameLabel, alertForStateMetricName)
	lb.Set(model.AlertNameLabel, r.name)
	return promql.Sample{Metric: lb.Labels(), T: ts.UnixMilli(), F: v}
}

// parseTemplates parses the label and annotation templates of the rule
// once for an evaluation at ts, in the order of r.labels and
// r.annotations.
func (r *AlertingRule) parseTemplates(ctx context.Context, ts time.Time, query QueryFunc) (lts, ats []*template.Template) {
	parse := func(l labels.Label) *template.Template {
		return template.NewExpander(ctx, template.AlertPreamble+l.Value, "__alert_"+r.name, nil, ts, template.QueryFunc(query), r.externalURL).Template()
	}
	r.labels.Range(func(l labels.Label) { lts = append(lts, parse(l)) })
	r.annotations.Range(func(l labels.Label) { ats = append(ats, parse(l)) })
	return lts, ats
}

// expandTemplate expands one label or annotation template; an error gives
// the text Prometheus puts in its place, and is logged and kept for the
// rule's status.
func (r *AlertingRule) expandTemplate(t *template.Template, data template.AlertData) string {
	out, err := t.Expand(data)
	if err != nil {
		r.logger.Warn("Expanding alert template failed", "alert", r.name, "err", err)
		if r.templateFailures != nil {
			r.templateFailures.Inc()
		}
		if r.templateErr == nil {
			r.templateErr = err
		}
		return fmt.Sprintf("<error expanding template: %s>", err)
	}
	return out
}

func (r *AlertingRule) eval(ctx context.Context, queryOffset time.Duration, ts time.Time, query QueryFunc, limit int) (promql.Vector, error) {
	res, err := query(ctx, r.expr.String(), ts.Add(-queryOffset))
	if err != nil {
		return nil, err
	}
	r.templateErr = nil
	alerts, err := r.newAlerts(ctx, res, ts, query)
	if err != nil {
		return nil, err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	// Alerts already active keep their state and times; their value and
	// annotations are updated.
	for h, a := range alerts {
		if old, ok := r.active[h]; ok && old.State != StateInactive {
			old.Value, old.Annotations = a.Value, a.Annotations
			continue
		}
		r.active[h] = a
	}

	var vec promql.Vector
	numActive := 0
	for h, a := range r.active {
		if _, ok := alerts[h]; !ok {
			if !r.goneFromResult(h, a, ts) {
				continue
			}
		} else {
			a.KeepFiringSince = time.Time{}
		}
		numActive++
		if a.State == StatePending && ts.Sub(a.ActiveAt) >= r.holdDuration {
			a.State, a.FiredAt = StateFiring, ts
		}
		// A restored ActiveAt can put a firing alert back to pending.
		if a.State == StateFiring && ts.Sub(a.ActiveAt) < r.holdDuration {
			a.State = StatePending
			a.FiredAt, a.LastSentAt, a.KeepFiringSince = time.Time{}, time.Time{}, time.Time{}
		}
		if r.restored {
			vec = append(vec, r.sample(a, ts.Add(-queryOffset)))
			vec = append(vec, r.forStateSample(a, ts.Add(-queryOffset), float64(a.ActiveAt.Unix())))
		}
	}
	if limit > 0 && numActive > limit {
		r.active = map[uint64]*Alert{}
		return nil, fmt.Errorf("exceeded limit of %d with %d alerts", limit, numActive)
	}
	return vec, nil
}

// goneFromResult handles an alert the expression no longer returns. It
// reports whether the alert is still active (kept firing by
// keep_firing_for). r.mu is held.
func (r *AlertingRule) goneFromResult(h uint64, a *Alert, ts time.Time) bool {
	keepFiring := false
	if a.State == StateFiring && r.keepFiringFor > 0 {
		if a.KeepFiringSince.IsZero() {
			a.KeepFiringSince = ts
		}
		keepFiring = ts.Sub(a.KeepFiringSince) < r.keepFiringFor
	}
	// Pending alerts go at once; resolved ones after resolvedRetention.
	if a.State == StatePending || (!a.ResolvedAt.IsZero() && ts.Sub(a.ResolvedAt) > resolvedRetention) {
		delete(r.active, h)
	}
	if a.State != StateInactive && !keepFiring {
		a.State, a.ResolvedAt = StateInactive, ts
	}
	return keepFiring
}

// newAlerts builds an alert per result series, with templates expanded.
// The templates are parsed once per evaluation, not per alert.
func (r *AlertingRule) newAlerts(ctx context.Context, res promql.Vector, ts time.Time, query QueryFunc) (map[uint64]*Alert, error) {
	alerts := make(map[uint64]*Alert, len(res))
	if len(res) == 0 {
		return alerts, nil
	}
	lts, ats := r.parseTemplates(ctx, ts, query)
	lb := labels.NewBuilder(labels.EmptyLabels())
	sb := labels.NewScratchBuilder(0)
	for _, s := range res {
		data := template.AlertData{Labels: s.Metric.Map(), ExternalLabels: r.externalLabels, ExternalURL: r.externalURL.String(), Value: s.F}
		lb.Reset(s.Metric)
		lb.Del(model.MetricNameLabel)
		i := 0
		r.labels.Range(func(l labels.Label) {
			lb.Set(l.Name, r.expandTemplate(lts[i], data))
			i++
		})
		lb.Set(model.AlertNameLabel, r.name)
		sb.Reset()
		i = 0
		r.annotations.Range(func(a labels.Label) {
			sb.Add(a.Name, r.expandTemplate(ats[i], data))
			i++
		})
		lset := lb.Labels()
		h := lset.Hash()
		if _, dup := alerts[h]; dup {
			return nil, errDuplicateAlertLabelSet
		}
		alerts[h] = &Alert{Labels: lset, Annotations: sb.Labels(), ActiveAt: ts, State: StatePending, Value: s.F}
	}
	return alerts, nil
}

// State is the most severe state of the rule's alerts; unknown before the
// first evaluation.
func (r *AlertingRule) State() AlertState {
	if r.EvaluationTimestamp().IsZero() {
		return StateUnknown
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := StateInactive
	for _, a := range r.active {
		st = max(st, a.State)
	}
	return st
}

// ActiveAlerts returns copies of the pending and firing alerts.
func (r *AlertingRule) ActiveAlerts() []*Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Alert
	for _, a := range r.active {
		if a.ResolvedAt.IsZero() {
			c := *a
			out = append(out, &c)
		}
	}
	return out
}

// alertsToSend marks the alerts that need sending at ts as sent and
// returns copies of them.
func (r *AlertingRule) alertsToSend(ts time.Time, resendDelay, interval time.Duration) []*Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Alert
	for _, a := range r.active {
		if !a.needsSending(ts, resendDelay) {
			continue
		}
		a.LastSentAt = ts
		// An alert not refreshed within 4 resend periods (or intervals)
		// ends by itself in the Alertmanager, e.g. if this server dies.
		a.ValidUntil = ts.Add(4 * max(interval, resendDelay))
		c := *a
		out = append(out, &c)
	}
	return out
}

// takeTemplateErr returns the first template error of the last
// evaluation. It is called on the group's goroutine, like eval.
func (r *AlertingRule) takeTemplateErr() error {
	err := r.templateErr
	r.templateErr = nil
	return err
}

func (r *AlertingRule) setRestored() {
	r.mu.Lock()
	r.restored = true
	r.mu.Unlock()
}

func (r *AlertingRule) String() string {
	b, err := yaml.Marshal(rulefmt.Rule{
		Alert: r.name, Expr: r.expr.String(), For: model.Duration(r.holdDuration),
		KeepFiringFor: model.Duration(r.keepFiringFor), Labels: r.labels.Map(), Annotations: r.annotations.Map(),
	})
	if err != nil {
		return fmt.Sprintf("error marshaling alerting rule: %s", err.Error())
	}
	return string(b)
}

// forStateMatchers select the ALERTS_FOR_STATE series of the rule; label
// values that are templates are left out.
func (r *AlertingRule) forStateMatchers() []*labels.Matcher {
	var ms []*labels.Matcher
	r.forStateSample(nil, time.Now(), 0).Metric.Range(func(l labels.Label) {
		if strings.Contains(l.Value, "{{") {
			return
		}
		ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, l.Name, l.Value))
	})
	return ms
}
