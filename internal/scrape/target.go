package scrape

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/argus-mon/argus/internal/config"
)

// Health is the state of a target's last scrape.
type Health string

// The target healths, as Prometheus's API spells them.
const (
	HealthUnknown Health = "unknown"
	HealthGood    Health = "up"
	HealthBad     Health = "down"
)

// Target is one endpoint to scrape. Its labels never change; its state does.
type Target struct {
	// Discovered are the labels before relabeling (meta labels included).
	Discovered labels.Labels
	// Labels are the target's labels after relabeling, with the __ labels
	// that parameterise the scrape (__address__, __scheme__, ...).
	Labels labels.Labels
	// ScrapePool is the job the target belongs to.
	ScrapePool string

	mu       sync.RWMutex
	health   Health
	lastErr  error
	lastTime time.Time
	lastDur  time.Duration
	metadata map[string]Metadata
}

// Metadata describes a metric family as the target exposes it.
type Metadata struct {
	Type model.MetricType
	Help string
	Unit string
}

// TargetState is a snapshot of a target's scrape state.
type TargetState struct {
	Health         Health
	LastError      string
	LastScrape     time.Time
	LastScrapeTime time.Duration
}

// State returns the target's scrape state.
func (t *Target) State() TargetState {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := TargetState{Health: t.health, LastScrape: t.lastTime, LastScrapeTime: t.lastDur}
	if t.lastErr != nil {
		s.LastError = t.lastErr.Error()
	}
	if s.Health == "" {
		s.Health = HealthUnknown
	}
	return s
}

// Metadata returns the metric metadata seen in the target's last scrapes.
func (t *Target) Metadata() map[string]Metadata {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make(map[string]Metadata, len(t.metadata))
	for k, v := range t.metadata {
		out[k] = v
	}
	return out
}

func (t *Target) report(start time.Time, dur time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastTime, t.lastDur, t.lastErr = start, dur, err
	if err == nil {
		t.health = HealthGood
	} else {
		t.health = HealthBad
	}
}

// PublicLabels returns the labels a target's series get: Labels without the
// labels starting with __.
func (t *Target) PublicLabels() labels.Labels {
	b := labels.NewBuilder(labels.EmptyLabels())
	t.Labels.Range(func(l labels.Label) {
		if !strings.HasPrefix(l.Name, model.ReservedLabelPrefix) {
			b.Set(l.Name, l.Value)
		}
	})
	return b.Labels()
}

// URL returns the scrape URL of the target.
func (t *Target) URL() *url.URL {
	params := url.Values{}
	t.Labels.Range(func(l labels.Label) {
		if name, ok := strings.CutPrefix(l.Name, model.ParamLabelPrefix); ok {
			params[name] = []string{l.Value}
		}
	})
	return &url.URL{
		Scheme:   t.Labels.Get(model.SchemeLabel),
		Host:     t.Labels.Get(model.AddressLabel),
		Path:     t.Labels.Get(model.MetricsPathLabel),
		RawQuery: params.Encode(),
	}
}

// intervalAndTimeout reads the scrape interval and timeout, which relabeling
// may have changed, from the target's labels.
func (t *Target) intervalAndTimeout() (time.Duration, time.Duration, error) {
	iv, err := model.ParseDuration(t.Labels.Get(model.ScrapeIntervalLabel))
	if err != nil {
		return 0, 0, fmt.Errorf("scrape interval: %w", err)
	}
	to, err := model.ParseDuration(t.Labels.Get(model.ScrapeTimeoutLabel))
	if err != nil {
		return 0, 0, fmt.Errorf("scrape timeout: %w", err)
	}
	return time.Duration(iv), time.Duration(to), nil
}

// populateLabels builds a target's labels from its discovered labels the way
// Prometheus does: job-level defaults, relabel_configs, validation, and the
// instance label defaulting to the address. Empty labels and a nil error mean
// relabeling dropped the target.
func populateLabels(lb *labels.Builder, sc *config.Scrape, discovered labels.Labels) (labels.Labels, error) {
	lb.Reset(discovered)
	if !relabel.ProcessBuilder(lb, sc.RelabelConfigs...) {
		return labels.EmptyLabels(), nil
	}
	addr := lb.Get(model.AddressLabel)
	if addr == "" {
		return labels.EmptyLabels(), errors.New("no address")
	}
	if strings.Contains(addr, "/") {
		return labels.EmptyLabels(), fmt.Errorf("%q is not a valid hostname", addr)
	}
	iv, err := model.ParseDuration(lb.Get(model.ScrapeIntervalLabel))
	if err != nil {
		return labels.EmptyLabels(), fmt.Errorf("error parsing scrape interval: %w", err)
	}
	if iv == 0 {
		return labels.EmptyLabels(), errors.New("scrape interval cannot be 0")
	}
	to, err := model.ParseDuration(lb.Get(model.ScrapeTimeoutLabel))
	if err != nil {
		return labels.EmptyLabels(), fmt.Errorf("error parsing scrape timeout: %w", err)
	}
	if to == 0 {
		return labels.EmptyLabels(), errors.New("scrape timeout cannot be 0")
	}
	if to > iv {
		return labels.EmptyLabels(), fmt.Errorf("scrape timeout cannot be greater than scrape interval (%q > %q)", to, iv)
	}
	// Meta labels are deleted after relabeling; other __ labels stay on the
	// target to parameterise the scrape.
	lb.Range(func(l labels.Label) {
		if strings.HasPrefix(l.Name, model.MetaLabelPrefix) {
			lb.Del(l.Name)
		}
	})
	if lb.Get(model.InstanceLabel) == "" {
		lb.Set(model.InstanceLabel, addr)
	}
	res := lb.Labels()
	err = res.Validate(func(l labels.Label) error {
		if !model.LabelValue(l.Value).IsValid() {
			return fmt.Errorf("invalid label value for %q: %q", l.Name, l.Value)
		}
		return nil
	})
	if err != nil {
		return labels.EmptyLabels(), err
	}
	return res, nil
}

// discoveredLabels merges a target's labels with its group's and the job's
// defaults, before relabeling.
func discoveredLabels(lb *labels.Builder, sc *config.Scrape, target, group model.LabelSet) labels.Labels {
	lb.Reset(labels.EmptyLabels())
	for n, v := range group {
		lb.Set(string(n), string(v))
	}
	for n, v := range target {
		lb.Set(string(n), string(v))
	}
	defaults := []labels.Label{
		{Name: model.JobLabel, Value: sc.JobName},
		{Name: model.ScrapeIntervalLabel, Value: sc.ScrapeInterval.String()},
		{Name: model.ScrapeTimeoutLabel, Value: sc.ScrapeTimeout.String()},
		{Name: model.MetricsPathLabel, Value: sc.MetricsPath},
		{Name: model.SchemeLabel, Value: sc.Scheme},
	}
	for _, l := range defaults {
		if lb.Get(l.Name) == "" {
			lb.Set(l.Name, l.Value)
		}
	}
	for k, v := range sc.Params {
		if name := model.ParamLabelPrefix + k; len(v) > 0 && lb.Get(name) == "" {
			lb.Set(name, v[0])
		}
	}
	return lb.Labels()
}
