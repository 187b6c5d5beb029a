package api

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-mon/argus/internal/config"
)

// Options are what an API serves from. Queryable is required; a nil
// interface leaves the endpoints that need it answering "unavailable".
type Options struct {
	// Queryable is the storage the series, labels and federation endpoints read.
	Queryable storage.Queryable
	// Targets gives the scrape targets and their metadata.
	Targets TargetSource
	// TSDB gives the storage's status and takes snapshots.
	TSDB TSDB
	// QueryEngine evaluates PromQL; nil until argus has an engine.
	QueryEngine QueryEngine
	// Rules gives the rule groups and their alerts; nil serves none.
	Rules RuleSource
	// Alertmanagers lists where alerts are sent; nil lists none.
	Alertmanagers AlertmanagerSource
	// Config returns the running configuration (it changes on reload).
	Config func() *config.Config
	// Flags are the command line flags with their values, for /status/flags.
	Flags map[string]string
	// BuildInfo is served at /status/buildinfo; the zero value is filled in
	// from the binary's build information.
	BuildInfo BuildInfo
	// ReloadStatus reports whether the last config reload succeeded and when
	// the last successful one was, for /status/runtimeinfo.
	ReloadStatus func() (ok bool, last time.Time)
	// StartTime is when the process started.
	StartTime time.Time
	// DataDir is the storage directory; snapshots go to DataDir/snapshots.
	DataDir string
	// EnableAdmin enables the admin endpoints (--web.enable-admin-api).
	EnableAdmin bool
	// LookbackDelta is how far back /federate looks for a series' latest
	// sample. Default 5m, Prometheus's --query.lookback-delta.
	LookbackDelta time.Duration
	// ParserOptions are the PromQL parser's options (experimental features)
	// for format_query, parse_query and the selectors of match[]; they
	// should be the engine's.
	ParserOptions parser.Options
	// GlobalURL derives the targets' globalUrl from their scrape URL.
	GlobalURL GlobalURLOptions
	// Logger receives the API's logs; nil discards them.
	Logger *slog.Logger
}

// API serves the Prometheus HTTP API. Build one with New.
type API struct {
	opts   Options
	logger *slog.Logger
	parser parser.Parser
}

// New returns an API serving from opts.
func New(opts Options) *API {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LookbackDelta <= 0 {
		opts.LookbackDelta = 5 * time.Minute
	}
	if opts.Config == nil {
		cfg := config.Default()
		opts.Config = func() *config.Config { return cfg }
	}
	if opts.BuildInfo == (BuildInfo{}) {
		opts.BuildInfo = ReadBuildInfo()
	}
	if opts.StartTime.IsZero() {
		opts.StartTime = time.Now()
	}
	return &API{opts: opts, logger: opts.Logger, parser: parser.NewParser(opts.ParserOptions)}
}

// Mux is where Register adds the routes: an *http.ServeMux, or the
// server's router, which guards each route with the access it needs.
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Register installs the API's routes on mux: /api/v1/... and /federate.
func (a *API) Register(mux Mux) {
	handle := func(path string, f handlerFunc, methods ...string) {
		for _, m := range methods {
			mux.Handle(m+" /api/v1"+path, a.wrap(f))
		}
		// Preflight requests of browsers (Grafana in browser access mode).
		// Per route, not for the whole /api/v1/ tree, so that unknown paths
		// answer 404 rather than 405.
		mux.Handle("OPTIONS /api/v1"+path, a.wrap(func(*http.Request) result { return result{} }))
	}
	get := func(path string, f handlerFunc) { handle(path, f, http.MethodGet) }
	getPost := func(path string, f handlerFunc) { handle(path, f, http.MethodGet, http.MethodPost) }
	postPut := func(path string, f handlerFunc) { handle(path, f, http.MethodPost, http.MethodPut) }

	getPost("/query", a.query)
	getPost("/query_range", a.queryRange)
	getPost("/format_query", a.formatQuery)
	getPost("/parse_query", a.parseQuery)

	getPost("/series", a.series)
	getPost("/labels", a.labelNames)
	get("/label/{name}/values", a.labelValues)
	get("/metadata", a.metricMetadata)

	get("/rules", a.rules)
	get("/alerts", a.alerts)
	get("/alertmanagers", a.alertmanagers)

	get("/targets", a.targets)
	get("/targets/metadata", a.targetMetadata)
	get("/scrape_pools", a.scrapePools)

	get("/status/buildinfo", a.buildInfo)
	get("/status/config", a.config)
	get("/status/flags", a.flags)
	get("/status/runtimeinfo", a.runtimeInfo)
	get("/status/tsdb", a.tsdbStatus)

	postPut("/admin/tsdb/snapshot", a.snapshot)
	postPut("/admin/tsdb/delete_series", a.deleteSeries)
	postPut("/admin/tsdb/clean_tombstones", a.cleanTombstones)

	mux.HandleFunc("GET /federate", a.federate)
}

