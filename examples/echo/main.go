// Command echo is a small app for argus's app host. It listens where
// argus says, in any of its listen modes: on the socket handed over as fd 3
// (socket activation: LISTEN_FDS=1 and LISTEN_PID its own pid), else on
// the unix socket $ARGUS_SOCKET, else on 127.0.0.1:$PORT. It answers
// every request with the request as JSON. A
// POST with a JSON body is also appended, one line per request, to the file
// named by $ECHO_LOG if set, so it doubles as an alert webhook receiver
// (point a webhook_configs url at it).
//
// Paths with a meaning, for trying out and testing the supervisor:
//
//	/healthz         200, for the health check; 500 once /sick was requested
//	/sick            makes /healthz fail from then on
//	/crash           the process exits with status 1
//	/sleep?d=5s      answers after sleeping d
//	/grow?mb=100     allocates and keeps mb MiB more (for max_rss)
//	/stream?id=x     writes "first" and flushes, then waits until
//	                 /release?id=x is requested to write "last"
//	/upload?id=x     reads the body, counting bytes, and answers the count;
//	                 /progress?id=x answers the count so far
//	/ws              a WebSocket echo of text and binary messages
//	/status?code=204 answers that status with no body; each
//	                 header=Name:Value adds a response header field
//	/chunks?n=3      writes n lines, flushing each (a chunked body), and
//	                 the trailer X-Chunks: n
//	/hangup?at=body  closes the connection midway through its answer:
//	                 at=head after part of the head, at=body after part
//	                 of a body of announced length
//
// With ECHO_READY_FILE set, /healthz answers 503 until that file exists, so
// a test can hold a worker out of rotation for as long as it likes.
//
// On SIGTERM it stops accepting connections and finishes the requests in
// flight; with ECHO_IGNORE_SIGTERM=1 it ignores SIGTERM, so that only
// SIGKILL stops it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	stopSignals := []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	if os.Getenv("ECHO_IGNORE_SIGTERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
		stopSignals = stopSignals[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	ln, err := listen()
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: newHandler(os.Getenv("ECHO_LOG"))}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("echo worker %s listening on %s", os.Getenv("ARGUS_WORKER_ID"), ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	log.Printf("echo worker %s stopped", os.Getenv("ARGUS_WORKER_ID"))
}

// listen returns the listener argus asked for (see the package
// documentation).
func listen() (net.Listener, error) {
	if os.Getenv("LISTEN_FDS") == "1" && os.Getenv("LISTEN_PID") == strconv.Itoa(os.Getpid()) {
		// systemd's first passed descriptor is always 3.
		f := os.NewFile(3, os.Getenv("LISTEN_FDNAMES"))
		defer f.Close() // FileListener holds a duplicate
		ln, err := net.FileListener(f)
		if err != nil {
			return nil, fmt.Errorf("socket activation: %w", err)
		}
		return ln, nil
	}
	if path := os.Getenv("ARGUS_SOCKET"); path != "" {
		return net.Listen("unix", path)
	}
	return net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
}

