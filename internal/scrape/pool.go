package scrape

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/discovery"
)

// pool scrapes the targets of one job.
type pool struct {
	cfg    *config.Scrape
	client *http.Client
	// local is the gatherer of a built-in collector's job, nil for jobs
	// scraped over HTTP.
	local       prometheus.Gatherer
	newAppender func() Appender
	logger      *slog.Logger
	metrics     *metrics
	bufs        *buffers
	offsetSeed  uint64
	parent      context.Context

	mu      sync.Mutex
	active  map[uint64]*Target
	loops   map[uint64]*loop
	dropped []*Target
	groups  map[string]*discovery.Group // by source, across providers
	// limit is the target_limit error while the limit is exceeded; loops read
	// it without the pool lock (sync holds it while it stops loops).
	limit atomic.Pointer[error]

	cancel context.CancelFunc
	done   sync.WaitGroup // discovery goroutines
	// running holds every loop goroutine, including stopped loops still
	// waiting to write end-of-run staleness markers.
	running sync.WaitGroup
}

func newPool(parent context.Context, cfg *config.Scrape, newAppender func() Appender, logger *slog.Logger, m *metrics, bufs *buffers, seed uint64) (*pool, error) {
	client, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	return &pool{
		cfg: cfg, client: client, newAppender: newAppender, metrics: m, bufs: bufs, offsetSeed: seed, parent: parent,
		logger: logger.With("scrape_pool", cfg.JobName),
		active: map[uint64]*Target{}, loops: map[uint64]*loop{}, groups: map[string]*discovery.Group{},
	}, nil
}

// newClient builds a job's HTTP client, which reads the files the config
// names (CA, certificate, key): the one part of starting a job that can
// fail.
func newClient(cfg *config.Scrape) (*http.Client, error) {
	client, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, cfg.JobName)
	if err != nil {
		return nil, fmt.Errorf("job %q: HTTP client: %w", cfg.JobName, err)
	}
	return client, nil
}

// run starts the job's discovery providers and keeps the targets in sync with
// them until stop.
func (p *pool) run(opts discovery.Options) {
	ctx, cancel := context.WithCancel(p.parent)
	p.cancel = cancel
	updates := make(chan providerUpdate)
	providers := discovery.ForScrape(p.cfg, opts)
	for i, prov := range providers {
		up := make(chan []*discovery.Group)
		p.done.Add(2)
		go func() {
			defer p.done.Done()
			prov.Run(ctx, up)
		}()
		go func() {
			defer p.done.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case gs := <-up:
					select {
					case updates <- providerUpdate{provider: i, groups: gs}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case u := <-updates:
				p.update(u)
			}
		}
	}()
}

type providerUpdate struct {
	provider int
	groups   []*discovery.Group
}

// update replaces a provider's groups and syncs the targets.
func (p *pool) update(u providerUpdate) {
	prefix := fmt.Sprintf("%d/", u.provider)
	p.mu.Lock()
	defer p.mu.Unlock()
	for src := range p.groups {
		if len(src) >= len(prefix) && src[:len(prefix)] == prefix {
			delete(p.groups, src)
		}
	}
	for _, g := range u.groups {
		p.groups[prefix+g.Source] = g
	}
	p.sync()
}

// sync computes the targets of all groups and starts and stops loops (p.mu held).
func (p *pool) sync() {
	lb := labels.NewBuilder(labels.EmptyLabels())
	active := map[uint64]*Target{}
	var dropped []*Target
	sources := make([]string, 0, len(p.groups))
	for src := range p.groups {
		sources = append(sources, src)
	}
	sort.Strings(sources)
	for _, src := range sources {
		g := p.groups[src]
		for _, tl := range g.Targets {
			disc := discoveredLabels(lb, p.cfg, tl, g.Labels)
			lset, err := populateLabels(lb, p.cfg, disc)
			if err != nil {
				p.logger.Warn("Invalid target", "labels", disc.String(), "err", err)
				continue
			}
			if lset.IsEmpty() {
				if p.cfg.KeepDroppedTargets == 0 || len(dropped) < int(p.cfg.KeepDroppedTargets) {
					dropped = append(dropped, &Target{Discovered: disc, ScrapePool: p.cfg.JobName})
				}
				continue
			}
			h := lset.Hash()
			if _, dup := active[h]; !dup {
				active[h] = &Target{Discovered: disc, Labels: lset, ScrapePool: p.cfg.JobName}
			}
		}
	}
	p.limit.Store(nil)
	if lim := p.cfg.TargetLimit; lim > 0 && len(active) > int(lim) {
		err := fmt.Errorf("target_limit exceeded (number of targets: %d, limit: %d)", len(active), lim)
		p.limit.Store(&err)
		p.logger.Warn("Target limit exceeded; every scrape of this job fails", "targets", len(active), "limit", lim)
	}
	// Stop loops of targets that are gone (with staleness markers), start
	// loops of new ones, keep the rest (and their state).
	for h, l := range p.loops {
		if _, ok := active[h]; !ok {
			// The loop goroutine writes the markers two intervals later;
			// p.running still counts it.
			l.stop(true)
			delete(p.loops, h)
		}
	}
	for h, t := range active {
		if old, ok := p.active[h]; ok {
			active[h] = old
			continue
		}
		l, err := p.newLoop(t)
		if err != nil {
			p.logger.Warn("Invalid target", "labels", t.Labels.String(), "err", err)
			delete(active, h)
			continue
		}
		p.loops[h] = l
		l.start()
	}
	p.active = active
	p.dropped = dropped
	p.metrics.setTargets(p.cfg.JobName, len(active))
}

