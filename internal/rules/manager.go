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
// defaults, and argus's own StopTimeout).
const (
	DefaultOutageTolerance = time.Hour
	DefaultForGracePeriod  = 10 * time.Minute
	DefaultResendDelay     = time.Minute
	DefaultStopTimeout     = 10 * time.Second
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
	// StopTimeout is how long Run waits, once its context is done, for
	// evaluations in progress to end. Queries stop with the context, but
	// template expansion cannot be cancelled: a group stuck in a template
	// is left behind (and logged) rather than holding up shutdown.
	StopTimeout time.Duration
	// Logger receives the manager's logs; nil discards.
	Logger *slog.Logger
	// Registerer receives the argus_rule_* metrics; nil does not register.
	Registerer prometheus.Registerer
}

// Manager runs the rule groups of the configured rule files.
//
// m.mu is never held while waiting for an evaluation: an evaluation may
// not end (see Options.StopTimeout), and the rules API, reloads and
// shutdown all take m.mu. Groups are told to stop under the lock and
// waited for by goroutines of their own.
type Manager struct {
	opts    Options
	metrics *metrics
	logger  *slog.Logger

	mu     sync.RWMutex
	groups map[string]*Group
	// live holds the groups whose goroutine has not ended: the running
	// ones, and stopped ones still in an evaluation.
	live     map[*Group]struct{}
	restored bool // a first Update has happened: new groups need no restore
	closed   bool // Run's context is done; quit is closed
	quit     chan struct{}
	started  chan struct{}
	// ctx is Run's context, written before started is closed and read
	// only after, so it needs no lock.
	ctx context.Context
	wg  sync.WaitGroup // one per group goroutine and retired group
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
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = DefaultStopTimeout
	}
	return &Manager{
		opts: opts, metrics: newMetrics(opts.Registerer), logger: opts.Logger,
		groups: map[string]*Group{}, live: map[*Group]struct{}{},
		quit: make(chan struct{}), started: make(chan struct{}),
	}
}

// Run evaluates the groups until ctx is done, then stops them and waits
// for them for at most Options.StopTimeout.
func (m *Manager) Run(ctx context.Context) error {
	m.ctx = ctx
	close(m.started)
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), m.opts.StopTimeout)
	defer cancel()
	if err := m.stop(stopCtx); err != nil {
		// Returned, it would fail the whole shutdown over one stuck
		// template; the goroutine ends with the process.
		m.logger.Warn("Rule manager stopped with evaluations still running", "stop_timeout", m.opts.StopTimeout, "err", err)
	}
	return nil
}

// stop tells every group to stop and waits for the manager's goroutines
// until ctx is done; the error names the groups still evaluating then.
func (m *Manager) stop(ctx context.Context) error {
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.quit)
		for g := range m.live {
			g.stop()
		}
	}
	m.mu.Unlock()
	done := make(chan struct{})
	// This goroutine outlives stop only as long as a stuck evaluation,
	// whose end it then reports to no one.
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	m.mu.RLock()
	stuck := make([]string, 0, len(m.live))
	for g := range m.live {
		stuck = append(stuck, GroupKey(g.file, g.name))
	}
	m.mu.RUnlock()
	slices.Sort(stuck)
	return fmt.Errorf("rule groups still evaluating: %s", strings.Join(stuck, ", "))
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

// Prepared are rule groups loaded and checked by Prepare, not running yet.
// Apply makes them the running groups; a Prepared is applied at most once.
type Prepared struct {
	groups  map[string]*Group
	applied bool
}

// Update loads the rule files and replaces the running groups, as Prepare
// and Apply do. If any file fails to load, nothing changes and the error
// lists every problem.
func (m *Manager) Update(o UpdateOptions) error {
	p, err := m.Prepare(o)
	if err != nil {
		return err
	}
	m.Apply(p)
	return nil
}

// Prepare loads and checks the rule files. It changes nothing, metrics
// included, so that a caller can check the rest of its configuration
// before it applies the groups.
func (m *Manager) Prepare(o UpdateOptions) (*Prepared, error) {
	files, err := ExpandFiles(o.Files)
	if err != nil {
		return nil, err
	}
	m.mu.RLock()
	shouldRestore := !m.restored
	m.mu.RUnlock()
	groups, errs := m.LoadGroups(o, shouldRestore, files...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("load rules: %w", errors.Join(errs...))
	}
	return &Prepared{groups: groups}, nil
}

// Apply replaces the running groups by those of p: unchanged groups keep
// running, changed ones take over the state of the old ones once their
// evaluation in progress ends, and the series of removed groups are marked
// stale. It does not wait for any evaluation. Once Run's context is done
// it does nothing.
func (m *Manager) Apply(p *Prepared) {
	if p.applied {
		panic("BUG: rules.Prepared applied twice")
	}
	p.applied = true
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.restored = true
	groups := make(map[string]*Group, len(p.groups))
	for key, ng := range p.groups {
		og, ok := m.groups[key]
		if ok && og.equal(ng) {
			groups[key] = og
			continue
		}
		groups[key] = ng
		m.metrics.initGroup(key, len(ng.rules), ng.interval.Seconds())
		if ok {
			og.stop()
		}
		m.start(ng, og)
	}
	for key, og := range m.groups {
		if _, ok := groups[key]; !ok {
			og.stop()
			m.retire(key, og)
		}
	}
	m.groups = groups
}

// start runs g on a goroutine of its own once Run has started. If g
// replaces prev (nil if not), it first waits for prev's goroutine to end
// and takes over its state. m.mu is held.
func (m *Manager) start(g, prev *Group) {
	m.live[g] = struct{}{}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer func() {
			m.mu.Lock()
			delete(m.live, g)
			m.mu.Unlock()
		}()
		if !m.takeOver(g, prev) {
			close(g.terminated)
			return
		}
		select {
		case <-m.started:
		case <-g.done:
			close(g.terminated)
			return
		}
		g.run(m.ctx)
	}()
}

// takeOver waits for prev, the group g replaces, to end its evaluation in
// progress, and copies prev's state into g. It waits even if g is
// replaced in turn meanwhile, so that the state passes down the chain; it
// gives up (false) only when the manager stops. A prev stuck in an
// evaluation, such as a template that loops forever, is never replaced:
// that is logged, and the other groups carry on.
func (m *Manager) takeOver(g, prev *Group) bool {
	if prev == nil {
		return true
	}
	warn := time.NewTimer(max(prev.interval, g.interval))
	defer warn.Stop()
	for {
		select {
		case <-prev.terminated:
			g.CopyState(prev)
			return true
		case <-m.quit:
			return false
		case <-warn.C:
			g.logger.Warn("Reloaded rule group waits for the evaluation of its previous version to end")
		}
	}
}

// retire waits for the goroutine of a group removed from the
// configuration to end, then drops its metrics (unless a group of the same
// key was added since) and marks its series stale. m.mu is held.
func (m *Manager) retire(key string, og *Group) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		select {
		case <-og.terminated:
		case <-m.quit:
			return
		}
		stoppedAt := time.Now()
		m.mu.Lock()
		if _, ok := m.groups[key]; !ok {
			m.metrics.deleteGroup(key)
		}
		m.mu.Unlock()
		// Its series are marked stale two intervals later, at the time it
		// stopped: a rule that moved to another group has newer samples by
		// then, which make storage refuse the old marker. Marked at the
		// current time instead, the live series of the moved rule would go
		// stale until its next evaluation.
		t := time.NewTimer(2 * og.interval)
		defer t.Stop()
		select {
		case <-t.C:
			og.markAllStale(stoppedAt)
		case <-m.quit:
		}
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
