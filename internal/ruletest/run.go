package ruletest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/junitxml"

	"github.com/argus-mon/argus/internal/promql"
	"github.com/argus-mon/argus/internal/rules"
	"github.com/argus-mon/argus/internal/tsdb"
)

// Options are what Run tests.
type Options struct {
	// Files are the test files.
	Files []string
	// Run, if set, selects the test groups whose name matches one of these
	// regular expressions.
	Run []string
	// Parser parses expressions and series (experimental PromQL features);
	// nil means the default parser.
	Parser parser.Parser
	// DelayedNameRemoval runs the engine with delayed __name__ removal
	// (promtool's --enable-feature=promql-delayed-name-removal).
	DelayedNameRemoval bool
	// Stdout and Stderr receive promtool's report.
	Stdout, Stderr io.Writer
	// JUnit, if set, receives the results as JUnit XML (promtool's
	// --junit).
	JUnit io.Writer
}

// Run runs the test files and returns promtool's exit code: 0 if every
// test passed, 1 otherwise.
func Run(ctx context.Context, o Options) int {
	if o.Parser == nil {
		o.Parser = parser.NewParser(parser.Options{})
	}
	var run *regexp.Regexp
	if len(o.Run) > 0 {
		var err error
		if run, err = regexp.Compile(strings.Join(o.Run, "|")); err != nil {
			fmt.Fprintf(o.Stderr, "--run: %v\n", err)
			return 1
		}
	}
	failed := false
	junit := &junitxml.JUnitXML{}
	for _, f := range o.Files {
		fmt.Fprintf(o.Stdout, "Processing test file: %s\n", f)
		if errs := runFile(ctx, f, o, run, junit.Suite(f)); len(errs) > 0 {
			fmt.Fprintln(o.Stderr, "  FAILED:")
			for _, e := range errs {
				fmt.Fprintln(o.Stderr, e.Error())
				fmt.Fprintln(o.Stdout)
			}
			failed = true
		} else {
			fmt.Fprintln(o.Stdout, "  SUCCESS")
		}
		fmt.Fprintln(o.Stdout)
	}
	if o.JUnit != nil {
		if err := junit.WriteXML(o.JUnit); err != nil {
			fmt.Fprintf(o.Stderr, "failed to write JUnit XML: %s\n", err)
		}
	}
	if failed {
		return 1
	}
	return 0
}

func runFile(ctx context.Context, name string, o Options, run *regexp.Regexp, suite *junitxml.TestSuite) []error {
	suite.Settime(time.Now().Format("2006-01-02T15:04:05"))
	b, err := os.ReadFile(name)
	if err != nil {
		suite.Abort(err)
		return []error{err}
	}
	tf, warnings, err := parseTestFile(name, b)
	if err != nil {
		suite.Abort(err)
		return []error{err}
	}
	for _, w := range warnings {
		fmt.Fprintln(o.Stderr, "  WARNING: no file match pattern", w)
	}
	order := map[string]int{}
	for i, gn := range tf.GroupEvalOrder {
		if _, ok := order[gn]; ok {
			err := fmt.Errorf("group name repeated in evaluation order: %s", gn)
			suite.Abort(err)
			return []error{err}
		}
		order[gn] = i
	}
	var errs []error
	for i, tg := range tf.Tests {
		if run != nil && !run.MatchString(tg.TestGroupName) {
			continue
		}
		if tg.Interval == 0 {
			tg.Interval = tf.EvaluationInterval
		}
		r := &groupRun{tg: &tg, name: tg.TestGroupName, evalInterval: time.Duration(tf.EvaluationInterval),
			order: order, fuzzy: tf.FuzzyCompare, parser: o.Parser, delayedNames: o.DelayedNameRemoval, ruleFiles: tf.RuleFiles}
		if r.name == "" {
			r.name = fmt.Sprintf("unnamed#%d", i)
		}
		suite.Case(r.name)
		gerrs := r.run(ctx)
		for _, e := range gerrs {
			suite.Fail(e.Error())
		}
		errs = append(errs, gerrs...)
	}
	return errs
}

// testStorageOptions keep a test's samples in the storage's head: tests
// span up to the 292 years a time.Duration covers (promtool's own
// long-period test does), and cutting blocks, flushing and retention
// would only cost time. WAL fsyncs are left to the OS.
func testStorageOptions() tsdb.Options {
	const long = 200 * 365 * 24 * time.Hour
	return tsdb.Options{BlockDuration: long, FlushInterval: long, Retention: long, WALSyncInterval: time.Hour}
}

// groupRun is the run of one test group.
type groupRun struct {
	tg           *testGroup
	name         string
	evalInterval time.Duration
	order        map[string]int
	fuzzy        bool
	parser       parser.Parser
	delayedNames bool
	ruleFiles    []string

	db *tsdb.DB
	ng *promql.Engine
}

