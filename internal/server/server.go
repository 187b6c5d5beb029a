package server

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"reflect"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/alertmanager"
	"github.com/argus-mon/argus/internal/apphost"
	"github.com/argus-mon/argus/internal/auth"
	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/notifier"
	"github.com/argus-mon/argus/internal/promql"
	"github.com/argus-mon/argus/internal/rules"
	"github.com/argus-mon/argus/internal/scrape"
	"github.com/argus-mon/argus/internal/state"
	"github.com/argus-mon/argus/internal/tsdb"
)

// Options are what the command line gives the server.
type Options struct {
	// ConfigFile is the config file; empty runs on the built-in defaults.
	ConfigFile string
	// DataDir holds the storage. Default "data".
	DataDir string
	// ListenAddr is the HTTP address. Default ":9090".
	ListenAddr string
	// Logger is the process logger; nil discards.
	Logger *slog.Logger
	// EnableRemoteWriteReceiver serves POST /api/v1/write, as Prometheus's
	// --web.enable-remote-write-receiver does.
	EnableRemoteWriteReceiver bool
	// EnableAdminAPI serves the admin endpoints under /api/v1/admin, as
	// Prometheus's --web.enable-admin-api does.
	EnableAdminAPI bool
	// Flags are the command line flags and their values, for the API's
	// /api/v1/status/flags.
	Flags map[string]string
	// Query are the PromQL engine's limits.
	Query QueryOptions
	// Rules are the rule manager's settings.
	Rules RulesOptions
	// ExternalURL is the URL argus is reached at (--web.external-url);
	// empty means http://<hostname>:<port>/.
	ExternalURL string
	// AlertmanagerConfigFile is a plain alertmanager.yml, used instead of
	// the config's alertmanager section.
	AlertmanagerConfigFile string
	// Alertmanager are the alert manager's limits.
	Alertmanager AlertmanagerOptions
	// InitialAdminPassword is the password of the admin user created on
	// first start (ARGUS_ADMIN_PASSWORD); the config's
	// auth.initial_admin_password_file is used when it is empty.
	InitialAdminPassword string
	// AuthOff turns access control off whatever the config says; for
	// tests of other parts, which then need no credentials.
	AuthOff bool
	// WebConfigFile is --web.config.file: TLS, headers and basic-auth
	// users in Prometheus's web config format.
	WebConfigFile string
}

// Server is a running argus: it owns every component and the HTTP listener.
type Server struct {
	opts   Options
	logger *slog.Logger
	reg    *prometheus.Registry

	// reloadMu serialises reloads (SIGHUP and /-/reload): a reload
	// prepares against the running config, then applies.
	reloadMu sync.Mutex

	mu  sync.RWMutex
	cfg *config.Config

	db          *tsdb.DB
	engine      *promql.Engine
	scrape      *scrape.Manager
	rules       *rules.Manager
	notifier    *notifier.Manager
	externalURL *url.URL
	collectors  map[string]prometheus.Gatherer // by collector name; replaced on reload, under mu
	processCfg  config.ProcessCollector
	// integrationSet is the running integrations; replaced on reload,
	// under mu.
	integrationSet integrationSet
	am             *alertmanager.Manager
	state          *state.DB
	auth           *auth.Service
	router         *router // the routes Run serves, under mu
	web            *webConfig
	apps           *apphost.Host
	dash           *dashboards
	listener       net.Listener
	ready          chan struct{}
	started        time.Time

	reloadSuccess prometheus.Gauge
	reloadTime    prometheus.Gauge
}

