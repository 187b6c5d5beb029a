package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/discovery"
)

// Default values of Options fields left at zero (Prometheus's).
const (
	DefaultQueueCapacity = 10000
	DefaultMaxBatchSize  = 256
)

// ErrStopped is returned by ApplyConfig and ApplyPrepared once Run's
// context is done: the manager runs nothing any more.
var ErrStopped = errors.New("notifier stopped")

// Alert is an alert as Alertmanager's API v2 takes it. An alert whose
// EndsAt is in the past is resolved.
type Alert struct {
	Labels       labels.Labels `json:"labels"`
	Annotations  labels.Labels `json:"annotations"`
	StartsAt     time.Time     `json:"startsAt,omitzero"`
	EndsAt       time.Time     `json:"endsAt,omitzero"`
	GeneratorURL string        `json:"generatorURL,omitempty"`
}

// Receiver is an alert manager in the same process, such as argus's own.
// Receive is called from one goroutine with one batch at a time; it must
// not modify the alerts, and should return quickly (the batch is counted
// as sent, or as failed if it returns an error).
type Receiver interface {
	Receive(ctx context.Context, alerts []*Alert) error
}

// Options configure a Manager.
type Options struct {
	// QueueCapacity bounds each destination's queue (default 10000).
	QueueCapacity int
	// MaxBatchSize bounds the alerts of one request (default 256).
	MaxBatchSize int
	// Local, if set, receives every alert (after external labels and
	// alert_relabel_configs) besides the configured Alertmanagers.
	Local Receiver
	// Discovery are the options of file and HTTP discovery.
	Discovery discovery.Options
	// Logger receives the manager's logs; nil discards.
	Logger *slog.Logger
	// Registerer receives the argus_notifications_* metrics; nil does not
	// register.
	Registerer prometheus.Registerer
}

// Manager sends alerts to the configured Alertmanagers and the local
// receiver. Build it with New, configure it with ApplyConfig, and Run it.
type Manager struct {
	opts    Options
	logger  *slog.Logger
	metrics *metrics

	// ctx is cancelled when Run returns; the goroutines of sets and loops
	// run under it and are counted in wg.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// applyMu serialises applying configs with each other and with Run's
	// shutdown, so that no set starts (and adds its send loops to wg)
	// after Run has stopped the sets and waits for wg. It is taken before
	// mu, and is held while sets stop, which takes mu.
	applyMu sync.Mutex

	mu             sync.RWMutex
	externalLabels labels.Labels
	relabel        []*relabel.Config
	sets           []*amSet
	local          *sendLoop
	stopped        bool // Run's context is done; written under applyMu and mu
}

// New returns a manager without Alertmanagers.
func New(opts Options) *Manager {
	if opts.QueueCapacity <= 0 {
		opts.QueueCapacity = DefaultQueueCapacity
	}
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = DefaultMaxBatchSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{opts: opts, logger: opts.Logger, metrics: newMetrics(opts.Registerer, opts.QueueCapacity)}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if opts.Local != nil {
		m.local = m.newSendLoop("local", func(ctx context.Context, alerts []*Alert) error {
			return opts.Local.Receive(ctx, alerts)
		})
	}
	return m
}

// ApplyConfig replaces the Alertmanagers and the alert relabeling, as
// PrepareConfig and ApplyPrepared do.
func (m *Manager) ApplyConfig(cfg config.Alerting, externalLabels labels.Labels) error {
	p, err := m.PrepareConfig(cfg, externalLabels)
	if err != nil {
		return err
	}
	return m.ApplyPrepared(p)
}

// PreparedConfig is an alerting config checked by PrepareConfig, with the
// HTTP clients of its Alertmanagers built. Nothing of it runs until
// ApplyPrepared, which takes it at most once.
type PreparedConfig struct {
	sets           []*amSet // not started
	externalLabels labels.Labels
	relabel        []*relabel.Config
	applied        bool
}

