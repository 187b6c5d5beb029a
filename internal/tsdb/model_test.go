package tsdb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// TestRandomizedModel drives the DB with random appends (including
// out-of-order and duplicate attempts), rollbacks, flushes, compactions and
// restarts, and after every step compares random queries with a plain
// in-memory model of what must be stored.
func TestRandomizedModel(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, uint64(seed)) })
	}
}

type model struct {
	series map[string][]sample
	lsets  map[string]labels.Labels
}

func (m *model) lastT(k string) int64 {
	s := m.series[k]
	if len(s) == 0 {
		return math.MinInt64
	}
	return s[len(s)-1].t
}

func (m *model) query(mint, maxt int64, match func(labels.Labels) bool) map[string][]sample {
	out := map[string][]sample{}
	for k, s := range m.series {
		if !match(m.lsets[k]) {
			continue
		}
		var in []sample
		for _, x := range s {
			if x.t >= mint && x.t <= maxt {
				in = append(in, x)
			}
		}
		if len(in) > 0 {
			out[k] = in
		}
	}
	return out
}

func runModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	dir := t.TempDir()
	opts := testOptions()
	opts.BlockDuration = 500 * time.Millisecond
	db := openTestDB(t, dir, opts)
	defer func() { db.Close() }()
	m := &model{series: map[string][]sample{}, lsets: map[string]labels.Labels{}}
	var pool []labels.Labels
	for i := range 40 {
		pool = append(pool, labels.FromStrings("__name__", fmt.Sprintf("m%d", i%4), "i", fmt.Sprint(i), "parity", []string{"even", "odd"}[i%2]))
	}
	now := int64(10_000)
	for step := range 400 {
		switch op := rng.IntN(100); {
		case op < 70:
			now += int64(rng.IntN(20))
			app := db.Appender()
			type pend struct {
				k string
				s sample
			}
			var batch []pend
			for range 1 + rng.IntN(20) {
				lset := pool[rng.IntN(len(pool))]
				k := lset.String()
				ts := now - int64(rng.IntN(30)) // sometimes older than the newest
				v := float64(rng.IntN(1000)) / 10
				last := m.lastT(k)
				_, err := app.Append(0, lset, ts, v)
				if ts > last && ts >= db.head.minValidTime() {
					if err != nil {
						t.Fatalf("step %d: append %s t=%d (last %d): %v", step, k, ts, last, err)
					}
					batch = append(batch, pend{k, sample{ts, v}})
					m.lsets[k] = lset
				} else if err == nil && ts != last {
					t.Fatalf("step %d: append %s t=%d accepted with last %d", step, k, ts, last)
				}
			}
			if rng.IntN(10) == 0 {
				app.Rollback()
				break
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
			for _, p := range batch {
				// Appends check against committed samples only; the commit keeps
				// each series' samples increasing.
				if p.s.t > m.lastT(p.k) {
					m.series[p.k] = append(m.series[p.k], p.s)
				}
			}
		case op < 80:
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		case op < 90:
			if err := db.Compact(); err != nil {
				t.Fatal(err)
			}
		case op < 95:
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openTestDB(t, dir, opts)
		default:
			crash(db)
			db = openTestDB(t, dir, opts)
		}
		checkModel(t, rng, db, m, step, now)
	}
	if len(db.Blocks()) == 0 {
		t.Fatal("no blocks were written; the model test must cover blocks")
	}
}

func checkModel(t *testing.T, rng *rand.Rand, db *DB, m *model, step int, now int64) {
	t.Helper()
	type q struct {
		ms    []*labels.Matcher
		match func(labels.Labels) bool
	}
	qs := []q{
		{nil, func(labels.Labels) bool { return true }},
		{[]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "parity", "odd")}, func(l labels.Labels) bool { return l.Get("parity") == "odd" }},
		{[]*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", "m[12]"), labels.MustNewMatcher(labels.MatchNotEqual, "i", "5")},
			func(l labels.Labels) bool {
				n := l.Get("__name__")
				return (n == "m1" || n == "m2") && l.Get("i") != "5"
			}},
	}
	c := qs[rng.IntN(len(qs))]
	mint := now - int64(rng.IntN(3000))
	maxt := mint + int64(rng.IntN(3000))
	if rng.IntN(4) == 0 {
		mint, maxt = math.MinInt64, math.MaxInt64
	}
	got := query(t, db, mint, maxt, c.ms...)
	want := m.query(mint, maxt, c.match)
	if reused := queryReusing(t, db, mint, maxt, c.ms...); !equalSeries(reused, want) {
		diffSeries(t, reused, want)
		t.Fatalf("step %d: SelectReusing [%d,%d] %v differs from the model", step, mint, maxt, c.ms)
	}
	if !equalSeries(got, want) {
		keys := func(x map[string][]sample) []string {
			var ks []string
			for k := range x {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			return ks
		}
		diffSeries(t, got, want)
		t.Fatalf("step %d: query [%d,%d] %v: got %d series %v, want %d %v", step, mint, maxt, c.ms, len(got), keys(got), len(want), keys(want))
	}
}
