package server

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/strutil"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/notifier"
	"github.com/argus-mon/argus/internal/rules"
)

// RulesOptions are the rule manager's flags, Prometheus's --rules.* flags.
type RulesOptions struct {
	// OutageTolerance: --rules.alert.for-outage-tolerance (1h).
	OutageTolerance time.Duration
	// ForGracePeriod: --rules.alert.for-grace-period (10m).
	ForGracePeriod time.Duration
	// ResendDelay: --rules.alert.resend-delay (1m).
	ResendDelay time.Duration
	// NotificationQueueCapacity bounds the queue of alerts of each
	// Alertmanager: --alertmanager.notification-queue-capacity (10000).
	NotificationQueueCapacity int
}

// buildRules builds the rule manager and the notifier and loads the rule
// files. It comes last in New: the notifier starts discovery goroutines,
// which Run stops.
func (s *Server) buildRules(cfg *config.Config) error {
	var err error
	if s.externalURL, err = parseExternalURL(s.opts.ExternalURL, s.listener.Addr()); err != nil {
		return err
	}
	s.notifier = s.newNotifier(localAlertmanager{s.am})
	s.rules = s.newRuleManager(sendAlerts(s.notifier, s.externalURL))
	if err := s.rules.Update(s.ruleUpdate(cfg)); err != nil {
		return err
	}
	return s.notifier.ApplyConfig(cfg.Alerting, externalLabels(cfg))
}

// newRuleManager builds the rule manager over the engine and the storage.
func (s *Server) newRuleManager(notify rules.NotifyFunc) *rules.Manager {
	return rules.NewManager(rules.Options{
		Query:           rules.EngineQueryFunc(s.engine, s.db),
		NewAppender:     func() rules.Appender { return s.db.Appender() },
		Queryable:       s.db,
		Notify:          notify,
		Parser:          parser.NewParser(s.opts.Query.Parser),
		OutageTolerance: s.opts.Rules.OutageTolerance,
		ForGracePeriod:  s.opts.Rules.ForGracePeriod,
		ResendDelay:     s.opts.Rules.ResendDelay,
		Logger:          s.logger.With("component", "rule manager"),
		Registerer:      s.reg,
	})
}

// ruleUpdate is the part of cfg the rule manager depends on.
func (s *Server) ruleUpdate(cfg *config.Config) rules.UpdateOptions {
	return rules.UpdateOptions{
		Files:          cfg.RuleFiles,
		Interval:       time.Duration(cfg.Global.EvaluationInterval),
		QueryOffset:    time.Duration(cfg.Global.RuleQueryOffset),
		ExternalLabels: externalLabels(cfg),
		ExternalURL:    s.externalURL,
	}
}

func externalLabels(cfg *config.Config) labels.Labels {
	m := make(map[string]string, len(cfg.Global.ExternalLabels))
	for k, v := range cfg.Global.ExternalLabels {
		m[string(k)] = string(v)
	}
	return labels.FromMap(m)
}

// parseExternalURL is the URL argus is reached at, for templates and the
// generator URL of alerts: --web.external-url, or by default
// http://<hostname>:<port>/ as in Prometheus.
func parseExternalURL(flag string, listen net.Addr) (*url.URL, error) {
	if flag == "" {
		host, err := os.Hostname()
		if err != nil {
			host = "localhost"
		}
		_, port, _ := net.SplitHostPort(listen.String())
		flag = "http://" + net.JoinHostPort(host, port) + "/"
	}
	u, err := url.Parse(flag)
	if err != nil {
		return nil, fmt.Errorf("--web.external-url %q: %w", flag, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--web.external-url %q: the scheme must be http or https", flag)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// newNotifier builds the sender of alerts to Alertmanagers. local is the
// in-process alert manager: it receives every alert besides the configured
// Alertmanagers.
func (s *Server) newNotifier(local notifier.Receiver) *notifier.Manager {
	return notifier.New(notifier.Options{
		QueueCapacity: s.opts.Rules.NotificationQueueCapacity,
		Local:         local,
		Logger:        s.logger.With("component", "notifier"),
		Registerer:    s.reg,
	})
}

// sendAlerts turns the rule manager's alerts into Alertmanager alerts, as
// Prometheus does: a firing alert ends at its ValidUntil (renewed while it
// fires), a resolved one at its resolution; the generator URL links to
// the expression on this server.
func sendAlerts(n *notifier.Manager, externalURL *url.URL) rules.NotifyFunc {
	return func(_ context.Context, expr string, alerts ...*rules.Alert) {
		out := make([]*notifier.Alert, 0, len(alerts))
		for _, a := range alerts {
			na := &notifier.Alert{
				StartsAt: a.FiredAt, EndsAt: a.ValidUntil,
				Labels: a.Labels, Annotations: a.Annotations,
				GeneratorURL: externalURL.String() + strutil.TableLinkForExpression(expr),
			}
			if !a.ResolvedAt.IsZero() {
				na.EndsAt = a.ResolvedAt
			}
			out = append(out, na)
		}
		n.Send(out...)
	}
}
