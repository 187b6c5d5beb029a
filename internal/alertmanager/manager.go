package alertmanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/alert"
	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/config/receiver"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/alertmanager/timeinterval"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/state"
)

// StateStore is the durable state the Manager needs: records in buckets
// (silences, notification log) with an expiry, and an event log (alert
// history). Expire deletes expired records, events older than
// eventsBefore and all but the newest maxEvents events (0: no bound).
// internal/state implements it on SQLite or PostgreSQL. Methods are
// called concurrently; errors are returned to the caller of the operation
// that needed them.
type StateStore interface {
	Put(ctx context.Context, bucket, key string, value []byte, expires time.Time) error
	List(ctx context.Context, bucket string) ([]state.Record, error)
	Expire(ctx context.Context, now, eventsBefore time.Time, maxEvents int) (int64, error)
	AppendEvents(ctx context.Context, events []state.Event) error
	Events(ctx context.Context, q state.EventQuery) ([]state.Event, error)
}

// Options configure a Manager. Zero values take the documented defaults.
type Options struct {
	// State persists silences, the notification log and the history; nil
	// keeps them in memory (and records no history).
	State StateStore
	// ExternalURL is how users reach this server, for templates'
	// .ExternalURL and links. Default http://localhost:9090.
	ExternalURL *url.URL
	// Retention is how long expired silences and notification log entries
	// are kept, Alertmanager's --data.retention. Default 120h.
	Retention time.Duration
	// HistoryRetention is how long history events are kept. Default 7 days.
	HistoryRetention time.Duration
	// HistoryMaxEvents bounds the history: at each maintenance the oldest
	// events past this many are deleted, whatever their age. Default
	// 1,000,000.
	HistoryMaxEvents int
	// MaxAlerts bounds the alerts held, resolved ones included until they
	// are cleaned up; past it new alerts are refused. It bounds memory
	// (with MaxAlertBytes) against a flood of distinct alerts. Default
	// 1,000,000.
	MaxAlerts int
	// PerAlertNameLimit bounds the alerts held with one alertname, as
	// Alertmanager's --alerts.per-alertname-limit; 0 does not.
	PerAlertNameLimit int
	// MaxAggregationGroups bounds the aggregation groups (each has a
	// goroutine and a timer); an alert that would need a new group past it
	// is refused. A new configuration whose routes need more groups for the
	// alerts already held gets them. Default 100,000.
	MaxAggregationGroups int
	// MaxLabels bounds the labels of one alert. Default 256.
	MaxLabels int
	// MaxAlertBytes bounds the size of an alert's labels and annotations.
	// Default 64 KiB.
	MaxAlertBytes int
	// MaintenanceInterval is how often resolved alerts, expired silences
	// and old state are cleaned up. Default 15s.
	MaintenanceInterval time.Duration
	// SilenceSyncInterval is how often silences written to the state
	// store by other argus instances sharing it are read. Default 5s.
	SilenceSyncInterval time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Registerer gets the metrics; nil registers none.
	Registerer prometheus.Registerer
}

