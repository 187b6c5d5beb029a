package probe

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
)

// Run probes target with module m and adds blackbox_exporter's metrics
// for it to out, probe_success and probe_duration_seconds included. It
// returns the probe's result; why a probe failed is logged at debug level,
// as blackbox_exporter does (its debug=true shows it). The probe ends by
// ctx's deadline and by the module's timeout, whichever comes first.
func Run(ctx context.Context, target string, m *config.ProbeModule, out *integration.Metrics, logger *slog.Logger) bool {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	if m.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(m.Timeout))
		defer cancel()
	}
	var err error
	switch m.Prober {
	case "http":
		err = probeHTTP(ctx, target, &m.HTTP, out, logger)
	case "tcp":
		err = probeTCP(ctx, target, &m.TCP, out, logger)
	case "dns":
		err = probeDNS(ctx, target, &m.DNS, out, logger)
	case "icmp":
		err = probeICMP(ctx, target, &m.ICMP, out, logger)
	case "grpc":
		err = probeGRPC(ctx, target, &m.GRPC, out, logger)
	default:
		// The config refuses other probers; this guards a module built by hand.
		err = errors.New("unknown prober " + m.Prober + "; want http, tcp, dns, icmp or grpc")
	}
	out.Gauge("probe_duration_seconds", "Returns how long the probe took to complete in seconds", time.Since(start).Seconds())
	ok := 0.0
	if err == nil {
		ok = 1
		logger.Debug("Probe succeeded", "target", target)
	} else {
		logger.Debug("Probe failed", "target", target, "err", err)
	}
	out.Gauge("probe_success", "Displays whether or not the probe was a success", ok)
	return err == nil
}

// Collector is the collector of one probe integration: each collection
// is one probe.
type Collector struct {
	target string
	module *config.ProbeModule
	logger *slog.Logger
}

// New returns the collector of a probe integration; t.Address is the
// target and t.Module the module.
func New(t *integration.Target, logger *slog.Logger) (integration.Collector, error) {
	if t.Module == nil {
		return nil, errors.New("no probe module")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Collector{target: t.Address, module: t.Module, logger: logger}, nil
}

// Collect runs one probe. A failed probe is not an error: it is reported
// as probe_success 0 and the target stays up, as a blackbox_exporter
// scrape does, so that alert rules on probe_success work unchanged.
func (c *Collector) Collect(ctx context.Context, m *integration.Metrics) error {
	Run(ctx, c.target, c.module, m, c.logger)
	return nil
}

// Close does nothing: probes keep no connections.
func (c *Collector) Close() error { return nil }