func (r *groupRun) run(ctx context.Context) (errs []error) {
	tg := r.tg
	mint := time.Unix(0, 0).UTC()
	if !tg.StartTimestamp.IsZero() {
		mint = tg.StartTimestamp.Time
	}
	input, err := loadSeries(tg, r.parser, mint)
	if err != nil {
		return []error{err}
	}
	dir, err := os.MkdirTemp("", "argus-test-rules-")
	if err != nil {
		return []error{err}
	}
	defer os.RemoveAll(dir)
	if r.db, err = tsdb.Open(ctx, dir, testStorageOptions()); err != nil {
		return []error{fmt.Errorf("open test storage: %w", err)}
	}
	defer func() {
		if err := r.db.Close(); err != nil {
			errs = append(errs, err)
		}
	}()
	r.ng = promql.NewEngine(promql.EngineOpts{
		MaxSamples: 10000, Timeout: 100 * time.Second, Parser: r.parser,
		NoStepSubqueryIntervalFn: func(int64) int64 { return r.evalInterval.Milliseconds() },
		EnableDelayedNameRemoval: r.delayedNames,
	})
	groups, err := r.loadGroups()
	if err != nil {
		return []error{err}
	}
	alertTests, evalTimes, err := tg.alertTestsByTime()
	if err != nil {
		return []error{err}
	}
	maxt := mint.Add(tg.maxEvalTime())
	curr := 0
	for ts := mint; !ts.After(maxt); ts = ts.Add(r.evalInterval) {
		if err := input.appendTill(r.db, ts.UnixMilli()); err != nil {
			return append(errs, err)
		}
		var evalErrs []error
		for _, g := range groups {
			g.Eval(ctx, ts)
			for _, rule := range g.Rules() {
				if rule.Health() == rules.HealthBad {
					evalErrs = append(evalErrs, fmt.Errorf("    rule: %s, time: %s, err: %w", rule.Name(), ts.Sub(time.Unix(0, 0).UTC()), rule.LastError()))
				}
			}
		}
		if len(evalErrs) > 0 {
			return append(errs, evalErrs...)
		}
		for curr < len(evalTimes) && ts.Sub(mint) <= evalTimes[curr] && evalTimes[curr] < ts.Add(r.evalInterval).Sub(mint) {
			errs = append(errs, r.checkAlerts(groups, alertTests[evalTimes[curr]])...)
			curr++
		}
	}
	for _, tc := range tg.PromqlExprTests {
		if err := r.checkExpr(ctx, tc, mint); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// loadGroups loads the rule files into groups ordered by group_eval_order
// (groups not named there first, in file and name order).
func (r *groupRun) loadGroups() ([]*rules.Group, error) {
	var extURL *url.URL
	if r.tg.ExternalURL != "" {
		var err error
		if extURL, err = url.Parse(r.tg.ExternalURL); err != nil {
			return nil, fmt.Errorf("external_url: %w", err)
		}
	}
	m := rules.NewManager(rules.Options{
		Query:       rules.EngineQueryFunc(r.ng, r.db),
		NewAppender: func() rules.Appender { return r.db.Appender() },
		Queryable:   r.db,
		Parser:      r.parser,
	})
	byKey, errs := m.LoadGroups(rules.UpdateOptions{
		Interval: time.Duration(r.tg.Interval), ExternalLabels: labels.FromMap(r.tg.ExternalLabels), ExternalURL: extURL,
	}, false, r.ruleFiles...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	keys := slices.Sorted(maps.Keys(byKey))
	groups := make([]*rules.Group, 0, len(keys))
	for _, k := range keys {
		groups = append(groups, byKey[k])
	}
	sort.SliceStable(groups, func(i, j int) bool { return r.order[groups[i].Name()] < r.order[groups[j].Name()] })
	return groups, nil
}

// alertTestsByTime groups the alert tests by eval_time, and returns the
// times in order.
func (tg *testGroup) alertTestsByTime() (map[time.Duration][]alertTestCase, []time.Duration, error) {
	byTime := map[time.Duration][]alertTestCase{}
	for _, at := range tg.AlertRuleTests {
		if at.Alertname == "" {
			in := ""
			if tg.TestGroupName != "" {
				in = fmt.Sprintf(" (in TestGroup %s)", tg.TestGroupName)
			}
			return nil, nil, fmt.Errorf("an item under alert_rule_test misses required attribute alertname at eval_time %v%s", at.EvalTime, in)
		}
		byTime[time.Duration(at.EvalTime)] = append(byTime[time.Duration(at.EvalTime)], at)
	}
	return byTime, slices.Sorted(maps.Keys(byTime)), nil
}

func (tg *testGroup) maxEvalTime() time.Duration {
	var m time.Duration
	for _, a := range tg.AlertRuleTests {
		m = max(m, time.Duration(a.EvalTime))
	}
	for _, p := range tg.PromqlExprTests {
		m = max(m, time.Duration(p.EvalTime))
	}
	return m
}

// floatsEqual compares values exactly, or within one ulp with
// fuzzy_compare.
func (r *groupRun) floatsEqual(x, y float64) bool {
	if x == y {
		return true
	}
	return r.fuzzy && (math.Nextafter(x, math.Inf(-1)) == y || math.Nextafter(x, math.Inf(1)) == y)
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'E', -1, 64) }
