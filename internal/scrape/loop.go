package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"

	fasttext "github.com/argus-mon/argus/internal/textparse"
)

// Appender is what scraping needs from the storage: the upstream appender
// contract restricted to float samples. Append must not keep ls beyond the
// call unless it copies it; errors storage.ErrOutOfOrderSample,
// storage.ErrDuplicateSampleForTimestamp and storage.ErrOutOfBounds reject one
// sample, any other error fails the scrape.
type Appender interface {
	Append(ref uint64, ls labels.Labels, t int64, v float64) (uint64, error)
	Commit() error
	Rollback() error
}

// Errors that fail a whole scrape, as in Prometheus.
var (
	errSampleLimit = errors.New("sample limit exceeded")
	errLabelLimit  = errors.New("label limit exceeded")
	errNameMissing = errors.New("missing metric name (__name__ label)")
)

// scrapeTimestampTolerance is how far a scrape may start from its scheduled
// time and still be stored at the scheduled time: regular timestamps compress
// to almost nothing (Prometheus uses the same 2ms).
const scrapeTimestampTolerance = 2 * time.Millisecond

// Names of the report series written for every scrape.
const (
	metricUp              = "up"
	metricDuration        = "scrape_duration_seconds"
	metricSamplesScraped  = "scrape_samples_scraped"
	metricSamplesPostRelb = "scrape_samples_post_metric_relabeling"
	metricSeriesAdded     = "scrape_series_added"
)

var reportMetrics = [...]string{metricUp, metricDuration, metricSamplesScraped, metricSamplesPostRelb, metricSeriesAdded}

// loopConfig is what a loop needs from its job's config.
type loopConfig struct {
	interval, timeout        time.Duration
	honorLabels              bool
	honorTimestamps          bool
	trackTimestampsStaleness bool
	sampleLimit              int
	labelLimit               int
	labelNameLengthLimit     int
	labelValueLengthLimit    int
	metricRelabel            []*relabel.Config
	fallbackContentType      string
	validation               model.ValidationScheme
}

// scraper fetches one exposition; the body is valid until release.
type scraper interface {
	scrape(ctx context.Context, deadline time.Time) (body []byte, contentType string, err error)
	// release says the body of the last scrape is no longer used.
	release()
}

// loop scrapes one target until stopped.
type loop struct {
	target      *Target
	cfg         loopConfig
	scraper     scraper
	newAppender func() Appender
	logger      *slog.Logger
	metrics     *metrics
	offset      time.Duration
	// forcedErr fails every scrape while set (target_limit exceeded).
	forcedErr func() error
	// parent is cancelled when argus shuts down: no staleness markers then.
	parent context.Context

	cache       *cache
	reportRefs  [len(reportMetrics)]uint64
	targetLabel labels.Labels // public labels, for report series
	lb          *labels.Builder
	cur         []*cacheEntry
	curTracked  []bool
	// order is the cache entries of the last page in page order and keys
	// their series texts, contiguous so that comparing a page with the last
	// one reads memory in sequence; next* are the buffers the next page's are
	// built in.
	order, nextOrder []*cacheEntry
	keys, nextKeys   textSeq
	// metaLines are the current page's HELP, TYPE and UNIT lines in order,
	// prevMetaLines the last page's.
	metaLines, prevMetaLines textSeq
	// helpMemo is the fast parser's memory of the last page's HELP and TYPE
	// lines.
	helpMemo fasttext.Memo
	// metaOrdered is set while the page's HELP, TYPE and UNIT lines have
	// strictly increasing names per field, so no line repeats an earlier
	// one's family: only then is a line equal to the last page's trusted to
	// change nothing. lastMetaName is the last name per field (in the page).
	metaOrdered  bool
	lastMetaName [3][]byte
	// metaScrapes counts pages; every metaSweepEvery-th is a sweep: all its
	// metadata lines are looked up, marking their families in metaSeen with
	// the sweep's number, and families not marked are dropped.
	metaScrapes int
	metaSweep   int // the current page's sweep number, 0 if not a sweep
	metaSeen    map[string]*int
	bufs        *buffers
	meta        map[string]Metadata
	metaPos     int
	// samePage is set when the current page has the series of the last
	// page in the same order, each appended and tracked.
	samePage    bool
	noStaleness atomic.Bool

	cancel  context.CancelFunc
	stopped chan struct{}
	// running is the pool's group of loop goroutines, which outlive stop
	// while they wait to write end-of-run staleness markers.
	running *sync.WaitGroup
}

