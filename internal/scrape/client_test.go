package scrape

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/loadgen"
)

// newTestScraper builds the scraper a loop would for rawURL with the default
// job settings.
func newTestScraper(t *testing.T, rawURL string) *httpScraper {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := jobs(t, "scrape_configs:\n  - job_name: j\n    static_configs: [{targets: [\"x:1\"]}]\n")[0]
	s := newHTTPScraper(&http.Client{}, cfg, u, "text/plain", "gzip", time.Second, newBuffers())
	if s.direct == nil {
		t.Fatal("plain http target without auth not scraped directly")
	}
	t.Cleanup(s.close)
	return s
}

func scrapeOnce(t *testing.T, s *httpScraper) (string, string, error) {
	t.Helper()
	body, ct, err := s.scrape(context.Background(), time.Now().Add(2*time.Second))
	return string(body), ct, err
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// TestDirectClientAgainstNetHTTPServer: the responses Go's server sends
// (Content-Length, chunked, gzip, errors, redirects) come out as net/http's
// client would return them, on one kept-alive connection.
func TestDirectClientAgainstNetHTTPServer(t *testing.T) {
	var conns atomic.Int64
	var lastReq atomic.Pointer[http.Request]
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			lastReq.Store(r)
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, "a 1\n")
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := range 3 {
			io.WriteString(w, strings.Repeat("b", 10)+string(rune('0'+i))+"\n")
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding %q", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gzipped("c 3\n"))
	})
	mux.HandleFunc("/gzip-chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzipped(strings.Repeat("d 4\n", 1000))
		w.Write(gz[:10])
		w.(http.Flusher).Flush()
		w.Write(gz[10:])
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/metrics", http.StatusFound) })
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	cases := []struct{ path, body, ctype, err string }{
		{"/metrics?x=1&y=%20", "a 1\n", "text/plain; version=0.0.4", ""},
		{"/chunked", "bbbbbbbbbb0\nbbbbbbbbbb1\nbbbbbbbbbb2\n", "text/plain; charset=utf-8", ""},
		{"/gzip", "c 3\n", "", ""},
		{"/gzip-chunked", strings.Repeat("d 4\n", 1000), "", ""},
		{"/missing", "", "", "server returned HTTP status 404 Not Found"},
		{"/moved", "a 1\n", "text/plain; version=0.0.4", ""},
	}
	for _, c := range cases {
		s := newTestScraper(t, srv.URL+c.path)
		for range 3 {
			body, ct, err := scrapeOnce(t, s)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("%s: error %v, want %q", c.path, err, c.err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", c.path, err)
			}
			if body != c.body || (c.ctype != "" && ct != c.ctype) {
				t.Fatalf("%s: got %q (%s), want %q (%s)", c.path, body, ct, c.body, c.ctype)
			}
		}
	}
	r := lastReq.Load()
	if r.URL.RawQuery != "x=1&y=%20" || r.Header.Get("User-Agent") != userAgent || r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds") != "1" {
		t.Errorf("request: query %q, headers %v", r.URL.RawQuery, r.Header)
	}
	// One connection per scraper (each reused for its three scrapes), plus
	// the redirected scrapes of net/http's client.
	if n := conns.Load(); n > int64(len(cases))+1 {
		t.Errorf("%d connections for %d scrapers: not kept alive", n, len(cases))
	}
}

// TestDirectClientReconnects: a kept-alive connection the server closed
// between scrapes is replaced without failing the scrape.
func TestDirectClientReconnects(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a 1\n")
	}))
	srv.Config.IdleTimeout = 20 * time.Millisecond
	srv.Start()
	defer srv.Close()
	s := newTestScraper(t, srv.URL)
	for range 3 {
		if _, _, err := scrapeOnce(t, s); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // The server closes the idle connection.
	}
	// Connection: close from the server is honoured too.
	srv.Config.SetKeepAlivesEnabled(false)
	for range 3 {
		if _, _, err := scrapeOnce(t, s); err != nil {
			t.Fatal(err)
		}
	}
}

// rawServer answers every connection with handle, for responses Go's server
// would never send.
func rawServer(t *testing.T, handle func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				bufio.NewReader(c).ReadString('\n') // The request line is enough.
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return "http://" + l.Addr().String() + "/metrics"
}

