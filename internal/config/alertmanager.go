package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	amconfig "github.com/prometheus/alertmanager/config"
	commoncfg "github.com/prometheus/common/config"
	"gopkg.in/yaml.v3"
)

// AlertmanagerSection is the config's alertmanager section: an
// alertmanager.yml as it is (global, route, inhibit_rules, receivers,
// templates, time_intervals), loaded by Alertmanager's own config package
// so that the schema, defaults and checks are exactly Alertmanager's.
type AlertmanagerSection struct {
	// Config is the loaded configuration; its String method gives the
	// text amtool's `config routes` reads back from /api/v2/status.
	Config *amconfig.Config
	// Original is the text Config was loaded from (the section re-encoded,
	// or the file), which the alert manager shows with secrets hidden.
	Original string
}

// UnmarshalYAML re-encodes the section and hands it to Alertmanager's
// loader: its types decode with yaml.v2 and check the whole tree (receivers
// named by routes exist, global settings inherited into receivers) only when
// loaded from the top.
func (a *AlertmanagerSection) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return errors.New("expected an alertmanager.yml mapping (route, receivers, ...)")
	}
	text, err := yaml.Marshal(n)
	if err != nil {
		return fmt.Errorf("re-encode the alertmanager section: %w", err)
	}
	cfg, err := amconfig.Load(string(text))
	if err != nil {
		return err
	}
	a.Config = cfg
	a.Original = string(text)
	return nil
}

// MarshalYAML returns the section as Alertmanager prints it, secrets hidden.
func (a AlertmanagerSection) MarshalYAML() (any, error) {
	if a.Config == nil {
		return nil, nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(a.Config.String()), &n); err != nil {
		return nil, fmt.Errorf("alertmanager section: %w", err)
	}
	if len(n.Content) == 0 {
		return nil, nil
	}
	return n.Content[0], nil
}

// LoadAlertmanagerFile loads a plain alertmanager.yml, as Alertmanager's
// --config.file does (argus's --alertmanager.config).
func LoadAlertmanagerFile(path string) (*AlertmanagerSection, error) {
	cfg, err := amconfig.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load alertmanager config %s: %w", path, err)
	}
	// The file was just read; reading it again for its text only races
	// with an edit, which the next reload picks up anyway.
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load alertmanager config %s: %w", path, err)
	}
	return &AlertmanagerSection{Config: cfg, Original: string(text)}, nil
}

// setDirectory makes the section's relative paths (templates, credential
// and TLS files of receivers) relative to dir, as Alertmanager's LoadFile
// does for its own file.
func (a *AlertmanagerSection) setDirectory(dir string) {
	if a == nil || a.Config == nil {
		return
	}
	c := a.Config
	for i, t := range c.Templates {
		if t != "" && !filepath.IsAbs(t) {
			c.Templates[i] = filepath.Join(dir, t)
		}
	}
	if c.Global != nil && c.Global.HTTPConfig != nil {
		c.Global.HTTPConfig.SetDirectory(dir)
	}
	// Every receiver type keeps its HTTP settings in a field HTTPConfig;
	// walking them by reflection keeps new receiver types covered.
	for _, r := range c.Receivers {
		rv := reflect.ValueOf(&r).Elem()
		for i := range rv.NumField() {
			f := rv.Field(i)
			if f.Kind() != reflect.Slice {
				continue
			}
			for j := range f.Len() {
				item := f.Index(j)
				if item.Kind() == reflect.Pointer {
					item = item.Elem()
				}
				if item.Kind() != reflect.Struct {
					continue
				}
				h := item.FieldByName("HTTPConfig")
				if !h.IsValid() || !h.CanInterface() {
					continue
				}
				if hc, ok := h.Interface().(*commoncfg.HTTPClientConfig); ok && hc != nil {
					hc.SetDirectory(dir)
				}
			}
		}
	}
}
