package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// TestTwoInstancesShareOnePostgres points two argus servers at one real
// PostgreSQL database: a user, a dashboard and a silence made on one are
// there on the other.
func TestTwoInstancesShareOnePostgres(t *testing.T) {
	pg := integrationtest.Postgres(t)
	var rs []*running
	for _, name := range []string{"a", "b"} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "argus.yml")
		// The DSN comes from a file, as a password should.
		dsnFile := filepath.Join(dir, "state.dsn")
		os.WriteFile(dsnFile, []byte(pg.DSN()+"\n"), 0o600)
		os.WriteFile(cfg, []byte("state:\n  driver: postgres\n  dsn_file: state.dsn\ncollectors:\n  node: {enabled: false}\n  process: {enabled: false}\n"), 0o644)
		rs = append(rs, startAuth(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfg, InitialAdminPassword: "admin-password-" + name}))
	}
	a, b := rs[0], rs[1]
	call := func(r *running, method, path, user, pw, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, r.base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	// The first instance made admin; the second found it there.
	if code, body := call(b, "GET", "/api/v1/users", "admin", "admin-password-a", ""); code != 200 {
		t.Fatalf("admin of a on b: %d %s", code, body)
	}
	if code, body := call(a, "POST", "/api/v1/users", "admin", "admin-password-a", `{"name":"sam","role":"editor","password":"sam-password"}`); code != 200 {
		t.Fatalf("create user on a: %d %s", code, body)
	}
	code, body := call(b, "POST", "/api/dashboards/db", "sam", "sam-password", `{"dashboard":{"uid":"shared","title":"Shared"},"message":"from b"}`)
	if code != 200 {
		t.Fatalf("save a dashboard on b as sam: %d %s", code, body)
	}
	if code, body := call(a, "GET", "/api/dashboards/uid/shared", "", "", ""); code != 200 || !strings.Contains(body, `"title":"Shared"`) {
		t.Errorf("the dashboard on a: %d %s", code, body)
	}
	code, body = call(a, "POST", "/api/v2/silences", "sam", "sam-password", `{"matchers":[{"name":"alertname","value":"X","isRegex":false}],"startsAt":"2026-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"sam","comment":"shared"}`)
	if code != 200 {
		t.Fatalf("silence on a: %d %s", code, body)
	}
	var id struct{ SilenceID string }
	json.Unmarshal([]byte(body), &id)
	waitUntil(t, "the silence on b", func() bool {
		code, body := call(b, "GET", "/api/v2/silence/"+id.SilenceID, "", "", "")
		return code == 200 && bytes.Contains([]byte(body), []byte(`"comment":"shared"`))
	})
	// A login on one is a session on the other (HA behind a balancer).
	resp, err := http.Post(a.base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"user":"sam","password":"sam-password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != 200 || len(cookies) != 1 {
		t.Fatalf("login on a: %d %v", resp.StatusCode, cookies)
	}
	req, _ := http.NewRequest("GET", b.base+"/api/v1/auth/me", nil)
	req.AddCookie(cookies[0])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	me, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(me), `"user":"sam"`) || !strings.Contains(string(me), `"kind":"session"`) {
		t.Errorf("a's session on b: %s", me)
	}
}
