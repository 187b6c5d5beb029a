package rulefmt

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	uprulefmt "github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// upstreamDir is the pinned Prometheus module, whose rule file fixtures
// the tests read.
func upstreamDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/prometheus").Output()
	if err != nil {
		t.Fatalf("locate the prometheus module: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// compareWithRulefmt checks that ParseRules gives upstream rulefmt's
// answer: the same groups, and the same errors (as a set: both iterate
// over maps).
func compareWithRulefmt(t testing.TB, content []byte) {
	t.Helper()
	p := parser.NewParser(parser.Options{})
	want, wantErrs := uprulefmt.Parse(content, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
	got, gotErrs := Parse(content, p)
	var ws, gs []string
	for _, e := range wantErrs {
		ws = append(ws, e.Error())
	}
	for _, e := range gotErrs {
		var l *LegacyError
		if asLegacy(e, &l) {
			continue // argus's addition
		}
		gs = append(gs, e.Error())
	}
	slices.Sort(ws)
	slices.Sort(gs)
	if !slices.Equal(ws, gs) {
		t.Fatalf("errors differ for\n%s\nargus:    %q\nupstream: %q", content, gs, ws)
	}
	if (want == nil) != (got == nil) {
		t.Fatalf("groups: argus nil %v, upstream nil %v", got == nil, want == nil)
	}
	if want == nil {
		return
	}
	wy, err1 := yaml.Marshal(want)
	gy, err2 := yaml.Marshal(got)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if string(wy) != string(gy) {
		t.Fatalf("groups differ:\nargus:\n%s\nupstream:\n%s", gy, wy)
	}
}

func asLegacy(err error, l **LegacyError) bool {
	le, ok := err.(*LegacyError)
	*l = le
	return ok
}

func TestParseMatchesUpstream(t *testing.T) {
	dir := upstreamDir(t)
	var files []string
	for _, pat := range []string{"model/rulefmt/testdata/*.yaml", "cmd/promtool/testdata/rules*.yml", "cmd/promtool/testdata/bad-rules*.yml", "rules/fixtures/*.yaml"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("only %d fixture files found in %s", len(files), dir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			compareWithRulefmt(t, b)
		})
	}
	for name, content := range ruleFileCases {
		t.Run(name, func(t *testing.T) { compareWithRulefmt(t, []byte(content)) })
	}
}

// ruleFileCases are rule files the fixtures lack.
var ruleFileCases = map[string]string{
	"empty":            "",
	"template error":   "groups: [{name: g, rules: [{alert: A, expr: up, annotations: {s: '{{ .Foo'}}]}]",
	"label template":   "groups: [{name: g, rules: [{alert: A, expr: up, labels: {s: '{{ nosuchfunc }}'}}]}]",
	"query offset":     "groups: [{name: g, query_offset: 1m, limit: 3, interval: 10s, labels: {a: b}, rules: [{record: r, expr: up}]}]",
	"unknown key":      "groups: [{name: g, rulez: []}]",
	"bad duration":     "groups: [{name: g, interval: 1x, rules: []}]",
	"not a map":        "- a\n- b\n",
	"keep firing":      "groups: [{name: g, rules: [{alert: A, expr: up, for: 1m, keep_firing_for: 5m}]}]",
	"group label name": "groups: [{name: g, labels: {__name__: x}, rules: [{record: r, expr: up}]}]",
	"two documents":    "groups: []\n---\ngroups: [{name: g}]\n",
	"bad yaml":         "groups: [\n",
	"legacy":           "ALERT X\n  IF up == 0\n",
}

func FuzzParse(f *testing.F) {
	for _, c := range ruleFileCases {
		f.Add(c)
	}
	f.Add("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5m\n    labels: {x: '{{ $value }}'}\n")
	f.Fuzz(func(t *testing.T, content string) {
		compareWithRulefmt(t, []byte(content))
	})
}
