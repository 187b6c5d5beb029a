package apphost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-mon/argus/internal/config"
)

// Options configure a Host. Zero durations take the defaults given.
type Options struct {
	// LogDir is where each app's log file, <app>.log, is written; required.
	LogDir string
	// Logger receives the supervisor's events; nil discards.
	Logger *slog.Logger
	// Registerer receives the argus_app_* metrics; nil registers none.
	Registerer prometheus.Registerer
	// ReservedAddrs are listen addresses taken by argus itself; an app
	// asking for one of their ports is refused.
	ReservedAddrs []string
	// PollInterval is how often the drop-in directory is checked for
	// changes; default 2s.
	PollInterval time.Duration
	// MinBackoff is the wait before restarting a worker that exited;
	// default 500ms. It doubles with each restart up to MaxBackoff
	// (default 30s), and starts over once a worker has run StableAfter
	// (default 10s).
	MinBackoff, MaxBackoff, StableAfter time.Duration
	// RecycleCheckInterval is how often the resident memory of the
	// workers of an app with max_rss is checked; default 1s.
	RecycleCheckInterval time.Duration
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PollInterval, 2*time.Second)
	def(&o.MinBackoff, 500*time.Millisecond)
	def(&o.MaxBackoff, 30*time.Second)
	def(&o.StableAfter, 10*time.Second)
	def(&o.RecycleCheckInterval, time.Second)
}

// Host runs the apps. See the package documentation.
type Host struct {
	opts    Options
	logger  *slog.Logger
	metrics *metrics
	kick    chan struct{} // Update asks Run to reconcile

	mu       sync.Mutex
	cfgApps  []*config.App      // the apps section, from Update
	dir      string             // the drop-in directory, from Update
	files    map[string]*dropIn // by path
	dirErr   error              // why the drop-in directory could not be read
	apps     map[string]*app    // running, by name
	problems []error            // as of the last reconcile
	retry    bool               // an app failed to start; try again at the next poll
	stopping sync.WaitGroup     // apps being stopped
}

// dropIn is one file of the drop-in directory as last read.
type dropIn struct {
	modTime time.Time
	size    int64
	app     *config.App // the last version that loaded; nil if none did
	err     error       // why the current version does not load
}

// New returns a Host that runs nothing until Update and Run.
func New(opts Options) *Host {
	opts.setDefaults()
	h := &Host{
		opts:   opts,
		logger: opts.Logger,
		kick:   make(chan struct{}, 1),
		files:  map[string]*dropIn{},
		apps:   map[string]*app{},
	}
	h.metrics = newMetrics(opts.Registerer, h)
	return h
}

// Update sets the apps of the config file and the drop-in directory ("" for
// none). Run applies them: apps that are new start, changed ones are
// reloaded without failing requests, missing ones stop, others are left
// alone. Update may be called before Run and at any time while it runs.
func (h *Host) Update(apps []*config.App, dir string) {
	h.mu.Lock()
	h.cfgApps, h.dir = apps, dir
	h.mu.Unlock()
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// Run runs the apps until ctx ends, then stops them all and returns once
// every worker process has exited. It polls the drop-in directory.
func (h *Host) Run(ctx context.Context) error {
	t := time.NewTicker(h.opts.PollInterval)
	defer t.Stop()
	h.sync(true)
	for {
		select {
		case <-ctx.Done():
			h.stopAll()
			return nil
		case <-h.kick:
			h.sync(true)
		case <-t.C:
			h.sync(false)
		}
	}
}

// sync reads the drop-in directory and, if anything changed (or force),
// brings the running apps in line.
func (h *Host) sync(force bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if changed := h.scan(); changed || force || h.retry {
		h.reconcile()
	}
}

// scan re-reads the drop-in files whose size or modification time changed
// and forgets removed ones. h.mu is held.
func (h *Host) scan() bool {
	seen := map[string]bool{}
	changed := false
	var dirErr error
	if h.dir != "" {
		ents, err := os.ReadDir(h.dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			// Keep what runs: a directory we cannot read now is more
			// likely a passing problem than a wish to stop every app.
			h.setDirErr(fmt.Errorf("apps_dir: %w", err))
			return false
		}
		if err != nil {
			dirErr = fmt.Errorf("apps_dir: %w", err)
		}
		for _, e := range ents {
			if e.IsDir() || !config.IsAppFile(e.Name()) {
				continue
			}
			path := filepath.Join(h.dir, e.Name())
			fi, err := os.Stat(path)
			if err != nil || fi.IsDir() {
				continue // removed since ReadDir, or a dangling link
			}
			seen[path] = true
			d := h.files[path]
			if d != nil && d.modTime.Equal(fi.ModTime()) && d.size == fi.Size() {
				continue
			}
			if d == nil {
				d = &dropIn{}
				h.files[path] = d
			}
			d.modTime, d.size = fi.ModTime(), fi.Size()
			if a, err := config.LoadAppFile(path); err != nil {
				d.err = err
			} else {
				d.app, d.err = a, nil
			}
			changed = true
		}
	}
	for path := range h.files {
		if !seen[path] {
			delete(h.files, path)
			changed = true
		}
	}
	if h.setDirErr(dirErr) {
		changed = true
	}
	return changed
}

func (h *Host) setDirErr(err error) bool {
	changed := fmt.Sprint(err) != fmt.Sprint(h.dirErr)
	h.dirErr = err
	return changed
}

// reconcile starts, reloads and stops apps to match the config and the
// drop-in files. h.mu is held.
func (h *Host) reconcile() {
	desired, problems := h.desired()
	want := map[string]*config.App{}
	for _, a := range desired {
		want[a.Name] = a
	}
	// Stop first, so that a port an app gives up is free for another.
	for name, a := range h.apps {
		if w := want[name]; w == nil || w.Listen != a.asked().Listen {
			h.stopApp(name, a)
		}
	}
	h.retry = false
	for _, spec := range desired {
		if a := h.apps[spec.Name]; a != nil {
			if !reflect.DeepEqual(a.asked(), spec) {
				h.logger.Info("Reloading app", "app", spec.Name, "file", spec.File())
				a.update(spec)
			}
			continue
		}
		logger := h.logger.With("app", spec.Name)
		a, err := newApp(spec, logger, h.metrics, &h.opts)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: app %q: %w", source(spec), spec.Name, err))
			h.retry = true
			continue
		}
		h.apps[spec.Name] = a
		a.start()
		logger.Info("Started app", "listen", spec.Listen, "workers", spec.Workers, "file", spec.File())
	}
	h.setProblems(problems)
}

