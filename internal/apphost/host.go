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
	// HeaderTimeout bounds how long a client of a front port may take to
	// send its request headers, against slow-loris clients tying up
	// connections; default 10s.
	HeaderTimeout time.Duration
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
	def(&o.HeaderTimeout, 10*time.Second)
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
	frontCfg *config.AppsFront  // the shared front port, from SetFront
	front    *front             // the running shared front port, if any
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

// SetFront sets the shared front port, which serves the apps that have a
// host or path_prefix route; nil for none. It takes effect with the next
// Update, so that a config reload applies the front and the apps together.
func (h *Host) SetFront(f *config.AppsFront) {
	h.mu.Lock()
	h.frontCfg = f
	h.mu.Unlock()
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
		// The listener is the app's for its life: a new address or
		// certificate means a new app.
		if w := want[name]; w == nil || w.Listen != a.asked().Listen || !reflect.DeepEqual(w.TLS, a.asked().TLS) {
			h.stopApp(name, a)
		}
	}
	h.retry = false
	if err := h.reconcileFront(); err != nil {
		problems = append(problems, err)
		h.retry = true
	}
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
		logger.Info("Started app", "listen", spec.Listen, "route", routeOf(spec), "workers", spec.Workers, "file", spec.File())
	}
	if h.front != nil {
		h.front.setRoutes(h.apps)
	}
	h.setProblems(problems)
}

// routeOf describes an app's route on the shared front for logs; "" if it
// has none.
func routeOf(a *config.App) string {
	if !a.Routed() {
		return ""
	}
	return a.DescribeRoute()
}

// reconcileFront starts, restarts or stops the shared front port to match
// SetFront. h.mu is held.
func (h *Host) reconcileFront() error {
	if h.front != nil && !reflect.DeepEqual(h.front.spec, h.frontCfg) {
		h.logger.Info("Stopping the shared front port", "listen", h.front.spec.Listen)
		f := h.front
		h.front = nil
		f.ln.Close() // free the port now for the new front
		h.stopping.Go(f.stop)
	}
	if h.front != nil || h.frontCfg == nil {
		return nil
	}
	f, err := newFront(h.frontCfg, h.logger.With("front", h.frontCfg.Listen), h.opts.HeaderTimeout)
	if err != nil {
		return fmt.Errorf("apps_front: %w", err)
	}
	h.front = f
	f.start()
	h.logger.Info("Serving the shared front port", "listen", h.frontCfg.Listen)
	return nil
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
	if f := h.front; f != nil {
		h.front = nil
		h.stopping.Go(f.stop)
	}
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
	frontPort := 0
	if h.frontCfg != nil {
		frontPort = (&config.App{Listen: h.frontCfg.Listen}).Port()
	}
	names := map[string]*config.App{}
	ports := map[int]*config.App{}
	routes := map[string]*config.App{}
	var out []*config.App
	for _, a := range cands {
		port, rt := a.Port(), routes[a.RouteKey()]
		switch prev, addr := names[a.Name], reserved[port]; {
		case prev != nil:
			problems = append(problems, fmt.Errorf("%s: name: app %q is already declared in %s", source(a), a.Name, source(prev)))
		case port != 0 && addr != "":
			problems = append(problems, fmt.Errorf("%s: listen: port %d is argus's own listen port (%s)", source(a), port, addr))
		case port != 0 && port == frontPort:
			problems = append(problems, fmt.Errorf("%s: listen: port %d is the shared front port (apps_front.listen %s)",
				source(a), port, h.frontCfg.Listen))
		case port != 0 && ports[port] != nil:
			problems = append(problems, fmt.Errorf("%s: listen: port %d is already the listen port of app %q (%s)",
				source(a), port, ports[port].Name, source(ports[port])))
		case a.Routed() && rt != nil:
			problems = append(problems, fmt.Errorf("%s: path_prefix: %s is already the route of app %q (%s)",
				source(a), a.DescribeRoute(), rt.Name, source(rt)))
		default:
			names[a.Name] = a
			if port != 0 {
				ports[port] = a
			}
			if a.Routed() {
				routes[a.RouteKey()] = a
				if h.frontCfg == nil {
					problems = append(problems, fmt.Errorf("%s: app %q has a route (%s), but apps_front is not set in the config file",
						source(a), a.Name, a.DescribeRoute()))
				}
			}
			out = append(out, a)
		}
	}
	return out, problems
}

// holds reports whether a runs under its name on its port and route
// already.
func (h *Host) holds(a *config.App) bool {
	r := h.apps[a.Name]
	return r != nil && r.asked().Port() == a.Port() && r.asked().RouteKey() == a.RouteKey()
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
	File    string         // the file it was declared in
	Listen  string         // its own front port; "" if it has none
	Route   string         // its route on the shared front port; "" if it has none
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
		st := AppStatus{Name: a.name, File: p.spec.File(), Route: routeOf(p.spec), Workers: p.status()}
		if a.ln != nil {
			st.Listen = a.ln.Addr().String()
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
