package server

import (
	"fmt"
	"reflect"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/memcached"
	"github.com/argus-mon/argus/internal/integration/nginx"
	"github.com/argus-mon/argus/internal/integration/postgres"
	"github.com/argus-mon/argus/internal/integration/probe"
	"github.com/argus-mon/argus/internal/integration/rabbitmq"
	"github.com/argus-mon/argus/internal/integration/redis"
	"github.com/argus-mon/argus/internal/integration/uwsgi"
)

// integrationTypes are the constructors of the integration types, by the
// type names of the config (config.IntegrationTypes).
var integrationTypes = map[string]integration.NewFunc{
	"memcached": memcached.New,
	"postgres":  postgres.New,
	"rabbitmq":  rabbitmq.New,
	"redis":     redis.New,
	"nginx":     nginx.New,
	"uwsgi":     uwsgi.New,
	"probe":     probe.New,
}

// runningIntegration is an integration's instance and the config it was
// built from.
type runningIntegration struct {
	cfg  config.Integration
	inst *integration.Instance
}

// integrationSet is the integrations by name.
type integrationSet map[string]*runningIntegration

// buildIntegrations builds the instances of cfg's integrations, reusing
// those of old whose config is unchanged: they keep their connections, and
// their scrape loops, seeing the same gatherer, keep running. Instances
// connect only when gathered, so building one has no effect on its server.
func (s *Server) buildIntegrations(cfg *config.Config, old integrationSet) (integrationSet, error) {
	set := integrationSet{}
	for _, ic := range cfg.Integrations {
		if prev, ok := old[ic.Name]; ok && reflect.DeepEqual(prev.cfg, *ic) {
			set[ic.Name] = prev
			continue
		}
		newCollector, ok := integrationTypes[ic.Type]
		if !ok {
			set.closeAllBut(old)
			return nil, fmt.Errorf("integration %s: type %s is not built in", ic.Name, ic.Type)
		}
		inst, err := integration.New(ic, newCollector, s.logger.With("component", "integration"))
		if err != nil {
			set.closeAllBut(old)
			return nil, err
		}
		set[ic.Name] = &runningIntegration{cfg: *ic, inst: inst}
	}
	return set, nil
}

// closeAllBut closes the instances of set that are not in keep: those
// built for a config that is not applied after all, or those a new set no
// longer uses.
func (set integrationSet) closeAllBut(keep integrationSet) {
	for name, ri := range set {
		if kept, ok := keep[name]; ok && kept == ri {
			continue
		}
		// Closing idle connections fails only if they are broken already;
		// nothing is left to release then.
		_ = ri.inst.Close()
	}
}

// integrations returns the running integrations.
func (s *Server) integrations() integrationSet {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.integrationSet
}

// integrationJobs returns the scrape jobs of the integrations and their
// gatherers: each is a job named after it, scraping its
// /metrics/integrations/<name> endpoint on argus (where an outside
// Prometheus would), with instance set to the server's address.
func (s *Server) integrationJobs(cfg *config.Config, set integrationSet, local map[string]prometheus.Gatherer) []*config.Scrape {
	var jobs []*config.Scrape
	argusAddr := s.instanceAddr()
	for _, ic := range cfg.Integrations {
		ri, ok := set[ic.Name]
		if !ok {
			continue
		}
		job := cfg.BuiltinScrape(ic.Name, argusAddr, "/metrics/integrations/"+ic.Name, ic.Interval)
		job.ScrapeTimeout = ic.Timeout
		lbls := model.LabelSet{model.InstanceLabel: model.LabelValue(ic.Instance())}
		for n, v := range ic.Labels {
			lbls[n] = v
		}
		job.StaticConfigs[0].Labels = lbls
		jobs = append(jobs, job)
		local[ic.Name] = ri.inst
	}
	return jobs
}
