package ruletest

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func upstreamTestdata(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/prometheus").Output()
	if err != nil {
		t.Fatalf("locate the prometheus module: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "cmd", "promtool", "testdata")
}

func runArgus(files []string, run []string, experimental bool) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Run(context.Background(), Options{
		Files: files, Run: run, Stdout: &o, Stderr: &e,
		Parser: parser.NewParser(parser.Options{EnableExperimentalFunctions: experimental}),
	})
	return code, o.String(), e.String()
}

// TestUpstreamOutcomes runs the test files of Prometheus's own promtool
// tests (the pinned module's cmd/promtool/testdata) and expects the
// outcomes promtool's tests expect (cmd/promtool/unittest_test.go).
func TestUpstreamOutcomes(t *testing.T) {
	dir := upstreamTestdata(t)
	for _, tc := range []struct {
		name         string
		file         string
		run          []string
		experimental bool
		want         int
	}{
		{name: "passing unit tests without native histograms", file: "testdata/unittest-float.yml", want: 0},
		{name: "long evaluation interval", file: "long-period.yml", want: 0},
		{name: "bad input series", file: "bad-input-series.yml", want: 1},
		{name: "bad PromQL", file: "bad-promql.yml", want: 1},
		{name: "bad rules (syntax error)", file: "bad-rules-syntax-test.yml", want: 1},
		{name: "bad rules (error evaluating)", file: "bad-rules-error-test.yml", want: 1},
		{name: "simple failing test", file: "failing.yml", want: 1},
		{name: "@ modifier", file: "at-modifier-test.yml", want: 0},
		{name: "negative offset", file: "negative-offset-test.yml", want: 0},
		{name: "experimental functions off", file: "experimental-functions-test.yml", want: 1},
		{name: "experimental functions on", file: "experimental-functions-test.yml", experimental: true, want: 0},
		{name: "no test group interval", file: "no-test-group-interval.yml", want: 0},
		{name: "start time", file: "start-time-test.yml", want: 0},
		{name: "run all", file: "rules_run.yml", want: 1},
		{name: "run correct and wrong", file: "rules_run.yml", run: []string{"correct", "wrong"}, want: 1},
		{name: "run correct", file: "rules_run.yml", run: []string{"correct"}, want: 0},
		{name: "run wrong", file: "rules_run.yml", run: []string{"wrong"}, want: 1},
		{name: "no fuzzy compare", file: "rules_run_no_fuzzy.yml", want: 1},
		{name: "fuzzy compare, correct", file: "rules_run_fuzzy.yml", run: []string{"correct"}, want: 0},
		{name: "fuzzy compare, wrong", file: "rules_run_fuzzy.yml", run: []string{"wrong"}, want: 1},
		{name: "native histograms are refused", file: "unittest.yml", want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.file
			if !strings.HasPrefix(f, "testdata/") {
				f = filepath.Join(dir, f)
			}
			code, out, errOut := runArgus([]string{f}, tc.run, tc.experimental)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.want, out, errOut)
			}
		})
	}
}

// TestMatchesPromtool runs Debian's promtool and argus on the same test
// files, passing and failing ones: same exit code, same SUCCESS/FAILED
// report and the same failure messages. Debian's promtool is Prometheus
// 2.42, so the files avoid what Prometheus 3 changed (range selectors
// are left-open since 3.0: ranges here never end on a sample's time).
func TestMatchesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed to compare test rules with (apt-get install prometheus): %v", err)
	}
	up := upstreamTestdata(t)
	files, _ := filepath.Glob("testdata/compare/*.yml")
	var tests []string
	for _, f := range files {
		if !strings.Contains(filepath.Base(f), "rules") {
			tests = append(tests, f)
		}
	}
	tests = append(tests, "../../examples/rules/targets.test.yml")
	examples, _ := filepath.Glob("../../examples/rules/integrations/*.test.yml")
	tests = append(tests, examples...)
	for _, f := range []string{"failing.yml", "bad-rules-syntax-test.yml", "bad-rules-error-test.yml", "rules_run.yml", "at-modifier-test.yml", "negative-offset-test.yml", "long-period.yml"} {
		tests = append(tests, filepath.Join(up, f))
	}
	if len(tests) < 10 {
		t.Fatalf("test files missing: %v", tests)
	}
	// The engine lists the series of a many-to-many error in another
	// order than Prometheus; only that part of the message differs.
	seriesList := regexp.MustCompile(`on the right hand-side of the operation: \[.*\];`)
	header := regexp.MustCompile(`(?m)^(Unit Testing:  |Processing test file: ).*\n`)
	for _, f := range append(tests, strings.Join(tests[:3], " ")) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			args := strings.Fields(f)
			cmd := exec.Command(promtool, append([]string{"test", "rules"}, args...)...)
			var pout, perr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &pout, &perr
			pcode := 0
			if err := cmd.Run(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatal(err)
				}
				pcode = ee.ExitCode()
			}
			code, out, errOut := runArgus(args, nil, false)
			norm := func(s string) string { return seriesList.ReplaceAllString(header.ReplaceAllString(s, ""), "[...];") }
			if code != pcode || norm(out) != norm(pout.String()) || norm(errOut) != norm(perr.String()) {
				t.Fatalf("argus: exit %d\n%s%s\npromtool: exit %d\n%s%s", code, out, errOut, pcode, pout.String(), perr.String())
			}
		})
	}
}

func FuzzTestFile(f *testing.F) {
	for _, s := range []string{
		"tests: [{interval: 1m, input_series: [{series: 'up', values: '1+1x3 _ stale'}], promql_expr_test: [{expr: up, eval_time: 2m, exp_samples: [{labels: up, value: 3}]}]}]",
		"rule_files: [x]\nevaluation_interval: 1m\ntests: [{name: a, start_timestamp: '2024-01-01T00:00:00Z'}]",
		"tests: [{interval: 1m, alert_rule_test: [{eval_time: 1m, alertname: A, exp_alerts: [{exp_labels: {a: b}}]}]}]",
		"group_eval_order: [a, a]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		tf, _, err := parseTestFile("fuzz.yml", []byte(content))
		if err != nil {
			return
		}
		p := parser.NewParser(parser.Options{})
		for i := range tf.Tests {
			tg := &tf.Tests[i]
			if tg.Interval <= 0 {
				tg.Interval = tf.EvaluationInterval
			}
			// Bound the expansion a hostile file could ask for.
			if len(tg.InputSeries) > 10 || strings.Contains(content, "x9999") {
				return
			}
			loadSeries(tg, p, tg.StartTimestamp.Time)
			_ = tg.maxEvalTime()
		}
	})
}

func TestJUnit(t *testing.T) {
	var out, errOut, junit bytes.Buffer
	code := Run(context.Background(), Options{
		Files:  []string{"testdata/compare/fail.yml", "testdata/compare/pass.yml", "testdata/nonexistent.yml"},
		Stdout: &out, Stderr: &errOut, JUnit: &junit,
	})
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var res struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(junit.Bytes(), &res); err != nil {
		t.Fatalf("%v\n%s", err, junit.String())
	}
	got := fmt.Sprint(res.Suites)
	want := "[{testdata/compare/fail.yml 2 5 0} {testdata/compare/pass.yml 2 0 0} {testdata/nonexistent.yml 1 0 1}]"
	if got != want {
		t.Fatalf("suites %s, want %s", got, want)
	}
}
