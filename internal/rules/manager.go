package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-mon/argus/internal/rulefmt"
)

// Default values of Options fields left at zero (Prometheus's flags'
// defaults).
const (
	DefaultOutageTolerance = time.Hour
	DefaultForGracePeriod  = 10 * time.Minute
	DefaultResendDelay     = time.Minute
)

// Options are what a Manager evaluates rules with.
type Options struct {
	// Query evaluates the rules' expressions. Required.
	Query QueryFunc
	// NewAppender returns an appender to write results with. Required.
	NewAppender func() Appender
	// Queryable is read to restore the for state of alerts. Required.
	Queryable storage.Queryable
	// Notify receives the alerts to send; nil sends nothing.
	Notify NotifyFunc
	// Parser parses the expressions (it carries the experimental PromQL
	// features); nil means the default parser.
	Parser parser.Parser
	// OutageTolerance is the longest outage over which the for state is
	// restored (--rules.alert.for-outage-tolerance).
	OutageTolerance time.Duration
	// ForGracePeriod is the least time a restored alert stays pending
	// (--rules.alert.for-grace-period).
	ForGracePeriod time.Duration
	// ResendDelay is how often firing alerts are sent again
	// (--rules.alert.resend-delay).
	ResendDelay time.Duration
	// Logger receives the manager's logs; nil discards.
	Logger *slog.Logger
	// Registerer receives the argus_rule_* metrics; nil does not register.
	Registerer prometheus.Registerer
}

// Manager runs the rule groups of the configured rule files.
type Manager struct {
	opts    Options
	metrics *metrics
	logger  *slog.Logger

	mu       sync.RWMutex
	groups   map[string]*Group
	restored bool // a first Update has happened: new groups need no restore
	closed   bool // Run has returned or is returning
	started  chan struct{}
	// ctx is Run's context, written before started is closed and read
	// only after, so it needs no lock.
	ctx context.Context
	wg  sync.WaitGroup // one per group goroutine and stale marker
}

// NewManager returns a manager without groups; Update loads them and Run
// starts evaluating.
func NewManager(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Parser == nil {
		opts.Parser = parser.NewParser(parser.Options{})
	}
	if opts.OutageTolerance <= 0 {
		opts.OutageTolerance = DefaultOutageTolerance
	}
	if opts.ForGracePeriod <= 0 {
		opts.ForGracePeriod = DefaultForGracePeriod
	}
	if opts.ResendDelay <= 0 {
		opts.ResendDelay = DefaultResendDelay
	}
	return &Manager{
		opts: opts, metrics: newMetrics(opts.Registerer), logger: opts.Logger,
		groups: map[string]*Group{}, started: make(chan struct{}),
	}
}

// Run evaluates the groups until ctx is done, then stops them and waits.
func (m *Manager) Run(ctx context.Context) error {
	m.ctx = ctx
	close(m.started)
	<-ctx.Done()
	m.mu.Lock()
	m.closed = true
	for _, g := range m.groups {
		close(g.done)
	}
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// UpdateOptions are the parts of the configuration rules depend on.
type UpdateOptions struct {
	// Files are the rule_files patterns, expanded with filepath.Glob.
	Files []string
	// Interval is the default evaluation interval (evaluation_interval).
	Interval time.Duration
	// QueryOffset is the default query offset (rule_query_offset).
	QueryOffset time.Duration
	// ExternalLabels and ExternalURL are given to templates.
	ExternalLabels labels.Labels
	ExternalURL    *url.URL
}

// Update loads the rule files and replaces the running groups: unchanged
// groups keep running, changed ones take over the state of the old ones,
// and the series of removed groups are marked stale. If any file fails to
// load, nothing changes and the error lists every problem.
func (m *Manager) Update(o UpdateOptions) error {
	files, err := ExpandFiles(o.Files)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	groups, errs := m.LoadGroups(o, !m.restored, files...)
	if len(errs) > 0 {
		return fmt.Errorf("load rules: %w", errors.Join(errs...))
	}
	m.restored = true
	for key, ng := range groups {
		og, ok := m.groups[key]
		delete(m.groups, key)
		if ok && og.equal(ng) {
			groups[key] = og
			continue
		}
		// Created here, not when the group is loaded: a later file may
		// still fail to load, and then nothing may change.
		m.metrics.initGroup(key, len(ng.rules), ng.interval.Seconds())
		if ok {
			og.stop()
			ng.CopyState(og)
		}
		m.start(ng)
	}
	// What is left in m.groups was removed.
	for key, og := range m.groups {
		og.stop()
		stoppedAt := time.Now()
		m.metrics.deleteGroup(key)
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			// Its series are marked stale two intervals later, at the time
			// it stopped: a rule that moved to another group has newer
			// samples by then, which make storage refuse the old marker.
			// Marked at the current time instead, the live series of the
			// moved rule would go stale until its next evaluation.
			select {
			case <-time.After(2 * og.interval):
				og.markAllStale(stoppedAt)
			case <-m.stopped():
			}
		}()
	}
	m.groups = groups
	return nil
}

