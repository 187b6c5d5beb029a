// Command echo is a small app for argus's app host. It listens on
// 127.0.0.1:$PORT and answers every request with the request as JSON. A
// POST with a JSON body is also appended, one line per request, to the file
// named by $ECHO_LOG if set, so it doubles as an alert webhook receiver
// (point a webhook_configs url at it).
//
// Paths with a meaning, for trying out and testing the supervisor:
//
//	/healthz         200, for the health check
//	/crash           the process exits with status 1
//	/sleep?d=5s      answers after sleeping d
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
	"net/http"
	"os"
	"os/signal"
	"sync"
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
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: newHandler(os.Getenv("ECHO_LOG"))}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("echo worker %s listening on %s", os.Getenv("ARGUS_WORKER_ID"), srv.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	log.Printf("echo worker %s stopped", os.Getenv("ARGUS_WORKER_ID"))
}

func newHandler(logFile string) http.Handler {
	var mu sync.Mutex // one append at a time, so lines do not interleave
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/crash", func(http.ResponseWriter, *http.Request) {
		log.Print("crashing on request")
		os.Exit(1)
	})
	mux.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		time.Sleep(d)
		fmt.Fprintf(w, "slept %v\n", d)
	})
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
			"headers": r.Header, "body": string(body),
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