// start runs the loop in a goroutine until stop.
func (l *loop) start() {
	ctx, cancel := context.WithCancel(l.parent)
	l.cancel = cancel
	l.stopped = make(chan struct{})
	l.running.Add(1)
	go func() {
		defer l.running.Done()
		l.run(ctx)
	}()
}

// stop ends the loop and waits for it. With staleness the loop, unless argus
// is shutting down, still writes staleness markers for its series about two
// intervals later (after stop has returned), as Prometheus does, in case the
// target comes back meanwhile.
func (l *loop) stop(staleness bool) {
	if !staleness {
		l.noStaleness.Store(true)
	}
	l.cancel()
	<-l.stopped
}

func (l *loop) run(ctx context.Context) {
	iv := l.cfg.interval
	// Wait for this target's slot in the interval, so targets spread over it
	// and a target keeps its phase across restarts.
	now := time.Now()
	wait := (l.offset - time.Duration(now.UnixNano())%iv + iv) % iv
	select {
	case <-ctx.Done():
		l.release()
		close(l.stopped)
		return
	case <-time.After(wait):
	}
	ticker := time.NewTicker(iv)
	defer ticker.Stop()
	var last time.Time
	for {
		start := time.Now()
		appendTime := start
		if !last.IsZero() {
			// Store regular timestamps when the scrape started close to its
			// schedule.
			if d := start.Sub(last.Add(iv)); d > -scrapeTimestampTolerance && d < scrapeTimestampTolerance {
				appendTime = last.Add(iv)
			}
		}
		l.scrapeAndReport(ctx, start, appendTime)
		last = appendTime
		select {
		case <-ctx.Done():
			l.release()
			close(l.stopped)
			if !l.noStaleness.Load() {
				l.endOfRunStaleness(ticker, iv)
			}
			return
		case <-ticker.C:
		}
	}
}

// allTracked reports whether the current scrape appended n samples, each
// tracked for staleness.
func (l *loop) allTracked(n int) bool {
	if len(l.cur) != n {
		return false
	}
	for _, t := range l.curTracked {
		if !t {
			return false
		}
	}
	return true
}

// release closes the scraper's kept-alive connection, if it has one.
func (l *loop) release() {
	if c, ok := l.scraper.(interface{ close() }); ok {
		c.close()
	}
}

// scrapeAndReport does one scrape and writes its samples, staleness markers
// and report series in one commit.
func (l *loop) scrapeAndReport(ctx context.Context, start, appendTime time.Time) {
	var body []byte
	var contentType string
	scrapeErr := l.forcedError()
	if scrapeErr == nil {
		body, contentType, scrapeErr = l.scraper.scrape(ctx, start.Add(l.cfg.timeout))
	}
	// The page goes back to the shared buffers when this scrape is done
	// with it, whatever happened.
	defer l.scraper.release()
	dur := time.Since(start)
	if ctx.Err() != nil && scrapeErr != nil {
		return // Stopped during the scrape: nothing to record.
	}
	ts := appendTime.UnixMilli()
	app := l.newAppender()
	var res appendResult
	var err error
	// A target that is down but reports so itself (an integration's
	// <type>_up 0) has its page stored; the scrape still fails.
	downReport := scrapeErr != nil && len(body) > 0 && isTargetDown(scrapeErr)
	if scrapeErr == nil || downReport {
		res, err = l.append(app, body, contentType, ts)
		if err != nil {
			app.Rollback()
			app = l.newAppender()
		}
	}
	// A stored page's series are current: none is stale.
	stored := err == nil && (scrapeErr == nil || downReport)
	if err == nil {
		err = scrapeErr
	}
	if err != nil && !stored {
		// A failed scrape makes every series of the last one stale.
		if _, aerr := l.append(app, nil, "", ts); aerr != nil {
			l.logger.Warn("Writing staleness markers failed", "err", aerr)
		}
	}
	if err != nil {
		l.metrics.scrapeFailures.Inc()
	}
	if rerr := l.report(app, ts, dur, res, err); rerr != nil {
		l.logger.Warn("Writing report series failed", "err", rerr)
	}
	if cerr := app.Commit(); cerr != nil {
		l.logger.Warn("Committing a scrape failed", "err", cerr)
	}
	l.target.report(start, dur, err)
	l.metrics.scrapes.Inc()
	if err != nil {
		l.logger.Debug("Scrape failed", "target", l.target.URL().String(), "err", err)
	}
}