func (o *Options) setDefaults() {
	if o.ExternalURL == nil {
		o.ExternalURL = &url.URL{Scheme: "http", Host: "localhost:9090"}
	}
	if o.Retention <= 0 {
		o.Retention = 120 * time.Hour
	}
	if o.HistoryRetention <= 0 {
		o.HistoryRetention = 7 * 24 * time.Hour
	}
	if o.HistoryMaxEvents <= 0 {
		o.HistoryMaxEvents = 1_000_000
	}
	if o.MaxAlerts <= 0 {
		o.MaxAlerts = 1_000_000
	}
	if o.MaxAggregationGroups <= 0 {
		o.MaxAggregationGroups = 100_000
	}
	if o.MaxLabels <= 0 {
		o.MaxLabels = 256
	}
	if o.MaxAlertBytes <= 0 {
		o.MaxAlertBytes = 64 << 10
	}
	if o.MaintenanceInterval <= 0 {
		o.MaintenanceInterval = 15 * time.Second
	}
	if o.SilenceSyncInterval <= 0 {
		o.SilenceSyncInterval = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// resolvedKeep is how long a resolved alert stays in the store (the
// groups keep their own copy until they have notified it).
const resolvedKeep = 15 * time.Minute

// Manager is the alert manager.
type Manager struct {
	opts    Options
	logger  *slog.Logger
	metrics *metrics
	started time.Time

	ctx    context.Context // parent of the dispatchers; cancelled by Run's end
	cancel context.CancelFunc

	store    *store
	silences *silences
	nflog    *nflog
	history  *history // nil without a state store

	// applyMu serialises configuration changes (and the final stop), so
	// that each dispatcher starts once the previous one has stopped.
	applyMu sync.Mutex
	// mu guards gen. Put holds it shared from storing an alert to putting
	// it into the groups, so that a new generation, built under mu held
	// exclusively from the stored alerts, misses none.
	mu  sync.RWMutex
	gen *generation
}

// generation is everything derived from one configuration.
type generation struct {
	cfg            *amconfig.Config
	text           string // for /api/v2/status
	root           *route
	inhibitor      *inhibitor
	receivers      map[string][]notify.Integration
	intervals      *timeinterval.Intervener
	resolveTimeout time.Duration
	dispatcher     *dispatcher
}

// defaultConfig is used until a configuration is applied, and when argus's
// config has no alertmanager section: alerts are kept, shown and silenced,
// and notify nobody.
const defaultConfig = "route:\n  receiver: default\nreceivers:\n  - name: default\n"

// New returns a Manager with the state of opts.State loaded and the
// default (notify nobody) configuration. Call ApplyConfig to configure and
// Run to start its background work.
func New(ctx context.Context, opts Options) (*Manager, error) {
	opts.setDefaults()
	m := &Manager{opts: opts, logger: opts.Logger, started: time.Now(), store: newStore(opts.MaxAlerts, opts.PerAlertNameLimit)}
	m.metrics = newMetrics(opts.Registerer, m)
	m.ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	var err error
	if m.silences, err = newSilences(ctx, opts.State, opts.Retention); err != nil {
		return nil, err
	}
	if m.nflog, err = newNflog(ctx, opts.State, opts.Retention); err != nil {
		return nil, err
	}
	if opts.State != nil {
		m.history = newHistory(opts.State, m.logger, m.metrics.historyDropped)
	}
	cfg, err := amconfig.Load(defaultConfig)
	if err != nil {
		return nil, fmt.Errorf("BUG: default alertmanager config: %w", err)
	}
	if err := m.ApplyConfig(cfg, defaultConfig); err != nil {
		return nil, err
	}
	return m, nil
}

// reloadGrace is how long a reload lets the notifications under way in
// the old configuration's groups finish before cancelling them (a
// cancelled one may have reached its receiver and is sent again).
const reloadGrace = minNotifyTimeout

// ApplyConfig switches to cfg (nil: the default, notify nobody), as
// PrepareConfig and ApplyPrepared do.
func (m *Manager) ApplyConfig(cfg *amconfig.Config, original string) error {
	p, err := m.PrepareConfig(cfg, original)
	if err != nil {
		return err
	}
	m.ApplyPrepared(p)
	return nil
}

// PreparedConfig is a configuration built and checked by PrepareConfig
// (templates, receivers' integrations, routes), not in use yet.
// ApplyPrepared switches to it, at most once.
type PreparedConfig struct {
	gen     *generation
	applied bool
}

// PrepareConfig builds cfg (nil: the default, notify nobody) and fails as
// ApplyConfig would, without changing anything. original is the text cfg
// was loaded from, shown by ConfigText with its secrets hidden; "" shows
// cfg as Alertmanager prints it.
func (m *Manager) PrepareConfig(cfg *amconfig.Config, original string) (*PreparedConfig, error) {
	if cfg == nil {
		var err error
		original = defaultConfig
		if cfg, err = amconfig.Load(defaultConfig); err != nil {
			return nil, fmt.Errorf("BUG: default alertmanager config: %w", err)
		}
	}
	gen, err := m.build(cfg)
	if err != nil {
		return nil, err
	}
	gen.text = redactOriginal(original, cfg.String())
	return &PreparedConfig{gen: gen}, nil
}

// ApplyPrepared switches to p. Alerts, silences and the notification log
// are kept; aggregation groups are rebuilt from the stored alerts, and the
// notification log keeps them from notifying again what was already sent.
//
// Alerts are taken throughout. The old groups' notifications under way
// may finish (up to reloadGrace) before the new groups flush, so nothing
// is sent twice; ApplyPrepared returns when they have.
func (m *Manager) ApplyPrepared(p *PreparedConfig) {
	if p.applied {
		panic("BUG: alertmanager.PreparedConfig applied twice")
	}
	p.applied = true
	gen := p.gen
	// The dispatcher is made here, not when preparing: its context is a
	// child of m.ctx, which a config that is never applied would leak.
	gen.dispatcher = newDispatcher(m.ctx, func(ctx context.Context, g *group, now time.Time, alerts []*alert.Alert) bool {
		return m.notifyGroup(ctx, gen, g, now, alerts)
	}, func(n int) { m.metrics.groups.Set(float64(n)) })

	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	m.mu.Lock()
	old := m.gen
	now := time.Now()
	// Alerts already taken all get their groups, past the limit of groups
	// if the new routes need more: the limit refuses new alerts only.
	for _, a := range m.store.list() {
		gen.inhibitor.observe(a)
		for _, k := range groupsOf(a.Labels, gen.root.match(a.Labels)) {
			gen.dispatcher.insert(a, k, now)
		}
	}
	m.gen = gen
	m.mu.Unlock()
	// Outside mu: the old groups may take a while, and Put must not wait.
	if old != nil {
		m.stopDispatcher(old.dispatcher, reloadGrace)
	}
	gen.dispatcher.start()
}

func (m *Manager) stopDispatcher(d *dispatcher, grace time.Duration) {
	if !d.stop(grace) {
		m.logger.Error("Aggregation groups still stuck in a receiver integration that ignores cancellation; left running", "waited", grace+stopAbandonAfter)
	}
}

// build derives a generation from cfg: templates, integrations, routes.
func (m *Manager) build(cfg *amconfig.Config) (*generation, error) {
	tmpl, err := template.FromGlobs(cfg.Templates)
	if err != nil {
		return nil, fmt.Errorf("load notification templates: %w", err)
	}
	tmpl.ExternalURL = m.opts.ExternalURL
	gen := &generation{
		cfg:       cfg,
		root:      newRouteTree(cfg.Route),
		inhibitor: newInhibitor(cfg.InhibitRules),
		receivers: map[string][]notify.Integration{},
	}
	for _, rc := range cfg.Receivers {
		ints, err := receiver.BuildReceiverIntegrations(rc, tmpl, m.logger.With("receiver", rc.Name))
		if err != nil {
			return nil, fmt.Errorf("receiver %s: %w", rc.Name, err)
		}
		gen.receivers[rc.Name] = ints
	}
	intervals := map[string][]timeinterval.TimeInterval{}
	for _, ti := range cfg.MuteTimeIntervals {
		intervals[ti.Name] = ti.TimeIntervals
	}
	for _, ti := range cfg.TimeIntervals {
		intervals[ti.Name] = ti.TimeIntervals
	}
	gen.intervals = timeinterval.NewIntervener(intervals)
	gen.resolveTimeout = 5 * time.Minute
	if cfg.Global != nil {
		gen.resolveTimeout = time.Duration(cfg.Global.ResolveTimeout)
	}
	return gen, nil
}

func (m *Manager) generation() *generation {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.gen
}

// Run does the background work (cleaning up resolved alerts, expired
// silences and old state; writing the history) until ctx ends, then stops
// every aggregation group.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if m.history != nil {
		hctx, cancel := context.WithCancel(context.Background())
		defer func() { cancel(); wg.Wait() }()
		wg.Go(func() { m.history.run(hctx) })
	}
	defer func() {
		// Cancelled first: a reload waiting for the old groups' notifications
		// stops waiting.
		m.cancel()
		m.applyMu.Lock()
		defer m.applyMu.Unlock()
		m.stopDispatcher(m.generation().dispatcher, 0)
	}()
	t := time.NewTicker(m.opts.MaintenanceInterval)
	defer t.Stop()
	sync := time.NewTicker(m.opts.SilenceSyncInterval)
	defer sync.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			m.maintain(ctx, now)
		case <-sync.C:
			if _, err := m.silences.reload(ctx); err != nil && ctx.Err() == nil {
				m.logger.Warn("Reading silences from the state store failed", "err", err)
			}
		}
	}
}

