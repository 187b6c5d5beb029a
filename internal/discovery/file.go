package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/argus-mon/argus/internal/config"
)

// Options tune providers. Zero values mean the defaults.
type Options struct {
	// Logger receives discovery errors; nil discards.
	Logger *slog.Logger
	// Poll is how often file_sd files are checked for changes (their names,
	// sizes and modification times). Default 1s, so an edited or dropped-in
	// file takes effect within a second or two, as with Prometheus's file
	// watcher, without one more dependency.
	Poll time.Duration
}

func (o Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// fileGroup is the on-disk form of a target group (JSON or YAML).
type fileGroup struct {
	Targets []string       `json:"targets" yaml:"targets"`
	Labels  model.LabelSet `json:"labels" yaml:"labels"`
}

// metaFilepath is the label file_sd puts on its groups, as in Prometheus.
const metaFilepath = model.MetaLabelPrefix + "filepath"

// maxFileBytes bounds a file_sd file, which is read whole.
const maxFileBytes = 64 << 20

type fileProvider struct {
	cfg  *config.FileSD
	opts Options
	// groups holds the last good groups of each file, kept when a file
	// becomes unreadable or invalid.
	groups map[string][]*Group
	stamps map[string]fileStamp
}

type fileStamp struct {
	size    int64
	modTime time.Time
}

// File returns a provider for one file_sd_configs item.
func File(cfg *config.FileSD, opts Options) Provider {
	return &fileProvider{cfg: cfg, opts: opts, groups: map[string][]*Group{}, stamps: map[string]fileStamp{}}
}

func (p *fileProvider) Run(ctx context.Context, up chan<- []*Group) {
	poll := p.opts.Poll
	if poll <= 0 {
		poll = time.Second
	}
	refresh := time.Duration(p.cfg.RefreshInterval)
	lastFull := time.Now()
	p.scan(true)
	if !send(ctx, up, p.all()) {
		return
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			full := refresh > 0 && now.Sub(lastFull) >= refresh
			if full {
				lastFull = now
			}
			if p.scan(full) && !send(ctx, up, p.all()) {
				return
			}
		}
	}
}

func send(ctx context.Context, up chan<- []*Group, gs []*Group) bool {
	select {
	case up <- gs:
		return true
	case <-ctx.Done():
		return false
	}
}

// scan re-reads files that appeared, changed or (with full) all of them, and
// forgets removed ones. It reports whether the groups changed.
func (p *fileProvider) scan(full bool) bool {
	log := p.opts.logger()
	seen := map[string]bool{}
	changed := false
	for _, pattern := range p.cfg.Files {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			log.Error("Invalid file_sd pattern", "pattern", pattern, "err", err)
			continue
		}
		for _, path := range matches {
			seen[path] = true
			st, err := os.Stat(path)
			if err != nil {
				continue // Removed between the glob and the stat.
			}
			stamp := fileStamp{size: st.Size(), modTime: st.ModTime()}
			if old, ok := p.stamps[path]; ok && old == stamp && !full {
				continue
			}
			p.stamps[path] = stamp
			groups, err := readFileGroups(path)
			if err != nil {
				// Keep the last good targets of this file, as Prometheus does.
				log.Error("Reading file_sd file failed; keeping its previous targets", "file", path, "err", err)
				continue
			}
			if !sameGroups(p.groups[path], groups) {
				p.groups[path] = groups
				changed = true
			}
		}
	}
	for path := range p.groups {
		if !seen[path] {
			delete(p.groups, path)
			delete(p.stamps, path)
			changed = true
		}
	}
	return changed
}

func (p *fileProvider) all() []*Group {
	paths := make([]string, 0, len(p.groups))
	for path := range p.groups {
		paths = append(paths, path)
	}
	slices.Sort(paths)
	var out []*Group
	for _, path := range paths {
		out = append(out, p.groups[path]...)
	}
	if out == nil {
		out = []*Group{}
	}
	return out
}

// readFileGroups parses a file_sd file by its extension.
func readFileGroups(path string) ([]*Group, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxFileBytes {
		return nil, fmt.Errorf("file is larger than %d bytes", maxFileBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fgs []fileGroup
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json":
		err = json.Unmarshal(data, &fgs)
	case ".yml", ".yaml":
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err = dec.Decode(&fgs); err != nil && err.Error() == "EOF" {
			err = nil // An empty file has no targets.
		}
	default:
		return nil, fmt.Errorf("unsupported file extension %q: want .json, .yml or .yaml", ext)
	}
	if err != nil {
		return nil, err
	}
	return toGroups(path, fgs, metaFilepath, path)
}

// toGroups validates parsed groups and adds the meta label.
func toGroups(source string, fgs []fileGroup, metaName model.LabelName, metaValue string) ([]*Group, error) {
	out := make([]*Group, 0, len(fgs))
	for i, fg := range fgs {
		g := &Group{Source: fmt.Sprintf("%s:%d", source, i), Labels: model.LabelSet{}}
		for n, v := range fg.Labels {
			if !n.IsValid() {
				return nil, fmt.Errorf("group %d: invalid label name %q", i, n)
			}
			if !v.IsValid() {
				return nil, fmt.Errorf("group %d: invalid value for label %q", i, n)
			}
			g.Labels[n] = v
		}
		g.Labels[metaName] = model.LabelValue(metaValue)
		for _, t := range fg.Targets {
			if t == "" {
				return nil, fmt.Errorf("group %d: empty target", i)
			}
			g.Targets = append(g.Targets, model.LabelSet{model.AddressLabel: model.LabelValue(t)})
		}
		out = append(out, g)
	}
	return out, nil
}

func sameGroups(a, b []*Group) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Source != b[i].Source || !a[i].Labels.Equal(b[i].Labels) || len(a[i].Targets) != len(b[i].Targets) {
			return false
		}
		for j := range a[i].Targets {
			if !a[i].Targets[j].Equal(b[i].Targets[j]) {
				return false
			}
		}
	}
	return true
}