func (l *loop) forcedError() error {
	if l.forcedErr == nil {
		return nil
	}
	return l.forcedErr()
}

type appendResult struct {
	scraped, added, seriesAdded int
}

// append parses an exposition and appends its samples, then staleness
// markers for series of the previous scrape that are gone. An empty body
// appends nothing but the staleness markers.
func (l *loop) append(app Appender, body []byte, contentType string, ts int64) (appendResult, error) {
	var res appendResult
	c := l.cache
	c.begin()
	l.cur, l.curTracked = l.cur[:0], l.curTracked[:0]
	l.samePage = false
	if len(body) > 0 {
		if err := l.appendBody(app, body, contentType, ts, &res); err != nil {
			// The page's metadata may not all have been taken in.
			l.helpMemo.Clear()
			return res, err
		}
	}
	c.track(l.cur, l.curTracked)
	if l.samePage {
		// Every series of the last page is tracked again now, and only
		// those can have been tracked in the last scrape: nothing is stale,
		// and the cache need not be walked. This is the common case of an
		// unchanged target.
		c.end()
		return res, nil
	}
	var err error
	stale := math.Float64frombits(value.StaleNaN)
	c.staleSince(func(e *cacheEntry) {
		if err != nil {
			return
		}
		_, aerr := app.Append(e.ref, e.lset, ts, stale)
		if aerr != nil && !isSampleError(aerr) {
			err = aerr
		}
	})
	c.end()
	return res, err
}

// parser is what appendBody needs from an exposition parser: the upstream
// textparse.Parser and argus's fast text parser both provide it.
type parser interface {
	Next() (textparse.Entry, error)
	Series() ([]byte, *int64, float64)
	Help() ([]byte, []byte)
	Type() ([]byte, model.MetricType)
	Unit() ([]byte, []byte)
	labels(*labels.Labels)
	// known reports a HELP or TYPE line unchanged since the target's last
	// page (see textparse.Memo).
	known() bool
}

type upstreamParser struct{ textparse.Parser }

func (p upstreamParser) labels(l *labels.Labels) { p.Labels(l) }
func (p upstreamParser) known() bool             { return false }

type fastParser struct {
	*fasttext.Prom
	sb labels.ScratchBuilder
}

func (p *fastParser) labels(l *labels.Labels) { p.Labels(&p.sb, l) }
func (p *fastParser) known() bool             { return p.Known() }

// newParser picks the parser for a page: argus's fast parser for the
// Prometheus text format when the page is in the subset it handles, the
// upstream parser otherwise.
func (l *loop) newParser(body []byte, contentType string) (parser, error) {
	if isPromText(contentType, l.cfg.fallbackContentType) {
		fast := l.bufs.parser()
		if fast.ResetMemo(body, &l.helpMemo) {
			return fast, nil
		}
		l.bufs.putParser(fast)
	}
	p, err := textparse.New(body, contentType, nil, textparse.ParserOptions{FallbackContentType: l.cfg.fallbackContentType})
	if p == nil {
		if err == nil {
			err = fmt.Errorf("unsupported content type %q", contentType)
		}
		return nil, fmt.Errorf("cannot parse scrape: %w", err)
	}
	return upstreamParser{p}, nil
}

// isPromText reports whether a page is in the Prometheus text format 0.0.4,
// the way textparse.New decides it (a missing version means 0.0.4).
func isPromText(contentType, fallback string) bool {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, params, err = mime.ParseMediaType(fallback)
		if err != nil {
			return false
		}
	}
	if mt != "text/plain" {
		return false
	}
	v := params["version"]
	return v == "" || v == "0.0.4"
}

