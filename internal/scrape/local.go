package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// gathererScraper "scrapes" a collector inside argus: the built-in
// collectors and the integrations are jobs like any other, but their
// samples come straight from a prometheus.Gatherer, without an HTTP round
// trip.
type gathererScraper struct {
	g   prometheus.Gatherer
	buf bytes.Buffer
}

const textContentType = "text/plain; version=0.0.4"

// contextGatherer is a Gatherer whose gathering is I/O (an integration
// reading a server): it gets the scrape's deadline and is cancelled with
// the scrape.
type contextGatherer interface {
	GatherContext(ctx context.Context) ([]*dto.MetricFamily, error)
}

// targetDown is implemented by gather errors that mean the target is
// down although the gatherer returned metrics: an integration that could
// not read its server still reports the exporter's own down series
// (memcached_up 0), which the alert rules written for the exporter watch.
// The scrape then fails (up=0, the error as the target's last error), but
// those metrics are stored.
type targetDown interface {
	TargetDown() bool
}

// isTargetDown reports whether err is a targetDown error that says so.
func isTargetDown(err error) bool {
	var td targetDown
	return errors.As(err, &td) && td.TargetDown()
}

func (s *gathererScraper) scrape(ctx context.Context, deadline time.Time) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var mfs []*dto.MetricFamily
	var err error
	if cg, ok := s.g.(contextGatherer); ok {
		dctx, cancel := context.WithDeadline(ctx, deadline)
		mfs, err = cg.GatherContext(dctx)
		cancel()
	} else {
		mfs, err = s.g.Gather()
	}
	if err != nil && len(mfs) == 0 {
		return nil, "", fmt.Errorf("gather: %w", err)
	}
	down := err != nil && isTargetDown(err)
	// A collector that failed in part still delivers what it gathered, as
	// an exporter serving a partial page would; a target that is down
	// delivers its down report with the error.
	s.buf.Reset()
	enc := expfmt.NewEncoder(&s.buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if eerr := enc.Encode(mf); eerr != nil {
			return nil, "", errors.Join(err, fmt.Errorf("encode %s: %w", mf.GetName(), eerr))
		}
	}
	if down {
		return s.buf.Bytes(), textContentType, err
	}
	return s.buf.Bytes(), textContentType, nil
}

// release keeps the buffer: local collectors are few.
func (s *gathererScraper) release() {}
