package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckRulesMatchesPromtool runs `argus check rules` and Debian's
// `promtool check rules` on the same files: same exit codes and standard
// output; on failures, both report FAILED on standard error.
func TestCheckRulesMatchesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed to compare check rules with (apt-get install prometheus): %v", err)
	}
	files, _ := filepath.Glob("testdata/rules/*")
	if len(files) < 5 {
		t.Fatalf("fixtures missing: %v", files)
	}
	// Debian's promtool (2.42) does not read standard input yet; newer
	// ones do, as argus does (TestCheckRulesStdin).
	var cases [][]string
	for _, f := range files {
		cases = append(cases, []string{f}, []string{"--lint-fatal", f})
	}
	cases = append(cases, files)
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(promtool, append([]string{"check", "rules"}, args...)...)
			var pout, perr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &pout, &perr
			cmd.Stdin = strings.NewReader("groups: []\n")
			pcode := 0
			if err := cmd.Run(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					t.Fatal(err)
				}
				pcode = ee.ExitCode()
			}
			var aout, aerr bytes.Buffer
			stdinArgs := append([]string{"check", "rules"}, args...)
			acode := mainWithStdin(stdinArgs, "groups: []\n", &aout, &aerr)
			if acode != pcode || aout.String() != pout.String() {
				t.Fatalf("argus: exit %d\n%s%s\npromtool: exit %d\n%s%s", acode, aout.String(), aerr.String(), pcode, pout.String(), perr.String())
			}
			if strings.Contains(perr.String(), "FAILED") != strings.Contains(aerr.String(), "FAILED") {
				t.Fatalf("stderr differs:\nargus:\n%s\npromtool:\n%s", aerr.String(), perr.String())
			}
		})
	}
}

// mainWithStdin runs the command line with stdin as standard input.
func mainWithStdin(args []string, stdin string, stdout, stderr *bytes.Buffer) int {
	if len(args) >= 2 && args[0] == "check" && args[1] == "rules" {
		err := checkRules(args[2:], strings.NewReader(stdin), stdout, stderr)
		if code, ok := isExitCode(err); ok {
			return code
		}
		if err != nil {
			return 2
		}
		return 0
	}
	return Main(context.Background(), args, stdout, stderr)
}

func TestCheckRulesLegacyHint(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"check", "rules", "testdata/rules/legacy.rules"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "rule syntax of Prometheus 1.x") || !strings.Contains(errOut.String(), "alert: HighRequestRate") {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
}

func TestCheckRulesStdin(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := checkRules(nil, strings.NewReader("groups: [{name: a, rules: [{record: r, expr: up}]}]"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if out.String() != "Checking standard input\n  SUCCESS: 1 rules found\n\n" {
		t.Fatalf("%q", out.String())
	}
}

func TestTestRulesCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	pass := "../ruletest/testdata/compare/pass.yml"
	if code := Main(context.Background(), []string{"test", "rules", pass}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	code := Main(context.Background(), []string{"test", "rules", "--run", "wrong", "../ruletest/testdata/compare/fail.yml"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "alertname: InstanceDown, time: 2m") {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
}

// TestCheckRulesFeatures: experimental functions are refused unless named
// with --enable-feature, as the server refuses them; a file that passes the
// check loads in a server started with the same flags.
func TestCheckRulesFeatures(t *testing.T) {
	f := filepath.Join(t.TempDir(), "r.yml")
	os.WriteFile(f, []byte("groups:\n- name: g\n  rules:\n  - record: r\n    expr: sort_by_label(vector(1), \"a\")\n"), 0o644)
	if code, _, errOut := runCLI("check", "rules", f); code != 1 || !strings.Contains(errOut, "not enabled") {
		t.Errorf("without the feature: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI("check", "rules", "--enable-feature=promql-experimental-functions", f); code != 0 {
		t.Errorf("with the feature: exit %d, %q", code, errOut)
	}
}
