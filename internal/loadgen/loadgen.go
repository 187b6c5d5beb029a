package loadgen

import (
	_ "embed"
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// nodeExporterTemplate is one /metrics scrape of Debian's node exporter 1.5 on
// a two-CPU virtual machine, kept byte for byte as captured so the series
// shapes (label sets, value precisions, magnitudes) are real ones.
//
//go:embed testdata/node_exporter.prom
var nodeExporterTemplate []byte

// Defaults applied by New to zero Options fields.
const (
	// DefaultInterval is Prometheus's default scrape interval.
	DefaultInterval = 15 * time.Second
	// DefaultJitter is how far a scrape timestamp strays from the interval
	// grid, as real scrapes do when they are not aligned.
	DefaultJitter = 3 * time.Millisecond
)

// Options configures a Generator. The zero value is usable.
type Options struct {
	// Targets is the number of simulated hosts; 0 means 1. Each gets every
	// template series with instance="host-<i>:9100" and job="node" added.
	Targets int
	// Seed selects the random history; equal options give equal output.
	Seed int64
	// Interval between scrapes; 0 means DefaultInterval. It must be a whole
	// number of milliseconds.
	Interval time.Duration
	// Start is the timestamp of the first scrape in milliseconds, before
	// jitter.
	Start int64
	// Jitter is the largest deviation of a scrape timestamp from
	// Start + i×Interval, in whole milliseconds; 0 means DefaultJitter and a
	// negative value means none, as with Prometheus's timestamp alignment.
	Jitter time.Duration
	// Template is a scrape in Prometheus text format to replicate; nil means
	// the embedded node_exporter capture.
	Template []byte
}

// seriesKind says how a series evolves.
type seriesKind uint8

const (
	// kindGauge random-walks.
	kindGauge seriesKind = iota
	// kindCounter grows by a random positive increment.
	kindCounter
	// kindBucket is a classic histogram bucket: it grows by the increment of
	// the bucket below it plus a non-negative amount, so buckets stay
	// cumulative in le.
	kindBucket
	// kindBucketCount is a histogram _count: it grows with the largest bucket.
	kindBucketCount
)

// seriesState is the evolving state of one series.
type seriesState struct {
	// m is the current value in units of 10^dec.exp.
	m int64
	// unit is the granularity of m: byte counts read from pages or sectors
	// move in multiples of a power of two, and so do the generated ones.
	unit int64
	// rate is the mean increment per scrape of a counter or bucket, or the
	// largest step of a gauge, in units.
	rate   float64
	dec    decimal
	kind   seriesKind
	nonNeg bool
}

// group is a set of series that evolve together: the buckets, _count and
// _sum of one histogram or the quantiles of one summary, or a single series.
// Each group has its own random stream, so its history can be produced
// without producing the others' (WriteOpenMetrics relies on this).
type group struct {
	rng    rand.PCG
	family int
	// members index Generator.series in exposition order: buckets by le or
	// quantiles, then _count, then _sum.
	members []int32
}

// Generator produces the scrapes. It is not safe for concurrent use.
type Generator struct {
	interval int64
	start    int64
	jitter   int64
	step     int64
	tsRNG    rand.PCG
	families []family
	series   []labels.Labels
	state    []seriesState
	groups   []group
}

// New builds a generator from opts.
func New(opts Options) (*Generator, error) {
	if opts.Targets < 0 {
		return nil, fmt.Errorf("loadgen: negative targets %d", opts.Targets)
	}
	if opts.Targets == 0 {
		opts.Targets = 1
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Interval < time.Millisecond || opts.Interval%time.Millisecond != 0 {
		return nil, fmt.Errorf("loadgen: interval %v is not a positive whole number of milliseconds", opts.Interval)
	}
	switch {
	case opts.Jitter == 0:
		opts.Jitter = DefaultJitter
	case opts.Jitter < 0:
		opts.Jitter = 0
	}
	if opts.Jitter%time.Millisecond != 0 || 2*opts.Jitter >= opts.Interval {
		return nil, fmt.Errorf("loadgen: jitter %v must be whole milliseconds below half the interval", opts.Jitter)
	}
	if opts.Template == nil {
		opts.Template = nodeExporterTemplate
	}
	tpl, err := parseTemplate(opts.Template)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	g := &Generator{
		interval: opts.Interval.Milliseconds(),
		start:    opts.Start,
		jitter:   opts.Jitter.Milliseconds(),
		families: tpl.families,
	}
	g.tsRNG.Seed(uint64(opts.Seed), 0x7473) // any fixed second word: "ts"
	g.build(tpl, opts)
	return g, nil
}

// build creates the series of all targets, sorts them and forms the groups.
func (g *Generator) build(tpl *template, opts Options) {
	base := initialStates(tpl, opts.Interval.Seconds())
	n := len(tpl.samples) * opts.Targets
	type pending struct {
		lset   labels.Labels
		state  seriesState
		key    string
		family int
	}
	all := make([]pending, 0, n)
	lb := labels.NewBuilder(labels.EmptyLabels())
	for tgt := range opts.Targets {
		instance := "host-" + strconv.Itoa(tgt) + ":9100"
		for i, s := range tpl.samples {
			lb.Reset(s.lset)
			lb.Set("instance", instance)
			lb.Set("job", "node")
			lset := lb.Labels()
			all = append(all, pending{lset: lset, state: base[i], key: groupKey(lset, tpl.families[s.family], s.family), family: s.family})
		}
	}
	slices.SortFunc(all, func(a, b pending) int { return labels.Compare(a.lset, b.lset) })

	g.series = make([]labels.Labels, n)
	g.state = make([]seriesState, n)
	byKey := map[string]int{}
	for i, p := range all {
		g.series[i] = p.lset
		g.state[i] = p.state
		gi, ok := byKey[p.key]
		if !ok {
			gi = len(g.groups)
			byKey[p.key] = gi
			h := fnv.New64a()
			h.Write([]byte(p.key))
			g.groups = append(g.groups, group{family: p.family})
			g.groups[gi].rng.Seed(uint64(opts.Seed), h.Sum64())
		}
		g.groups[gi].members = append(g.groups[gi].members, int32(i))
	}
	for i := range g.groups {
		g.orderMembers(&g.groups[i])
	}
	// Family-major order lets WriteOpenMetrics walk the groups once; within
	// a family the groups keep the series sort order.
	slices.SortStableFunc(g.groups, func(a, b group) int { return a.family - b.family })
}

// groupKey identifies the group of a series: the family and the labels
// without le and quantile, so a histogram's or summary's lines share a key.
func groupKey(lset labels.Labels, f family, fi int) string {
	b := labels.NewBuilder(lset)
	if f.typ == model.MetricTypeHistogram || f.typ == model.MetricTypeSummary {
		b.Set(labels.MetricName, f.name)
		b.Del(labels.BucketLabel, model.QuantileLabel)
	}
	return strconv.Itoa(fi) + "\xff" + b.Labels().String()
}

// orderMembers puts a group's series in exposition order and ties histogram
// buckets together so they stay cumulative.
func (g *Generator) orderMembers(gr *group) {
	rank := func(i int32) (int, float64) {
		lset := g.series[i]
		name := lset.Get(labels.MetricName)
		switch {
		case lset.Has(labels.BucketLabel):
			le, _ := strconv.ParseFloat(lset.Get(labels.BucketLabel), 64)
			return 0, le
		case lset.Has(model.QuantileLabel):
			q, _ := strconv.ParseFloat(lset.Get(model.QuantileLabel), 64)
			return 0, q
		case len(gr.members) > 1 && strings.HasSuffix(name, "_count"):
			return 1, 0
		default:
			return 2, 0
		}
	}
	slices.SortStableFunc(gr.members, func(a, b int32) int {
		ra, fa := rank(a)
		rb, fb := rank(b)
		if ra != rb {
			return ra - rb
		}
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	})
	buckets := false
	for _, i := range gr.members {
		st := &g.state[i]
		switch {
		case g.series[i].Has(labels.BucketLabel):
			st.kind = kindBucket
			buckets = true
		case buckets && st.kind == kindCounter && strings.HasSuffix(g.series[i].Get(labels.MetricName), "_count"):
			st.kind = kindBucketCount
		}
	}
	// A bucket's own rate is what it adds over the bucket below it.
	var prev float64
	for _, i := range gr.members {
		if st := &g.state[i]; st.kind == kindBucket {
			r := st.rate
			st.rate = max(r-prev, 0)
			prev = r
		}
	}
}

// gaugeStep is the typical relative change of a gauge per scrape.
const gaugeStep = 5e-4

// initialStates derives each template sample's starting state.
func initialStates(tpl *template, intervalSeconds float64) []seriesState {
	// Series of a family share its finest precision, so a CPU-seconds
	// counter that happens to read 0 still moves in hundredths.
	finest := make([]decimal, len(tpl.families))
	hasFinest := make([]bool, len(tpl.families))
	ms := make([]int64, len(tpl.samples))
	decs := make([]decimal, len(tpl.samples))
	for i, s := range tpl.samples {
		ms[i], decs[i] = decompose(s.v)
		if d := decs[i]; d.exp < 0 && (!hasFinest[s.family] || d.exp < finest[s.family].exp) {
			finest[s.family], hasFinest[s.family] = d, true
		}
	}
	scrapesUp := max(tpl.uptime/intervalSeconds, 1)
	out := make([]seriesState, len(tpl.samples))
	for i, s := range tpl.samples {
		f := tpl.families[s.family]
		m, d := ms[i], decs[i]
		if d.exp == 0 && hasFinest[s.family] {
			d = finest[s.family]
			m *= int64(math.Pow10(-d.exp))
		}
		st := seriesState{m: m, dec: d, unit: 1, nonNeg: m >= 0}
		name := s.lset.Get(labels.MetricName)
		// Histogram counts grow one observation at a time.
		countsObservations := strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_count")
		if d.exp == 0 && !hasFinest[s.family] && !countsObservations {
			if a := abs(m); a >= 1<<16 {
				if tz := bits.TrailingZeros64(uint64(a)); tz >= 3 {
					st.unit = 1 << min(tz, 12)
				}
			}
		}
		units := float64(abs(m) / st.unit)
		if isCounterLike(name, f) {
			st.kind = kindCounter
			st.rate = units / scrapesUp
		} else {
			st.kind = kindGauge
			st.rate = max(1, units*gaugeStep)
		}
		out[i] = st
	}
	return out
}

func abs(m int64) int64 {
	if m < 0 {
		return -m
	}
	return m
}

// Series returns the label sets of all series, sorted; the values of Next
// are in the same order. The slice must not be modified.
func (g *Generator) Series() []labels.Labels { return g.series }

// Next advances every series by one scrape. It appends the values to dst,
// in Series order, and returns the scrape timestamp in milliseconds.
func (g *Generator) Next(dst []float64) (t int64, vals []float64) {
	t = g.nextTimestamp()
	n := len(g.state)
	vals = slices.Grow(dst, n)[:len(dst)+n]
	out := vals[len(dst):]
	for i := range g.groups {
		gr := &g.groups[i]
		g.advance(gr)
		for _, m := range gr.members {
			out[m] = g.value(m)
		}
	}
	return t, vals
}

// nextTimestamp returns the timestamp of the next scrape and counts it.
func (g *Generator) nextTimestamp() int64 {
	t := g.start + g.step*g.interval
	if g.jitter > 0 {
		t += int64(uintN(&g.tsRNG, uint64(2*g.jitter+1))) - g.jitter
	}
	g.step++
	return t
}

// value returns the current float value of series i.
func (g *Generator) value(i int32) float64 {
	st := &g.state[i]
	return st.dec.value(st.m)
}

// advance moves every member of gr one scrape on.
func (g *Generator) advance(gr *group) {
	var bucketInc int64
	for _, i := range gr.members {
		st := &g.state[i]
		switch st.kind {
		case kindCounter:
			st.m += st.unit * increment(&gr.rng, st.rate)
		case kindBucket:
			if bucketInc == 0 {
				// The lowest bucket must grow so that all buckets change.
				bucketInc = increment(&gr.rng, st.rate)
			} else {
				bucketInc += int64(uintN(&gr.rng, uint64(2*st.rate)+1))
			}
			st.m += bucketInc
		case kindBucketCount:
			st.m += max(bucketInc, 1)
		default:
			step := st.unit * (1 + int64(uintN(&gr.rng, uint64(math.Ceil(st.rate)))))
			if gr.rng.Uint64()&1 == 0 || (st.nonNeg && st.m < step) {
				st.m += step
			} else {
				st.m -= step
			}
		}
	}
}

// increment draws a counter increment: uniform around rate, at least 1.
func increment(rng *rand.PCG, rate float64) int64 {
	lo := max(1, int64(rate/2))
	hi := max(lo+1, int64(math.Ceil(rate*1.5)))
	return lo + int64(uintN(rng, uint64(hi-lo+1)))
}

// uintN returns a number in [0, n) from rng, or 0 for n == 0. The tiny bias
// of a plain multiply-shift does not matter here and keeps it branch-free.
func uintN(rng *rand.PCG, n uint64) uint64 {
	hi, _ := bits.Mul64(rng.Uint64(), n)
	return hi
}
