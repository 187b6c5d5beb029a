package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/config"
)

// metaURL is the label http_sd puts on its groups, as in Prometheus.
const metaURL = model.MetaLabelPrefix + "url"

// maxHTTPBytes bounds an http_sd response.
const maxHTTPBytes = 64 << 20

type httpProvider struct {
	cfg    *config.HTTPSD
	opts   Options
	client *http.Client
	err    error
	last   []*Group
}

// HTTP returns a provider for one http_sd_configs item.
func HTTP(cfg *config.HTTPSD, opts Options) Provider {
	client, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, "http_sd")
	return &httpProvider{cfg: cfg, opts: opts, client: client, err: err}
}

func (p *httpProvider) Run(ctx context.Context, up chan<- []*Group) {
	log := p.opts.logger()
	if p.err != nil {
		log.Error("http_sd client configuration is invalid", "url", p.cfg.URL, "err", p.err)
		return
	}
	refresh := time.Duration(p.cfg.RefreshInterval)
	for {
		groups, err := p.fetch(ctx)
		switch {
		case err != nil:
			// Keep the last good targets, as Prometheus does.
			log.Error("http_sd refresh failed; keeping the previous targets", "url", p.cfg.URL, "err", err)
		case p.last == nil || !sameGroups(p.last, groups):
			p.last = groups
			if !send(ctx, up, groups) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(refresh):
		}
	}
}

func (p *httpProvider) fetch(ctx context.Context) ([]*Group, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.cfg.RefreshInterval))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.URL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Prometheus-Refresh-Interval-Seconds", strconv.FormatFloat(time.Duration(p.cfg.RefreshInterval).Seconds(), 'f', -1, 64))
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("server returned HTTP status %s", resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return nil, fmt.Errorf("unsupported content type %q: want application/json", resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxHTTPBytes {
		return nil, fmt.Errorf("response larger than %d bytes", maxHTTPBytes)
	}
	var fgs []fileGroup
	if err := json.Unmarshal(body, &fgs); err != nil {
		return nil, err
	}
	return toGroups(p.cfg.URL, fgs, metaURL, p.cfg.URL)
}