// New loads the config and opens the storage. It does not serve yet.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.DataDir == "" {
		opts.DataDir = "data"
	}
	if opts.ListenAddr == "" {
		opts.ListenAddr = ":9090"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Query = opts.Query.withDefaults()
	cfg, err := loadConfig(opts.ConfigFile)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, logger: opts.Logger, reg: prometheus.NewRegistry(), cfg: cfg, ready: make(chan struct{}), started: time.Now()}
	if s.web, err = loadWebConfig(opts.WebConfigFile); err != nil {
		return nil, err
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reloadSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "argus_config_last_reload_successful",
		Help: "Whether the last configuration reload attempt was successful.",
	})
	s.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "argus_config_last_reload_success_timestamp_seconds",
		Help: "Timestamp of the last successful configuration reload.",
	})
	s.reg.MustRegister(s.reloadSuccess, s.reloadTime)
	s.reloadSuccess.Set(1)
	s.reloadTime.SetToCurrentTime()
	s.warnUnsupported(cfg)
	applyRuntime(cfg)

	s.db, err = tsdb.Open(ctx, opts.DataDir, storageOptions(cfg, s.logger.With("component", "tsdb"), s.reg))
	if err != nil {
		return nil, fmt.Errorf("open storage in %s: %w", opts.DataDir, err)
	}
	s.engine = promql.NewEngine(promql.EngineOpts{
		Logger:        s.logger.With("component", "query engine"),
		MaxSamples:    opts.Query.MaxSamples,
		Timeout:       opts.Query.Timeout,
		MaxConcurrent: opts.Query.MaxConcurrency,
		LookbackDelta: opts.Query.LookbackDelta,
		Parser:        parser.NewParser(opts.Query.Parser),

		EnableDelayedNameRemoval: opts.Query.DelayedNameRemoval,
		EnablePerStepStats:       opts.Query.PerStepStats,
	})
	s.listener, err = net.Listen("tcp", opts.ListenAddr)
	if err != nil {
		s.db.Close()
		return nil, fmt.Errorf("listen on %s: %w", opts.ListenAddr, err)
	}
	if err := s.buildCollectors(cfg); err != nil {
		s.listener.Close()
		s.db.Close()
		return nil, err
	}
	if s.integrationSet, err = s.buildIntegrations(cfg, nil); err != nil {
		s.listener.Close()
		s.db.Close()
		return nil, err
	}
	if err := s.buildAppHost(cfg); err != nil {
		s.listener.Close()
		s.db.Close()
		return nil, err
	}
	if s.state, err = s.openState(ctx, cfg); err != nil {
		s.listener.Close()
		s.db.Close()
		return nil, err
	}
	if err := s.buildAuth(ctx, cfg); err != nil {
		s.listener.Close()
		s.db.Close()
		s.state.Close()
		return nil, err
	}
	if err := s.buildAlertmanager(ctx, cfg); err != nil {
		s.listener.Close()
		s.db.Close()
		s.state.Close()
		return nil, err
	}
	if err := s.buildDashboards(ctx, cfg); err != nil {
		s.listener.Close()
		s.db.Close()
		s.state.Close()
		return nil, err
	}
	s.scrape = scrape.NewManager(scrape.Options{
		// Scraped samples are acknowledged to no one: their log writes are
		// batched (see tsdb.DB.BufferedAppender for what a crash can lose).
		NewAppender: func() scrape.Appender { return s.db.BufferedAppender() },
		Logger:      s.logger.With("component", "scrape"),
		Registerer:  s.reg,
		OffsetSeed:  offsetSeed(cfg),
	})
	if err := s.applyScrapeConfig(cfg); err != nil {
		s.listener.Close()
		s.db.Close()
		s.state.Close()
		return nil, err
	}
	if err := s.buildRules(cfg); err != nil {
		s.listener.Close()
		s.db.Close()
		s.state.Close()
		return nil, err
	}
	return s, nil
}

// gatherers returns the built-in collectors by name.
func (s *Server) gatherers() map[string]prometheus.Gatherer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.collectors
}

// offsetSeed spreads the scrape offsets of argus instances that scrape the
// same targets, from the host name and external labels as Prometheus does.
func offsetSeed(cfg *config.Config) uint64 {
	h := fnv.New64a()
	host, _ := os.Hostname()
	h.Write([]byte(host))
	h.Write([]byte(cfg.Global.ExternalLabels.String()))
	return h.Sum64()
}

// applyScrapeConfig gives the scrape manager the jobs of the config and of
// the built-in collectors.
func (s *Server) applyScrapeConfig(cfg *config.Config) error {
	return s.scrape.ApplyConfig(s.scrapeJobs(cfg, s.gatherers(), s.integrations()))
}

// scrapeJobs are the jobs of the config plus one job per enabled built-in
// collector of gatherers, unless the config has a job of the same name (the
// file wins, with a warning), plus one job per integration, and the
// gatherers of the collectors' and integrations' jobs.
func (s *Server) scrapeJobs(cfg *config.Config, gatherers map[string]prometheus.Gatherer, integrations integrationSet) ([]*config.Scrape, map[string]prometheus.Gatherer) {
	jobs := slices.Clone(cfg.ScrapeConfigs)
	taken := map[string]bool{}
	for _, j := range jobs {
		taken[j.JobName] = true
	}
	local := map[string]prometheus.Gatherer{}
	instance := s.instanceAddr()
	for name, c := range map[string]config.Collector{
		"argus":   cfg.Collectors.Argus,
		"node":    cfg.Collectors.Node,
		"process": cfg.Collectors.Process.Collector,
	} {
		g, ok := gatherers[name]
		if !c.Enabled || !ok {
			continue
		}
		if taken[name] {
			s.logger.Warn("A scrape job has the name of a built-in collector; the collector's job is not run", "job", name)
			continue
		}
		jobs = append(jobs, cfg.BuiltinScrape(name, instance, "/metrics/"+name, c.ScrapeInterval))
		local[name] = g
	}
	// Validation keeps integration names apart from the jobs above.
	jobs = append(jobs, s.integrationJobs(cfg, integrations, local)...)
	return jobs, local
}

