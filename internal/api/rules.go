package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/rules"
)

// RuleSource gives the rule groups for /api/v1/rules and /api/v1/alerts.
// Groups are sorted by file and name; the manager is safe for concurrent
// use.
type RuleSource interface {
	Groups() []*rules.Group
}

// AlertmanagerSource lists the Alertmanagers alerts are sent to, for
// /api/v1/alertmanagers.
type AlertmanagerSource interface {
	// Alertmanagers returns the URLs of the active and of the dropped
	// Alertmanagers.
	Alertmanagers() (active, dropped []string)
}

// ruleDiscovery is the answer of /api/v1/rules.
type ruleDiscovery struct {
	RuleGroups     []*ruleGroup `json:"groups"`
	GroupNextToken string       `json:"groupNextToken,omitempty"`
}

type ruleGroup struct {
	Name           string    `json:"name"`
	File           string    `json:"file"`
	Rules          []any     `json:"rules"`
	Interval       float64   `json:"interval"`
	Limit          int       `json:"limit"`
	EvaluationTime float64   `json:"evaluationTime"`
	LastEvaluation time.Time `json:"lastEvaluation"`
}

type alertingRule struct {
	State          string        `json:"state"`
	Name           string        `json:"name"`
	Query          string        `json:"query"`
	Duration       float64       `json:"duration"`
	KeepFiringFor  float64       `json:"keepFiringFor"`
	Labels         labels.Labels `json:"labels"`
	Annotations    labels.Labels `json:"annotations"`
	Alerts         []*alert      `json:"alerts"`
	Health         rules.Health  `json:"health"`
	LastError      string        `json:"lastError,omitempty"`
	EvaluationTime float64       `json:"evaluationTime"`
	LastEvaluation time.Time     `json:"lastEvaluation"`
	Type           string        `json:"type"`
}

type recordingRule struct {
	Name           string        `json:"name"`
	Query          string        `json:"query"`
	Labels         labels.Labels `json:"labels"`
	Health         rules.Health  `json:"health"`
	LastError      string        `json:"lastError,omitempty"`
	EvaluationTime float64       `json:"evaluationTime"`
	LastEvaluation time.Time     `json:"lastEvaluation"`
	Type           string        `json:"type"`
}

type alert struct {
	Labels          labels.Labels `json:"labels"`
	Annotations     labels.Labels `json:"annotations"`
	State           string        `json:"state"`
	ActiveAt        *time.Time    `json:"activeAt,omitempty"`
	KeepFiringSince *time.Time    `json:"keepFiringSince,omitempty"`
	Value           string        `json:"value"`
}

func (a *API) ruleGroups() []*rules.Group {
	if a.opts.Rules == nil {
		return nil
	}
	return a.opts.Rules.Groups()
}

// alerts answers /api/v1/alerts: the pending and firing alerts.
func (a *API) alerts(*http.Request) result {
	out := []*alert{}
	for _, g := range a.ruleGroups() {
		for _, r := range g.Rules() {
			if ar, ok := r.(*rules.AlertingRule); ok {
				out = append(out, apiAlerts(ar.ActiveAlerts())...)
			}
		}
	}
	return result{data: map[string]any{"alerts": out}}
}

func apiAlerts(as []*rules.Alert) []*alert {
	out := make([]*alert, len(as))
	for i, ra := range as {
		out[i] = &alert{
			Labels: ra.Labels, Annotations: ra.Annotations, State: ra.State.String(),
			ActiveAt: &ra.ActiveAt, Value: strconv.FormatFloat(ra.Value, 'e', -1, 64),
		}
		if !ra.KeepFiringSince.IsZero() {
			out[i].KeepFiringSince = &ra.KeepFiringSince
		}
	}
	return out
}

// rulesFilter is what /api/v1/rules was asked for.
type rulesFilter struct {
	names, groups, files map[string]bool
	matchers             [][]*labels.Matcher
	alerts, recording    bool
	excludeAlerts        bool
	maxGroups            int64
	nextToken            string
}