func (p *pool) targetLimitErr() error {
	if e := p.limit.Load(); e != nil {
		return *e
	}
	return nil
}

func (p *pool) newLoop(t *Target) (*loop, error) {
	iv, to, err := t.intervalAndTimeout()
	if err != nil {
		return nil, err
	}
	escaping, err := model.ToEscapingScheme(p.cfg.MetricNameEscapingScheme)
	if err != nil {
		escaping = model.UnderscoreEscaping
	}
	enc := "identity"
	if p.cfg.EnableCompression {
		enc = "gzip"
	}
	h := fnv.New64a()
	h.Write([]byte(t.Labels.String()))
	offset := time.Duration((h.Sum64() ^ p.offsetSeed) % uint64(iv))
	l := &loop{
		target: t,
		cfg: loopConfig{
			interval: iv, timeout: to,
			honorLabels: p.cfg.HonorLabels, honorTimestamps: p.cfg.HonorTimestamps,
			trackTimestampsStaleness: p.cfg.TrackTimestampsStaleness,
			sampleLimit:              int(p.cfg.SampleLimit),
			labelLimit:               int(p.cfg.LabelLimit),
			labelNameLengthLimit:     int(p.cfg.LabelNameLengthLimit),
			labelValueLengthLimit:    int(p.cfg.LabelValueLengthLimit),
			metricRelabel:            p.cfg.MetricRelabelConfigs,
			fallbackContentType:      p.cfg.FallbackScrapeProtocol.MediaType(),
			validation:               p.cfg.MetricNameValidationScheme,
		},
		scraper:     newHTTPScraper(p.client, p.cfg, t.URL(), acceptHeader(p.cfg.ScrapeProtocols, escaping), enc, to, p.bufs),
		bufs:        p.bufs,
		newAppender: p.newAppender,
		logger:      p.logger.With("target", t.URL().String()),
		metrics:     p.metrics,
		offset:      offset,
		forcedErr:   p.targetLimitErr,
		parent:      p.parent,
		running:     &p.running,
		cache:       newCache(),
		targetLabel: t.PublicLabels(),
		lb:          labels.NewBuilder(labels.EmptyLabels()),
	}
	if p.local != nil {
		l.scraper = &gathererScraper{g: p.local}
	}
	return l, nil
}

// stop ends the job: discovery first, then every loop. With staleness (the
// job was removed or changed by a reload) its series get staleness markers two
// intervals later, except those a new pool keeps scraping. Loop goroutines may
// outlive stop to write them; wait on p.running for them.
func (p *pool) stop(staleness bool) {
	if p.cancel != nil {
		p.cancel()
	}
	p.done.Wait()
	p.mu.Lock()
	loops := p.loops
	p.loops = map[uint64]*loop{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.stop(staleness)
		}()
	}
	wg.Wait()
	p.client.CloseIdleConnections()
	p.metrics.setTargets(p.cfg.JobName, 0)
}

// targets returns the active and dropped targets, sorted by labels.
func (p *pool) targets() (active, dropped []*Target) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.active {
		active = append(active, t)
	}
	slices.SortFunc(active, func(a, b *Target) int { return labels.Compare(a.Labels, b.Labels) })
	return active, slices.Clone(p.dropped)
}