// stopped is closed when Run's context is done; never before Run.
func (m *Manager) stopped() <-chan struct{} {
	select {
	case <-m.started:
		return m.ctx.Done()
	default:
		return nil
	}
}

// start runs a group once Run has started. m.mu is held.
func (m *Manager) start(g *Group) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		select {
		case <-m.started:
		case <-g.done:
			close(g.terminated)
			return
		}
		g.run(m.ctx)
	}()
}

// ExpandFiles expands rule_files patterns to the files they match, sorted
// and without repeats.
func ExpandFiles(patterns []string) ([]string, error) {
	var files []string
	for _, p := range patterns {
		fs, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("rule_files pattern %q: %w", p, err)
		}
		files = append(files, fs...)
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// LoadGroups reads rule files into groups, not started. shouldRestore
// makes the groups restore the for state of their alerts.
func (m *Manager) LoadGroups(o UpdateOptions, shouldRestore bool, files ...string) (map[string]*Group, []error) {
	groups := map[string]*Group{}
	for _, fn := range files {
		rgs, errs := rulefmt.ParseFile(fn, m.opts.Parser)
		if len(errs) > 0 {
			return nil, errs
		}
		for _, rg := range rgs.Groups {
			g, err := m.newGroup(fn, rg, o, shouldRestore)
			if err != nil {
				return nil, []error{err}
			}
			groups[GroupKey(fn, rg.Name)] = g
		}
	}
	return groups, nil
}

func (m *Manager) newGroup(file string, rg rulefmt.RuleGroup, o UpdateOptions, shouldRestore bool) (*Group, error) {
	interval := o.Interval
	if rg.Interval != 0 {
		interval = time.Duration(rg.Interval)
	}
	if interval <= 0 {
		interval = time.Minute
	}
	offset := o.QueryOffset
	if rg.QueryOffset != nil {
		offset = time.Duration(*rg.QueryOffset)
	}
	rules := make([]Rule, 0, len(rg.Rules))
	for _, r := range rg.Rules {
		expr, err := m.opts.Parser.ParseExpr(r.Expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		lset := fromMaps(rg.Labels, r.Labels)
		if r.Alert == "" {
			rules = append(rules, NewRecordingRule(r.Record, expr, lset))
			continue
		}
		ar := NewAlertingRule(AlertingRuleOptions{
			Name: r.Alert, Expr: expr, For: time.Duration(r.For), KeepFiringFor: time.Duration(r.KeepFiringFor),
			Labels: lset, Annotations: labels.FromMap(r.Annotations),
			ExternalLabels: o.ExternalLabels, ExternalURL: o.ExternalURL,
			Restored: !shouldRestore, Logger: m.logger.With("alert", r.Alert),
		})
		ar.templateFailures = m.metrics.templateFailures
		rules = append(rules, ar)
	}
	return newGroup(GroupOptions{
		Name: rg.Name, File: file, Interval: interval, QueryOffset: offset, Limit: rg.Limit,
		Rules: rules, ShouldRestore: shouldRestore,
	}, &m.opts, m.metrics), nil
}

// equal reports whether two groups have the same definition, so a reload
// can leave the running one alone.
func (g *Group) equal(o *Group) bool {
	if g.name != o.name || g.file != o.file || g.interval != o.interval || g.limit != o.limit ||
		g.queryOffset != o.queryOffset || len(g.rules) != len(o.rules) {
		return false
	}
	for i, r := range g.rules {
		if r.String() != o.rules[i].String() {
			return false
		}
	}
	return true
}

// Groups returns the groups sorted by file and name.
func (m *Manager) Groups() []*Group {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Group, 0, len(m.groups))
	for _, g := range m.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *Group) int {
		if c := strings.Compare(a.file, b.file); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// AlertingRules returns every alerting rule of every group.
func (m *Manager) AlertingRules() []*AlertingRule {
	var out []*AlertingRule
	for _, g := range m.Groups() {
		for _, r := range g.rules {
			if ar, ok := r.(*AlertingRule); ok {
				out = append(out, ar)
			}
		}
	}
	return out
}
