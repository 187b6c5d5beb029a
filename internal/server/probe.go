package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/argus-mon/argus/internal/auth"
	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/probe"
)

const (
	// maxProbeTarget bounds the target parameter of /probe: a URL, host
	// or host:port, never legitimately longer.
	maxProbeTarget = 2048
	// defaultProbeTimeout bounds a /probe request that says no scrape
	// timeout (Prometheus sends X-Prometheus-Scrape-Timeout-Seconds) and
	// whose module sets none.
	defaultProbeTimeout = 10 * time.Second
	// probeTimeoutOffset is taken off the scrape timeout, as
	// blackbox_exporter's default --timeout-offset does, so that the
	// answer reaches Prometheus before it gives up.
	probeTimeoutOffset = 500 * time.Millisecond
)

// serveProbe is blackbox_exporter's /probe: it probes the target with
// the module of probe.config_file (or a built-in one) and answers the
// metrics, 200 whether the probe succeeded or not. With debug=true it
// answers the probe's log and metrics as text instead.
func (s *Server) serveProbe(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	moduleName := q.Get("module")
	if moduleName == "" {
		moduleName = "http_2xx"
	}
	s.mu.RLock()
	module := s.cfg.Probe.Modules[moduleName]
	s.mu.RUnlock()
	target := q.Get("target")
	switch {
	case module == nil:
		http.Error(w, fmt.Sprintf("Unknown module %q", moduleName), http.StatusBadRequest)
		return
	case target == "":
		http.Error(w, "Target parameter is missing", http.StatusBadRequest)
		return
	case len(target) > maxProbeTarget:
		http.Error(w, fmt.Sprintf("Target parameter is longer than %d bytes", maxProbeTarget), http.StatusBadRequest)
		return
	}
	timeout := defaultProbeTimeout
	if v, err := strconv.ParseFloat(r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"), 64); err == nil && v > 0 {
		timeout = max(time.Duration(v*float64(time.Second))-probeTimeoutOffset, probeTimeoutOffset)
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	debug := q.Get("debug") == "true"
	// The probe's log can hold what an inner server answered: reading it
	// takes the editor role, while the probe itself is a read, open as
	// blackbox_exporter's.
	if p, ok := auth.FromContext(r.Context()); debug && ok && p.Role < auth.Editor {
		http.Error(w, "debug=true needs the editor role", http.StatusForbidden)
		return
	}
	var logBuf bytes.Buffer
	logger := s.logger.With("component", "probe", "module", moduleName)
	if debug {
		logger = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var m integration.Metrics
	probe.Run(ctx, target, module, &m, logger)
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	if debug {
		fmt.Fprintf(w, "Logs for the probe:\n%s\n\nMetrics that would have been returned:\n", logBuf.Bytes())
	} else {
		w.Header().Set("Content-Type", string(format))
	}
	enc := expfmt.NewEncoder(w, format)
	for _, f := range m.Families() {
		if err := enc.Encode(f); err != nil {
			// The client went away; there is no one left to tell.
			return
		}
	}
}
