package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Config is the whole argus configuration: one YAML file whose top-level
// keys are those of Prometheus's prometheus.yml, so that any prometheus.yml
// loads unchanged.
//
// Get one from Parse or LoadFile, which apply defaults, inherit global
// settings into scrape jobs and validate; or from Default. Each component
// is handed only its own section.
type Config struct {
	Global            Global         `yaml:"global"`
	Runtime           Runtime        `yaml:"runtime"`
	RuleFiles         []string       `yaml:"rule_files,omitempty"`
	ScrapeConfigFiles []string       `yaml:"scrape_config_files,omitempty"`
	ScrapeConfigs     []*Scrape      `yaml:"scrape_configs,omitempty"`
	Alerting          Alerting       `yaml:"alerting,omitempty"`
	RemoteWrite       []*RemoteWrite `yaml:"remote_write,omitempty"`
	RemoteRead        []*RemoteRead  `yaml:"remote_read,omitempty"`
	Storage           Storage        `yaml:"storage"`
	Tracing           Tracing        `yaml:"tracing,omitempty"`
	OTLP              OTLP           `yaml:"otlp"`

	// Collectors configures the built-in collectors (argus only).
	Collectors Collectors `yaml:"collectors"`

	// Integrations are the servers argus reads metrics from in their own
	// protocol, without an exporter (argus only).
	Integrations []*Integration `yaml:"integrations,omitempty"`
	// Probe says where the black-box probe modules come from (argus
	// only).
	Probe Probe `yaml:"probe,omitempty"`

	// Alertmanager is an alertmanager.yml, in Alertmanager's schema; nil
	// runs no alert manager (argus only).
	Alertmanager *AlertmanagerSection `yaml:"alertmanager,omitempty"`

	// Apps are the HTTP apps the app host runs (argus only).
	Apps []*App `yaml:"apps,omitempty"`
	// AppsDir is a directory of drop-in app files, one app per *.yml or
	// *.yaml file, watched while argus runs (argus only). Its files are not
	// read by LoadFile: a bad one is the app host's to report, and it does
	// not stop the other apps.
	AppsDir string `yaml:"apps_dir,omitempty"`
	// AppsFront is the shared front port serving the apps that have a
	// host or path_prefix route; nil for none (argus only).
	AppsFront *AppsFront `yaml:"apps_front,omitempty"`

	// Dashboards is where dashboards are provisioned from (argus only).
	Dashboards Dashboards `yaml:"dashboards"`
	// DataSources are Prometheus-API-compatible servers dashboards can
	// query besides argus itself (argus only).
	DataSources []*DataSource `yaml:"datasources,omitempty"`

	// State is the SQL state store (argus only).
	State State `yaml:"state"`
	// Auth is access control (argus only).
	Auth Auth `yaml:"auth"`

	// To add a top-level section: add a field here with its yaml tag, set
	// its defaults in Default (or give its type a setDefaults method if it
	// is a list of mappings), check it in Validate, and add good and bad
	// fixtures under testdata. The decoder needs no change.

	file string    // the file Parse or LoadFile read, for error messages
	pos  positions // where each key path was written
}

// Default returns the configuration argus runs with when there is no config
// file: Prometheus's defaults, no scrape jobs.
func Default() *Config {
	c := defaults("")
	c.complete()
	return c
}

// defaults returns the defaults before derived values are filled in: the
// starting point the decoder writes the file's keys over.
func defaults(filename string) *Config {
	return &Config{
		Global:  defaultGlobal(),
		Runtime: defaultRuntime(),
		Storage: defaultStorage(),
		Tracing: Tracing{ClientType: TracingGRPC},
		OTLP:    defaultOTLP(),
		file:    filename,

		Collectors: defaultCollectors(),
		Dashboards: defaultDashboards(),
		State:      defaultState(),
		Auth:       defaultAuth(),
	}
}

// Parse decodes and validates a config from data. filename is used only in
// error messages. Parse applies defaults and inherits global settings into
// scrape jobs. Unlike LoadFile it reads no other file: relative paths stay
// relative and scrape_config_files are not expanded.
//
// Values in global.external_labels have ${VAR} and $VAR replaced from the
// environment, as Prometheus 3 does; write $$ for a literal $.
//
// An empty document yields Default().
func Parse(data []byte, filename string) (*Config, error) {
	ld := newLoader(filename)
	ld.decodeMain(data)
	return ld.finish()
}

// expandExternalLabels replaces environment variable references in
// external label values, as Prometheus does since 3.0.
func (c *Config) expandExternalLabels() {
	for name, value := range c.Global.ExternalLabels {
		c.Global.ExternalLabels[name] = model.LabelValue(expandEnv(string(value)))
	}
}

// complete fills in values that derive from others: zero durations and
// limits take the global value, validation and escaping schemes are
// resolved, and so on. It is idempotent.
func (c *Config) complete() {
	c.Global.complete()
	c.Runtime.complete()
	for _, s := range c.ScrapeConfigs {
		if s != nil {
			s.inherit(&c.Global)
		}
	}
	if c.Probe.Modules == nil && c.Probe.ConfigFile == "" {
		c.Probe.Modules = BuiltinProbeModules()
	}
	for _, in := range c.Integrations {
		if in != nil {
			in.inherit(&c.Global)
			in.resolveProbeModule(c.Probe.Modules)
		}
	}
	for _, a := range c.Apps {
		if a != nil {
			a.file = c.file
			a.completeRoute()
		}
	}
}

// inheritFilePaths gives scrape jobs the global scrape_failure_log_file.
// It runs after relative paths are resolved, because the global path is
// relative to the main file while a job may come from another file.
func (c *Config) inheritFilePaths() {
	for _, s := range c.ScrapeConfigs {
		if s != nil && s.ScrapeFailureLogFile == "" {
			s.ScrapeFailureLogFile = c.Global.ScrapeFailureLogFile
		}
	}
}

// Marshal returns c as YAML, with secrets replaced by <secret> and URL
// passwords by xxxxx. Scrape jobs merged in from scrape_config_files are
// left out, as they are still listed by scrape_config_files, so the output
// loads back into the same configuration.
func (c *Config) Marshal() ([]byte, error) {
	out := *c
	// External label values were expanded from the environment; escape
	// their $ so that loading the output does not expand them again.
	if c.Global.ExternalLabels != nil {
		out.Global.ExternalLabels = make(model.LabelSet, len(c.Global.ExternalLabels))
		for name, value := range c.Global.ExternalLabels {
			out.Global.ExternalLabels[name] = model.LabelValue(strings.ReplaceAll(string(value), "$", "$$"))
		}
	}
	out.ScrapeConfigs = nil
	for _, s := range c.ScrapeConfigs {
		if s == nil || s.file == "" {
			out.ScrapeConfigs = append(out.ScrapeConfigs, s)
		}
	}
	return yaml.Marshal(&out)
}

// String returns c as YAML, like Marshal.
func (c *Config) String() string {
	b, err := c.Marshal()
	if err != nil {
		return fmt.Sprintf("<error marshalling config: %v>", err)
	}
	return string(b)
}

// expandEnv expands $VAR and ${VAR} from the environment; $$ stays a
// literal $.
func expandEnv(s string) string {
	return os.Expand(s, func(name string) string {
		if name == "$" {
			return "$"
		}
		return os.Getenv(name)
	})
}