func newHandler(logFile string) http.Handler {
	var mu sync.Mutex // one append at a time, so lines do not interleave
	mux := http.NewServeMux()
	var sick atomic.Bool
	readyFile := os.Getenv("ECHO_READY_FILE")
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if readyFile != "" {
			if _, err := os.Stat(readyFile); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		if sick.Load() {
			http.Error(w, "sick", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/sick", func(w http.ResponseWriter, _ *http.Request) {
		sick.Store(true)
		fmt.Fprintf(w, "pid %d is sick from now on\n", os.Getpid())
	})
	mux.HandleFunc("/crash", func(http.ResponseWriter, *http.Request) {
		log.Print("crashing on request")
		os.Exit(1)
	})
	mux.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		time.Sleep(d)
		fmt.Fprintf(w, "slept %v\n", d)
	})
	var kept [][]byte // what /grow holds on to
	mux.HandleFunc("/grow", func(w http.ResponseWriter, r *http.Request) {
		mb, _ := strconv.Atoi(r.URL.Query().Get("mb"))
		b := make([]byte, mb<<20)
		for i := 0; i < len(b); i += 4096 { // touch every page, so that it is resident
			b[i] = 1
		}
		mu.Lock()
		kept = append(kept, b)
		mu.Unlock()
		fmt.Fprintf(w, "grew by %d MiB\n", mb)
	})
	s := &streams{release: map[string]chan struct{}{}, progress: map[string]*atomic.Int64{}}
	mux.HandleFunc("/stream", s.stream)
	mux.HandleFunc("/release", s.releaseStream)
	mux.HandleFunc("/upload", s.upload)
	mux.HandleFunc("/progress", s.uploadProgress)
	mux.HandleFunc("/ws", websocketEcho)
	mux.HandleFunc("/status", status)
	mux.HandleFunc("/chunks", chunks)
	mux.HandleFunc("/hangup", hangup)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.Method == http.MethodPost && logFile != "" && json.Valid(body) {
			mu.Lock()
			err = appendLine(logFile, body)
			mu.Unlock()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"headers": r.Header, "body": string(body), "remote": r.RemoteAddr,
			"app": os.Getenv("ARGUS_APP"), "worker": os.Getenv("ARGUS_WORKER_ID"), "pid": os.Getpid(),
		})
	})
	return mux
}

// appendLine appends the JSON document b, compacted to one line, to the
// file at path.
func appendLine(path string, b []byte) error {
	var line bytes.Buffer
	if err := json.Compact(&line, b); err != nil {
		return err
	}
	line.WriteByte('\n')
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(line.Bytes())
	return errors.Join(err, f.Close())
}

// streams holds the state of /stream and /upload requests, by id, so that
// a client can tell what a request in flight has done without timing.
type streams struct {
	mu       sync.Mutex
	release  map[string]chan struct{}
	progress map[string]*atomic.Int64
}

func (s *streams) releaseChan(id string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.release[id]
	if c == nil {
		c = make(chan struct{})
		s.release[id] = c
	}
	return c
}

func (s *streams) stream(w http.ResponseWriter, r *http.Request) {
	release := s.releaseChan(r.URL.Query().Get("id"))
	fmt.Fprintln(w, "first")
	http.NewResponseController(w).Flush()
	select {
	case <-release:
		fmt.Fprintln(w, "last")
	case <-r.Context().Done():
	}
}

func (s *streams) releaseStream(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	c := s.releaseChan(id)
	s.mu.Lock()
	delete(s.release, id)
	s.mu.Unlock()
	close(c)
	fmt.Fprintln(w, "released")
}

func (s *streams) counter(id string) *atomic.Int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.progress[id]
	if n == nil {
		n = &atomic.Int64{}
		s.progress[id] = n
	}
	return n
}

func (s *streams) upload(w http.ResponseWriter, r *http.Request) {
	n := s.counter(r.URL.Query().Get("id"))
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Body.Read(buf)
		n.Add(int64(k))
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	fmt.Fprintln(w, n.Load())
}

func (s *streams) uploadProgress(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintln(w, s.counter(r.URL.Query().Get("id")).Load())
}

func status(w http.ResponseWriter, r *http.Request) {
	for _, h := range r.URL.Query()["header"] {
		if k, v, ok := strings.Cut(h, ":"); ok {
			w.Header().Add(k, v)
		}
	}
	code, err := strconv.Atoi(r.URL.Query().Get("code"))
	if err != nil || code < 200 || code > 999 {
		http.Error(w, "code must be a status of 200 or more", http.StatusBadRequest)
		return
	}
	w.WriteHeader(code)
}

func chunks(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	w.Header().Set("Trailer", "X-Chunks")
	for i := range n {
		fmt.Fprintf(w, "chunk %d\n", i)
		http.NewResponseController(w).Flush()
	}
	w.Header().Set("X-Chunks", strconv.Itoa(n))
}

func hangup(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	if r.URL.Query().Get("at") == "head" {
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Ty")
		return
	}
	io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
}