// The error types of the API, as Prometheus names them in "errorType".
type errorType string

const (
	errorTimeout     errorType = "timeout"
	errorCanceled    errorType = "canceled"
	errorExec        errorType = "execution"
	errorBadData     errorType = "bad_data"
	errorInternal    errorType = "internal"
	errorUnavailable errorType = "unavailable"
	errorNotFound    errorType = "not_found"
)

// statusClientClosedConnection is nginx's code, which Prometheus uses for a
// request the client gave up on.
const statusClientClosedConnection = 499

// statusCode is the HTTP status of an error type, as in Prometheus 3.
// "unavailable" gets 500 there too (it has no case of its own).
func (t errorType) statusCode() int {
	switch t {
	case errorBadData:
		return http.StatusBadRequest
	case errorExec:
		return http.StatusUnprocessableEntity
	case errorCanceled:
		return statusClientClosedConnection
	case errorTimeout:
		return http.StatusServiceUnavailable
	case errorNotFound:
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}

type apiError struct {
	typ errorType
	err error
}

func (e *apiError) Error() string { return fmt.Sprintf("%s: %s", e.typ, e.err) }

// result is what a handler returns: data (nil answers 204 No Content), or an
// error, and warnings.
type result struct {
	data     any
	err      *apiError
	warnings []string
	infos    []string
	// release, when set, is called after the answer is written.
	release func()
	// contentType is the answer's media type when it is not
	// application/json (the grid encoding of a range query).
	contentType string
	// vary lists the request headers besides Accept-Encoding that the
	// answer depends on, for caches.
	vary string
}

func errResult(typ errorType, err error) result { return result{err: &apiError{typ, err}} }

// invalidParam is the error for a bad parameter, worded as in Prometheus:
// `invalid parameter "start": ...`.
func invalidParam(err error, name string) result {
	return errResult(errorBadData, fmt.Errorf("invalid parameter %q: %w", name, err))
}

type handlerFunc func(r *http.Request) result

// response is the envelope of every answer.
type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

// maxBodyBytes bounds a request body (form-encoded POSTs). Go's form parser
// stops at 10 MB anyway; a smaller bound answers a clear error sooner.
const maxBodyBytes = 4 << 20

func (a *API) wrap(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setCORS(w, r)
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		res := f(r)
		if res.release != nil {
			defer res.release()
		}
		switch {
		case res.err != nil:
			a.respondError(w, r, res.err, res.data)
		case res.data != nil:
			if res.vary != "" {
				w.Header().Add("Vary", res.vary)
			}
			if res.contentType != "" {
				w.Header().Set("Content-Type", res.contentType)
			}
			a.respond(w, r, res.data, res.warnings, res.infos)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
}

func (a *API) respond(w http.ResponseWriter, r *http.Request, data any, warnings, infos []string) {
	b, err := json.Marshal(&response{Status: "success", Data: data, Warnings: warnings, Infos: infos})
	if err != nil {
		a.logger.Error("Encoding an API response failed", "url", r.URL.String(), "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, r, http.StatusOK, b)
}

func (a *API) respondError(w http.ResponseWriter, r *http.Request, e *apiError, data any) {
	b, err := json.Marshal(&response{Status: "error", ErrorType: string(e.typ), Error: e.err.Error(), Data: data})
	if err != nil {
		a.logger.Error("Encoding an API error failed", "url", r.URL.String(), "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, r, e.typ.statusCode(), b)
}

// minGzipBytes is the smallest answer worth compressing.
const minGzipBytes = 1024

// writeJSON writes an encoded answer, gzip-compressed when the client accepts
// it, as Prometheus compresses its API answers (label lists for Grafana can
// be large).
func writeJSON(w http.ResponseWriter, r *http.Request, code int, b []byte) {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Add("Vary", "Accept-Encoding")
	if len(b) < minGzipBytes || !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		w.WriteHeader(code)
		w.Write(b)
		return
	}
	h.Set("Content-Encoding", "gzip")
	w.WriteHeader(code)
	gz := gzip.NewWriter(w)
	gz.Write(b)
	gz.Close()
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(coding) != "gzip" {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		return !ok || strings.Trim(q, "0.") != ""
	}
	return false
}

// setCORS lets browser pages of any origin call the API, as Prometheus does
// with its default --web.cors.origin of ".*".
func setCORS(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	if r.Header.Get("Origin") == "" {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Headers", "Accept, Authorization, Content-Type, Origin")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Expose-Headers", "Date")
	h.Set("Access-Control-Allow-Origin", "*")
}

// storageError classifies an error from the storage: a cancelled request is
// "canceled", anything else "execution", as Prometheus does for errors that
// are not its engine's.
func storageError(err error) result {
	if errors.Is(err, context.Canceled) {
		return errResult(errorCanceled, err)
	}
	return errResult(errorExec, err)
}
