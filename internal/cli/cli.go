package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/server"
)

const usage = `argus: one binary for hosting apps, metrics, PromQL, alerts and dashboards.

Usage:
  argus server [--config FILE] [--data DIR] [--listen ADDR] [--log.level L] [--log.format F]
               [--web.enable-remote-write-receiver] [--web.enable-admin-api]
               [--query.timeout D] [--query.max-samples N] [--query.max-concurrency N]
               [--query.lookback-delta D] [--enable-feature F,...] [--web.external-url URL]
               [--rules.alert.for-outage-tolerance D] [--rules.alert.for-grace-period D]
               [--rules.alert.resend-delay D] [--alertmanager.notification-queue-capacity N]
               [--alertmanager.config FILE] [--alerts.max-alerts N]
               [--alerts.per-alertname-limit N] [--dispatch.max-aggregation-groups N]
               [--alerts.history.max-events N] [--web.config.file FILE]
  argus check config FILE...
  argus check rules [--lint=all|duplicate-rules|none] [--lint-fatal] [--enable-feature F,...] [FILE...]
  argus test rules [--run REGEX] [--enable-feature F,...] [--junit FILE] FILE...
  argus query instant [--server URL] [--http.config.file F] [--time T] [-o text|json] EXPR
  argus query range [--server URL] [--start T] [--end T] [--step D] [-o text|json] EXPR
  argus query series [--server URL] --match SELECTOR... [--start T] [--end T]
  argus query labels [--server URL] [--match SELECTOR...] [LABEL_NAME]
  argus tsdb import openmetrics FILE [--data DIR]
  argus tsdb stats [--data DIR] [--top N]
  argus dashboards import FILE... [--dry-run] [--config FILE] [--data DIR] [--folder NAME]
  argus top [--server URL] [--http.config.file F] [--once] [--interval D]
  argus user add NAME --role viewer|editor|admin   (password on stdin)
  argus user passwd NAME | role NAME ROLE | del NAME | list
  argus token create NAME --role ROLE [--expires 30d] | list | revoke ID
  argus state backup FILE
  argus state migrate --to postgres --dsn DSN
               (user, token and state take [--config FILE] [--data DIR], as server does)
  argus version
`

