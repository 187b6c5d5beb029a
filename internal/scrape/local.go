package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// gathererScraper "scrapes" a collector inside argus: the built-in
// collectors are jobs like any other, but their samples come straight from a
// prometheus.Gatherer, without an HTTP round trip.
type gathererScraper struct {
	g   prometheus.Gatherer
	buf bytes.Buffer
}

const textContentType = "text/plain; version=0.0.4"

func (s *gathererScraper) scrape(ctx context.Context, _ time.Time) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	mfs, err := s.g.Gather()
	if err != nil && len(mfs) == 0 {
		return nil, "", fmt.Errorf("gather: %w", err)
	}
	// A collector that failed in part still delivers what it gathered, as
	// an exporter serving a partial page would.
	s.buf.Reset()
	enc := expfmt.NewEncoder(&s.buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if eerr := enc.Encode(mf); eerr != nil {
			return nil, "", errors.Join(err, fmt.Errorf("encode %s: %w", mf.GetName(), eerr))
		}
	}
	return s.buf.Bytes(), textContentType, nil
}

// release keeps the buffer: local collectors are few.
func (s *gathererScraper) release() {}
