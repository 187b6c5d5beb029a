package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/argus-mon/argus/internal/loadgen"
)

// scrapeComparison serves node_exporter-shaped targets on loopback and lets
// argus and Prometheus scrape all of them with the same prometheus.yml, then
// compares CPU per scraped sample and RSS.
func scrapeComparison(ctx context.Context, o options, work string, report io.Writer) error {
	interval := 5 * time.Second
	exporters, err := startExporters(o.scrapeTargets, o.scrapeSeries, interval)
	if err != nil {
		return err
	}
	defer func() {
		for _, x := range exporters {
			x.close()
		}
	}()
	var targets []string
	for _, x := range exporters {
		targets = append(targets, strconv.Quote(x.addr))
	}
	cfg := filepath.Join(work, "scrape.yml")
	yml := fmt.Sprintf("global:\n  scrape_interval: %s\n  scrape_timeout: 4s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [%s]\n",
		interval, strings.Join(targets, ", "))
	// argus reads the same file; its built-in collectors are switched off so
	// both do the same work.
	argusYml := yml + "collectors:\n  argus: {enabled: false}\n  node: {enabled: false}\n  process: {enabled: false}\n"
	acfg := filepath.Join(work, "scrape-argus.yml")
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(acfg, []byte(argusYml), 0o644); err != nil {
		return err
	}
	procs := []*proc{
		{name: "argus", bin: o.argus, dir: filepath.Join(work, "scrape-argus"), cfg: acfg},
		{name: "prometheus", bin: o.prometheus, dir: filepath.Join(work, "scrape-prom"), cfg: cfg},
	}
	if o.argusBaseline != "" {
		procs = append(procs, &proc{name: "argus", bin: o.argusBaseline, dir: filepath.Join(work, "scrape-argus-baseline"), cfg: acfg})
	}
	for _, p := range procs {
		if err := p.start(ctx); err != nil {
			return err
		}
		defer p.kill()
		if _, err := p.waitReady(2 * time.Minute); err != nil {
			return err
		}
	}
	series := exporters[0].series
	log.Printf("scrape: %d targets × %d series every %s, warming up", len(exporters), series, interval)
	// Let both reach steady state: every target scraped, series created.
	time.Sleep(3 * interval)
	cpu0 := cpus(procs)
	start := time.Now()
	scrapes0 := totalScrapes(exporters)
	log.Printf("scrape: measuring for %s (argus profile: %s/debug/pprof/profile)", time.Duration(o.scrapeMinutes)*time.Minute, procs[0].url)
	time.Sleep(time.Duration(o.scrapeMinutes) * time.Minute)
	cpu1 := cpus(procs)
	wall := time.Since(start)
	scrapes := totalScrapes(exporters) - scrapes0
	rss := [2]int64{procs[0].rss(), procs[1].rss()}
	// Each server scraped its share of the requests the exporters served.
	samples := float64(scrapes) / float64(len(procs)) * float64(series)
	total := float64(len(exporters) * series)
	fmt.Fprintf(report, "### Scraping: the same targets scraped by both\n\n")
	fmt.Fprintf(report, "%d loopback targets serving node_exporter-shaped pages (%d series each, gzip, every value changing every %s), "+
		"scraped every %s by argus and Prometheus from the same prometheus.yml for %s after a warm-up; %.0f samples scraped by each.\n\n",
		len(exporters), series, interval, interval, wall.Round(time.Second), samples)
	fmt.Fprintf(report, "| figure | argus | Prometheus | ratio argus/Prometheus |\n|---|---|---|---|\n")
	ac, pc := (cpu1[0]-cpu0[0]).Seconds()/samples*1e9, (cpu1[1]-cpu0[1]).Seconds()/samples*1e9
	fmt.Fprintf(report, "| CPU ns per scraped sample (scrape, parse, relabel, store) | %.0f | %.0f | **%.2f** |\n", ac, pc, ac/pc)
	if len(procs) > 2 {
		bc := (cpu1[2] - cpu0[2]).Seconds() / samples * 1e9
		fmt.Fprintf(report, "| CPU ns per scraped sample, baseline argus %s | %.0f | | %.2f (argus/baseline %.2f) |\n", o.argusBaseline, bc, bc/pc, ac/bc)
	}
	ar, pr := float64(rss[0])/total, float64(rss[1])/total
	fmt.Fprintf(report, "| RSS bytes per scraped series | %.0f | %.0f | %.2f |\n", ar, pr, ar/pr)
	fmt.Fprintf(report, "| RSS per target | %.0f KiB | %.0f KiB | |\n\n", float64(rss[0])/float64(len(exporters))/1024, float64(rss[1])/float64(len(exporters))/1024)
	return nil
}

func cpus(procs []*proc) []time.Duration {
	var out []time.Duration
	for _, p := range procs {
		out = append(out, p.cpu())
	}
	return out
}

// exporter serves one target's page; a generator advances its values every
// interval, and the page is rendered (and gzipped) once per interval.
type exporter struct {
	addr     string
	srv      *http.Server
	series   int
	mu       sync.RWMutex
	plain    []byte
	gz       []byte
	requests int64
	stop     chan struct{}
	done     sync.WaitGroup
}

func startExporters(n, maxSeries int, interval time.Duration) ([]*exporter, error) {
	var out []*exporter
	for i := range n {
		gen, err := loadgen.New(loadgen.Options{Targets: 1, Seed: int64(100 + i), Interval: interval, Start: time.Now().UnixMilli()})
		if err != nil {
			return nil, err
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		series := len(gen.Series())
		if maxSeries > 0 && maxSeries < series {
			series = maxSeries
		}
		x := &exporter{addr: l.Addr().String(), series: series, stop: make(chan struct{})}
		x.render(gen)
		x.srv = &http.Server{Handler: x, ReadHeaderTimeout: 5 * time.Second}
		x.done.Add(2)
		go func() {
			defer x.done.Done()
			x.srv.Serve(l)
		}()
		go func() {
			defer x.done.Done()
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				select {
				case <-x.stop:
					return
				case <-t.C:
					x.render(gen)
				}
			}
		}()
		out = append(out, x)
	}
	return out, nil
}

// render writes the generator's next values as a Prometheus text page
// without the instance and job labels (the scraper adds them).
func (x *exporter) render(gen *loadgen.Generator) {
	_, vals := gen.Next(nil)
	plain := gen.AppendText(nil, vals, "instance", "job")
	if x.series < len(vals) {
		plain = firstSamples(plain, x.series)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(plain)
	w.Close()
	x.mu.Lock()
	x.plain, x.gz = plain, gz.Bytes()
	x.mu.Unlock()
}

func (x *exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x.mu.Lock()
	x.requests++
	plain, gz := x.plain, x.gz
	x.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz)
		return
	}
	w.Write(plain)
}

// firstSamples cuts a page after its first n sample lines (for measuring
// the fixed cost of a scrape with small pages).
func firstSamples(page []byte, n int) []byte {
	pos := 0
	for pos < len(page) && n > 0 {
		end := bytes.IndexByte(page[pos:], '\n')
		if end < 0 {
			return page
		}
		if page[pos] != '#' {
			n--
		}
		pos += end + 1
	}
	return page[:pos]
}

func (x *exporter) close() {
	close(x.stop)
	x.srv.Close()
	x.done.Wait()
}

func totalScrapes(xs []*exporter) int64 {
	var n int64
	for _, x := range xs {
		x.mu.RLock()
		n += x.requests
		x.mu.RUnlock()
	}
	return n
}