// errUsage marks a command line mistake (exit code 2).
var errUsage = errors.New("usage")

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := run(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "argus: %v\n\n%s", err, usage)
		return 2
	}
	if code, ok := isExitCode(err); ok {
		return code
	}
	fmt.Fprintf(stderr, "argus: %v\n", err)
	return 1
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch args[0] {
	case "server":
		return runServer(ctx, args[1:], stderr)
	case "check":
		switch {
		case len(args) >= 2 && args[1] == "config":
			return checkConfig(args[2:], stdout)
		case len(args) >= 2 && args[1] == "rules":
			return checkRules(args[2:], os.Stdin, stdout, stderr)
		}
		return fmt.Errorf("%w: argus check config|rules FILE...", errUsage)
	case "test":
		if len(args) < 2 || args[1] != "rules" {
			return fmt.Errorf("%w: argus test rules FILE...", errUsage)
		}
		return testRules(ctx, args[2:], stdout, stderr)
	case "query":
		return queryCmd(ctx, args[1:], stdout, stderr)
	case "tsdb":
		if len(args) < 2 {
			return fmt.Errorf("%w: argus tsdb import|stats", errUsage)
		}
		switch args[1] {
		case "import":
			return tsdbImport(ctx, args[2:], stdout)
		case "stats":
			return tsdbStats(ctx, args[2:], stdout)
		}
		return fmt.Errorf("%w: unknown tsdb command %q", errUsage, args[1])
	case "dashboards":
		if len(args) < 2 || args[1] != "import" {
			return fmt.Errorf("%w: argus dashboards import FILE...", errUsage)
		}
		return dashboardsImport(ctx, args[2:], stdout)
	case "top":
		return topCmd(ctx, args[1:], stdout)
	case "user":
		return userCmd(ctx, args[1:], os.Stdin, stdout)
	case "token":
		return tokenCmd(ctx, args[1:], stdout)
	case "state":
		return stateCmd(ctx, args[1:], stdout)
	case "version":
		fmt.Fprintln(stdout, "argus", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return "devel-" + s.Value[:min(12, len(s.Value))]
			}
		}
	}
	return "devel"
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses flags that may come before or after positional arguments,
// so `argus tsdb stats --data d` and `argus check config f --x` both work.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runServer(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("server")
	cfgFile := fs.String("config", "", "config file (prometheus.yml compatible); none: built-in defaults")
	dataDir := fs.String("data", "data", "data directory")
	listen := fs.String("listen", ":9090", "HTTP listen address")
	level := fs.String("log.level", "info", "log level: debug, info, warn, error")
	format := fs.String("log.format", "logfmt", "log format: logfmt or json")
	rwRecv := fs.Bool("web.enable-remote-write-receiver", false, "accept remote-write requests on /api/v1/write")
	admin := fs.Bool("web.enable-admin-api", false, "serve the admin endpoints under /api/v1/admin (snapshots)")
	amConfig := fs.String("alertmanager.config", "", "a plain alertmanager.yml for the alert manager, instead of the config's alertmanager section")
	var q server.QueryOptions
	fs.DurationVar(&q.Timeout, "query.timeout", 2*time.Minute, "maximum time a query may take before it is aborted")
	fs.IntVar(&q.MaxSamples, "query.max-samples", 50_000_000, "maximum samples a single query may load into memory")
	fs.IntVar(&q.MaxConcurrency, "query.max-concurrency", 20, "maximum queries executed at once; more wait")
	fs.DurationVar(&q.LookbackDelta, "query.lookback-delta", 5*time.Minute, "how far back an instant selector looks for a sample")
	webConfig := fs.String("web.config.file", "", "TLS, headers and basic-auth users, in Prometheus's web config format")
	externalURL := fs.String("web.external-url", "", "the URL argus is reached at (alert links, templates); default http://<hostname>:<port>/")
	var ro server.RulesOptions
	fs.DurationVar(&ro.OutageTolerance, "rules.alert.for-outage-tolerance", time.Hour, "longest outage over which the for state of alerts is restored")
	fs.DurationVar(&ro.ForGracePeriod, "rules.alert.for-grace-period", 10*time.Minute, "least time between a restart and a restored alert firing")
	fs.DurationVar(&ro.ResendDelay, "rules.alert.resend-delay", time.Minute, "how often firing alerts are sent again")
	fs.IntVar(&ro.NotificationQueueCapacity, "alertmanager.notification-queue-capacity", 10000, "alerts queued per Alertmanager; beyond, the oldest are dropped")
	var amo server.AlertmanagerOptions
	fs.IntVar(&amo.MaxAlerts, "alerts.max-alerts", 1_000_000, "alerts the alert manager holds (resolved ones until cleaned up); past it new alerts are refused")
	fs.IntVar(&amo.PerAlertNameLimit, "alerts.per-alertname-limit", 0, "alerts the alert manager holds with one alertname; 0: no limit")
	fs.IntVar(&amo.MaxAggregationGroups, "dispatch.max-aggregation-groups", 100_000, "aggregation groups of the alert manager; an alert needing a new group past it is refused")
	fs.IntVar(&amo.HistoryMaxEvents, "alerts.history.max-events", 1_000_000, "alert history events kept (besides their 7 days' retention); the oldest past it are deleted")
	var features stringsFlag
	fs.Var(&features, "enable-feature", "comma-separated experimental features, Prometheus's names: promql-experimental-functions, promql-binop-fill-modifiers, promql-unquoted-utf8-names, promql-delayed-name-removal, promql-per-step-stats")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	if q.Timeout <= 0 || q.MaxSamples <= 0 || q.MaxConcurrency <= 0 || q.LookbackDelta <= 0 {
		return fmt.Errorf("%w: --query.timeout, --query.max-samples, --query.max-concurrency and --query.lookback-delta must be positive", errUsage)
	}
	if amo.MaxAlerts <= 0 || amo.MaxAggregationGroups <= 0 || amo.HistoryMaxEvents <= 0 || amo.PerAlertNameLimit < 0 {
		return fmt.Errorf("%w: --alerts.max-alerts, --dispatch.max-aggregation-groups and --alerts.history.max-events must be positive, --alerts.per-alertname-limit 0 or more", errUsage)
	}
	logger, err := newLogger(stderr, *level, *format)
	if err != nil {
		return err
	}
	for _, list := range features {
		for _, f := range strings.Split(list, ",") {
			f = strings.TrimSpace(f)
			switch known, noop := server.PromQLFeature(&q, f); {
			case f == "":
			case !known:
				logger.Warn("Unknown option for --enable-feature", "option", f)
			case noop:
				logger.Info("This option for --enable-feature is always on; naming it changes nothing", "option", f)
			default:
				logger.Info("Experimental feature enabled", "option", f)
			}
		}
	}
	srv, err := server.New(ctx, server.Options{
		ConfigFile: *cfgFile, DataDir: *dataDir, ListenAddr: *listen, Logger: logger,
		EnableRemoteWriteReceiver: *rwRecv, EnableAdminAPI: *admin, Flags: flagValues(fs), Query: q,
		Rules: ro, ExternalURL: *externalURL,
		AlertmanagerConfigFile: *amConfig, Alertmanager: amo,
		InitialAdminPassword: os.Getenv("ARGUS_ADMIN_PASSWORD"), WebConfigFile: *webConfig,
	})
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// flagValues returns every flag of fs with its value (the default if not
// given), as Prometheus's /api/v1/status/flags lists them.
func flagValues(fs *flag.FlagSet) map[string]string {
	out := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { out[f.Name] = f.Value.String() })
	return out
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: --log.level %q: want debug, info, warn or error", errUsage, level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "logfmt", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("%w: --log.format %q: want logfmt or json", errUsage, format)
}

