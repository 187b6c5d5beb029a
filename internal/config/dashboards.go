package config

import (
	"path/filepath"
	"regexp"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Dashboards is the dashboards section (argus only): where dashboards are
// provisioned from. Files are the source of truth: at start and on each
// reload argus loads every provider's directory, updates the dashboards
// whose file changed and deletes those whose file is gone.
type Dashboards struct {
	// Builtin provisions the dashboards embedded in argus (Host, Apps,
	// argus, Alerts, and that of each integration type configured) into
	// the folder "argus"; default true.
	Builtin bool `yaml:"builtin"`
	// Providers are directories of dashboard JSON files.
	Providers []*DashboardProvider `yaml:"providers,omitempty"`
}

// DashboardProvider is a directory of Grafana dashboard JSON files, as a
// Grafana file provider is.
type DashboardProvider struct {
	// Name identifies the provider; required and unique. Renaming one
	// re-creates its dashboards.
	Name string `yaml:"name"`
	// Folder is the title of the folder the dashboards go into (created if
	// missing); empty for the top level.
	Folder string `yaml:"folder,omitempty"`
	// Path is the directory; its *.json files are read, subdirectories
	// included. Relative to the config file.
	Path string `yaml:"path"`
	// AllowUIUpdates lets the API and the UI save and delete the
	// provider's dashboards; a change lasts until the file changes.
	AllowUIUpdates bool `yaml:"allow_ui_updates,omitempty"`
}

// DataSource is a Prometheus-API-compatible server dashboards can query
// (another argus, Prometheus, Thanos, Mimir, VictoriaMetrics), through
// argus's proxy so that its credentials stay on the server (argus only).
type DataSource struct {
	// Name is what dashboards and the UI show; required and unique.
	Name string `yaml:"name"`
	// UID is what dashboards refer to; default the name. "argus" is the
	// built-in source's.
	UID string `yaml:"uid,omitempty"`
	// URL is the server's base URL, the part before /api/v1.
	URL string `yaml:"url"`
	// Default makes it the source of panels that name none (instead of
	// the built-in one); at most one.
	Default bool `yaml:"default,omitempty"`
	// Timeout bounds one proxied request; default 1m.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// HTTPClientConfig is Prometheus's HTTP client settings: basic_auth,
	// authorization, oauth2, tls_config, proxy_url, ...
	HTTPClientConfig commoncfg.HTTPClientConfig `yaml:",inline"`
}

// DefaultDataSourceTimeout bounds a proxied request when the data source
// sets no timeout.
const DefaultDataSourceTimeout = model.Duration(60e9)

func defaultDashboards() Dashboards { return Dashboards{Builtin: true} }

func (d *DataSource) setDefaults() {
	d.HTTPClientConfig = commoncfg.DefaultHTTPClientConfig
	d.Timeout = DefaultDataSourceTimeout
}

// dataSourceUIDRE is what a data source uid may look like: it is a path
// segment of /api/datasources/proxy/uid/<uid>/.
var dataSourceUIDRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,40}$`)

func (d *Dashboards) setDirectory(dir string) {
	for _, p := range d.Providers {
		if p != nil {
			p.Path = commoncfg.JoinDir(dir, p.Path)
		}
	}
}

func (v *validator) dashboards(d *Dashboards) {
	names := map[string]string{}
	for i, p := range d.Providers {
		path := indexPath("dashboards.providers", i)
		if p == nil {
			v.errorf(path, "empty or null dashboard provider")
			continue
		}
		np := joinPath(path, "name")
		switch {
		case p.Name == "":
			v.errorf(np, "a dashboard provider needs a name")
		case p.Name == "builtin":
			v.errorf(np, "the provider name %q is taken by the built-in dashboards", p.Name)
		case names[p.Name] != "":
			v.errorf(np, "dashboard provider %q is defined twice, first at %s", p.Name, v.where(names[p.Name]))
		default:
			names[p.Name] = np
		}
		if p.Path == "" {
			v.errorf(path, "dashboard provider %q: path is required (a directory of dashboard JSON files)", p.Name)
		} else if !filepath.IsAbs(p.Path) && v.c.file == "" {
			// Relative paths are resolved against the config file; without
			// one they would depend on the working directory.
			v.errorf(joinPath(path, "path"), "dashboard provider %q: path %q must be absolute", p.Name, p.Path)
		}
	}
}

func (v *validator) dataSources() {
	seenName, seenUID := map[string]string{}, map[string]string{}
	defaults := 0
	for i, d := range v.c.DataSources {
		p := indexPath("datasources", i)
		if d == nil {
			v.errorf(p, "empty or null data source")
			continue
		}
		np := joinPath(p, "name")
		switch {
		case d.Name == "":
			v.errorf(np, "a data source needs a name")
		case seenName[d.Name] != "":
			v.errorf(np, "data source %q is defined twice, first at %s", d.Name, v.where(seenName[d.Name]))
		default:
			seenName[d.Name] = np
		}
		uid := d.UID
		if uid == "" {
			uid = d.Name
		}
		up := joinPath(p, "uid")
		if d.UID == "" {
			up = np
		}
		switch {
		case uid == "":
		case uid == "argus" || d.Name == "argus":
			v.errorf(up, "data source %q: the uid and name %q are the built-in data source's", d.Name, "argus")
		case !dataSourceUIDRE.MatchString(uid):
			v.errorf(up, "data source %q: uid %q may only hold letters, digits, '_', '.' and '-' (at most 40); set uid if the name has others", d.Name, uid)
		case seenUID[uid] != "":
			v.errorf(up, "data source %q: uid %q is taken, first at %s", d.Name, uid, v.where(seenUID[uid]))
		default:
			seenUID[uid] = up
		}
		v.httpURL(joinPath(p, "url"), d.URL)
		v.positive(joinPath(p, "timeout"), d.Timeout)
		v.httpClient(p, &d.HTTPClientConfig)
		if d.Default {
			defaults++
			if defaults == 2 {
				v.errorf(joinPath(p, "default"), "data source %q: only one data source can be the default", d.Name)
			}
		}
	}
}

// DataSourceUID returns the uid of d: its uid, or else its name.
func (d *DataSource) DataSourceUID() string {
	if d.UID != "" {
		return d.UID
	}
	return d.Name
}