// TestDirectClientHostileServers: bad answers fail the scrape with a clear
// error and within the timeout; none hangs or crashes the scraper.
func TestDirectClientHostileServers(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	cases := []struct {
		name   string
		handle func(c net.Conn)
		limit  int64
		body   string
		err    string
	}{
		{name: "HTTP/1.0 body until close", handle: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\na 1\n")
		}, body: "a 1\n"},
		{name: "status without reason", handle: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n")
		}, err: "server returned HTTP status 503 Service Unavailable"},
		{name: "garbage", handle: func(c net.Conn) { io.WriteString(c, "this is not http\r\n\r\n") }, err: "malformed HTTP response"},
		{name: "closed at once", handle: func(c net.Conn) {}, err: "EOF"},
		{name: "endless headers", handle: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			for range 2000 {
				if _, err := io.WriteString(c, "X-A: "+strings.Repeat("a", 1000)+"\r\n"); err != nil {
					return
				}
			}
		}, err: "exceed"},
		{name: "endless body", handle: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
			for range 10000 {
				if _, err := io.WriteString(c, "400\r\n"+strings.Repeat("x", 1024)+"\r\n"); err != nil {
					return
				}
			}
		}, limit: 100 << 10, err: "body size limit exceeded"},
		{name: "short body", handle: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\na 1\n")
		}, err: "unexpected EOF"},
		{name: "bad chunk", handle: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
		}, err: "bad chunk size"},
		{name: "bad gzip", handle: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello")
		}, err: "gzip"},
		{name: "unknown encoding", handle: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 0\r\n\r\n")
		}, err: "unsupported content encoding"},
		{name: "slow headers", handle: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			<-hang
		}, err: "deadline exceeded"},
		{name: "slow body", handle: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\na")
			<-hang
		}, err: "deadline exceeded"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestScraper(t, rawServer(t, c.handle))
			s.bodySizeLimit = c.limit
			start := time.Now()
			body, _, err := s.scrape(context.Background(), start.Add(300*time.Millisecond))
			if time.Since(start) > 2*time.Second {
				t.Errorf("scrape took %v", time.Since(start))
			}
			if c.err == "" {
				if err != nil || string(body) != c.body {
					t.Fatalf("got %q, %v; want %q", body, err, c.body)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want one containing %q", err, c.err)
			}
		})
	}
}

// TestDirectClientCancel: stopping the loop interrupts a scrape blocked on
// a silent target.
func TestDirectClientCancel(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	s := newTestScraper(t, rawServer(t, func(c net.Conn) { <-hang }))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, _, err := s.scrape(ctx, time.Now().Add(10*time.Second))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestDirectEligible(t *testing.T) {
	for _, c := range []struct {
		job  string
		url  string
		want bool
	}{
		{"", "http://h:1/metrics", true},
		{"", "https://h:1/metrics", false},
		{"    basic_auth: {username: u, password: p}\n", "http://h:1/metrics", false},
		{"    authorization: {credentials: c}\n", "http://h:1/metrics", false},
		{"    proxy_url: http://proxy:3128\n", "http://h:1/metrics", false},
		{"    http_headers: {X-A: {values: [b]}}\n", "http://h:1/metrics", false},
		{"", "http://user:pw@h:1/metrics", false},
	} {
		cfg := jobs(t, "scrape_configs:\n  - job_name: j\n"+c.job+"    static_configs: [{targets: [\"x:1\"]}]\n")[0]
		u, _ := url.Parse(c.url)
		if u == nil {
			t.Fatalf("bad test URL %q", c.url)
		}
		if got := directEligible(u, cfg.HTTPClientConfig); got != c.want {
			t.Errorf("%q %s: eligible %v, want %v", c.job, c.url, got, c.want)
		}
	}
	// Addresses from discovery are not parsed URLs: a CR LF in one must not
	// reach a request line.
	cfg := jobs(t, "scrape_configs:\n  - job_name: j\n    static_configs: [{targets: [\"x:1\"]}]\n")[0]
	for _, host := range []string{"h:1\r\nX-Evil: 1", "h :1", "h:1\x00"} {
		if directEligible(&url.URL{Scheme: "http", Host: host, Path: "/metrics"}, cfg.HTTPClientConfig) {
			t.Errorf("host %q eligible", host)
		}
	}
}

// FuzzResponse: whatever bytes a target answers with, the direct client's
// reading of them does not panic, and a 200 response it accepts has the body
// net/http reads from the same bytes.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\na 1\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\na 1\n\r\n0\r\nX-T: y\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2;ext=1\r\nab\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nbody until close",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(raw), 64)
		h, err := readResponseHead(br)
		if err != nil {
			return
		}
		var body bodyReader
		body.reset(br, h)
		got, err := io.ReadAll(io.LimitReader(&body, 1<<20))
		if err != nil || h.status != http.StatusOK {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if err != nil {
			return
		}
		want, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil || resp.StatusCode != http.StatusOK {
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("body %q, net/http reads %q", got, want)
		}
	})
}

