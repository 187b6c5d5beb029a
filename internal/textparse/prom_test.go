package textparse

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	upstream "github.com/prometheus/prometheus/model/textparse"

	"github.com/argus-mon/argus/internal/loadgen"
)

// describe renders every entry of a page the way both parsers must agree on.
func describe(t testing.TB, next func() (upstream.Entry, error), series func() ([]byte, *int64, float64),
	lbls func(*labels.Labels), help func() ([]byte, []byte), typ func() ([]byte, string)) ([]string, error) {
	var out []string
	for {
		e, err := next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch e {
		case upstream.EntrySeries:
			s, ts, v := series()
			var l labels.Labels
			lbls(&l)
			tss := "-"
			if ts != nil {
				tss = fmt.Sprint(*ts)
			}
			out = append(out, fmt.Sprintf("series %q %s %x %s", s, l, math.Float64bits(v), tss))
		case upstream.EntryHelp:
			n, h := help()
			out = append(out, fmt.Sprintf("help %q %q", n, h))
		case upstream.EntryType:
			n, ty := typ()
			out = append(out, fmt.Sprintf("type %q %q", n, ty))
		case upstream.EntryComment:
		default:
			out = append(out, fmt.Sprint("entry ", e))
		}
	}
}

func parseBoth(t testing.TB, page []byte) (ours, theirs []string, accepted bool, theirErr error) {
	var p Prom
	accepted = p.Reset(page)
	var sb labels.ScratchBuilder
	if accepted {
		var err error
		ours, err = describe(t, p.Next, p.Series, func(l *labels.Labels) { p.Labels(&sb, l) }, p.Help,
			func() ([]byte, string) { n, ty := p.Type(); return n, string(ty) })
		if err != nil {
			t.Fatalf("accepted page failed: %v", err)
		}
	}
	up := upstream.NewPromParser(page, labels.NewSymbolTable(), false)
	theirs, theirErr = describe(t, up.Next, up.Series, up.Labels, up.Help,
		func() ([]byte, string) { n, ty := up.Type(); return n, string(ty) })
	return ours, theirs, accepted, theirErr
}

func TestAgreesWithUpstream(t *testing.T) {
	cases := []struct {
		name, page string
		accept     bool
	}{
		{"simple", "a 1\n", true},
		{"labels and timestamp", "a{b=\"c\",d=\"e\"} 1.5 1700000000000\n", true},
		{"help and type", "# HELP a The a\\\\nhelp.\n# TYPE a counter\na_total 3\n", true},
		{"escapes", "a{b=\"x\\\"y\\\\z\\n\"} 2\n", true},
		{"special values", "a NaN\nb +Inf\nc -Inf\nd -0\ne 1e-300\n", true},
		{"histogram le normalised", "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 3\n", true},
		{"summary quantile normalised", "# TYPE s summary\ns{quantile=\"0.5\"} 2\n", true},
		{"trailing comma", "a{b=\"c\",} 1\n", true},
		{"empty braces", "a{} 1\n", true},
		{"no final newline", "a 1", true},
		{"blank lines", "\n\na 1\n\n", true},
		{"empty help", "# HELP a\na 1\n", true},
		{"unicode label value", "a{b=\"ünïcødé ✓\"} 1\n", true},
		{"other comment", "# just a comment\na 1\n", false},
		{"spaces in braces", "a{b=\"c\", d=\"e\"} 1\n", false},
		{"tab separator", "a\t1\n", false},
		{"quoted name", "{\"a.b\"} 1\n", false},
		{"garbage", "this is { not metrics\n", false},
		{"hex float", "a 0x1p3\n", false},
		{"underscore", "a 1_000\n", false},
		{"bad timestamp", "a 1 12x\n", false},
		{"invalid utf8", "a{b=\"\xff\"} 1\n", false},
		{"bad type", "# TYPE a thing\n", false},
		{"crlf", "a 1\r\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ours, theirs, accepted, theirErr := parseBoth(t, []byte(c.page))
			if accepted != c.accept {
				t.Fatalf("accepted = %v, want %v", accepted, c.accept)
			}
			if !accepted {
				return
			}
			if theirErr != nil {
				t.Fatalf("we accepted a page upstream rejects: %v", theirErr)
			}
			if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
				t.Fatalf("ours:\n%s\nupstream:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
			}
		})
	}
}