func (l *loop) appendBody(app Appender, body []byte, contentType string, ts int64, res *appendResult) (err error) {
	p, err := l.newParser(body, contentType)
	if err != nil {
		return err
	}
	if fast, ok := p.(*fastParser); ok {
		defer l.bufs.putParser(fast)
	}
	var lset labels.Labels
	c := l.cache
	// Pages list their series in the same order every time, so the entry at
	// the same position last time is tried before the map: one comparison
	// instead of hashing the series text.
	prev, prevKeys := l.order, l.keys
	l.order, l.keys = l.nextOrder[:0], l.nextKeys
	l.keys.reset()
	l.metaLines, l.prevMetaLines = l.prevMetaLines, l.metaLines
	l.metaLines.reset()
	l.metaPos = 0
	defer func() {
		l.nextOrder, l.nextKeys = prev[:0], prevKeys
	}()
	pos, hits := 0, 0
	metaChanged := false
	l.metaOrdered, l.lastMetaName = true, [3][]byte{}
	l.metaScrapes++
	l.metaSweep = 0
	if l.metaScrapes%metaSweepEvery == 0 {
		l.metaSweep = l.metaScrapes
	}
	defer func() {
		if l.metaSweep != 0 && err == nil {
			metaChanged = l.dropUnseenMeta() || metaChanged
		}
		// Metadata taken in is published even if the scrape then failed,
		// as Prometheus shows what it parsed.
		if metaChanged {
			l.publishMeta()
		}
		if !l.metaOrdered {
			// The next page must not trust its comparisons with this one.
			l.metaLines.reset()
		}
		l.lastMetaName = [3][]byte{} // They point into the page.
	}()
	defer func() {
		// The same series in the same order as last time, each appended
		// and tracked now: see append.
		l.samePage = hits == pos && pos == len(prev) && l.allTracked(pos)
	}()
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("parse: %w", err)
		}
		switch e {
		case textparse.EntryType, textparse.EntryHelp:
			if p.known() && l.metaSweep == 0 {
				continue // The same line as last time: nothing changed.
			}
			if e == textparse.EntryHelp {
				name, help := p.Help()
				metaChanged = l.setMeta(name, metaHelp, yolo(help)) || metaChanged
				continue
			}
			name, typ := p.Type()
			metaChanged = l.setMeta(name, metaType, string(typ)) || metaChanged
			continue
		case textparse.EntryUnit:
			name, unit := p.Unit()
			metaChanged = l.setMeta(name, metaUnit, yolo(unit)) || metaChanged
			continue
		case textparse.EntrySeries:
		default:
			// Native histograms are not stored yet; text formats without them
			// are what argus asks for.
			continue
		}
		met, tp, v := p.Series()
		if !l.cfg.honorTimestamps {
			tp = nil
		}
		t := ts
		if tp != nil {
			t = *tp
		}
		res.scraped++
		var ce *cacheEntry
		if pos < len(prev) && bytes.Equal(prevKeys.at(pos), met) && !prev[pos].evicted {
			ce = prev[pos]
			hits++
		} else {
			var ok bool
			ce, ok = c.get(met)
			if !ok {
				p.labels(&lset)
				ce = &cacheEntry{}
				final := l.mutate(lset)
				if final.IsEmpty() {
					ce.dropped = true
				} else {
					if err := l.checkLabels(final); err != nil {
						return err
					}
					ce.lset = final
				}
				c.add(met, ce)
			}
		}
		pos++
		l.order = append(l.order, ce)
		l.keys.add(0, met, nil)
		if ce.dropped {
			ce.seen = c.iter
			continue
		}
		res.added++
		if l.cfg.sampleLimit > 0 && res.added > l.cfg.sampleLimit {
			return fmt.Errorf("%w (limit %d)", errSampleLimit, l.cfg.sampleLimit)
		}
		isNew := ce.ref == 0
		ref, err := app.Append(ce.ref, ce.lset, t, v)
		if err != nil {
			if isSampleError(err) {
				l.metrics.countSampleError(err)
				continue
			}
			return fmt.Errorf("append: %w", err)
		}
		if isNew {
			res.seriesAdded++
		}
		ce.ref = ref
		l.cur = append(l.cur, ce)
		l.curTracked = append(l.curTracked, tp == nil || l.cfg.trackTimestampsStaleness)
	}
	return nil
}

// Fields of Metadata for setMeta.
const (
	metaType = iota
	metaHelp
	metaUnit
)