// instanceAddr is the instance label of the built-in collectors: the address
// their /metrics/<name> endpoints are served at.
func (s *Server) instanceAddr() string {
	host, port, err := net.SplitHostPort(s.listener.Addr().String())
	if err != nil {
		return s.listener.Addr().String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.LoadFile(path)
}

// storageOptions maps the storage section onto the engine's options.
func storageOptions(cfg *config.Config, logger *slog.Logger, reg prometheus.Registerer) tsdb.Options {
	st := cfg.Storage.TSDB
	o := tsdb.Options{
		Retention:       time.Duration(st.Retention.Time),
		MaxBytes:        int64(st.Retention.Size),
		WALSyncInterval: time.Duration(st.WALSyncInterval),
		Logger:          logger,
		Registerer:      reg,
	}
	if o.Retention == 0 {
		// No time limit: keep data for as long as the size limit allows.
		o.Retention = time.Duration(math.MaxInt64)
	}
	return o
}

// applyRuntime applies the runtime section: the GC target, 75 by default as in
// Prometheus 3, trading a little CPU for a smaller heap.
func applyRuntime(cfg *config.Config) {
	if cfg.Runtime.GoGC != 0 {
		debug.SetGCPercent(cfg.Runtime.GoGC)
	}
}

// warnUnsupported logs settings argus reads but does not act on yet.
func (s *Server) warnUnsupported(cfg *config.Config) {
	if cfg.Storage.TSDB.OutOfOrderTimeWindow > 0 {
		s.logger.Warn("storage.tsdb.out_of_order_time_window is set but argus rejects out-of-order samples; the setting has no effect")
	}
	if cfg.Storage.TSDB.Retention.Percentage > 0 {
		s.logger.Warn("storage.tsdb.retention.percentage is not supported; use retention.size")
	}
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// DB returns the storage, for tests and embedding.
func (s *Server) DB() *tsdb.DB { return s.db }

// Config returns the active configuration.
func (s *Server) Config() *config.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg
}

// Run serves until ctx is cancelled or SIGINT/SIGTERM arrives, reloading the
// config on SIGHUP, then shuts down: HTTP and the hosted apps first (Run
// returns once every app's processes have exited), then the storage (which
// flushes its head).
func (s *Server) Run(ctx context.Context) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	srv := &http.Server{
		Handler:           s.web.wrap(s.handler()),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		l, err := s.web.listener(s.listener, srv)
		if err != nil {
			return fmt.Errorf("TLS from --web.config.file: %w", err)
		}
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-hup:
				if err := s.Reload(); err != nil {
					s.logger.Error("Reload failed; keeping the running configuration", "err", err)
					continue
				}
				// /-/reload is audited as a route; a signal is audited here.
				s.auth.Audit(gctx, "signal:SIGHUP", "config reload", s.opts.ConfigFile, "")
			}
		}
	})
	g.Go(func() error { return s.scrape.Run(gctx) })
	g.Go(func() error { return s.rules.Run(gctx) })
	g.Go(func() error { return s.notifier.Run(gctx) })
	g.Go(func() error { return s.am.Run(gctx) })
	g.Go(func() error { s.auth.Run(gctx); return nil })
	g.Go(func() error { return s.apps.Run(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	})
	close(s.ready)
	s.logger.Info("argus is ready", "listen", s.listener.Addr().String(), "data", s.opts.DataDir, "config", s.opts.ConfigFile)
	err := g.Wait()
	s.logger.Info("Shutting down")
	s.integrations().closeAllBut(nil)
	if cerr := s.db.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close storage: %w", cerr))
	}
	if cerr := s.state.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close state store: %w", cerr))
	}
	return err
}

