package scrape

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/discovery"
)

// Options configure a Manager.
type Options struct {
	// NewAppender returns an appender to the storage; required. No one
	// waits on a scrape's commit, so the storage may let it reach its log a
	// little later (tsdb.DB.BufferedAppender).
	NewAppender func() Appender
	// Logger receives scrape logs; nil discards.
	Logger *slog.Logger
	// Registerer receives the scrape metrics; nil does not register them.
	Registerer prometheus.Registerer
	// OffsetSeed spreads the scrape times of identical targets scraped by
	// different argus instances (Prometheus derives it from the external
	// labels and the host name).
	OffsetSeed uint64
	// Discovery tunes the discovery providers.
	Discovery discovery.Options
}

// Manager runs one pool per scrape job and applies config reloads.
type Manager struct {
	opts    Options
	logger  *slog.Logger
	metrics *metrics
	bufs    *buffers

	mu    sync.Mutex
	ctx   context.Context // set while Run runs
	want  []*config.Scrape
	local map[string]prometheus.Gatherer
	pools map[string]*pool
	// retiring counts stopped pools whose loops may still be writing
	// end-of-run staleness markers.
	retiring sync.WaitGroup
}

// NewManager returns a manager; it scrapes nothing until Run and ApplyConfig.
func NewManager(opts Options) *Manager {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{opts: opts, logger: logger, metrics: newMetrics(opts.Registerer), bufs: newBuffers(), pools: map[string]*pool{}}
}

// ApplyConfig makes the scrape jobs those of cfgs: new jobs start, removed
// jobs stop (their series get staleness markers), changed jobs restart, and
// unchanged jobs keep running untouched. Jobs named in local are built-in
// collectors: their targets are gathered in process instead of over HTTP. It
// may be called before or during Run.
func (m *Manager) ApplyConfig(cfgs []*config.Scrape, local map[string]prometheus.Gatherer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.want, m.local = cfgs, local
	if m.ctx == nil {
		return nil
	}
	return m.reconcile()
}

// CheckConfig fails where ApplyConfig would start some of cfgs' jobs and
// not others (a job's HTTP client cannot be built, e.g. its CA file is
// missing), without changing anything. A caller checks with it before it
// applies anything of a configuration.
func CheckConfig(cfgs []*config.Scrape) error {
	var errs []error
	for _, sc := range cfgs {
		if _, err := newClient(sc); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("scrape config: %v", errs)
	}
	return nil
}

// reconcile brings the pools in line with m.want (m.mu held).
func (m *Manager) reconcile() error {
	want := map[string]*config.Scrape{}
	for _, sc := range m.want {
		want[sc.JobName] = sc
	}
	for name, p := range m.pools {
		if sc, ok := want[name]; !ok || !reflect.DeepEqual(sc, p.cfg) || p.local != m.local[name] {
			m.retire(p, true)
			delete(m.pools, name)
		}
	}
	var errs []error
	for name, sc := range want {
		if _, ok := m.pools[name]; ok {
			continue
		}
		p, err := newPool(m.ctx, sc, m.opts.NewAppender, m.logger, m.metrics, m.bufs, m.opts.OffsetSeed)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.local = m.local[name]
		m.pools[name] = p
		p.run(m.opts.Discovery)
	}
	if len(errs) > 0 {
		return fmt.Errorf("scrape config: %v", errs)
	}
	return nil
}

// Run scrapes until ctx is done, then stops every job without staleness
// markers (the next start carries on) and waits for all goroutines.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	m.ctx = ctx
	err := m.reconcile()
	m.mu.Unlock()
	if err != nil {
		m.logger.Error("Some scrape jobs could not start", "err", err)
	}
	<-ctx.Done()
	m.mu.Lock()
	for name, p := range m.pools {
		m.retire(p, false)
		delete(m.pools, name)
	}
	m.ctx = nil
	m.mu.Unlock()
	m.retiring.Wait()
	return nil
}

// retire stops a pool; a goroutine waits for its loops to finish their
// staleness markers.
func (m *Manager) retire(p *pool, staleness bool) {
	p.stop(staleness)
	m.retiring.Add(1)
	go func() {
		defer m.retiring.Done()
		p.running.Wait()
	}()
}

// TargetGroups are the targets of one job.
type TargetGroups struct {
	Job     string
	Active  []*Target
	Dropped []*Target
}

// Targets returns the active and dropped targets of every job, by job name.
func (m *Manager) Targets() []TargetGroups {
	m.mu.Lock()
	pools := make([]*pool, 0, len(m.pools))
	for _, p := range m.pools {
		pools = append(pools, p)
	}
	m.mu.Unlock()
	out := make([]TargetGroups, 0, len(pools))
	for _, p := range pools {
		a, d := p.targets()
		out = append(out, TargetGroups{Job: p.cfg.JobName, Active: a, Dropped: d})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Job < out[j].Job })
	return out
}
