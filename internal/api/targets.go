package api

import (
	"cmp"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-mon/argus/internal/scrape"
)

// TargetSource is the scrape manager as the API sees it. Targets returns the
// active and dropped targets of every scrape pool, sorted by pool name; the
// targets' state methods may be called concurrently with scraping.
type TargetSource interface {
	Targets() []scrape.TargetGroups
}

// Target is an active target as /api/v1/targets shows it.
type Target struct {
	DiscoveredLabels   labels.Labels `json:"discoveredLabels"`
	Labels             labels.Labels `json:"labels"`
	ScrapePool         string        `json:"scrapePool"`
	ScrapeURL          string        `json:"scrapeUrl"`
	GlobalURL          string        `json:"globalUrl"`
	LastError          string        `json:"lastError"`
	LastScrape         time.Time     `json:"lastScrape"`
	LastScrapeDuration float64       `json:"lastScrapeDuration"`
	Health             scrape.Health `json:"health"`
	ScrapeInterval     string        `json:"scrapeInterval"`
	ScrapeTimeout      string        `json:"scrapeTimeout"`
}

// DroppedTarget is a target relabeling dropped.
type DroppedTarget struct {
	DiscoveredLabels labels.Labels `json:"discoveredLabels"`
	ScrapePool       string        `json:"scrapePool"`
}

// TargetDiscovery is the answer of /api/v1/targets.
type TargetDiscovery struct {
	ActiveTargets       []*Target        `json:"activeTargets"`
	DroppedTargets      []*DroppedTarget `json:"droppedTargets"`
	DroppedTargetCounts map[string]int   `json:"droppedTargetCounts"`
}

// GlobalURLOptions say how a target on this host is reached from elsewhere:
// the address argus listens on, and the host (with port) and scheme of its
// external URL.
type GlobalURLOptions struct {
	ListenAddress string
	Host          string
	Scheme        string
}

func (a *API) targetGroups() []scrape.TargetGroups {
	if a.opts.Targets == nil {
		return nil
	}
	return a.opts.Targets.Targets()
}

// targets answers /api/v1/targets: state=active|dropped|any and scrapePool
// filter it.
func (a *API) targets(r *http.Request) result {
	q := r.URL.Query()
	pool := q.Get("scrapePool")
	state := strings.ToLower(q.Get("state"))
	showActive := state == "" || state == "any" || state == "active"
	showDropped := state == "" || state == "any" || state == "dropped"
	res := &TargetDiscovery{ActiveTargets: []*Target{}, DroppedTargets: []*DroppedTarget{}}
	if showDropped {
		res.DroppedTargetCounts = map[string]int{}
	}
	for _, g := range a.targetGroups() {
		if showDropped {
			// Counted for every pool, as Prometheus does, whatever the filter.
			res.DroppedTargetCounts[g.Job] = len(g.Dropped)
		}
		if pool != "" && g.Job != pool {
			continue
		}
		if showActive {
			for _, t := range g.Active {
				res.ActiveTargets = append(res.ActiveTargets, a.target(t))
			}
		}
		if showDropped {
			for _, t := range g.Dropped {
				res.DroppedTargets = append(res.DroppedTargets, &DroppedTarget{DiscoveredLabels: t.Discovered, ScrapePool: t.ScrapePool})
			}
		}
	}
	return result{data: res}
}

func (a *API) target(t *scrape.Target) *Target {
	st := t.State()
	u := t.URL()
	global, err := globalURL(*u, a.opts.GlobalURL)
	lastErr := st.LastError
	if err != nil {
		// As Prometheus: the target still shows, with the reason its global
		// URL is wrong added to its error.
		if lastErr != "" {
			lastErr += ": "
		}
		lastErr += err.Error()
	}
	return &Target{
		DiscoveredLabels:   t.Discovered,
		Labels:             t.PublicLabels(),
		ScrapePool:         t.ScrapePool,
		ScrapeURL:          u.String(),
		GlobalURL:          global.String(),
		LastError:          lastErr,
		LastScrape:         st.LastScrape,
		LastScrapeDuration: st.LastScrapeTime.Seconds(),
		Health:             st.Health,
		ScrapeInterval:     t.Labels.Get(model.ScrapeIntervalLabel),
		ScrapeTimeout:      t.Labels.Get(model.ScrapeTimeoutLabel),
	}
}

// localhostNames are the host names that mean "this machine".
var localhostNames = []string{"127.0.0.1", "localhost", "::1"}

// globalURL rewrites a target URL on localhost so that it is reachable from
// elsewhere, as Prometheus does: argus's own port gets the external host and
// scheme; another port gets the external host name with its own port.
func globalURL(u url.URL, opts GlobalURLOptions) (*url.URL, error) {
	host, port, err := splitHostPort(u.Host)
	if err != nil {
		return &u, err
	}
	if !slices.Contains(localhostNames, host) {
		return &u, nil
	}
	_, ownPort, err := net.SplitHostPort(opts.ListenAddress)
	if err != nil {
		return &u, err
	}
	if port == ownPort {
		u.Scheme, u.Host = opts.Scheme, opts.Host
		return &u, nil
	}
	extHost, _, err := splitHostPort(opts.Host)
	if err != nil {
		return &u, err
	}
	u.Host = extHost
	if port != "" {
		u.Host = net.JoinHostPort(extHost, port)
	}
	return &u, nil
}