func setOf(vs []string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func (a *API) parseRulesFilter(r *http.Request) (rulesFilter, *result) {
	if err := r.ParseForm(); err != nil {
		res := errResult(errorBadData, fmt.Errorf("error parsing form values: %w", err))
		return rulesFilter{}, &res
	}
	f := rulesFilter{names: setOf(r.Form["rule_name[]"]), groups: setOf(r.Form["rule_group[]"]), files: setOf(r.Form["file[]"]), maxGroups: -1}
	var err error
	if len(r.Form["match[]"]) > 0 {
		if f.matchers, err = a.parseMatchers(r.Form["match[]"]); err != nil {
			res := errResult(errorBadData, err)
			return f, &res
		}
	}
	q := r.URL.Query()
	typ := strings.ToLower(q.Get("type"))
	if typ != "" && typ != "alert" && typ != "record" {
		res := invalidParam(fmt.Errorf("not supported value %q", typ), "type")
		return f, &res
	}
	f.alerts, f.recording = typ == "" || typ == "alert", typ == "" || typ == "record"
	if s := strings.ToLower(q.Get("exclude_alerts")); s != "" {
		if f.excludeAlerts, err = strconv.ParseBool(s); err != nil {
			res := invalidParam(fmt.Errorf("error converting exclude_alerts: %w", err), "exclude_alerts")
			return f, &res
		}
	}
	limit, token := q.Get("group_limit"), q.Get("group_next_token")
	if token != "" && limit == "" {
		res := invalidParam(errors.New("group_limit needs to be present in order to paginate over the groups"), "group_next_token")
		return f, &res
	}
	if limit != "" {
		n, err := strconv.ParseInt(limit, 10, 32)
		if err != nil {
			res := invalidParam(fmt.Errorf("group_limit needs to be a valid number: %w", err), "group_limit")
			return f, &res
		}
		if n <= 0 {
			res := invalidParam(errors.New("group_limit needs to be greater than 0"), "group_limit")
			return f, &res
		}
		f.maxGroups, f.nextToken = n, token
	}
	return f, nil
}

// rules answers /api/v1/rules with Prometheus's filters and pagination.
func (a *API) rules(r *http.Request) result {
	f, errRes := a.parseRulesFilter(r)
	if errRes != nil {
		return *errRes
	}
	res := &ruleDiscovery{RuleGroups: []*ruleGroup{}}
	foundToken := false
	for _, g := range a.ruleGroups() {
		if f.maxGroups > 0 && f.nextToken != "" && !foundToken {
			if f.nextToken != groupToken(g) {
				continue
			}
			foundToken = true
		}
		if (len(f.groups) > 0 && !f.groups[g.Name()]) || (len(f.files) > 0 && !f.files[g.File()]) {
			continue
		}
		ag := &ruleGroup{
			Name: g.Name(), File: g.File(), Interval: g.Interval().Seconds(), Limit: g.Limit(), Rules: []any{},
			EvaluationTime: g.EvaluationTime().Seconds(), LastEvaluation: g.LastEvaluation(),
		}
		for _, rr := range g.Rules() {
			if (len(f.names) > 0 && !f.names[rr.Name()]) || !matchesAny(f.matchers, rr.Labels()) {
				continue
			}
			if x := f.apiRule(rr); x != nil {
				ag.Rules = append(ag.Rules, x)
			}
		}
		if len(ag.Rules) == 0 {
			continue
		}
		if f.maxGroups > 0 && len(res.RuleGroups) == int(f.maxGroups) {
			res.GroupNextToken = groupToken(g)
			break
		}
		res.RuleGroups = append(res.RuleGroups, ag)
	}
	if f.maxGroups > 0 && f.nextToken != "" && !foundToken {
		return invalidParam(fmt.Errorf("invalid group_next_token '%v'. were rule groups changed?", f.nextToken), "group_next_token")
	}
	return result{data: res}
}

// apiRule is a rule in the API's shape, nil if the type filter drops it.
func (f rulesFilter) apiRule(rr rules.Rule) any {
	lastError := ""
	if err := rr.LastError(); err != nil {
		lastError = err.Error()
	}
	switch rule := rr.(type) {
	case *rules.AlertingRule:
		if !f.alerts {
			return nil
		}
		var as []*alert
		if !f.excludeAlerts {
			as = apiAlerts(rule.ActiveAlerts())
		}
		return alertingRule{
			State: rule.State().String(), Name: rule.Name(), Query: rule.Query().String(),
			Duration: rule.HoldDuration().Seconds(), KeepFiringFor: rule.KeepFiringFor().Seconds(),
			Labels: rule.Labels(), Annotations: rule.Annotations(), Alerts: as,
			Health: rule.Health(), LastError: lastError,
			EvaluationTime: rule.EvaluationDuration().Seconds(), LastEvaluation: rule.EvaluationTimestamp(),
			Type: "alerting",
		}
	case *rules.RecordingRule:
		if !f.recording {
			return nil
		}
		return recordingRule{
			Name: rule.Name(), Query: rule.Query().String(), Labels: rule.Labels(),
			Health: rule.Health(), LastError: lastError,
			EvaluationTime: rule.EvaluationDuration().Seconds(), LastEvaluation: rule.EvaluationTimestamp(),
			Type: "recording",
		}
	}
	return nil
}

// matchesAny reports whether lset matches one of the matcher sets (all
// when there are none).
func matchesAny(sets [][]*labels.Matcher, lset labels.Labels) bool {
	if len(sets) == 0 {
		return true
	}
	for _, ms := range sets {
		if matchAll(lset, ms) {
			return true
		}
	}
	return false
}

// groupToken is Prometheus's pagination token of a group.
func groupToken(g *rules.Group) string {
	h := sha256.Sum256([]byte(g.File() + ";" + g.Name()))
	return hex.EncodeToString(h[:])
}

type alertmanagerDiscovery struct {
	Active  []alertmanagerURL `json:"activeAlertmanagers"`
	Dropped []alertmanagerURL `json:"droppedAlertmanagers"`
}

type alertmanagerURL struct {
	URL string `json:"url"`
}

// alertmanagers answers /api/v1/alertmanagers.
func (a *API) alertmanagers(*http.Request) result {
	res := alertmanagerDiscovery{Active: []alertmanagerURL{}, Dropped: []alertmanagerURL{}}
	if a.opts.Alertmanagers != nil {
		active, dropped := a.opts.Alertmanagers.Alertmanagers()
		for _, u := range active {
			res.Active = append(res.Active, alertmanagerURL{u})
		}
		for _, u := range dropped {
			res.Dropped = append(res.Dropped, alertmanagerURL{u})
		}
	}
	return result{data: res}
}