func TestNodeExporterPageIsAccepted(t *testing.T) {
	gen, err := loadgen.New(loadgen.Options{Targets: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, vals := gen.Next(nil)
	page := gen.AppendText(nil, vals, "instance", "job")
	ours, theirs, accepted, theirErr := parseBoth(t, page)
	if !accepted || theirErr != nil || strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
		t.Fatalf("accepted %v, upstream error %v, equal %v", accepted, theirErr, strings.Join(ours, "\n") == strings.Join(theirs, "\n"))
	}
}

// FuzzAgreesWithUpstream: whatever page the fast parser accepts, the upstream
// parser must accept and read identically.
func FuzzAgreesWithUpstream(f *testing.F) {
	for _, s := range []string{
		"a 1\n", "a{b=\"c\"} 1 2\n", "# HELP a x\n# TYPE a gauge\na 1\n", "# TYPE h histogram\nh_bucket{le=\"1\"} 2\n",
		"a{b=\"x\\\"y\"} NaN\n", "a +Inf -5\n", "a{b=\"c\",} 1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		ours, theirs, accepted, theirErr := parseBoth(t, page)
		if !accepted {
			return
		}
		if theirErr != nil {
			t.Fatalf("we accepted %q, upstream rejects it: %v", page, theirErr)
		}
		if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
			t.Fatalf("page %q\nours:\n%s\nupstream:\n%s", page, strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
		}
	})
}

// FuzzMemo: parsing a page with the memo of another page accepts and yields
// exactly what parsing it alone does, and Known is only said of HELP and
// TYPE lines repeated from the memo's page at the same position.
func FuzzMemo(f *testing.F) {
	for _, s := range [][2]string{
		{"# HELP a x\n# TYPE a gauge\na 1\n", "# HELP a x\n# TYPE a gauge\na 2\n"},
		{"# HELP a x\n# TYPE a gauge\na 1\n", "# HELP a y\n# TYPE a counter\na 2\n"},
		{"# TYPE h histogram\nh_bucket{le=\"1\"} 2\n", "# TYPE h histogram\nh_bucket{le=\"1\"} 3\n"},
		{"# HELP a\n# HELP b \xff\n", "# HELP a\n# HELP b \xff\n"},
		{"# HELP a x\na 1\n", "# TYPE a gauge\n# HELP a x\na 1\n"},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, prev, page []byte) {
		var m Memo
		var p Prom
		p.ResetMemo(prev, &m)
		accepted := p.ResetMemo(page, &m)
		var alone Prom
		if alone.Reset(page) != accepted {
			t.Fatalf("accepted %v with the memo of %q, %v alone", accepted, prev, !accepted)
		}
		if !accepted {
			return
		}
		var sb labels.ScratchBuilder
		var known []string
		next := func() (upstream.Entry, error) {
			e, err := p.Next()
			if err == nil && p.Known() {
				known = append(known, string(page[p.cur.a-7:p.cur.d]))
			}
			return e, err
		}
		ours, err := describe(t, next, p.Series, func(l *labels.Labels) { p.Labels(&sb, l) }, p.Help,
			func() ([]byte, string) { n, ty := p.Type(); return n, string(ty) })
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := describe(t, alone.Next, alone.Series, func(l *labels.Labels) { alone.Labels(&sb, l) }, alone.Help,
			func() ([]byte, string) { n, ty := alone.Type(); return n, string(ty) })
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(ours, "\n") != strings.Join(theirs, "\n") {
			t.Fatalf("with memo:\n%s\nalone:\n%s", strings.Join(ours, "\n"), strings.Join(theirs, "\n"))
		}
		for _, line := range known {
			if !strings.Contains(string(prev), line) {
				t.Fatalf("line %q reported known, not on the memo's page %q", line, prev)
			}
		}
	})
}
