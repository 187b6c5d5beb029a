package auth

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzAuthenticate feeds arbitrary Authorization headers and session
// cookies to the authentication path: it must answer (a principal or
// an unauthenticated error), never panic, and never let a made-up
// credential in.
func FuzzAuthenticate(f *testing.F) {
	fx := newFixture(f, Viewer)
	f.Add("Basic ZWQ6ZWQtcGFzc3dvcmQ=", "")
	f.Add("Bearer argus_abc", "")
	f.Add("Basic !!!", "")
	f.Add("", "x")
	f.Add("bearer", strings.Repeat("a", 200))
	f.Add("Basic "+basicValue("ed\x00", "p:w"), "")
	f.Fuzz(func(t *testing.T, authz, cookie string) {
		req, err := http.NewRequest("GET", "http://argus/", nil)
		if err != nil {
			t.Skip()
		}
		req.RemoteAddr = "192.0.2.1:1234"
		if authz != "" {
			req.Header["Authorization"] = []string{authz}
		}
		if cookie != "" {
			req.Header["Cookie"] = []string{SessionCookie + "=" + cookie}
		}
		p, err := fx.svc.Authenticate(req)
		if err == nil && p.Kind != "anonymous" && !strings.Contains(authz, "ZWQ6ZWQtcGFzc3dvcmQ") {
			t.Fatalf("made-up credentials %q %q authenticated as %+v", authz, cookie, p)
		}
	})
}

// FuzzLogin posts arbitrary bodies to the login route.
func FuzzLogin(f *testing.F) {
	fx := newFixture(f, Viewer)
	f.Add(`{"user":"ed","password":"x"}`)
	f.Add(`{"user":1}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, body string) {
		r := fx.do(t, nil, "POST", "/api/v1/auth/login", body)
		if r.code == 200 && !strings.Contains(body, "password") {
			t.Fatalf("login with %q succeeded", body)
		}
		if r.code >= 500 {
			t.Fatalf("login with %q: %d %s", body, r.code, r.body)
		}
	})
}