func (m *Manager) maintain(ctx context.Context, now time.Time) {
	for _, a := range m.store.maintain(now, now.Add(-resolvedKeep)) {
		m.recordAlert(a, now)
	}
	m.generation().inhibitor.prune(now)
	m.silences.gc(now)
	m.nflog.gc(now)
	if m.opts.State != nil {
		if _, err := m.opts.State.Expire(ctx, now, now.Add(-m.opts.HistoryRetention), m.opts.HistoryMaxEvents); err != nil {
			m.logger.Error("Expiring old alert manager state failed", "err", err)
		}
	}
}

// Put takes alerts, as Alertmanager's POST /api/v2/alerts does: a missing
// start time is now (or the end time if given), a missing end time makes
// the alert resolve after the resolve_timeout unless it is sent again.
// Invalid alerts are left out and reported in the returned error (one line
// each); the valid ones are taken all the same. Put does not block on
// notifications. The maps of alerts are not retained.
func (m *Manager) Put(ctx context.Context, alerts ...model.Alert) error {
	now := time.Now()
	gen := m.generation()
	var errs []error
	for i := range alerts {
		a := alerts[i]
		a.Labels = maps.Clone(a.Labels)
		a.Annotations = maps.Clone(a.Annotations)
		timeout := false
		if a.StartsAt.IsZero() {
			a.StartsAt = now
			if !a.EndsAt.IsZero() {
				a.StartsAt = a.EndsAt
			}
		}
		if a.EndsAt.IsZero() {
			timeout = true
			a.EndsAt = now.Add(gen.resolveTimeout)
		}
		if err := m.validate(&a); err != nil {
			m.metrics.invalid.Inc()
			errs = append(errs, fmt.Errorf("alert %d %s: %w", i, shortLabels(a.Labels), err))
			continue
		}
		if a.EndsAt.After(now) {
			m.metrics.received.WithLabelValues("firing").Inc()
		} else {
			m.metrics.received.WithLabelValues("resolved").Inc()
		}
		if err := m.insert(alert.New(a, now, timeout), now); err != nil {
			var le *limitError
			if errors.As(err, &le) {
				m.metrics.limited.WithLabelValues(le.kind).Inc()
			}
			errs = append(errs, fmt.Errorf("alert %d %s: %w", i, shortLabels(a.Labels), err))
		}
	}
	return errors.Join(errs...)
}

