package notifier

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"gopkg.in/yaml.v3"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/discovery"
)

// alertsPathLabel holds the API path of an Alertmanager target before
// relabeling, as in Prometheus.
const alertsPathLabel = "__alerts_path__"

// amSet is one item of alerting.alertmanagers: its discovered
// Alertmanagers, each with a send loop.
type amSet struct {
	m      *Manager
	cfg    *config.Alertmanager
	cfgKey string
	client *http.Client
	// ctx and cancel are set by start; wg counts discovery goroutines.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.RWMutex
	groups  map[int][]*discovery.Group // by provider
	loops   map[string]*sendLoop       // by URL
	dropped []string
	stopped bool
}

func (m *Manager) newSet(cfg *config.Alertmanager) (*amSet, error) {
	client, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, "alertmanager")
	if err != nil {
		return nil, fmt.Errorf("alertmanager HTTP client: %w", err)
	}
	key, _ := yaml.Marshal(cfg)
	return &amSet{m: m, cfg: cfg, cfgKey: string(key), client: client, groups: map[int][]*discovery.Group{}, loops: map[string]*sendLoop{}}, nil
}

// sameConfig reports whether cfg is the set's config. The YAML leaves
// secrets out (they marshal as <secret>), so the HTTP client settings are
// compared as values too: a rotated password must replace the client.
func (s *amSet) sameConfig(cfg *config.Alertmanager) bool {
	key, err := yaml.Marshal(cfg)
	return err == nil && string(key) == s.cfgKey && reflect.DeepEqual(cfg.HTTPClientConfig, s.cfg.HTTPClientConfig)
}

// start runs the set's discovery. Its context is made here, not in
// newSet: a prepared set that is never applied must leave nothing behind.
func (s *amSet) start() {
	s.ctx, s.cancel = context.WithCancel(s.m.ctx)
	var providers []discovery.Provider
	if len(s.cfg.StaticConfigs) > 0 {
		providers = append(providers, discovery.Static(s.cfg.StaticConfigs))
	}
	for _, f := range s.cfg.FileSDConfigs {
		providers = append(providers, discovery.File(f, s.m.opts.Discovery))
	}
	for _, h := range s.cfg.HTTPSDConfigs {
		providers = append(providers, discovery.HTTP(h, s.m.opts.Discovery))
	}
	for i, p := range providers {
		up := make(chan []*discovery.Group)
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			p.Run(s.ctx, up)
		}()
		go func() {
			defer s.wg.Done()
			for {
				select {
				case <-s.ctx.Done():
					return
				case gs := <-up:
					s.sync(i, gs)
				}
			}
		}()
	}
}

// stop ends discovery and the send loops, and waits for them. The set
// has been started.
func (s *amSet) stop() {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	s.stopped = true
	loops := s.loops
	s.loops = map[string]*sendLoop{}
	s.mu.Unlock()
	for _, l := range loops {
		l.stop()
	}
	s.m.updateDiscovered()
}

// sync replaces a provider's groups and starts and stops send loops to
// match the Alertmanagers they now give.
func (s *amSet) sync(provider int, gs []*discovery.Group) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.groups[provider] = gs
	active, dropped := s.targets()
	var stale []*sendLoop
	for u, l := range s.loops {
		if !slices.Contains(active, u) {
			stale = append(stale, l)
			delete(s.loops, u)
		}
	}
	for _, u := range active {
		if _, ok := s.loops[u]; !ok {
			l := s.m.newSendLoop(u, s.post(u))
			s.loops[u] = l
			l.run(&s.m.wg, s.ctx)
		}
	}
	s.dropped = dropped
	s.mu.Unlock()
	for _, l := range stale {
		l.stop()
	}
	s.m.updateDiscovered()
}

// targets are the URLs of the Alertmanagers of the discovered groups after
// relabeling, and of those relabeling dropped. s.mu is held.
func (s *amSet) targets() (active, dropped []string) {
	alertsPath := path.Join("/", s.cfg.PathPrefix, "/api/v2/alerts")
	lb := labels.NewBuilder(labels.EmptyLabels())
	providers := slices.Sorted(maps.Keys(s.groups))
	for _, p := range providers {
		for _, g := range s.groups[p] {
			for _, t := range g.Targets {
				lb.Reset(labels.EmptyLabels())
				for n, v := range g.Labels {
					lb.Set(string(n), string(v))
				}
				for n, v := range t {
					lb.Set(string(n), string(v))
				}
				lb.Set(model.SchemeLabel, s.cfg.Scheme)
				lb.Set(alertsPathLabel, alertsPath)
				pre := lb.Labels()
				if !relabel.ProcessBuilder(lb, s.cfg.RelabelConfigs...) {
					dropped = append(dropped, targetURL(pre))
					continue
				}
				u := targetURL(lb.Labels())
				if !slices.Contains(active, u) {
					active = append(active, u)
				}
			}
		}
	}
	slices.Sort(active)
	return active, dropped
}

func targetURL(l labels.Labels) string {
	return (&url.URL{Scheme: l.Get(model.SchemeLabel), Host: l.Get(model.AddressLabel), Path: l.Get(alertsPathLabel)}).String()
}

// send queues alerts, relabeled for this set, on its send loops.
func (s *amSet) send(alerts []*Alert) {
	if len(s.cfg.AlertRelabelConfigs) > 0 {
		alerts = relabelAlerts(s.cfg.AlertRelabelConfigs, labels.EmptyLabels(), alerts)
	}
	if len(alerts) == 0 {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, l := range s.loops {
		l.add(alerts...)
	}
}

func (s *amSet) urls() (active, dropped []string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for u := range s.loops {
		active = append(active, u)
	}
	slices.Sort(active)
	return active, slices.Clone(s.dropped)
}

// userAgent identifies argus to Alertmanagers.
const userAgent = "argus"

// post returns the function that posts a batch to the Alertmanager at u.
func (s *amSet) post(u string) func(context.Context, []*Alert) error {
	return func(ctx context.Context, alerts []*Alert) error {
		body, err := encode(alerts)
		if err != nil {
			return fmt.Errorf("encode alerts: %w", err)
		}
		ctx, cancel := context.WithTimeout(ctx, time.Duration(s.cfg.Timeout))
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", userAgent)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("bad response status %s: %s", resp.Status, strings.TrimSpace(string(msg)))
		}
		return nil
	}
}

// updateDiscovered sets the count of active Alertmanagers.
func (m *Manager) updateDiscovered() {
	active, _ := m.Alertmanagers()
	m.metrics.discovered.Set(float64(len(active)))
}