// BenchmarkFetch compares one scrape's HTTP fetch of a gzipped
// node_exporter-sized page through net/http and through the direct client
// (the server's share of the time is the same in both).
//
//	go test -run '^$' -bench Fetch -benchmem -count 6 ./internal/scrape/
func BenchmarkFetch(b *testing.B) {
	gen, err := loadgen.New(loadgen.Options{Targets: 1, Seed: 1, Interval: 15 * time.Second, Start: 1_700_000_000_000})
	if err != nil {
		b.Fatal(err)
	}
	_, vals := gen.Next(nil)
	page := gzipped(string(gen.AppendText(nil, vals, "instance", "job")))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(page)
	}))
	defer srv.Close()
	for _, direct := range []bool{false, true} {
		name := "nethttp"
		if direct {
			name = "direct"
		}
		b.Run(name, func(b *testing.B) {
			s := newTestScraper(&testing.T{}, srv.URL)
			defer s.close()
			if !direct {
				s.direct = nil
				s.client = &http.Client{Transport: &http.Transport{}}
			}
			ctx := context.Background()
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				if _, _, err := s.scrape(ctx, time.Now().Add(10*time.Second)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the user and system CPU time of the test process, which
// (unlike wall time) counts both goroutines of a round trip.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestDirectClientExtraBytes: bytes a server sends after a response do not
// become the next scrape's answer.
func TestDirectClientExtraBytes(t *testing.T) {
	var n atomic.Int64
	url := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\na 1\nHTTP/1.1 500 Junk\r\n\r\n")
			n.Add(1)
			// The next request on this connection, if any.
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
		}
	})
	s := newTestScraper(t, url)
	for range 3 {
		if body, _, err := scrapeOnce(t, s); err != nil || body != "a 1\n" {
			t.Fatalf("got %q, %v", body, err)
		}
	}
}

// TestDirectClientReviewCases: what net/http's client gets right and a
// minimal client easily does not.
func TestDirectClientReviewCases(t *testing.T) {
	t.Run("408 on the idle connection is not the next answer", func(t *testing.T) {
		url := rawServer(t, func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\na 1\n")
			time.Sleep(30 * time.Millisecond)
			io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			time.Sleep(200 * time.Millisecond)
		})
		s := newTestScraper(t, url)
		for i := range 2 {
			if body, _, err := scrapeOnce(t, s); err != nil || body != "a 1\n" {
				t.Fatalf("scrape %d: %q, %v", i, body, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	t.Run("a header line longer than the buffer goes to net/http", func(t *testing.T) {
		url := rawServer(t, func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Big: "+strings.Repeat("a", 5000)+"\r\nContent-Length: 4\r\nConnection: close\r\n\r\na 1\n")
		})
		s := newTestScraper(t, url)
		if body, _, err := scrapeOnce(t, s); err != nil || body != "a 1\n" {
			t.Fatalf("got %q, %v", body, err)
		}
	})
	t.Run("body_size_limit limits the page, not the compressed stream", func(t *testing.T) {
		var page, z bytes.Buffer
		w := gzip.NewWriter(&z)
		for page.Len() < 700<<10 {
			page.WriteString("a 1\n")
			w.Write([]byte("a 1\n"))
			w.Flush() // Makes the stream larger than the page.
		}
		w.Close()
		var dst bytes.Buffer
		if err := readBody(&dst, bytes.NewReader(z.Bytes()), true, 1<<20, newBuffers()); err != nil || dst.Len() != page.Len() {
			t.Fatalf("%d-byte page in a %d-byte stream, limit 1 MiB: %v", page.Len(), z.Len(), err)
		}
		if err := readBody(&dst, bytes.NewReader(z.Bytes()), true, 600<<10, newBuffers()); !errors.Is(err, errBodySizeLimit) {
			t.Fatalf("limit below the page: %v", err)
		}
	})
	t.Run("signed Content-Length is refused like net/http does", func(t *testing.T) {
		raw := "HTTP/1.1 200 OK\r\nContent-Length: +4\r\n\r\na 1\n"
		if _, err := readResponseHead(bufio.NewReader(strings.NewReader(raw))); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("errors worded as net/http words them", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		s := newTestScraper(t, "http://"+addr+"/metrics")
		if _, _, err := scrapeOnce(t, s); err == nil || !strings.HasPrefix(err.Error(), `Get "http://`+addr+`/metrics": dial tcp`) {
			t.Fatalf("refused: %v", err)
		}
		hang := make(chan struct{})
		defer close(hang)
		url := rawServer(t, func(c net.Conn) { <-hang })
		s = newTestScraper(t, url)
		_, _, err = s.scrape(context.Background(), time.Now().Add(100*time.Millisecond))
		if err == nil || err.Error() != `Get "`+url+`": context deadline exceeded` {
			t.Fatalf("timeout: %v", err)
		}
	})
	t.Run("a redirecting target is scraped by net/http alone after the first time", func(t *testing.T) {
		var n atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			if r.URL.Path == "/metrics" {
				http.Redirect(w, r, "/new", http.StatusFound)
				return
			}
			io.WriteString(w, "a 1\n")
		}))
		defer srv.Close()
		s := newTestScraper(t, srv.URL+"/metrics")
		for range 3 {
			if body, _, err := scrapeOnce(t, s); err != nil || body != "a 1\n" {
				t.Fatalf("got %q, %v", body, err)
			}
		}
		if got := n.Load(); got != 7 {
			t.Fatalf("%d requests for 3 scrapes, want 7 (one direct, then two per scrape as Prometheus)", got)
		}
	})
}