// setMeta sets one field of a metric family's metadata in the loop's copy and
// reports whether it changed. Pages repeat their metadata lines in the same
// order, so the line at the same position last time is compared first, which
// avoids hashing the name. It allocates only for a family or text it has not
// seen: v may point into the page and is copied when stored.
func (l *loop) setMeta(name []byte, field int, v string) bool {
	pos := l.metaPos
	l.metaPos++
	tag := byte(field) + 1 // Never 0, the tag of series texts.
	l.metaLines.add(tag, name, yoloBytes(v))
	if last := l.lastMetaName[field]; last != nil && bytes.Compare(name, last) <= 0 {
		l.metaOrdered = false
	}
	l.lastMetaName[field] = name
	if l.metaSweep != 0 {
		changed := l.updateMeta(name, field, v)
		// Through a pointer, so marking a known family does not allocate.
		if seen := l.metaSeen[string(name)]; seen != nil {
			*seen = l.metaSweep
		} else {
			if l.metaSeen == nil {
				l.metaSeen = map[string]*int{}
			}
			sweep := l.metaSweep
			l.metaSeen[string(name)] = &sweep
		}
		return changed
	}
	if l.metaOrdered && pos < l.prevMetaLines.len() && l.prevMetaLines.equal(pos, tag, name, v) {
		return false
	}
	return l.updateMeta(name, field, v)
}

// metaSweepEvery is how often (in pages) families no longer exposed are
// dropped. Prometheus drops a family's metadata after ten scrapes without it.
const metaSweepEvery = 10

// dropUnseenMeta drops the families the current sweep did not see and
// reports whether there were any.
func (l *loop) dropUnseenMeta() bool {
	changed := false
	for k := range l.meta {
		if seen := l.metaSeen[k]; seen == nil || *seen != l.metaSweep {
			delete(l.meta, k)
			delete(l.metaSeen, k)
			changed = true
		}
	}
	return changed
}

func (l *loop) updateMeta(name []byte, field int, v string) bool {
	m, ok := l.meta[string(name)]
	var cur *string
	switch field {
	case metaType:
		if ok && string(m.Type) == v {
			return false
		}
		m.Type = model.MetricType(strings.Clone(v))
	case metaHelp:
		cur = &m.Help
	case metaUnit:
		cur = &m.Unit
	}
	if cur != nil {
		if ok && *cur == v {
			return false
		}
		*cur = strings.Clone(v)
	}
	if l.meta == nil {
		l.meta = map[string]Metadata{}
	}
	l.meta[string(name)] = m
	return true
}

