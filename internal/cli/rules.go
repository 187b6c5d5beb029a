package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/rulefmt"
	"github.com/argus-mon/argus/internal/rules"
	"github.com/argus-mon/argus/internal/ruletest"
	"github.com/argus-mon/argus/internal/server"
)

// exitCode is an error that sets the process exit code without a message
// (the command has printed its own report).
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit code %d", int(c)) }

// lintExitCode is promtool's exit code for lint findings with --lint-fatal.
const lintExitCode = 3

// checkRules is `argus check rules`: promtool check rules' output and exit
// codes (1: a file is invalid; 3: only lint findings, with --lint-fatal).
// Without files it reads standard input.
func checkRules(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("check rules")
	lint := fs.String("lint", "duplicate-rules", "lint checks: all, duplicate-rules, none")
	lintFatal := fs.Bool("lint-fatal", false, "exit with code 3 on lint findings")
	var features stringsFlag
	fs.Var(&features, "enable-feature", "PromQL features the server will run with: promql-experimental-functions, ...")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *lint != "all" && *lint != "duplicate-rules" && *lint != "none" {
		return fmt.Errorf("%w: --lint %q: want all, duplicate-rules or none", errUsage, *lint)
	}
	lintDups := *lint != "none"
	// The server's parser options: a file that passes here loads there.
	p := parser.NewParser(featureOptions(features).Parser)
	failed, hasErrors := false, false
	check := func(name string, content []byte, readErr error) {
		fmt.Fprintln(stdout, "Checking", name)
		defer fmt.Fprintln(stdout)
		if readErr != nil {
			fmt.Fprintln(stderr, "  FAILED:", readErr)
			failed, hasErrors = true, true
			return
		}
		rgs, errs := rulefmt.Parse(content, p)
		if len(errs) > 0 {
			fmt.Fprintln(stderr, "  FAILED:")
			for _, e := range errs {
				fmt.Fprintf(stderr, "%s: %v\n", name, e)
			}
			failed, hasErrors = true, true
			return
		}
		n := 0
		for _, g := range rgs.Groups {
			n += len(g.Rules)
		}
		if dups := duplicateRules(rgs.Groups); lintDups && len(dups) > 0 {
			fmt.Fprintln(stderr, "  FAILED:")
			fmt.Fprintln(stderr, "lint error", dups)
			failed = true
			return
		}
		fmt.Fprintf(stdout, "  SUCCESS: %d rules found\n", n)
	}
	if len(files) == 0 {
		b, err := io.ReadAll(stdin)
		check("standard input", b, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		check(f, b, err)
	}
	switch {
	case failed && hasErrors:
		return exitCode(1)
	case failed && *lintFatal:
		return exitCode(lintExitCode)
	}
	return nil
}

// duplicateRules is promtool's duplicate-rules lint: rules with the same
// name and labels, which would write the same series. It returns the
// report, empty if there are none.
func duplicateRules(groups []rulefmt.RuleGroup) string {
	type ruleKey struct {
		name string
		lset labels.Labels
	}
	var keys []ruleKey
	for _, g := range groups {
		for _, r := range g.Rules {
			m := map[string]string{}
			for k, v := range g.Labels {
				m[k] = v
			}
			for k, v := range r.Labels {
				m[k] = v
			}
			keys = append(keys, ruleKey{r.Name(), labels.FromMap(m)})
		}
	}
	cmp := func(a, b ruleKey) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return labels.Compare(a.lset, b.lset)
	}
	slices.SortFunc(keys, cmp)
	var dups []ruleKey
	for i := 1; i < len(keys); i++ {
		if cmp(keys[i-1], keys[i]) == 0 && (len(dups) == 0 || cmp(dups[len(dups)-1], keys[i]) != 0) {
			dups = append(dups, keys[i])
		}
	}
	if len(dups) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d duplicate rule(s) found.\n", len(dups))
	for _, d := range dups {
		fmt.Fprintf(&b, "Metric: %s\nLabel(s):\n", d.name)
		d.lset.Range(func(l labels.Label) { fmt.Fprintf(&b, "\t%s: %s\n", l.Name, l.Value) })
	}
	b.WriteString("Might cause inconsistency while recording expressions")
	return b.String()
}

// isExitCode reports whether err only carries an exit code.
func isExitCode(err error) (int, bool) {
	var c exitCode
	if errors.As(err, &c) {
		return int(c), true
	}
	return 0, false
}

// testRules is `argus test rules`: promtool's unit tests of rule files,
// with its report and exit code.
func testRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("test rules")
	var run, features stringsFlag
	fs.Var(&run, "run", "run only the test groups whose name matches this regular expression (repeatable)")
	fs.Var(&features, "enable-feature", "PromQL features: promql-experimental-functions, ...")
	junitFile := fs.String("junit", "", "file to write the results to as JUnit XML")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	var junit io.Writer
	if *junitFile != "" {
		f, err := os.Create(*junitFile)
		if err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
		defer f.Close()
		junit = f
	}
	if len(files) == 0 {
		return fmt.Errorf("%w: argus test rules FILE...", errUsage)
	}
	q := featureOptions(features)
	code := ruletest.Run(ctx, ruletest.Options{
		Files: files, Run: run, Parser: parser.NewParser(q.Parser), DelayedNameRemoval: q.DelayedNameRemoval, Stdout: stdout, Stderr: stderr, JUnit: junit,
	})
	if code != 0 {
		return exitCode(code)
	}
	return nil
}

// checkRuleFiles loads the rule files a config names (rule_files
// patterns), returning every problem.
func checkRuleFiles(patterns []string) error {
	files, err := rules.ExpandFiles(patterns)
	if err != nil {
		return err
	}
	// The server's default parser: experimental functions are off unless
	// --enable-feature switches them on.
	p := parser.NewParser(parser.Options{})
	var errs []error
	for _, f := range files {
		_, ferrs := rulefmt.ParseFile(f, p)
		errs = append(errs, ferrs...)
	}
	return errors.Join(errs...)
}

// featureOptions applies --enable-feature values as the server does.
func featureOptions(features []string) server.QueryOptions {
	var q server.QueryOptions
	for _, list := range features {
		for _, f := range strings.Split(list, ",") {
			server.PromQLFeature(&q, strings.TrimSpace(f))
		}
	}
	return q
}
