package config

import (
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"
)

// Alerting says where firing alerts are sent (prometheus.yml's alerting
// section).
type Alerting struct {
	// AlertRelabelConfigs rewrite alert labels before any alertmanager
	// sees them.
	AlertRelabelConfigs []*relabel.Config `yaml:"alert_relabel_configs,omitempty"`
	// Alertmanagers are the Alertmanager groups to notify.
	Alertmanagers []*Alertmanager `yaml:"alertmanagers,omitempty"`
}

// Alertmanager is one item of alerting.alertmanagers: a set of
// Alertmanager instances, found like scrape targets, and how to talk to
// them.
type Alertmanager struct {
	HTTPClientConfig commoncfg.HTTPClientConfig `yaml:",inline"`

	// Scheme is http (default) or https.
	Scheme string `yaml:"scheme"`
	// PathPrefix is prepended to the API path.
	PathPrefix string `yaml:"path_prefix,omitempty"`
	// Timeout bounds one push of alerts; default 10s.
	Timeout model.Duration `yaml:"timeout"`
	// APIVersion is the Alertmanager API version; only v2 exists now.
	APIVersion string `yaml:"api_version"`

	StaticConfigs []TargetGroup `yaml:"static_configs,omitempty"`
	FileSDConfigs []*FileSD     `yaml:"file_sd_configs,omitempty"`
	HTTPSDConfigs []*HTTPSD     `yaml:"http_sd_configs,omitempty"`

	// RelabelConfigs rewrite the discovered Alertmanager targets.
	RelabelConfigs []*relabel.Config `yaml:"relabel_configs,omitempty"`
	// AlertRelabelConfigs rewrite alerts sent to these Alertmanagers only.
	AlertRelabelConfigs []*relabel.Config `yaml:"alert_relabel_configs,omitempty"`
}

// AlertmanagerAPIv2 is the only Alertmanager API version Prometheus 3 (and
// argus) speaks.
const AlertmanagerAPIv2 = "v2"

func (a *Alertmanager) setDefaults() {
	*a = Alertmanager{
		HTTPClientConfig: commoncfg.DefaultHTTPClientConfig,
		Scheme:           "http",
		Timeout:          model.Duration(10 * time.Second),
		APIVersion:       AlertmanagerAPIv2,
	}
}

// rejectKey refuses the service discovery mechanisms argus lacks, and
// AWS request signing.
func (a *Alertmanager) rejectKey(key string) string {
	if key == "sigv4" {
		return notSupportedAuth
	}
	return rejectSD(key)
}

// notSupportedAuth explains why cloud-provider request signing keys are
// refused: implementing them would pull the cloud SDKs into argus.
const notSupportedAuth = "not supported by argus: use basic_auth, authorization or oauth2"
