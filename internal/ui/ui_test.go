package ui

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func serve(t *testing.T, h *Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	mux := http.NewServeMux()
	h.Register(mux)
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNotBuiltPageSaysHowToBuild(t *testing.T) {
	h := newHandler(fstest.MapFS{".keep": {}})
	if h.Built() {
		t.Fatal("Built() = true without index.html")
	}
	r := serve(t, h, "GET", "/query", nil)
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d", r.StatusCode)
	}
	if b := body(t, r); !strings.Contains(b, "make build") {
		t.Fatalf("page does not say how to build the UI: %s", b)
	}
	if r.Header.Get("Content-Security-Policy") == "" {
		t.Fatal("no CSP on the not-built page")
	}
}

func builtFS() fstest.MapFS {
	var gz strings.Builder
	w := gzip.NewWriter(&gz)
	w.Write([]byte("console.log(1)"))
	w.Close()
	return fstest.MapFS{
		"index.html":          {Data: []byte(`<!doctype html><script type="module" src="/assets/app-1.js"></script>`)},
		"assets/app-1.js":     {Data: []byte("console.log(1)")},
		"assets/app-1.js.gz":  {Data: []byte(gz.String())},
		"assets/app-1.css":    {Data: []byte("body{}")},
		"favicon.svg":         {Data: []byte("<svg/>")},
		"assets/not-here.txt": {Data: []byte("x")},
	}
}

func TestPagesServeIndexWithStrictCSP(t *testing.T) {
	h := newHandler(builtFS())
	for _, p := range []string{"/query", "/alerts", "/silences/new", "/silences/abc-123", "/status"} {
		r := serve(t, h, "GET", p, nil)
		if r.StatusCode != http.StatusOK || !strings.Contains(body(t, r), "app-1.js") {
			t.Fatalf("%s: status %d", p, r.StatusCode)
		}
		csp := r.Header.Get("Content-Security-Policy")
		for _, bad := range []string{"unsafe-eval", "script-src 'self' 'unsafe-inline'"} {
			if strings.Contains(csp, bad) {
				t.Fatalf("CSP allows %s: %s", bad, csp)
			}
		}
		if !strings.Contains(csp, "script-src 'self';") {
			t.Fatalf("CSP does not limit scripts to the UI's own: %s", csp)
		}
	}
	if r := serve(t, h, "GET", "/", nil); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/query" {
		t.Fatalf("/ answers %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	// Paths that are not pages stay 404: a mistyped API path is not a web page.
	for _, p := range []string{"/nope", "/api/v1/nope", "/assets/missing.js"} {
		if r := serve(t, h, "GET", p, nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: status %d, want 404", p, r.StatusCode)
		}
	}
}

func TestAssetsGzippedAndCachedForGood(t *testing.T) {
	h := newHandler(builtFS())
	r := serve(t, h, "GET", "/assets/app-1.js", map[string]string{"Accept-Encoding": "br, gzip;q=0.9"})
	if r.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("headers %v", r.Header)
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != "console.log(1)" {
		t.Fatalf("body %q", b)
	}
	if !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	// Without gzip, the plain file.
	r = serve(t, h, "GET", "/assets/app-1.js", nil)
	if r.Header.Get("Content-Encoding") != "" || body(t, r) != "console.log(1)" {
		t.Fatalf("plain answer wrong: %v", r.Header)
	}
	// A file with no .gz beside it is served as is.
	r = serve(t, h, "GET", "/assets/app-1.css", map[string]string{"Accept-Encoding": "gzip"})
	if r.Header.Get("Content-Encoding") != "" || body(t, r) != "body{}" {
		t.Fatalf("css answer wrong: %v", r.Header)
	}
}

func TestEmbeddedBuildIsConsistent(t *testing.T) {
	h := New()
	if !h.Built() {
		t.Fatal("the UI was not built into this test binary: run make build (or npm run build in ui/) first")
	}
	r := serve(t, h, "GET", "/query", nil)
	page := body(t, r)
	// Every asset index.html names must be served.
	for _, part := range strings.Split(page, `"/assets/`)[1:] {
		name := "/assets/" + part[:strings.IndexByte(part, '"')]
		if r := serve(t, h, "GET", name, nil); r.StatusCode != http.StatusOK {
			t.Fatalf("%s named by index.html answers %d", name, r.StatusCode)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Fatal("index.html has an inline script, which the CSP forbids")
	}
}
