package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// memSource is a brute-force Source used as the oracle for matcher evaluation.
type memSource struct{ series []labels.Labels }

func (m memSource) Postings(name, value string) ([]uint64, error) {
	var out []uint64
	for i, s := range m.series {
		if s.Has(name) && s.Get(name) == value {
			out = append(out, uint64(i+1))
		}
	}
	return out, nil
}

func (m memSource) LabelValues(name string) ([]string, error) {
	var out []string
	for _, s := range m.series {
		if s.Has(name) {
			out = append(out, s.Get(name))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (m memSource) AllPostings() ([]uint64, error) {
	out := make([]uint64, len(m.series))
	for i := range m.series {
		out[i] = uint64(i + 1)
	}
	return out, nil
}

func bruteForce(series []labels.Labels, ms []*labels.Matcher) []uint64 {
	var out []uint64
	for i, s := range series {
		ok := true
		for _, m := range ms {
			if !m.Matches(s.Get(m.Name)) {
				ok = false
			}
		}
		if ok {
			out = append(out, uint64(i+1))
		}
	}
	return out
}

func testSeries(n int) []labels.Labels {
	out := make([]labels.Labels, 0, n)
	for i := range n {
		b := labels.NewScratchBuilder(4)
		b.Add("__name__", fmt.Sprintf("metric_%d", i%7))
		b.Add("instance", fmt.Sprintf("host-%d", i%13))
		if i%3 != 0 {
			b.Add("mode", []string{"idle", "user", "system", ""}[i%4])
		}
		b.Add("uniq", fmt.Sprint(i))
		b.Sort()
		out = append(out, b.Labels().WithoutEmpty())
	}
	slices.SortFunc(out, labels.Compare)
	return out
}

var matcherCases = [][]*labels.Matcher{
	{labels.MustNewMatcher(labels.MatchEqual, "__name__", "metric_3")},
	{labels.MustNewMatcher(labels.MatchEqual, "__name__", "metric_3"), labels.MustNewMatcher(labels.MatchEqual, "mode", "idle")},
	{labels.MustNewMatcher(labels.MatchEqual, "mode", "")},
	{labels.MustNewMatcher(labels.MatchNotEqual, "mode", "")},
	{labels.MustNewMatcher(labels.MatchNotEqual, "mode", "idle")},
	{labels.MustNewMatcher(labels.MatchRegexp, "mode", "idle|user")},
	{labels.MustNewMatcher(labels.MatchRegexp, "mode", "idle|")},
	{labels.MustNewMatcher(labels.MatchRegexp, "mode", ".*")},
	{labels.MustNewMatcher(labels.MatchRegexp, "mode", ".+")},
	{labels.MustNewMatcher(labels.MatchNotRegexp, "mode", ".+")},
	{labels.MustNewMatcher(labels.MatchNotRegexp, "mode", "i.*")},
	{labels.MustNewMatcher(labels.MatchNotRegexp, "mode", "idle|user")},
	{labels.MustNewMatcher(labels.MatchRegexp, "instance", "host-1.*"), labels.MustNewMatcher(labels.MatchNotRegexp, "mode", "s.*")},
	{labels.MustNewMatcher(labels.MatchEqual, "nope", "x")},
	{labels.MustNewMatcher(labels.MatchEqual, "nope", "")},
	{labels.MustNewMatcher(labels.MatchRegexp, "uniq", "1.")},
	{labels.MustNewMatcher(labels.MatchRegexp, "__name__", "(?i)METRIC_1")},
}

func TestPostingsForMatchers(t *testing.T) {
	series := testSeries(300)
	src := memSource{series}
	for i, ms := range matcherCases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			got, err := PostingsForMatchers(context.Background(), src, ms...)
			if err != nil {
				t.Fatal(err)
			}
			want := bruteForce(series, ms)
			if !slices.Equal(got, want) {
				t.Fatalf("%v: got %d series, want %d", ms, len(got), len(want))
			}
		})
	}
}

func TestSetOps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() []uint64 {
		n := r.IntN(50)
		set := map[uint64]bool{}
		for range n {
			set[uint64(r.IntN(100))] = true
		}
		out := make([]uint64, 0, len(set))
		for v := range set {
			out = append(out, v)
		}
		slices.Sort(out)
		return out
	}
	for range 500 {
		a, b, c := gen(), gen(), gen()
		var inter, union, without []uint64
		for v := range uint64(100) {
			ina, inb, inc := slices.Contains(a, v), slices.Contains(b, v), slices.Contains(c, v)
			if ina && inb && inc {
				inter = append(inter, v)
			}
			if ina || inb || inc {
				union = append(union, v)
			}
			if ina && !inb {
				without = append(without, v)
			}
		}
		if got := Intersect(a, b, c); !equalOrEmpty(got, inter) {
			t.Fatalf("intersect %v %v %v = %v, want %v", a, b, c, got, inter)
		}
		if got := Union(a, b, c); !equalOrEmpty(got, union) {
			t.Fatalf("union = %v, want %v", got, union)
		}
		if got := Without(a, b); !equalOrEmpty(got, without) {
			t.Fatalf("without = %v, want %v", got, without)
		}
	}
	// Inputs must not be modified.
	a := []uint64{1, 2, 3}
	Intersect(a, []uint64{2})
	if !slices.Equal(a, []uint64{1, 2, 3}) {
		t.Fatalf("Intersect modified its input: %v", a)
	}
}

