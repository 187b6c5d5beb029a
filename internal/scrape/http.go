package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/config"
)

// errBodySizeLimit fails a scrape whose body exceeds body_size_limit.
var errBodySizeLimit = errors.New("body size limit exceeded")

// userAgent is sent with every scrape.
const userAgent = "argus"

// httpScraper fetches a target's exposition over HTTP. Pages are gunzipped
// with klauspost/compress, about twice as fast as the standard library's
// flate: decompression is a fifth of a scrape's CPU.
type httpScraper struct {
	client         *http.Client
	url            string
	accept         string
	acceptEncoding string
	timeout        time.Duration
	bodySizeLimit  int64
	bufs           *buffers

	// page holds the last page from its scrape to release.
	page *bytes.Buffer
	// direct, when set, does the scrape without net/http (see
	// directClient); responses it does not handle go through client.
	direct *directClient
}

func newHTTPScraper(client *http.Client, cfg *config.Scrape, u *url.URL, accept, enc string, timeout time.Duration, bufs *buffers) *httpScraper {
	s := &httpScraper{
		client: client, url: u.String(), accept: accept, acceptEncoding: enc,
		timeout: timeout, bodySizeLimit: int64(cfg.BodySizeLimit), bufs: bufs,
	}
	if directEligible(u, cfg.HTTPClientConfig) {
		s.direct = newDirectClient(u, accept, enc, s.timeoutHeader())
	}
	return s
}

// timeoutHeader is the value of X-Prometheus-Scrape-Timeout-Seconds.
func (s *httpScraper) timeoutHeader() string {
	return strconv.FormatFloat(s.timeout.Seconds(), 'f', -1, 64)
}

// scrape performs one GET and returns the (decompressed) body and its
// content type. The body is valid until release. ctx is the loop's (see
// directClient.fetch) and deadline the end of the scrape timeout.
func (s *httpScraper) scrape(ctx context.Context, deadline time.Time) ([]byte, string, error) {
	s.release()
	s.page = s.bufs.page()
	limit := s.bodySizeLimit
	if limit <= 0 {
		limit = 1<<63 - 2 // No limit; one more byte must still fit in an int64.
	}
	if s.direct != nil {
		ct, err := s.direct.fetch(ctx, deadline, s.page, limit, s.bufs)
		if !errors.Is(err, errNotDirect) {
			if err != nil {
				return nil, "", err
			}
			return s.page.Bytes(), ct, nil
		}
		// A target that redirects or answers outside the subset is scraped
		// with net/http from now on, one request per scrape like Prometheus.
		s.direct.close()
		s.direct = nil
		s.page.Reset()
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", s.accept)
	req.Header.Set("Accept-Encoding", s.acceptEncoding)
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", s.timeoutHeader())
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("server returned HTTP status %s", resp.Status)
	}
	if err := readBody(s.page, resp.Body, resp.Header.Get("Content-Encoding") == "gzip", limit, s.bufs); err != nil {
		return nil, "", err
	}
	return s.page.Bytes(), resp.Header.Get("Content-Type"), nil
}

// release gives the last page back to the shared buffers.
func (s *httpScraper) release() {
	if s.page != nil {
		s.bufs.putPage(s.page)
		s.page = nil
	}
}

// readBody reads a response body into dst, gunzipping it if gzipped, and
// fails with errBodySizeLimit if the page exceeds limit bytes.
func readBody(dst *bytes.Buffer, body io.Reader, gzipped bool, limit int64, bufs *buffers) error {
	if gzipped {
		// The compressed page is read whole first: gzip decodes from a
		// bytes.Reader about twice as fast as from any other reader. The
		// limit is on the page, as in Prometheus; the compressed size gets a
		// generous bound of its own (a stream flushed at every write can be
		// larger than what it holds).
		g := bufs.gzip()
		defer bufs.putGzip(g)
		g.z.Reset()
		zlimit := 4*limit + 1<<20
		if limit > (1<<62)/4 {
			zlimit = limit
		}
		n, err := g.z.ReadFrom(io.LimitReader(body, zlimit+1))
		if err != nil {
			return fmt.Errorf("read body: %w", err)
		}
		if n > zlimit {
			return fmt.Errorf("%w (limit %d bytes)", errBodySizeLimit, limit)
		}
		g.zr.Reset(g.z.Bytes())
		if g.r == nil {
			g.r, err = gzip.NewReader(&g.zr)
		} else {
			err = g.r.Reset(&g.zr)
		}
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		body = g.r
	}
	n, err := dst.ReadFrom(io.LimitReader(body, limit+1))
	if err != nil {
		if gzipped {
			return fmt.Errorf("gzip: %w", err)
		}
		return fmt.Errorf("read body: %w", err)
	}
	if n > limit {
		return fmt.Errorf("%w (limit %d bytes)", errBodySizeLimit, limit)
	}
	return nil
}

// close drops the direct client's connection; net/http's idle connections
// are closed by the pool.
func (s *httpScraper) close() {
	s.release()
	if s.direct != nil {
		s.direct.close()
	}
}

// acceptHeader builds the Accept header from the scrape protocols, with
// decreasing weights, as Prometheus does.
func acceptHeader(ps []config.ScrapeProtocol, escaping model.EscapingScheme) string {
	var vals []string
	weight := 7
	for _, p := range ps {
		v := p.MediaType()
		if v == "" {
			continue
		}
		if p == config.PrometheusText1_0_0 || p == config.OpenMetricsText1_0_0 || p == config.OpenMetricsText2_0_0 {
			v += ";" + model.EscapingKey + "=" + escaping.String()
		}
		vals = append(vals, fmt.Sprintf("%s;q=0.%d", v, weight))
		weight--
	}
	vals = append(vals, fmt.Sprintf("*/*;q=0.%d", weight))
	return strings.Join(vals, ",")
}