// checkAppsDir loads the drop-in app files of cfg's apps_dir as the app
// host does, returning every problem: a directory that cannot be read, a
// file that does not load, or an app name declared twice. Ports and routes
// shared with apps that run elsewhere are the running app host's to find.
func checkAppsDir(cfg *config.Config) error {
	if cfg.AppsDir == "" {
		return nil
	}
	ents, err := os.ReadDir(cfg.AppsDir)
	if err != nil {
		return fmt.Errorf("apps_dir: %w", err)
	}
	declared := map[string]string{}
	for _, a := range cfg.Apps {
		declared[a.Name] = "the apps section"
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !config.IsAppFile(e.Name()) {
			continue
		}
		path := filepath.Join(cfg.AppsDir, e.Name())
		a, err := config.LoadAppFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if where, ok := declared[a.Name]; ok {
			errs = append(errs, fmt.Errorf("%s: app %q is already declared in %s", path, a.Name, where))
			continue
		}
		declared[a.Name] = path
	}
	return errors.Join(errs...)
}

func checkConfig(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: argus check config FILE...", errUsage)
	}
	failed := 0
	for _, f := range args {
		if _, err := os.Stat(f); err != nil {
			fmt.Fprintf(stdout, "FAILED: %s: %v\n", f, err)
			failed++
			continue
		}
		cfg, err := config.LoadFile(f)
		if err != nil {
			fmt.Fprintf(stdout, "FAILED: %s\n%v\n", f, err)
			failed++
			continue
		}
		// The rule files it names are checked too, as promtool does, and
		// so are the drop-in app files of apps_dir.
		if err := errors.Join(checkRuleFiles(cfg.RuleFiles), checkAppsDir(cfg)); err != nil {
			fmt.Fprintf(stdout, "FAILED: %s\n%v\n", f, err)
			failed++
			continue
		}
		fmt.Fprintf(stdout, "SUCCESS: %s is valid\n", f)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d config files are invalid", failed, len(args))
	}
	return nil
}