func equalOrEmpty(a, b []uint64) bool { return len(a) == 0 && len(b) == 0 || slices.Equal(a, b) }

func writeIndex(t testing.TB, dir string, series []labels.Labels) (string, []uint64) {
	t.Helper()
	path := filepath.Join(dir, "index")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	var syms []string
	for _, s := range series {
		s.Range(func(l labels.Label) { syms = append(syms, l.Name, l.Value) })
	}
	if err := w.AddSymbols(syms); err != nil {
		t.Fatal(err)
	}
	ids := make([]uint64, len(series))
	for i, s := range series {
		chks := []ChunkMeta{{MinT: int64(i), MaxT: int64(i) + 10, Ref: uint64(i * 100)}, {MinT: int64(i) + 11, MaxT: int64(i) + 20, Ref: uint64(i*100 + 50)}}
		id, err := w.AddSeries(s, chks[:i%3])
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path, ids
}

func TestIndexRoundTrip(t *testing.T) {
	series := testSeries(500)
	path, ids := writeIndex(t, t.TempDir(), series)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(b)
	if err != nil {
		t.Fatal(err)
	}
	sb := labels.NewScratchBuilder(8)
	for i, id := range ids {
		lset, chks, err := r.Series(id, &sb, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !labels.Equal(lset, series[i]) {
			t.Fatalf("series %d: got %s want %s", i, lset, series[i])
		}
		if len(chks) != i%3 {
			t.Fatalf("series %d: %d chunks", i, len(chks))
		}
		for j, c := range chks {
			want := ChunkMeta{MinT: int64(i + 11*j), MaxT: int64(i + 10 + 10*j), Ref: uint64(i*100 + 50*j)}
			if c != want {
				t.Fatalf("series %d chunk %d: %+v want %+v", i, j, c, want)
			}
		}
	}
	// Matchers over the block give the same series as brute force.
	for _, ms := range matcherCases {
		got, err := PostingsForMatchers(context.Background(), r, ms...)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteForce(series, ms)
		if len(got) != len(want) {
			t.Fatalf("%v: %d series, want %d", ms, len(got), len(want))
		}
		for k, id := range got {
			if id != ids[want[k]-1] {
				t.Fatalf("%v: id mismatch", ms)
			}
		}
	}
	if got := r.LabelNames(); !slices.Equal(got, []string{"__name__", "instance", "mode", "uniq"}) {
		t.Fatalf("label names %v", got)
	}
	vals, _ := r.LabelValues("mode")
	if !slices.Equal(vals, []string{"idle", "system", "user"}) {
		t.Fatalf("mode values %v", vals)
	}
}

func TestIndexCorruption(t *testing.T) {
	path, ids := writeIndex(t, t.TempDir(), testSeries(50))
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Every single-byte flip is either detected or harmless; never a panic.
	sb := labels.NewScratchBuilder(8)
	for i := range orig {
		b := slices.Clone(orig)
		b[i] ^= 0x5a
		r, err := NewReader(b)
		if err != nil {
			continue
		}
		for _, id := range ids {
			r.Series(id, &sb, nil)
		}
		r.AllPostings()
		for _, n := range r.LabelNames() {
			vals, _ := r.LabelValues(n)
			for _, v := range vals {
				r.Postings(n, v)
			}
		}
	}
	if _, err := NewReader(orig[:len(orig)-3]); err == nil {
		t.Fatal("truncated index accepted")
	}
}

func FuzzIndexReader(f *testing.F) {
	path, _ := writeIndex(f, f.TempDir(), testSeries(20))
	orig, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(orig, uint64(1))
	f.Fuzz(func(t *testing.T, b []byte, id uint64) {
		r, err := NewReader(b)
		if err != nil {
			return
		}
		sb := labels.NewScratchBuilder(8)
		all, err := r.AllPostings()
		if err != nil {
			return
		}
		for _, id := range all {
			r.Series(id, &sb, nil)
		}
		r.Series(id, &sb, nil)
		for _, n := range r.LabelNames() {
			vals, _ := r.LabelValues(n)
			for _, v := range vals {
				r.Postings(n, v)
			}
		}
	})
}
