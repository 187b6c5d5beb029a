package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// TestUsersAndTokensWhileServing adds a user and a token with the CLI on
// the store of a running server, which then accepts them; a wrong role
// or a missing password is a clear error.
func TestUsersAndTokensWhileServing(t *testing.T) {
	srv := serve(t, "global: {scrape_interval: 1s}\ncollectors:\n  node: {enabled: false}\n")
	ctx := context.Background()
	url := waitForUp(t, srv.url, "argus", func() string { return "" })
	dir, cfg, data, serverErr := srv.dir, srv.cfg, srv.data, srv.logs
	store := []string{"--config", cfg, "--data", data}

	var out bytes.Buffer
	if err := userCmd(ctx, append([]string{"add", "bob", "--role", "editor"}, store...), strings.NewReader("bob-password\n"), &out); err != nil {
		t.Fatalf("user add: %v", err)
	}
	if err := userCmd(ctx, append([]string{"add", "eve", "--role", "root"}, store...), strings.NewReader("x\n"), &out); err == nil || !strings.Contains(err.Error(), `unknown role "root"`) {
		t.Errorf("bad role: %v", err)
	}
	if err := userCmd(ctx, append([]string{"add", "eve", "--role", "viewer"}, store...), strings.NewReader(""), &out); err == nil || !strings.Contains(err.Error(), "no password on stdin") {
		t.Errorf("no password: %v", err)
	}
	out.Reset()
	if err := userCmd(ctx, append([]string{"list"}, store...), nil, &out); err != nil || !strings.Contains(out.String(), "bob ") || !strings.Contains(out.String(), "admin ") {
		t.Errorf("user list: %v\n%s", err, out.String())
	}
	// The running server takes bob's password.
	post := func(hdr ...string) int {
		req, _ := http.NewRequest("POST", url+"/api/v2/silences", strings.NewReader(`{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"t","comment":"c"}`))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		if len(hdr) == 1 {
			req.SetBasicAuth("bob", hdr[0])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != 401 {
		t.Errorf("silence without credentials: %d", code)
	}
	if code := post("bob-password"); code != 200 {
		t.Errorf("silence as bob: %d", code)
	}
	// A token made by the CLI works at once; revoked, it stops.
	out.Reset()
	if err := tokenCmd(ctx, append([]string{"create", "ci", "--role", "editor", "--expires", "30d"}, store...), &out); err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out.String())
	if code := post("Authorization", "Bearer "+secret); code != 200 {
		t.Errorf("silence with the token: %d", code)
	}
	if err := tokenCmd(ctx, append([]string{"revoke", "1"}, store...), &out); err != nil {
		t.Fatal(err)
	}
	if code := post("Authorization", "Bearer "+secret); code != 401 {
		t.Errorf("silence with the revoked token: %d", code)
	}
	// A new password applies at once.
	if err := userCmd(ctx, append([]string{"passwd", "bob"}, store...), strings.NewReader("bob-password-2\n"), &out); err != nil {
		t.Fatal(err)
	}
	if code := post("bob-password"); code != 401 {
		t.Errorf("old password after passwd: %d", code)
	}
	// A backup taken while serving opens and holds bob.
	backup := filepath.Join(dir, "backup.db")
	if err := stateCmd(ctx, append([]string{"backup", backup}, store...), &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := userCmd(ctx, []string{"list", "--data", t.TempDir(), "--config", writeStateConfig(t, backup)}, nil, &out); err != nil || !strings.Contains(out.String(), "bob ") {
		t.Errorf("users in the backup: %v\n%s", err, out.String())
	}
	if strings.Contains(serverErr.String(), "bob-password") || strings.Contains(serverErr.String(), secret) || strings.Contains(serverErr.String(), "first-admin-password") {
		t.Errorf("the server logged a secret:\n%s", serverErr.String())
	}
}

func writeStateConfig(t *testing.T, path string) string {
	f := filepath.Join(t.TempDir(), "argus.yml")
	os.WriteFile(f, []byte("state:\n  path: "+path+"\n"), 0o644)
	return f
}

// TestStateMigrate copies a SQLite store into a real PostgreSQL with
// `argus state migrate`; argus on the PostgreSQL store then has the user.
func TestStateMigrate(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	var out bytes.Buffer
	if err := userCmd(ctx, []string{"add", "mia", "--role", "admin", "--data", data}, strings.NewReader("mia-password\n"), &out); err != nil {
		t.Fatal(err)
	}
	pg := integrationtest.Postgres(t)
	out.Reset()
	if err := stateCmd(ctx, []string{"migrate", "--to", "postgres", "--dsn", pg.DSN(), "--data", data}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1 users") {
		t.Errorf("migrate said: %s", out.String())
	}
	cfg := filepath.Join(t.TempDir(), "argus.yml")
	os.WriteFile(cfg, []byte("state:\n  driver: postgres\n  dsn: "+pg.DSN()+"\n"), 0o644)
	out.Reset()
	if err := userCmd(ctx, []string{"list", "--config", cfg}, nil, &out); err != nil || !strings.Contains(out.String(), "mia ") {
		t.Errorf("users on PostgreSQL: %v\n%s", err, out.String())
	}
	// Into a database that has rows: refused, nothing changed.
	if err := stateCmd(ctx, []string{"migrate", "--to", "postgres", "--dsn", pg.DSN(), "--data", data}, &out); err == nil || !strings.Contains(err.Error(), "empty database") {
		t.Errorf("second migrate: %v", err)
	}
	if err := stateCmd(ctx, []string{"migrate", "--to", "mysql", "--data", data}, &out); err == nil {
		t.Error("migrate to mysql: no error")
	}
}

// TestQueryWithCredentials runs argus query and argus top against a
// server with anonymous access off: refused without credentials, answered
// with an --http.config.file holding a token.
func TestQueryWithCredentials(t *testing.T) {
	srv := serve(t, "auth:\n  anonymous: none\ncollectors:\n  node: {enabled: false}\n")
	ctx := context.Background()
	url, dir, cfg, data := srv.url, srv.dir, srv.cfg, srv.data
	waitReady(t, url)
	var out bytes.Buffer
	if err := tokenCmd(ctx, []string{"create", "reader", "--role", "viewer", "--config", cfg, "--data", data}, &out); err != nil {
		t.Fatal(err)
	}
	httpCfg := filepath.Join(dir, "http.yml")
	os.WriteFile(httpCfg, []byte("authorization:\n  credentials: "+strings.TrimSpace(out.String())+"\n"), 0o600)
	code, _, errOut := runCLI("query", "instant", "--server", url, "vector(42)")
	if code == 0 || !strings.Contains(errOut, "authentication required") {
		t.Errorf("query without credentials: exit %d, %s", code, errOut)
	}
	code, stdout, errOut := runCLI("query", "instant", "--server", url, "--http.config.file", httpCfg, "vector(42)")
	if code != 0 || !strings.Contains(stdout, "42") {
		t.Errorf("query with a token: exit %d, %s%s", code, stdout, errOut)
	}
	if code, _, errOut := runCLI("top", "--once", "--server", url, "--http.config.file", httpCfg); code != 0 {
		t.Errorf("top with a token: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCLI("query", "instant", "--server", url, "--http.config.file", filepath.Join(dir, "missing.yml"), "1"); code == 0 || !strings.Contains(errOut, "--http.config.file") {
		t.Errorf("missing http config: exit %d, %s", code, errOut)
	}
}

// served is an `argus server` a test runs through Main, with its config
// file, data directory and log.
type served struct {
	url, dir, cfg, data string
	logs                *syncBuffer
}

// serve runs `argus server` with config on a free port, the first admin's
// password set, until the test ends.
func serve(t *testing.T, config string) *served {
	t.Helper()
	dir := t.TempDir()
	s := &served{dir: dir, cfg: filepath.Join(dir, "argus.yml"), data: filepath.Join(dir, "data"), logs: &syncBuffer{}}
	if err := os.WriteFile(s.cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	s.url = "http://" + addr
	t.Setenv("ARGUS_ADMIN_PASSWORD", "first-admin-password")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"server", "--config", s.cfg, "--data", s.data, "--listen", addr}, io.Discard, s.logs)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func waitReady(t *testing.T, url string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready", url)
		}
	}
}