// splitHostPort is net.SplitHostPort that also accepts a host without port.
func splitHostPort(s string) (string, string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil && strings.HasSuffix(err.Error(), "missing port in address") {
		var err2 error
		host, _, err2 = net.SplitHostPort(s + ":80")
		if err2 == nil {
			return host, "", nil
		}
	}
	return host, port, err
}

// scrapePools answers /api/v1/scrape_pools.
func (a *API) scrapePools(*http.Request) result {
	names := []string{}
	for _, g := range a.targetGroups() {
		names = append(names, g.Job)
	}
	slices.Sort(names)
	return result{data: map[string][]string{"scrapePools": names}}
}

// Metadata is one metric family's metadata as the API shows it.
type Metadata struct {
	Type model.MetricType `json:"type"`
	Help string           `json:"help"`
	Unit string           `json:"unit"`
}

// targetMetadata is an entry of /api/v1/targets/metadata.
type targetMetadata struct {
	Target labels.Labels    `json:"target"`
	Metric string           `json:"metric,omitempty"`
	Type   model.MetricType `json:"type"`
	Help   string           `json:"help"`
	Unit   string           `json:"unit"`
}

// numberParam reads an optional integer parameter; -1 when absent. The error
// is Prometheus's "limit must be a number".
func numberParam(r *http.Request, name string) (int, error) {
	s := r.FormValue(name)
	if s == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errors.New(name + " must be a number")
	}
	return n, nil
}

// sortedFamilies returns a target's metadata sorted by family name.
func sortedFamilies(t *scrape.Target) []string {
	md := t.Metadata()
	names := make([]string, 0, len(md))
	for name := range md {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// targetMetadata answers /api/v1/targets/metadata: match_target selects
// targets by their labels, metric one family, limit caps the entries.
func (a *API) targetMetadata(r *http.Request) result {
	limit, err := numberParam(r, "limit")
	if err != nil {
		return errResult(errorBadData, err)
	}
	var matchers []*labels.Matcher
	if s := r.FormValue("match_target"); s != "" {
		if matchers, err = a.parser.ParseMetricSelector(s); err != nil {
			return invalidParam(err, "match_target")
		}
	}
	metric := r.FormValue("metric")
	out := []targetMetadata{}
	for _, g := range a.targetGroups() {
		for _, t := range g.Active {
			if limit >= 0 && len(out) >= limit {
				return result{data: out}
			}
			tl := t.PublicLabels()
			if !matchAll(tl, matchers) {
				continue
			}
			md := t.Metadata()
			if metric != "" {
				if m, ok := md[metric]; ok {
					out = append(out, targetMetadata{Target: tl, Type: m.Type, Help: m.Help, Unit: m.Unit})
				}
				continue
			}
			for _, name := range sortedFamilies(t) {
				m := md[name]
				out = append(out, targetMetadata{Target: tl, Metric: name, Type: m.Type, Help: m.Help, Unit: m.Unit})
			}
		}
	}
	return result{data: out}
}

func matchAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// metricMetadata answers /api/v1/metadata: the distinct metadata of each
// metric family over all targets. limit caps the families, limit_per_metric
// the entries per family, metric selects one family.
func (a *API) metricMetadata(r *http.Request) result {
	limit, err := numberParam(r, "limit")
	if err != nil {
		return errResult(errorBadData, err)
	}
	perMetric, err := numberParam(r, "limit_per_metric")
	if err != nil {
		return errResult(errorBadData, err)
	}
	metric := r.FormValue("metric")
	families := map[string][]Metadata{}
	add := func(name string, m scrape.Metadata) {
		md := Metadata{Type: m.Type, Help: m.Help, Unit: m.Unit}
		list := families[name]
		if slices.Contains(list, md) || perMetric > 0 && len(list) >= perMetric {
			return
		}
		families[name] = append(list, md)
	}
	for _, g := range a.targetGroups() {
		for _, t := range g.Active {
			md := t.Metadata()
			if metric != "" {
				if m, ok := md[metric]; ok {
					add(metric, m)
				}
				continue
			}
			for _, name := range sortedFamilies(t) {
				add(name, md[name])
			}
		}
	}
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	slices.Sort(names)
	out := map[string][]Metadata{}
	for _, name := range names {
		if limit >= 0 && len(out) >= limit {
			break
		}
		list := families[name]
		slices.SortFunc(list, func(a, b Metadata) int {
			return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Help, b.Help), cmp.Compare(a.Unit, b.Unit))
		})
		out[name] = list
	}
	return result{data: out}
}
