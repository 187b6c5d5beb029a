package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadAppFile(t *testing.T) {
	a, err := LoadAppFile(filepath.Join("testdata", "apps.d", "echo.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "echo" {
		t.Errorf("name = %q, want the file name echo", a.Name)
	}
	if want := filepath.Join("testdata", "apps.d"); a.Dir != want {
		t.Errorf("dir = %q, want the file's directory %q", a.Dir, want)
	}
	if a.Workers != 2 || a.Port() != 8091 || a.Env["ECHO_LOG"] != "posted.jsonl" || a.HealthCheck.Path != "/" {
		t.Errorf("unexpected app: %+v", a)
	}
	if a.File() != filepath.Join("testdata", "apps.d", "echo.yml") {
		t.Errorf("File() = %q", a.File())
	}
}

func TestLoadAppFileErrors(t *testing.T) {
	_, err := LoadAppFile(filepath.Join("testdata", "apps.d", "bad.yml"))
	if err == nil {
		t.Fatal("no error")
	}
	got := errorLines(err)
	want := []string{
		"testdata/apps.d/bad.yml:3: stop_timout: unknown key (did you mean stop_timeout?)",
		"testdata/apps.d/bad.yml: command: an app needs a command to run",
		`testdata/apps.d/bad.yml:4: listen_mode: "systemd" is not a listen mode: use port, unix or socket_activation`,
		"testdata/apps.d/bad.yml:6: health_check.failures: must be at least 1",
	}
	for _, w := range want {
		if !containsAny(got, w) {
			t.Errorf("no error contains %q; errors:\n%s", w, err)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d errors, want %d:\n%s", len(got), len(want), err)
	}
}

func TestIsAppFile(t *testing.T) {
	for name, want := range map[string]bool{
		"echo.yml": true, "echo.yaml": true, ".echo.yml": false, "echo.yml~": false,
		"echo.yml.swp": false, "README": false,
	} {
		if got := IsAppFile(name); got != want {
			t.Errorf("IsAppFile(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCheckAppPorts(t *testing.T) {
	c, err := Parse([]byte("apps:\n  - name: a\n    command: x\n    listen: :9090\n  - name: b\n    command: x\n    listen: :9091\n"), "argus.yml")
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckAppPorts(":9090")
	if err == nil || !strings.Contains(err.Error(), "argus.yml:4: apps[0].listen: port 9090 is argus's own listen port (:9090)") {
		t.Errorf("CheckAppPorts(:9090) = %v", err)
	}
	if err := c.CheckAppPorts("127.0.0.1:9092"); err != nil {
		t.Errorf("CheckAppPorts(:9092) = %v", err)
	}
	c, err = Parse([]byte("apps_front: {listen: ':9093'}\n"), "argus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckAppPorts(":9093"); err == nil || !strings.Contains(err.Error(), "argus.yml:1: apps_front.listen: port 9093 is argus's own listen port") {
		t.Errorf("CheckAppPorts(:9093) with apps_front on it = %v", err)
	}
}

func TestLoadAppFileRoute(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site.yml")
	if err := os.WriteFile(path, []byte("command: x\nhost: site.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := LoadAppFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Routed() || a.Listen != "" || a.PathPrefix != "/" || a.RouteKey() != "site.example " {
		t.Errorf("unexpected route: %+v", a)
	}
}

func TestCheckAppCerts(t *testing.T) {
	c, err := Parse([]byte("apps_front:\n  listen: :8080\n  tls: {cert_file: missing.crt, key_file: missing.key}\n"+
		"apps:\n  - name: a\n    command: x\n    listen: :8081\n    tls:\n      cert_file: nothere.crt\n      key_file: nothere.key\n"), "argus.yml")
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckAppCerts()
	for _, want := range []string{
		"argus.yml:3: apps_front.tls.cert_file: cannot load the certificate and key: open missing.crt: no such file or directory",
		"argus.yml:9: apps[0].tls.cert_file: cannot load the certificate and key: open nothere.crt: no such file or directory",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckAppCerts: %v, want an error containing %q", err, want)
		}
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "site.yml")
	if err := os.WriteFile(path, []byte("command: x\nlisten: :8081\ntls: {cert_file: site.crt, key_file: site.key}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadAppFile(path)
	want := path + ":3: tls.cert_file: cannot load the certificate and key: open " + filepath.Join(dir, "site.crt") + ": no such file or directory"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("LoadAppFile with a missing certificate: %v, want %q", err, want)
	}
}
