package server

import (
	"context"
	"fmt"
	"net/url"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/alertmanager"
	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/notifier"
)

// AlertmanagerOptions are the alert manager's limits, the --alerts.* and
// --dispatch.* flags. Zero values take alertmanager.Options' defaults.
type AlertmanagerOptions struct {
	// MaxAlerts: --alerts.max-alerts.
	MaxAlerts int
	// PerAlertNameLimit: --alerts.per-alertname-limit, Alertmanager's
	// (0: no limit).
	PerAlertNameLimit int
	// MaxAggregationGroups: --dispatch.max-aggregation-groups.
	MaxAggregationGroups int
	// HistoryMaxEvents: --alerts.history.max-events.
	HistoryMaxEvents int
}

// buildAlertmanager starts the alert manager on the config's alertmanager
// section (or --alertmanager.config), with its state in the state store.
func (s *Server) buildAlertmanager(ctx context.Context, cfg *config.Config) error {
	amCfg, text, err := s.alertmanagerConfig(cfg)
	if err != nil {
		return err
	}
	u := s.globalURLOptions()
	s.am, err = alertmanager.New(ctx, alertmanager.Options{
		State:                s.state,
		ExternalURL:          &url.URL{Scheme: u.Scheme, Host: u.Host},
		MaxAlerts:            s.opts.Alertmanager.MaxAlerts,
		PerAlertNameLimit:    s.opts.Alertmanager.PerAlertNameLimit,
		MaxAggregationGroups: s.opts.Alertmanager.MaxAggregationGroups,
		HistoryMaxEvents:     s.opts.Alertmanager.HistoryMaxEvents,
		Logger:               s.logger.With("component", "alertmanager"),
		Registerer:           s.reg,
	})
	if err != nil {
		return fmt.Errorf("start alert manager: %w", err)
	}
	if err := s.am.ApplyConfig(amCfg, text); err != nil {
		return fmt.Errorf("alert manager config: %w", err)
	}
	return nil
}

// alertmanagerConfig returns the alert manager's configuration: the file
// of --alertmanager.config if given (re-read at each reload), else the
// config's alertmanager section; nil if neither, which runs the alert
// manager with no receivers.
func (s *Server) alertmanagerConfig(cfg *config.Config) (*amconfig.Config, string, error) {
	sec := cfg.Alertmanager
	if s.opts.AlertmanagerConfigFile != "" {
		if sec != nil {
			return nil, "", fmt.Errorf("both --alertmanager.config and an alertmanager section in %s; use one", s.opts.ConfigFile)
		}
		var err error
		if sec, err = config.LoadAlertmanagerFile(s.opts.AlertmanagerConfigFile); err != nil {
			return nil, "", err
		}
	}
	if sec == nil {
		return nil, "", nil
	}
	return sec.Config, sec.Original, nil
}

// Alertmanager returns the alert manager, for in-process senders of alerts
// (the rule evaluator) and tests.
func (s *Server) Alertmanager() *alertmanager.Manager { return s.am }

// localAlertmanager hands the rules' alerts to argus's own alert manager,
// in process, as the notifier hands them to external ones over HTTP.
type localAlertmanager struct{ am *alertmanager.Manager }

func (l localAlertmanager) Receive(ctx context.Context, alerts []*notifier.Alert) error {
	out := make([]model.Alert, len(alerts))
	for i, a := range alerts {
		out[i] = model.Alert{
			Labels:       labelSet(a.Labels),
			Annotations:  labelSet(a.Annotations),
			StartsAt:     a.StartsAt,
			EndsAt:       a.EndsAt,
			GeneratorURL: a.GeneratorURL,
		}
	}
	return l.am.Put(ctx, out...)
}

func labelSet(ls labels.Labels) model.LabelSet {
	out := make(model.LabelSet, ls.Len())
	ls.Range(func(l labels.Label) { out[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
	return out
}