// maxErrorLabels bounds the labels an error message shows of an alert, so
// that refusing an alert with thousands of labels does not echo them all.
const maxErrorLabels = 256

// shortLabels is lset as an error message shows it: whole if short, else
// the start, cut, and how many labels there are.
func shortLabels(lset model.LabelSet) string {
	s := lset.String()
	if len(s) <= maxErrorLabels {
		return s
	}
	return fmt.Sprintf("%s... (%d labels, %d bytes)", strings.ToValidUTF8(s[:maxErrorLabels], ""), len(lset), len(s))
}

// validate checks an alert as Alertmanager does, plus argus's size limits.
func (m *Manager) validate(a *model.Alert) error {
	if len(a.Labels) > m.opts.MaxLabels {
		return fmt.Errorf("%d labels, more than the limit of %d", len(a.Labels), m.opts.MaxLabels)
	}
	size := 0
	for k, v := range a.Labels {
		size += len(k) + len(v)
	}
	for k, v := range a.Annotations {
		size += len(k) + len(v)
	}
	if size > m.opts.MaxAlertBytes {
		return fmt.Errorf("labels and annotations take %d bytes, more than the limit of %d", size, m.opts.MaxAlertBytes)
	}
	return a.Validate()
}

// insert stores a, feeds the inhibitor and puts a into the groups of its
// routes. An alert past a limit is refused with a *limitError.
func (m *Manager) insert(a *alert.Alert, now time.Time) error {
	m.mu.RLock()
	gen := m.gen
	keys := groupsOf(a.Labels, gen.root.match(a.Labels))
	err := gen.dispatcher.checkRoom(keys, m.opts.MaxAggregationGroups)
	var stored *alert.Alert
	var changed bool
	if err == nil {
		stored, changed, err = m.store.set(a, now)
	}
	if err != nil {
		m.mu.RUnlock()
		return err
	}
	gen.inhibitor.observe(stored)
	for _, k := range keys {
		gen.dispatcher.insert(stored, k, now)
	}
	m.mu.RUnlock()
	if changed {
		m.recordAlert(stored, now)
	}
	return nil
}

