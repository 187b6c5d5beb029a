package server

import (
	"fmt"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-mon/argus/internal/collector/node"
	"github.com/argus-mon/argus/internal/collector/process"
	"github.com/argus-mon/argus/internal/config"
)

// buildCollectors creates the gatherers of the built-in collectors. Each has
// a registry of its own: their metric names would clash in one registry (the
// process collector uses client_golang's process_* names with a group label).
func (s *Server) buildCollectors(cfg *config.Config) error {
	nodeReg := prometheus.NewRegistry()
	nodeReg.MustRegister(node.New(node.Options{Logger: s.logger.With("component", "collector", "collector", "node")}))
	s.collectors = map[string]prometheus.Gatherer{"argus": s.reg, "node": nodeReg}
	proc, err := s.processGatherer(cfg.Collectors.Process)
	if err != nil {
		return err
	}
	s.collectors["process"] = proc
	s.processCfg = cfg.Collectors.Process
	return nil
}

// processGatherer builds the process collector for its config section.
func (s *Server) processGatherer(pc config.ProcessCollector) (prometheus.Gatherer, error) {
	var groups []process.Matcher
	for _, g := range pc.Groups {
		m := process.Matcher{Name: g.Name, PIDFile: g.PIDFile, PerProcess: g.PerProcess}
		if g.Comm != "" {
			// The config matches the whole command name.
			re, err := regexp.Compile("^(?:" + g.Comm + ")$")
			if err != nil {
				return nil, fmt.Errorf("process group %q: comm: %w", g.Name, err)
			}
			m.Comm = re
		}
		if g.Cmdline != "" {
			re, err := regexp.Compile(g.Cmdline)
			if err != nil {
				return nil, fmt.Errorf("process group %q: cmdline: %w", g.Name, err)
			}
			m.Cmdline = re
		}
		groups = append(groups, m)
	}
	c, err := process.New(process.Options{Groups: groups, Logger: s.logger.With("component", "collector", "collector", "process")})
	if err != nil {
		return nil, fmt.Errorf("process collector: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	return reg, nil
}
