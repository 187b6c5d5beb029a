package promql

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
)

// skippedFiles are upstream test files not run, with the reason. The list
// must only shrink.
var skippedFiles = map[string]string{
	"native_histograms.test": "native histograms are not supported yet",
	// 30 of its 40 evals read floats only and could pass over upstream's
	// test storage once implemented; the other 10 read native histograms.
	"start_timestamps.test": "start timestamps (upstream's UseStartTimestamps: ST-aware rate, increase, irate, resets and anchored/smoothed) are not supported: the engine's sample reads carry no start timestamp, and argus's storage does not store them",
}

// skippedFilesArgusStorage are additionally skipped over argus's storage.
var skippedFilesArgusStorage = map[string]string{}

// skippedEvalsArgusStorage are evals additionally skipped over argus's
// storage: they expect a failure caused by native histogram series, which
// that storage does not hold (see withoutHistogramLoads).
var skippedEvalsArgusStorage = map[string]map[int]string{
	"info.test": {
		202: "expects a failure caused by a native histogram info series",
	},
	"histograms.test": {
		668:  "expects a duplicate labelset with the native conversion of testhistogram3",
		1120: "expects a duplicate labelset with native request_duration_seconds histograms",
		1123: "expects a duplicate labelset with native request_duration_seconds histograms",
	},
}

// newTestEngine returns an engine configured as upstream's test engine
// (whose test files expect delayed name removal), or as argus's server runs
// it when delayed is false.
func newTestEngine(delayed bool) *Engine {
	return NewEngine(EngineOpts{
		EnableDelayedNameRemoval: delayed,
		MaxSamples:               promqltest.DefaultMaxSamplesPerQuery * 100,
		Timeout:                  100 * time.Second,
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
		Parser:                   parser.NewParser(promqltest.TestParserOpts),
	})
}

// testdataDir locates promqltest's embedded test files in the module cache.
func testdataDir(t *testing.T) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/prometheus/prometheus").Output()
	if err != nil {
		t.Fatalf("locate prometheus module: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "promql", "promqltest", "testdata")
}

// removeEvals comments out the listed eval commands (the eval line and its
// expectations) so line numbers stay as in the file.
func removeEvals(t *testing.T, content string, skip map[int]string) string {
	if len(skip) == 0 {
		return content
	}
	lines := strings.Split(content, "\n")
	for i := 0; i < len(lines); i++ {
		if _, ok := skip[i+1]; !ok {
			continue
		}
		if !strings.HasPrefix(lines[i], "eval") {
			t.Fatalf("skip list names line %d, which is not an eval: %q", i+1, lines[i])
		}
		lines[i] = "# skipped: " + lines[i]
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" && !isCommand(lines[i+1]) {
			i++
			lines[i] = "# skipped: " + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

func isCommand(line string) bool {
	for _, c := range []string{"eval", "load", "clear"} {
		if strings.HasPrefix(line, c) {
			return true
		}
	}
	return false
}

func runUpstreamTests(t *testing.T, newStorage func(testing.TB) storage.Storage, extraSkips map[string]string, extraEvalSkips map[string]map[int]string, transform func(string) string) {
	dir := testdataDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.test"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no upstream test files in %s: %v", dir, err)
	}
	engine := upstreamEngine{newTestEngine(true)}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			if reason, ok := skippedFiles[name]; ok {
				t.Skip(reason)
			}
			if reason, ok := extraSkips[name]; ok {
				t.Skip(reason)
			}
			content, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			content = []byte(removeEvals(t, string(content), skippedEvals[name]))
			content = []byte(removeEvals(t, string(content), extraEvalSkips[name]))
			if transform != nil {
				content = []byte(transform(string(content)))
			}
			promqltest.RunTestWithStorage(t, string(content), engine, newStorage)
		})
	}
}

// TestUpstreamConformance runs upstream's PromQL test files against the
// engine over upstream's test storage.
func TestUpstreamConformance(t *testing.T) {
	runUpstreamTests(t, func(t testing.TB) storage.Storage { return promqltest.NewBuiltinTestStorage(t) }, nil, nil, nil)
}

// TestUpstreamConformanceArgusStorage runs them over argus's storage engine.
func TestUpstreamConformanceArgusStorage(t *testing.T) {
	runUpstreamTests(t, newArgusStorage, skippedFilesArgusStorage, skippedEvalsArgusStorage, withoutHistogramLoads)
}

// withoutHistogramLoads drops native histogram series from load commands
// (argus's storage does not store them) and loads classic histograms
// without their native conversion. Every eval reading those series is on
// the skip list already, since the engine refuses native histograms.
func withoutHistogramLoads(content string) string {
	// Dropped lines are removed rather than commented out: a comment ends a
	// load block. Line numbers in failures then differ from the file's.
	var out []string
	inLoad := false
	for _, l := range strings.Split(content, "\n") {
		switch {
		case strings.HasPrefix(l, "load_with_nhcb"):
			l = "load" + strings.TrimPrefix(l, "load_with_nhcb")
			inLoad = true
		case strings.HasPrefix(l, "load"):
			inLoad = true
		case strings.TrimSpace(l) == "" || isCommand(l):
			inLoad = false
		case inLoad && strings.Contains(l, "{{"):
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