func (m *Manager) recordAlert(a *alert.Alert, now time.Time) {
	if m.history == nil {
		return
	}
	state := "firing"
	if a.ResolvedAt(now) {
		state = "resolved"
	}
	m.history.add(Event{Time: now, Kind: EventAlert, Fingerprint: a.Fingerprint().String(), Alert: &AlertEvent{
		State: state, Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt, EndsAt: a.EndsAt,
	}})
}

// AlertStatus is an alert's state as the API shows it.
type AlertStatus struct {
	// State is "active" or "suppressed".
	State       string
	SilencedBy  []string
	InhibitedBy []string
	// MutedBy names the time intervals muting the alert's routes now.
	MutedBy []string
}

// AlertView is a stored alert with its status and receivers.
type AlertView struct {
	*alert.Alert
	Status    AlertStatus
	Receivers []string
}

// Alerts returns the alerts not resolved yet, with their status, sorted by
// fingerprint.
func (m *Manager) Alerts() []AlertView {
	gen := m.generation()
	now := time.Now()
	var out []AlertView
	for _, a := range m.store.list() {
		if a.ResolvedAt(now) {
			continue
		}
		out = append(out, m.view(gen, a, now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint() < out[j].Fingerprint() })
	return out
}

func (m *Manager) view(gen *generation, a *alert.Alert, now time.Time) AlertView {
	v := AlertView{Alert: a}
	v.Status.SilencedBy = m.silences.mutes(a.Labels, now)
	v.Status.InhibitedBy = gen.inhibitor.mutes(a.Labels, now)
	seen := map[string]bool{}
	for _, r := range gen.root.match(a.Labels) {
		if !seen[r.receiver] {
			seen[r.receiver] = true
			v.Receivers = append(v.Receivers, r.receiver)
		}
		if len(r.muteIntervals) > 0 {
			if muted, names, err := gen.intervals.Mutes(r.muteIntervals, now); err == nil && muted {
				v.Status.MutedBy = append(v.Status.MutedBy, names...)
			}
		}
	}
	v.Status.State = "active"
	if len(v.Status.SilencedBy) > 0 || len(v.Status.InhibitedBy) > 0 || len(v.Status.MutedBy) > 0 {
		v.Status.State = "suppressed"
	}
	return v
}

// GroupView is an aggregation group as the API shows it.
type GroupView struct {
	Labels   model.LabelSet
	Receiver string
	Alerts   []AlertView
}

// Groups returns the aggregation groups with their unresolved alerts.
func (m *Manager) Groups() []GroupView {
	gen := m.generation()
	now := time.Now()
	var out []GroupView
	for _, g := range gen.dispatcher.snapshot() {
		gv := GroupView{Labels: g.Labels, Receiver: g.Receiver}
		for _, a := range g.Alerts {
			if a.ResolvedAt(now) {
				continue
			}
			gv.Alerts = append(gv.Alerts, m.view(gen, a, now))
		}
		if len(gv.Alerts) == 0 {
			continue
		}
		sort.Slice(gv.Alerts, func(i, j int) bool { return gv.Alerts[i].Fingerprint() < gv.Alerts[j].Fingerprint() })
		out = append(out, gv)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Receiver != out[j].Receiver {
			return out[i].Receiver < out[j].Receiver
		}
		return out[i].Labels.String() < out[j].Labels.String()
	})
	return out
}