// yolo views b as a string without copying, for comparisons.
func yolo(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// yoloBytes views s as bytes without copying; they must not be modified.
func yoloBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// publishMeta gives the target a copy of the metadata for the API.
func (l *loop) publishMeta() {
	cp := make(map[string]Metadata, len(l.meta))
	for k, v := range l.meta {
		cp[k] = v
	}
	l.target.mu.Lock()
	l.target.metadata = cp
	l.target.mu.Unlock()
}

func isSampleError(err error) bool {
	return errors.Is(err, storage.ErrOutOfOrderSample) || errors.Is(err, storage.ErrDuplicateSampleForTimestamp) ||
		errors.Is(err, storage.ErrOutOfBounds)
}

// mutate applies the target's labels (honor_labels) and
// metric_relabel_configs to a scraped label set; empty means dropped.
func (l *loop) mutate(scraped labels.Labels) labels.Labels {
	lb := l.lb
	lb.Reset(scraped)
	if l.cfg.honorLabels {
		l.targetLabel.Range(func(t labels.Label) {
			if !scraped.Has(t.Name) {
				lb.Set(t.Name, t.Value)
			}
		})
	} else {
		var conflicts []labels.Label
		l.targetLabel.Range(func(t labels.Label) {
			if v := scraped.Get(t.Name); v != "" {
				conflicts = append(conflicts, labels.Label{Name: t.Name, Value: v})
			}
			lb.Set(t.Name, t.Value)
		})
		// A scraped label that clashes with a target label is kept as
		// exported_<name> (exported_exported_<name> if that clashes too).
		for _, c := range conflicts {
			name := c.Name
			for {
				name = model.ExportedLabelPrefix + name
				if lb.Get(name) == "" {
					lb.Set(name, c.Value)
					break
				}
			}
		}
	}
	if !relabel.ProcessBuilder(lb, l.cfg.metricRelabel...) {
		return labels.EmptyLabels()
	}
	return lb.Labels()
}

// checkLabels applies label_limit, the name and value length limits and name
// validation; a violation fails the scrape, as in Prometheus.
func (l *loop) checkLabels(lset labels.Labels) error {
	if lset.Get(labels.MetricName) == "" {
		return fmt.Errorf("%w: %s", errNameMissing, lset)
	}
	if n := lset.Len(); l.cfg.labelLimit > 0 && n > l.cfg.labelLimit {
		return fmt.Errorf("%w: %s has %d labels (label_limit %d)", errLabelLimit, lset.Get(labels.MetricName), n, l.cfg.labelLimit)
	}
	var err error
	lset.Range(func(lb labels.Label) {
		switch {
		case err != nil:
		case l.cfg.labelNameLengthLimit > 0 && len(lb.Name) > l.cfg.labelNameLengthLimit:
			err = fmt.Errorf("%w: label name %q of %s is longer than %d bytes", errLabelLimit, lb.Name, lset.Get(labels.MetricName), l.cfg.labelNameLengthLimit)
		case l.cfg.labelValueLengthLimit > 0 && len(lb.Value) > l.cfg.labelValueLengthLimit:
			err = fmt.Errorf("%w: value of label %q of %s is longer than %d bytes", errLabelLimit, lb.Name, lset.Get(labels.MetricName), l.cfg.labelValueLengthLimit)
		}
	})
	if err != nil {
		return err
	}
	if !lset.IsValid(l.cfg.validation) {
		return fmt.Errorf("invalid metric name or label names: %s", lset)
	}
	if name, dup := lset.HasDuplicateLabelNames(); dup {
		return fmt.Errorf("label %q repeated in %s", name, lset)
	}
	return nil
}

// report writes the report series of a scrape.
func (l *loop) report(app Appender, ts int64, dur time.Duration, res appendResult, scrapeErr error) error {
	up := 1.0
	if scrapeErr != nil {
		up = 0
	}
	vals := [len(reportMetrics)]float64{up, dur.Seconds(), float64(res.scraped), float64(res.added), float64(res.seriesAdded)}
	return l.appendReport(app, ts, vals[:])
}

// appendReport appends one value per report series.
func (l *loop) appendReport(app Appender, ts int64, vals []float64) error {
	for i, name := range reportMetrics {
		lb := l.lb
		lb.Reset(l.targetLabel)
		lb.Set(labels.MetricName, name)
		ref, err := app.Append(l.reportRefs[i], lb.Labels(), ts, vals[i])
		if err != nil && !isSampleError(err) {
			return err
		}
		l.reportRefs[i] = ref
	}
	return nil
}

// endOfRunStaleness writes staleness markers for every series of the last
// scrape at the time the next scrape would have been, after waiting one more
// interval and a tenth in case the target reappears (its new loop's samples
// then make these markers out of order, and they are dropped), as Prometheus
// does. Nothing is written when argus shuts down.
func (l *loop) endOfRunStaleness(ticker *time.Ticker, iv time.Duration) {
	var staleTime time.Time
	select {
	case <-l.parent.Done():
		return
	case staleTime = <-ticker.C:
	}
	select {
	case <-l.parent.Done():
		return
	case <-ticker.C:
	}
	select {
	case <-l.parent.Done():
		return
	case <-time.After(iv / 10):
	}
	if l.noStaleness.Load() {
		return
	}
	ts := staleTime.UnixMilli()
	app := l.newAppender()
	if _, err := l.append(app, nil, "", ts); err != nil {
		l.logger.Warn("Writing end-of-run staleness markers failed", "err", err)
	}
	stale := math.Float64frombits(value.StaleNaN)
	vals := make([]float64, len(reportMetrics))
	for i := range vals {
		vals[i] = stale
	}
	if err := l.appendReport(app, ts, vals); err != nil {
		l.logger.Warn("Writing end-of-run staleness markers failed", "err", err)
	}
	if err := app.Commit(); err != nil {
		l.logger.Warn("Committing end-of-run staleness markers failed", "err", err)
	}
}
