package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/argus-mon/argus/internal/auth"
)

// concretePath turns a route pattern's path into one a request can take.
func concretePath(p string) string {
	p = strings.ReplaceAll(p, "{$}", "")
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(p[i:], '}')
		p = p[:i] + "x" + p[i+j+1:]
	}
	if strings.HasSuffix(p, "/") && p != "/" {
		p += "x"
	}
	return p
}

func send(t *testing.T, method, url, user, password string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestEveryRouteGuarded walks every route the server registers: each
// that changes state answers 401 without credentials and 403 to a role
// below the one it needs, and reads answer 401 only when anonymous access
// is off. A route added later is walked too.
func TestEveryRouteGuarded(t *testing.T) {
	for _, anonymous := range []string{"viewer", "none"} {
		t.Run("anonymous="+anonymous, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "argus.yml")
			os.WriteFile(cfg, []byte("auth:\n  anonymous: "+anonymous+"\n"), 0o644)
			r := startAuth(t, Options{DataDir: filepath.Join(dir, "data"), ConfigFile: cfg,
				EnableAdminAPI: true, EnableRemoteWriteReceiver: true, InitialAdminPassword: "admin-password"})
			ctx := context.Background()
			for name, role := range map[string]auth.Role{"vera": auth.Viewer, "ed": auth.Editor} {
				if _, err := auth.AddUser(ctx, r.srv.state, name, role, name+"-password", false); err != nil {
					t.Fatal(err)
				}
			}
			r.srv.mu.RLock()
			routes := r.srv.router.routes
			r.srv.mu.RUnlock()
			if len(routes) < 60 {
				t.Fatalf("only %d routes", len(routes))
			}
			below := map[auth.Role][2]string{auth.Editor: {"vera", "vera-password"}, auth.Admin: {"ed", "ed-password"}}
			changing := 0
			for _, rt := range routes {
				method, path, _ := strings.Cut(rt.Pattern, " ")
				url := r.base + concretePath(path)
				if rt.Rule.Role == auth.Public {
					continue
				}
				write := method != "GET" && method != "HEAD" && method != "OPTIONS"
				if write && rt.Rule.Role < auth.Editor && !isReadPOST(path) && path != "/api/v1/auth/password" {
					t.Errorf("%s changes state but needs only %s", rt.Pattern, rt.Rule.Role)
				}
				if rt.Rule.Role >= auth.Editor {
					changing++
				}
				code := send(t, method, url, "", "")
				switch {
				case rt.Rule.Role >= auth.Editor || rt.Rule.Audit || anonymous == "none":
					if code != http.StatusUnauthorized {
						t.Errorf("%s without credentials: %d, want 401", rt.Pattern, code)
					}
				default:
					if code == http.StatusUnauthorized || code == http.StatusForbidden {
						t.Errorf("%s without credentials (anonymous viewer): %d", rt.Pattern, code)
					}
				}
				if u, ok := below[rt.Rule.Role]; ok {
					if code := send(t, method, url, u[0], u[1]); code != http.StatusForbidden {
						t.Errorf("%s as %s: %d, want 403", rt.Pattern, u[0], code)
					}
				}
			}
			if changing < 25 {
				t.Errorf("only %d routes need editor or admin", changing)
			}
			// The routes a user changes things with, by name, are among
			// them with the right rule.
			want := map[string]auth.Role{
				"POST /api/v2/silences": auth.Editor, "DELETE /api/v2/silence/{id}": auth.Editor,
				"POST /api/dashboards/db": auth.Editor, "POST /-/reload": auth.Admin,
				"PUT /api/v1/admin/tsdb/delete_series": auth.Admin, "POST /api/v1/users": auth.Admin,
				"POST /api/v1/tokens": auth.Admin, "POST /api/v1/write": auth.Editor,
				"GET /debug/pprof/profile": auth.Admin, "GET /api/v1/query": auth.Viewer,
			}
			for _, rt := range routes {
				if role, ok := want[rt.Pattern]; ok {
					if rt.Rule.Role != role {
						t.Errorf("%s needs %s, want %s", rt.Pattern, rt.Rule.Role, role)
					}
					delete(want, rt.Pattern)
				}
			}
			for p := range want {
				t.Errorf("route %s is not registered", p)
			}
		})
	}
}

// TestFirstAdminPassword starts with no users and no password given: argus
// creates admin with a random password, prints it once, and that login must
// change it before anything else.
func TestFirstAdminPassword(t *testing.T) {
	var logs syncBuffer
	dir := t.TempDir()
	r := startAuth(t, Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	m := regexp.MustCompile(`password=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no generated password in the log:\n%s", logs.String())
	}
	pw := m[1]
	if n := strings.Count(logs.String(), pw); n != 1 {
		t.Errorf("the password is in the log %d times", n)
	}
	resp, err := http.Post(r.base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"user":"admin","password":"`+pw+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"mustChangePassword":true`) {
		t.Fatalf("first login: %d %s", resp.StatusCode, body)
	}
	// Started again, argus does not make another.
	r.shutdown(t)
	logs.Reset()
	startAuth(t, Options{DataDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if strings.Contains(logs.String(), "password=") {
		t.Errorf("second start printed a password:\n%s", logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
func (s *syncBuffer) Reset()         { s.mu.Lock(); defer s.mu.Unlock(); s.b.Reset() }

// TestProbeDebugNeedsEditor: /probe is a read, but its debug log (which
// can hold what an inner server answered) needs the editor role.
func TestProbeDebugNeedsEditor(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "inner") }))
	defer target.Close()
	r := startAuth(t, Options{DataDir: t.TempDir(), InitialAdminPassword: "admin-password"})
	if _, err := auth.AddUser(context.Background(), r.srv.state, "ed", auth.Editor, "ed-password", false); err != nil {
		t.Fatal(err)
	}
	url := r.base + "/probe?module=http_2xx&target=" + target.URL
	if code := send(t, "GET", url, "", ""); code != 200 {
		t.Errorf("probe, anonymous: %d", code)
	}
	if code := send(t, "GET", url+"&debug=true", "", ""); code != 403 {
		t.Errorf("debug probe, anonymous: %d, want 403", code)
	}
	if code := send(t, "GET", url+"&debug=true", "ed", "ed-password"); code != 200 {
		t.Errorf("debug probe, editor: %d", code)
	}
}