// Receivers returns the names of the configured receivers.
func (m *Manager) Receivers() []string {
	gen := m.generation()
	out := make([]string, 0, len(gen.cfg.Receivers))
	for _, r := range gen.cfg.Receivers {
		out = append(out, r.Name)
	}
	return out
}

// ConfigText returns the configuration as YAML, secrets hidden.
func (m *Manager) ConfigText() string { return m.generation().text }

// Started returns when the Manager was created.
func (m *Manager) Started() time.Time { return m.started }

// Silences returns every silence, expired ones until their retention ends.
func (m *Manager) Silences() []Silence { return m.silences.list() }

// Silence returns the silence with id.
func (m *Manager) Silence(id string) (Silence, bool) { return m.silences.get(id) }

// SetSilence creates a silence (empty ID) or updates one, and returns its
// ID; an update that cannot be done in place expires the silence and
// replaces it by a new one, as Alertmanager does. The history records
// both: the old one expired (replaced by the new ID), the new one created
// (replacing the old ID).
func (m *Manager) SetSilence(ctx context.Context, s Silence) (string, error) {
	now := time.Now()
	id, expired, err := m.silences.set(ctx, s, now)
	if expired != "" {
		m.recordSilence(SilenceEvent{Action: "expired", ID: expired, ReplacedBy: id}, now)
	}
	if err != nil {
		return "", err
	}
	ev := SilenceEvent{Action: "created", ID: id}
	switch {
	case id == s.ID:
		ev.Action = "updated"
	case s.ID != "":
		ev.Replaces = s.ID
	}
	m.recordSilence(ev, now)
	return id, nil
}

// ExpireSilence ends a silence now.
func (m *Manager) ExpireSilence(ctx context.Context, id string) error {
	now := time.Now()
	if err := m.silences.expire(ctx, id, now); err != nil {
		return err
	}
	m.recordSilence(SilenceEvent{Action: "expired", ID: id}, now)
	return nil
}

// recordSilence adds ev, completed with the silence's current state, to
// the history.
func (m *Manager) recordSilence(ev SilenceEvent, now time.Time) {
	s, ok := m.silences.get(ev.ID)
	if m.history == nil || !ok {
		return
	}
	ev.Matchers, ev.StartsAt, ev.EndsAt = s.Matchers.String(), s.StartsAt, s.EndsAt
	ev.CreatedBy, ev.Comment = s.CreatedBy, s.Comment
	m.history.add(Event{Time: now, Kind: EventSilence, Silence: &ev})
}

// SilenceMutes returns the IDs of the active silences matching lset.
func (m *Manager) SilenceMutes(lset model.LabelSet) []string {
	return m.silences.mutes(lset, time.Now())
}
