package integration

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	commoncfg "github.com/prometheus/common/config"

	"github.com/argus-mon/argus/internal/config"
)

// Collector reads one server's metrics; a type's NewFunc builds one per
// instance.
//
// Collect adds the server's metrics to m, including the type's <type>_up
// series (0 when the server could not be read), and returns an error when
// the server could not be read in full: the instance is then down, although
// what m holds is still reported. All I/O must end by ctx's deadline, which
// is always set. Collect may be called concurrently.
//
// Close releases the collector's connections; Collect is not called after.
type Collector interface {
	Collect(ctx context.Context, m *Metrics) error
	Close() error
}

// NewFunc builds a type's Collector for one instance. It must not connect:
// a server that is down at start is an instance that is down, not an error.
type NewFunc func(t *Target, logger *slog.Logger) (Collector, error)

// Target is where and how an instance connects, resolved from its config.
type Target struct {
	// Name is the integration's name (its job label).
	Name string
	// Network is "tcp" or "unix"; Address is host:port or a socket path.
	Network, Address string
	// TLS is the client TLS config; nil for plain connections.
	TLS *tls.Config
	// Username is empty when the instance does not authenticate by name.
	Username string
	// Timeout bounds one collection.
	Timeout time.Duration
	// AccessLog is the access log to tail (nginx); "" for none.
	AccessLog string
	// Module is the probe module (probe); nil for other types.
	Module *config.ProbeModule

	password     string
	passwordFile string
	dsn          string
}

// DSN returns the configured connection string, "" if none. It may hold a
// password: it must not be shown.
func (t *Target) DSN() string { return t.dsn }

// Password returns the password: the configured one, or the content of
// password_file read now (trailing newlines dropped), so that a rotated
// file is picked up by the next connection. "" means no password.
func (t *Target) Password() (string, error) {
	if t.passwordFile == "" {
		return t.password, nil
	}
	b, err := os.ReadFile(t.passwordFile)
	if err != nil {
		return "", fmt.Errorf("read password_file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// NewTarget resolves an integration's config into a Target.
func NewTarget(cfg *config.Integration) (*Target, error) {
	t := &Target{
		Name:         cfg.Name,
		Network:      "tcp",
		Address:      cfg.Instance(),
		Username:     cfg.Username,
		Timeout:      time.Duration(cfg.Timeout),
		AccessLog:    cfg.AccessLog,
		Module:       cfg.ProbeModule,
		password:     string(cfg.Password),
		passwordFile: cfg.PasswordFile,
		dsn:          string(cfg.DSN),
	}
	if strings.HasPrefix(t.Address, "/") {
		t.Network = "unix"
	}
	if cfg.TLSConfig != nil {
		tc, err := commoncfg.NewTLSConfig(cfg.TLSConfig)
		if err != nil {
			return nil, fmt.Errorf("integration %s: tls_config: %w", cfg.Name, err)
		}
		if tc.ServerName == "" && t.Network == "tcp" {
			// Verify the certificate against the configured host.
			tc.ServerName, _, _ = net.SplitHostPort(t.Address)
		}
		t.TLS = tc
	}
	return t, nil
}

// Instance is one configured integration: a prometheus.Gatherer whose
// every Gather collects the server's metrics anew.
type Instance struct {
	target    *Target
	collector Collector
	logger    *slog.Logger

	// mu guards down, which is whether the last collection failed; only
	// changes are logged, so a server that stays down does not flood the
	// log at every scrape.
	mu   sync.Mutex
	down bool
}

// New builds the instance of an integration with its type's constructor.
// A nil logger discards.
func New(cfg *config.Integration, newCollector NewFunc, logger *slog.Logger) (*Instance, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("integration", cfg.Name, "type", cfg.Type)
	t, err := NewTarget(cfg)
	if err != nil {
		return nil, err
	}
	c, err := newCollector(t, logger)
	if err != nil {
		return nil, fmt.Errorf("integration %s: %w", cfg.Name, err)
	}
	return &Instance{target: t, collector: c, logger: logger}, nil
}

// Gather collects the server's metrics within the instance's timeout.
func (in *Instance) Gather() ([]*dto.MetricFamily, error) {
	return in.GatherContext(context.Background())
}

// GatherContext collects the server's metrics within the instance's
// timeout and ctx. On failure it returns what was collected (the type's
// <type>_up 0 at least) and a *CollectError.
func (in *Instance) GatherContext(ctx context.Context) ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, in.target.Timeout)
	defer cancel()
	var m Metrics
	start := time.Now()
	err := in.collector.Collect(ctx, &m)
	if err != nil {
		err = in.collectError(err, time.Since(start), ctx.Err() != nil)
	}
	in.noteState(err)
	return m.Families(), err
}

// collectError wraps a collection failure, saying when it was a timeout
// and removing the password should a server have echoed it.
func (in *Instance) collectError(err error, took time.Duration, expired bool) *CollectError {
	timedOut := expired || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
	msg := err.Error()
	if timedOut {
		msg = fmt.Sprintf("no answer within the timeout of %v: %s", in.target.Timeout, msg)
	}
	if pw, perr := in.target.Password(); perr == nil && len(pw) >= minRedactedLen {
		msg = strings.ReplaceAll(msg, pw, "<secret>")
	}
	return &CollectError{Integration: in.target.Name, Address: in.target.Address, msg: msg, err: err, Timeout: timedOut}
}

// minRedactedLen is the shortest password removed from error messages:
// replacing every "a" of a message for a one-letter test password would
// garble it and reveal the password anyway.
const minRedactedLen = 3

func (in *Instance) noteState(err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case err != nil && !in.down:
		in.logger.Warn("Integration is down", "address", in.target.Address, "err", err)
	case err == nil && in.down:
		in.logger.Info("Integration is up again", "address", in.target.Address)
	}
	in.down = err != nil
}

// Close releases the instance's connections.
func (in *Instance) Close() error { return in.collector.Close() }

// CollectError is a failed collection: the server is down, refused the
// credentials, did not answer in time or answered something unexpected.
type CollectError struct {
	Integration, Address string
	// Timeout is set when the server did not answer within the timeout.
	Timeout bool

	msg string
	err error
}

func (e *CollectError) Error() string {
	return fmt.Sprintf("integration %s (%s): %s", e.Integration, e.Address, e.msg)
}

func (e *CollectError) Unwrap() error { return e.err }

// TargetDown tells the scrape loop that the target is down although the
// gatherer returned metrics: they are the type's own down report.
func (e *CollectError) TargetDown() bool { return true }
