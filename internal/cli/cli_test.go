package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runCLI(args ...string) (int, string, string) {
	return runCLIContext(context.Background(), args...)
}

func runCLIContext(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"bogus"}, {"check"}, {"tsdb", "nope"}, {"server", "--nope"}, {"server", "--log.level", "loud"}, {"server", "--alerts.max-alerts", "0"}, {"server", "--alerts.per-alertname-limit", "-1"}, {"server", "--alerts.history.max-events", "0"}} {
		code, _, errOut := runCLI(args...)
		if code != 2 || !strings.Contains(errOut, "Usage:") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if code, out, _ := runCLI("version"); code != 0 || !strings.HasPrefix(out, "argus ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(good, []byte("global:\n  scrape_interval: 10s\n"), 0o644)
	os.WriteFile(bad, []byte("global:\n  scrape_interval: 10s\nstorage:\n  tsdb:\n    retention:\n      time: forever\n"), 0o644)
	if code, out, _ := runCLI("check", "config", good); code != 0 || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("good: %d %q", code, out)
	}
	code, out, _ := runCLI("check", "config", good, bad)
	if code != 1 || !strings.Contains(out, "bad.yml:6: storage.tsdb.retention.time:") {
		t.Fatalf("bad: %d %q", code, out)
	}
	// Drop-in app files are checked too: a bad key and a name the apps
	// section already has are both reported, with the file.
	apps := filepath.Join(dir, "apps.d")
	os.Mkdir(apps, 0o755)
	withApps := filepath.Join(dir, "apps.yml")
	os.WriteFile(withApps, []byte("apps:\n  - {name: web, command: ./web, listen: ':18080'}\napps_dir: apps.d\n"), 0o644)
	os.WriteFile(filepath.Join(apps, "ok.yml"), []byte("command: ./ok\nlisten: ':18081'\n"), 0o644)
	if code, out, _ := runCLI("check", "config", withApps); code != 0 {
		t.Fatalf("good drop-ins: %d %q", code, out)
	}
	os.WriteFile(filepath.Join(apps, "typo.yml"), []byte("command: ./t\nlisten: ':18082'\nworkerz: 2\n"), 0o644)
	os.WriteFile(filepath.Join(apps, "web.yml"), []byte("command: ./w2\nlisten: ':18083'\n"), 0o644)
	code, out, _ = runCLI("check", "config", withApps)
	if code != 1 || !strings.Contains(out, "typo.yml:3") || !strings.Contains(out, `web.yml: app "web" is already declared in the apps section`) {
		t.Fatalf("bad drop-ins: %d %q", code, out)
	}
	// The seed's prometheus.yml (shipped as a config fixture) loads unchanged.
	if code, out, _ := runCLI("check", "config", "../config/testdata/seed-prometheus.good.yml"); code != 0 {
		t.Fatalf("seed: %d %q", code, out)
	}
}

func TestTSDBImportAndStats(t *testing.T) {
	dir := t.TempDir()
	om := filepath.Join(dir, "in.om")
	os.WriteFile(om, []byte("# TYPE up gauge\nup{job=\"a\"} 1 1700000000\nup{job=\"a\"} 0 1700000015\nup{job=\"b\"} 1 1700000000\n# EOF\n"), 0o644)
	data := filepath.Join(dir, "data")
	code, out, errOut := runCLI("tsdb", "import", "openmetrics", om, "--data", data)
	if code != 0 || !strings.Contains(out, "imported 3 samples of 2 series into 1 blocks") {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI("tsdb", "stats", "--data", data)
	if code != 0 {
		t.Fatalf("stats: %d %q %q", code, out, errOut)
	}
	for _, want := range []string{`Series:\s+2\n`, `Samples:\s+3\n`, `Blocks:\s+1 \(3 samples`, `\n\s+2\s+up\n`, `\n\s+2\s+job\n`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("stats output lacks %s:\n%s", want, out)
		}
	}
	bad := filepath.Join(dir, "bad.om")
	os.WriteFile(bad, []byte("# TYPE up gauge\nup 1 1700000000\nup{ 2 1700000015\n# EOF\n"), 0o644)
	code, _, errOut = runCLI("tsdb", "import", "openmetrics", bad, "--data", filepath.Join(dir, "d2"))
	if code != 1 || !strings.Contains(errOut, "line 3:") || !strings.Contains(errOut, "nothing was written") {
		t.Fatalf("bad import: %d %q", code, errOut)
	}
}