// PrepareConfig builds what cfg needs, and fails as ApplyConfig would,
// without changing anything.
func (m *Manager) PrepareConfig(cfg config.Alerting, externalLabels labels.Labels) (*PreparedConfig, error) {
	p := &PreparedConfig{externalLabels: externalLabels, relabel: cfg.AlertRelabelConfigs}
	for i, c := range cfg.Alertmanagers {
		s, err := m.newSet(c)
		if err != nil {
			return nil, fmt.Errorf("alerting.alertmanagers[%d]: %w", i, err)
		}
		p.sets = append(p.sets, s)
	}
	return p, nil
}

// ApplyPrepared replaces the Alertmanagers and the alert relabeling by
// those of p. An Alertmanager config that did not change keeps running
// with its queues; the others are replaced (their queued alerts are
// dropped and counted). Once Run's context is done it changes nothing and
// returns ErrStopped.
func (m *Manager) ApplyPrepared(p *PreparedConfig) error {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	if p.applied {
		panic("BUG: notifier.PreparedConfig applied twice")
	}
	p.applied = true
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return ErrStopped
	}
	old := m.sets
	sets := make([]*amSet, len(p.sets))
	var fresh []*amSet
	for i, s := range p.sets {
		if i < len(old) && old[i].sameConfig(s.cfg) {
			// The prepared set never started: dropping it is enough.
			sets[i] = old[i]
			continue
		}
		sets[i] = s
		fresh = append(fresh, s)
	}
	m.sets, m.externalLabels, m.relabel = sets, p.externalLabels, p.relabel
	m.mu.Unlock()
	// Old sets stop before new ones start, so that a URL in both keeps
	// its metrics.
	for _, s := range old {
		if !slices.Contains(sets, s) {
			s.stop()
		}
	}
	for _, s := range fresh {
		s.start()
	}
	return nil
}

// Send queues alerts for every destination. It does not block on the
// network.
func (m *Manager) Send(alerts ...*Alert) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	alerts = relabelAlerts(m.relabel, m.externalLabels, alerts)
	if len(alerts) == 0 {
		return
	}
	if m.local != nil {
		m.local.add(alerts...)
	}
	for _, s := range m.sets {
		s.send(alerts)
	}
}

// Run sends until ctx is done, then stops every send loop and waits.
// Alerts still queued are dropped (and counted), as in Prometheus.
func (m *Manager) Run(ctx context.Context) error {
	if m.local != nil {
		m.local.run(&m.wg, m.ctx)
	}
	<-ctx.Done()
	// Under applyMu: a config being applied has started its sets before,
	// and none starts after.
	m.applyMu.Lock()
	m.mu.Lock()
	m.stopped = true
	sets := m.sets
	m.sets = nil
	m.mu.Unlock()
	m.applyMu.Unlock()
	for _, s := range sets {
		s.stop()
	}
	if m.local != nil {
		m.local.stop()
	}
	m.cancel()
	m.wg.Wait()
	return nil
}

// Alertmanagers returns the URLs of the discovered Alertmanagers and of
// those relabeling dropped, for /api/v1/alertmanagers.
func (m *Manager) Alertmanagers() (active, dropped []string) {
	m.mu.RLock()
	sets := m.sets
	m.mu.RUnlock()
	for _, s := range sets {
		a, d := s.urls()
		active = append(active, a...)
		dropped = append(dropped, d...)
	}
	return active, dropped
}

// relabelAlerts adds the external labels an alert lacks and applies the
// relabel configs; alerts relabeling drops are left out. Alerts are not
// modified: changed ones are copies.
func relabelAlerts(cfgs []*relabel.Config, externalLabels labels.Labels, alerts []*Alert) []*Alert {
	lb := labels.NewBuilder(labels.EmptyLabels())
	out := make([]*Alert, 0, len(alerts))
	for _, a := range alerts {
		lb.Reset(a.Labels)
		externalLabels.Range(func(l labels.Label) {
			if a.Labels.Get(l.Name) == "" {
				lb.Set(l.Name, l.Value)
			}
		})
		if !relabel.ProcessBuilder(lb, cfgs...) {
			continue
		}
		if lset := lb.Labels(); !labels.Equal(a.Labels, lset) {
			c := *a
			c.Labels = lset
			a = &c
		}
		out = append(out, a)
	}
	return out
}

// encode is the API v2 body of a batch.
func encode(alerts []*Alert) ([]byte, error) { return json.Marshal(alerts) }
