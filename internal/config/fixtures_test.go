package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Fixtures live in testdata, in the style of Prometheus's config/testdata:
// every *.good.yml must load, every *.bad.yml must fail.
//
// A bad fixture marks each error it expects with a comment on the line
// the error must be reported at:
//
//	scrape_interval: 5x  # want: scrape_configs[0].scrape_interval: unknown unit "x"
//
// which expects an error containing "testdata/<file>:<line>: <text>". A
// line may hold several "# want:" marks. "# want-any: <text>" expects an
// error containing <text> anywhere, for errors located in another file.
// Every error must be expected: the counts must match.
//
// The effective configuration of each good fixture (Marshal output) is
// compared with testdata/golden/<fixture>; run
//
//	go test ./internal/config -run TestGoodFixtures -update
//
// to rewrite the golden files after an intended change, and review the
// diff.

var update = flag.Bool("update", false, "rewrite testdata/golden files")

// fixtureEnv sets the environment the fixtures expect: a fixed GOGC
// default and the variable external-labels-env.good.yml expands.
func fixtureEnv(t *testing.T) {
	t.Helper()
	t.Setenv("GOGC", "")
	t.Setenv("ARGUS_TEST_DC", "eu1")
	t.Setenv("ARGUS_TEST_UNSET_VARIABLE", "")
}

func fixtures(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures match %s", pattern)
	}
	return files
}

func TestGoodFixtures(t *testing.T) {
	fixtureEnv(t)
	for _, file := range fixtures(t, "*.good.yml") {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c, err := LoadFile(file)
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			got, err := c.Marshal()
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			golden := filepath.Join("testdata", "golden", filepath.Base(file))
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("effective config differs from %s (run with -update and review the diff):\n%s", golden, got)
			}

			// What Marshal prints must load back to the same config.
			again, err := Parse(got, "marshalled")
			if err != nil {
				t.Fatalf("Parse(Marshal()): %v\n%s", err, got)
			}
			if s := again.String(); s != string(got) {
				t.Errorf("Marshal is not stable under Parse:\nfirst:\n%s\nsecond:\n%s", got, s)
			}
		})
	}
}

func TestBadFixtures(t *testing.T) {
	fixtureEnv(t)
	for _, file := range fixtures(t, "*.bad.yml") {
		t.Run(filepath.Base(file), func(t *testing.T) {
			wants := readWants(t, file)
			if len(wants) == 0 {
				t.Fatalf("%s has no # want: annotation", file)
			}
			_, err := LoadFile(file)
			if err == nil {
				t.Fatal("LoadFile succeeded, want errors")
			}
			got := errorLines(err)
			for _, w := range wants {
				if !containsAny(got, w) {
					t.Errorf("no error contains %q", w)
				}
			}
			if len(got) != len(wants) {
				t.Errorf("got %d errors, want %d", len(got), len(wants))
			}
			if t.Failed() {
				t.Logf("errors:\n%s", err)
			}
		})
	}
}

// errorLines splits an error from Parse or LoadFile into its problems.
func errorLines(err error) []string {
	var multi interface{ Unwrap() []error }
	if errors.As(err, &multi) {
		var out []string
		for _, e := range multi.Unwrap() {
			out = append(out, errorLines(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func containsAny(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

var (
	wantRE    = regexp.MustCompile(`#\s*want:\s*(.*)$`)
	wantAnyRE = regexp.MustCompile(`#\s*want-any:\s*(.*)$`)
)

// readWants returns the error substrings the annotations in file expect.
func readWants(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wants []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if m := wantAnyRE.FindStringSubmatch(text); m != nil {
			wants = append(wants, strings.TrimSpace(m[1]))
			continue
		}
		if m := wantRE.FindStringSubmatch(text); m != nil {
			for _, w := range strings.Split(m[1], "# want:") {
				wants = append(wants, fmt.Sprintf("%s:%d: %s", file, line, strings.TrimSpace(w)))
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return wants
}