// Reload re-reads the config file and applies it. Every part of the new
// config that can fail is built and checked before anything is applied,
// so an invalid config anywhere changes nothing and the error says why.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	p, err := s.prepareReload()
	if err != nil {
		s.reloadSuccess.Set(0)
		return err
	}
	if err := s.applyReload(p); err != nil {
		s.reloadSuccess.Set(0)
		return err
	}
	s.reloadSuccess.Set(1)
	s.reloadTime.SetToCurrentTime()
	s.logger.Info("Configuration reloaded", "file", s.opts.ConfigFile)
	return nil
}

// preparedReload is a config with every component's part built and
// checked, not applied yet.
type preparedReload struct {
	cfg        *config.Config
	am         *alertmanager.PreparedConfig
	rules      *rules.Prepared
	collectors map[string]prometheus.Gatherer
	// integrations are the new set; the instances not in the running set
	// are closed if the reload is not applied.
	integrations integrationSet
	scrapeJobs   []*config.Scrape
	scrapeLocal  map[string]prometheus.Gatherer
	notifier     *notifier.PreparedConfig
}

// prepareReload loads the config file and builds what each component
// needs from it, changing nothing. s.reloadMu is held.
func (s *Server) prepareReload() (*preparedReload, error) {
	cfg, err := loadConfig(s.opts.ConfigFile)
	if err != nil {
		return nil, err
	}
	if err := checkApps(cfg, s.listener.Addr().String()); err != nil {
		return nil, err
	}
	p := &preparedReload{cfg: cfg}
	amCfg, amText, err := s.alertmanagerConfig(cfg)
	if err != nil {
		return nil, err
	}
	if p.am, err = s.am.PrepareConfig(amCfg, amText); err != nil {
		return nil, fmt.Errorf("alert manager config: %w", err)
	}
	if p.rules, err = s.rules.Prepare(s.ruleUpdate(cfg)); err != nil {
		return nil, err
	}
	// A changed process section gets a new process collector (its summed
	// counters restart, which rate() sees as one reset); otherwise the
	// collector and its counters carry on.
	p.collectors = s.gatherers()
	if !reflect.DeepEqual(cfg.Collectors.Process, s.processCfg) {
		proc, err := s.processGatherer(cfg.Collectors.Process)
		if err != nil {
			return nil, err
		}
		p.collectors = maps.Clone(p.collectors)
		p.collectors["process"] = proc
	}
	running := s.integrations()
	if p.integrations, err = s.buildIntegrations(cfg, running); err != nil {
		return nil, err
	}
	p.scrapeJobs, p.scrapeLocal = s.scrapeJobs(cfg, p.collectors, p.integrations)
	if err := scrape.CheckConfig(p.scrapeJobs); err != nil {
		p.integrations.closeAllBut(running)
		return nil, err
	}
	if p.notifier, err = s.notifier.PrepareConfig(cfg.Alerting, externalLabels(cfg)); err != nil {
		p.integrations.closeAllBut(running)
		return nil, err
	}
	return p, nil
}

// applyReload applies a prepared config. The steps that can still fail do
// so only if something changed since prepareReload: a file a scrape job's
// HTTP client reads (CA, certificate) removed in between (the other jobs
// still start), or the notifier stopped by a shutdown. Their errors are
// returned, but the config is the running one by then, as the other
// components run it. s.reloadMu is held.
func (s *Server) applyReload(p *preparedReload) error {
	s.am.ApplyPrepared(p.am)
	s.warnUnsupported(p.cfg)
	s.rules.Apply(p.rules)
	applyRuntime(p.cfg)
	s.mu.Lock()
	s.collectors = p.collectors
	s.processCfg = p.cfg.Collectors.Process
	oldIntegrations := s.integrationSet
	s.integrationSet = p.integrations
	s.mu.Unlock()
	var errs []error
	if err := s.scrape.ApplyConfig(p.scrapeJobs, p.scrapeLocal); err != nil {
		errs = append(errs, err)
	}
	// The scrape loops of removed or changed integrations are stopped;
	// their instances' connections can go.
	oldIntegrations.closeAllBut(p.integrations)
	if err := s.notifier.ApplyPrepared(p.notifier); err != nil {
		errs = append(errs, fmt.Errorf("alerting: %w", err))
	}
	if err := s.applyDashboards(p.cfg); err != nil {
		errs = append(errs, err)
	}
	s.apps.SetFront(p.cfg.AppsFront)
	s.apps.Update(p.cfg.Apps, p.cfg.AppsDir)
	s.mu.Lock()
	s.cfg = p.cfg
	s.mu.Unlock()
	o := storageOptions(p.cfg, nil, nil)
	s.db.SetRetention(o.Retention, o.MaxBytes)
	return errors.Join(errs...)
}