// stopApp stops a running app in the background. h.mu is held.
func (h *Host) stopApp(name string, a *app) {
	h.logger.Info("Stopping app", "app", name)
	delete(h.apps, name)
	a.stop()
	h.stopping.Go(func() {
		<-a.done
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.apps[name] == nil {
			h.metrics.forget(name)
		}
		h.logger.Info("Stopped app", "app", name)
	})
}

func (h *Host) stopAll() {
	h.mu.Lock()
	for name, a := range h.apps {
		h.stopApp(name, a)
	}
	h.mu.Unlock()
	h.stopping.Wait()
}

// desired returns the apps to run: the config file's, then the drop-in
// files' in file name order, leaving out (as problems) any whose name or
// listen port an earlier one has. A running app keeps its name and port
// against newcomers, so adding a file never stops an app that runs.
// h.mu is held.
func (h *Host) desired() ([]*config.App, []error) {
	var problems []error
	if h.dirErr != nil {
		problems = append(problems, h.dirErr)
	}
	cands := append([]*config.App(nil), h.cfgApps...)
	paths := make([]string, 0, len(h.files))
	for p := range h.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		d := h.files[p]
		if d.err != nil {
			if d.app != nil {
				problems = append(problems, fmt.Errorf("%w (the app keeps running as it was)", d.err))
			} else {
				problems = append(problems, d.err)
			}
		}
		if d.app != nil {
			cands = append(cands, d.app)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return h.holds(cands[i]) && !h.holds(cands[j]) })

	reserved := map[int]string{}
	for _, addr := range h.opts.ReservedAddrs {
		if port := (&config.App{Listen: addr}).Port(); port != 0 {
			reserved[port] = addr
		}
	}
	names := map[string]*config.App{}
	ports := map[int]*config.App{}
	var out []*config.App
	for _, a := range cands {
		port := a.Port()
		switch prev, addr := names[a.Name], reserved[port]; {
		case prev != nil:
			problems = append(problems, fmt.Errorf("%s: name: app %q is already declared in %s", source(a), a.Name, source(prev)))
		case addr != "":
			problems = append(problems, fmt.Errorf("%s: listen: port %d is argus's own listen port (%s)", source(a), port, addr))
		case ports[port] != nil:
			problems = append(problems, fmt.Errorf("%s: listen: port %d is already the listen port of app %q (%s)",
				source(a), port, ports[port].Name, source(ports[port])))
		default:
			names[a.Name], ports[port] = a, a
			out = append(out, a)
		}
	}
	return out, problems
}

// holds reports whether a runs under its name on its port already.
func (h *Host) holds(a *config.App) bool {
	r := h.apps[a.Name]
	return r != nil && r.asked().Port() == a.Port()
}

// source names where an app was declared, for messages.
func source(a *config.App) string {
	if a.File() == "" {
		return "apps"
	}
	return a.File()
}

// setProblems records the problems of a reconcile, logging the new ones.
// h.mu is held.
func (h *Host) setProblems(problems []error) {
	old := map[string]bool{}
	for _, p := range h.problems {
		old[p.Error()] = true
	}
	for _, p := range problems {
		if !old[p.Error()] {
			h.logger.Error("App not run as declared", "err", p)
		}
	}
	h.problems = problems
}

// Problems returns what keeps apps from running as declared: drop-in
// files that do not load, apps refused for a name or port taken by another,
// apps that could not start. Each error names the file the app comes from.
func (h *Host) Problems() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.problems...)
}

// AppStatus describes a running app.
type AppStatus struct {
	Name    string
	File    string // the file it was declared in
	Listen  string
	Workers []WorkerStatus // the current workers' processes
}

// Status returns the running apps, by name.
func (h *Host) Status() []AppStatus {
	h.mu.Lock()
	apps := make([]*app, 0, len(h.apps))
	for _, a := range h.apps {
		apps = append(apps, a)
	}
	h.mu.Unlock()
	out := make([]AppStatus, 0, len(apps))
	for _, a := range apps {
		p := a.pool.Load()
		out = append(out, AppStatus{Name: a.name, File: p.spec.File(), Listen: a.ln.Addr().String(), Workers: p.status()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
