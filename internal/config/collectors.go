package config

import (
	"regexp"

	"github.com/prometheus/common/model"
)

// Collectors configures argus's built-in collectors (an argus-only section).
// Each runs as an ordinary scrape job named after it (job="node" and so on),
// stored without an HTTP round trip and also served at /metrics/<name>. All
// are on by default, so argus monitors its host and itself with no config.
type Collectors struct {
	// Argus is argus's own metrics (job "argus").
	Argus Collector `yaml:"argus"`
	// Node is host metrics with node_exporter's names (job "node").
	Node Collector `yaml:"node"`
	// Process is per-process metrics of argus and selected processes
	// (job "process").
	Process ProcessCollector `yaml:"process"`
}

// Collector holds the settings every built-in collector has.
type Collector struct {
	// Enabled switches the collector on; default true.
	Enabled bool `yaml:"enabled"`
	// ScrapeInterval defaults to global.scrape_interval.
	ScrapeInterval model.Duration `yaml:"scrape_interval,omitempty"`
}

// ProcessCollector configures the process collector.
type ProcessCollector struct {
	Collector `yaml:",inline"`
	// Groups select processes to report besides argus itself.
	Groups []ProcessGroup `yaml:"groups,omitempty"`
}

// ProcessGroup selects processes by command name, command line or pid file;
// a process meeting every given criterion belongs to the group (so a pid file
// and a command name together do not pick up a reused pid). A process belongs
// to the first group it matches; argus itself is always the group "argus".
type ProcessGroup struct {
	// Name is the value of the group label; required and unique.
	Name string `yaml:"name"`
	// Comm is a regular expression matched against the whole command name
	// (/proc/PID/comm).
	Comm string `yaml:"comm,omitempty"`
	// Cmdline is a regular expression matched against the command line,
	// arguments joined by spaces (unanchored).
	Cmdline string `yaml:"cmdline,omitempty"`
	// PIDFile names a file holding the pid of the process.
	PIDFile string `yaml:"pid_file,omitempty"`
	// PerProcess reports each process with a pid label instead of sums over
	// the group; pids change, so use it only for a few long-lived processes.
	PerProcess bool `yaml:"per_process,omitempty"`
}

func defaultCollectors() Collectors {
	on := Collector{Enabled: true}
	return Collectors{Argus: on, Node: on, Process: ProcessCollector{Collector: on}}
}

func (v *validator) collectors(c *Collectors) {
	seen := map[string]int{}
	for i, g := range c.Process.Groups {
		path := func(key string) string { return indexPath("collectors.process.groups", i) + "." + key }
		switch {
		case g.Name == "":
			v.errorf(path("name"), "a process group needs a name")
		case g.Name == "argus":
			v.errorf(path("name"), "the group name %q is taken by argus itself", g.Name)
		case seen[g.Name] > 0:
			v.errorf(path("name"), "process group %q is defined twice", g.Name)
		}
		seen[g.Name]++
		if g.Comm == "" && g.Cmdline == "" && g.PIDFile == "" {
			v.errorf(path("name"), "process group %q selects nothing: set comm, cmdline or pid_file", g.Name)
		}
		for key, re := range map[string]string{"comm": g.Comm, "cmdline": g.Cmdline} {
			if _, err := regexp.Compile(re); err != nil {
				v.errorf(path(key), "invalid regular expression: %v", err)
			}
		}
	}
}

// BuiltinScrape returns the scrape job of a built-in collector: a job named
// name scraping path on target, with the global defaults like any job in the
// file, and interval if non-zero.
func (c *Config) BuiltinScrape(name, target, path string, interval model.Duration) *Scrape {
	s := &Scrape{}
	s.setDefaults()
	s.JobName = name
	s.MetricsPath = path
	s.ScrapeInterval = interval
	s.StaticConfigs = []TargetGroup{{Targets: []string{target}}}
	s.inherit(&c.Global)
	return s
}
