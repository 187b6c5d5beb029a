package discovery

import (
	"context"
	"fmt"

	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/config"
)

// Group is a set of targets sharing labels, as in Prometheus: each target is a
// label set with at least __address__; Labels apply to all of them.
type Group struct {
	// Source identifies the group within its provider (file name and index,
	// or the static config index), so updates can replace it.
	Source  string
	Targets []model.LabelSet
	Labels  model.LabelSet
}

// Provider sends the full current list of its groups on up, first once at
// start and then at every change, until ctx is done.
type Provider interface {
	Run(ctx context.Context, up chan<- []*Group)
}

// Static returns a provider for static_configs.
func Static(groups []config.TargetGroup) Provider {
	out := make([]*Group, 0, len(groups))
	for i, g := range groups {
		out = append(out, staticGroup(fmt.Sprint(i), g))
	}
	return staticProvider(out)
}

func staticGroup(source string, g config.TargetGroup) *Group {
	tg := &Group{Source: source, Labels: g.Labels}
	for _, t := range g.Targets {
		tg.Targets = append(tg.Targets, model.LabelSet{model.AddressLabel: model.LabelValue(t)})
	}
	return tg
}

type staticProvider []*Group

func (p staticProvider) Run(ctx context.Context, up chan<- []*Group) {
	select {
	case up <- p:
	case <-ctx.Done():
	}
}

// ForScrape returns the providers of a scrape job, with a prefix in each
// group's source naming the mechanism and its index.
func ForScrape(sc *config.Scrape, opts Options) []Provider {
	var ps []Provider
	if len(sc.StaticConfigs) > 0 {
		ps = append(ps, Static(sc.StaticConfigs))
	}
	for _, f := range sc.FileSDConfigs {
		ps = append(ps, File(f, opts))
	}
	for _, h := range sc.HTTPSDConfigs {
		ps = append(ps, HTTP(h, opts))
	}
	return ps
}
