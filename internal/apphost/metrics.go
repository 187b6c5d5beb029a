package apphost

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the app host's series. Request metrics are updated by the
// proxy as requests finish; per-worker resource use is read from /proc by
// workerCollector when the registry is gathered.
type metrics struct {
	requests       *prometheus.CounterVec   // app, method, code
	duration       *prometheus.HistogramVec // app
	requestBytes   *prometheus.CounterVec   // app
	responseBytes  *prometheus.CounterVec   // app
	inFlight       *prometheus.GaugeVec     // app
	upstreamErrors *prometheus.CounterVec   // app, kind
	restarts       *prometheus.CounterVec   // app, worker
	timeoutKills   *prometheus.CounterVec   // app, worker
	recycles       *prometheus.CounterVec   // app, worker, reason
	healthFailures *prometheus.CounterVec   // app, worker
	healthKills    *prometheus.CounterVec   // app, worker
}

// The kind label of argus_app_upstream_errors_total.
const (
	errKindConnect  = "connect"   // the worker could not be reached
	errKindTimeout  = "timeout"   // the worker did not answer within the request timeout
	errKindNoWorker = "no_worker" // no worker was ready to take the request
	errKindResponse = "response"  // the worker's response failed midway
)

func newMetrics(reg prometheus.Registerer, h *Host) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_app_requests_total",
			Help: "Requests served by the app host's front proxy, by app, method and status code.",
		}, []string{"app", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "argus_app_request_duration_seconds",
			Help:    "Time from a request's arrival at the front proxy to the end of its response.",
			Buckets: prometheus.DefBuckets,
		}, []string{"app"}),
		requestBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_app_request_bytes_total",
			Help: "Request body bytes read from clients.",
		}, []string{"app"}),
		responseBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_app_response_bytes_total",
			Help: "Response body bytes written to clients.",
		}, []string{"app"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "argus_app_in_flight_requests",
			Help: "Requests being served by the front proxy.",
		}, []string{"app"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_app_upstream_errors_total",
			Help: "Requests the front proxy could not complete through a worker, by kind: connect, timeout, no_worker, response.",
		}, []string{"app", "kind"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_app_worker_restarts_total",
			Help: "Times a worker was started again after it exited, failed its health check or was killed.",
		}, []string{"app", "worker"}),
		timeoutKills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_app_worker_timeout_kills_total",
			Help: "Workers killed because a request exceeded the app's request timeout.",
		}, []string{"app", "worker"}),
		recycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_app_worker_recycles_total",
			Help: "Workers replaced by a new process, without failing a request, for passing max_requests or max_rss (reason).",
		}, []string{"app", "worker", "reason"}),
		healthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_app_worker_health_failures_total",
			Help: "Health checks failed by a worker in rotation (every health_check.interval).",
		}, []string{"app", "worker"}),
		healthKills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_app_worker_health_kills_total",
			Help: "Workers taken out of rotation and restarted for failing health_check.failures health checks in a row.",
		}, []string{"app", "worker"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.requestBytes, m.responseBytes, m.inFlight,
			m.upstreamErrors, m.restarts, m.timeoutKills, m.recycles,
			m.healthFailures, m.healthKills, &workerCollector{h: h})
	}
	return m
}

// forget drops the series of an app that was removed.
func (m *metrics) forget(app string) {
	l := prometheus.Labels{"app": app}
	m.requests.DeletePartialMatch(l)
	m.duration.DeletePartialMatch(l)
	m.requestBytes.DeletePartialMatch(l)
	m.responseBytes.DeletePartialMatch(l)
	m.inFlight.DeletePartialMatch(l)
	m.upstreamErrors.DeletePartialMatch(l)
	m.restarts.DeletePartialMatch(l)
	m.timeoutKills.DeletePartialMatch(l)
	m.recycles.DeletePartialMatch(l)
	m.healthFailures.DeletePartialMatch(l)
	m.healthKills.DeletePartialMatch(l)
}

// appSeries are an app's request series, looked up once: finding a series
// by its labels hashes them, on every request.
type appSeries struct {
	m             *metrics
	app           string
	inFlight      prometheus.Gauge
	duration      prometheus.Observer
	requestBytes  prometheus.Counter
	responseBytes prometheus.Counter
	requests      sync.Map // requestKey to prometheus.Counter
}

type requestKey struct {
	method string // methodLabel's
	code   int
}

func (m *metrics) forApp(app string) *appSeries {
	return &appSeries{m: m, app: app,
		inFlight:      m.inFlight.WithLabelValues(app),
		duration:      m.duration.WithLabelValues(app),
		requestBytes:  m.requestBytes.WithLabelValues(app),
		responseBytes: m.responseBytes.WithLabelValues(app),
	}
}

// request returns the requests counter of a method and status code.
func (s *appSeries) request(method string, code int) prometheus.Counter {
	k := requestKey{methodLabel(method), code}
	if c, ok := s.requests.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c := s.m.requests.WithLabelValues(s.app, k.method, strconv.Itoa(code))
	s.requests.Store(k, c)
	return c
}

// methodLabel keeps the method label to the standard methods, so that a
// client inventing methods cannot create series at will.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return m
	}
	return "other"
}

var (
	descWorkerUp = prometheus.NewDesc("argus_app_worker_up",
		"1 if the worker passed its health check and receives requests, else 0.", []string{"app", "worker"}, nil)
	descWorkerStart = prometheus.NewDesc("argus_app_worker_start_time_seconds",
		"When the worker's current process was started, in seconds since the epoch.", []string{"app", "worker"}, nil)
	descWorkerCPU = prometheus.NewDesc("argus_app_worker_cpu_seconds_total",
		"User and system CPU time of the worker's current process.", []string{"app", "worker"}, nil)
	descWorkerRSS = prometheus.NewDesc("argus_app_worker_resident_memory_bytes",
		"Resident memory of the worker's current process.", []string{"app", "worker"}, nil)
	descWorkerFDs = prometheus.NewDesc("argus_app_worker_open_fds",
		"Open file descriptors of the worker's current process.", []string{"app", "worker"}, nil)
)

// workerCollector reports each running worker of the apps' current pools.
// Only the current pool is reported: during a rolling reload the old and new
// workers share worker labels for a moment, and the new ones are what stays.
type workerCollector struct{ h *Host }

func (c *workerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWorkerUp
	ch <- descWorkerStart
	ch <- descWorkerCPU
	ch <- descWorkerRSS
	ch <- descWorkerFDs
}

func (c *workerCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.h.Status() {
		for _, w := range st.Workers {
			id := strconv.Itoa(w.ID)
			up := 0.0
			if w.Ready {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(descWorkerUp, prometheus.GaugeValue, up, st.Name, id)
			ch <- prometheus.MustNewConstMetric(descWorkerStart, prometheus.GaugeValue, float64(w.Started.UnixNano())/1e9, st.Name, id)
			u, ok := readProcUsage(w.PID)
			if !ok {
				continue // exited since Status, or no /proc
			}
			ch <- prometheus.MustNewConstMetric(descWorkerCPU, prometheus.CounterValue, u.cpu.Seconds(), st.Name, id)
			ch <- prometheus.MustNewConstMetric(descWorkerRSS, prometheus.GaugeValue, float64(u.rss), st.Name, id)
			if u.fds >= 0 {
				ch <- prometheus.MustNewConstMetric(descWorkerFDs, prometheus.GaugeValue, float64(u.fds), st.Name, id)
			}
		}
	}
}

// procUsage is what /proc tells about one process.
type procUsage struct {
	cpu time.Duration
	rss int64
	fds int // -1 if unknown
}

// userHZ is the unit of the CPU times in /proc/PID/stat. It is 100 on
// every Linux platform Go supports (the kernel's USER_HZ, not CONFIG_HZ).
const userHZ = 100

// readProcUsage reads the CPU time and resident memory of pid from
// /proc/PID/stat and counts /proc/PID/fd. It is a few lines of the process
// collector's parsing, repeated because that package's readers are built
// around scanning groups of processes.
func readProcUsage(pid int) (procUsage, bool) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return procUsage{}, false
	}
	// The command name in parentheses may hold spaces and parentheses; the
	// fields after the last ")" start with the state (field 3).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procUsage{}, false
	}
	f := bytes.Fields(b[i+1:])
	// utime and stime are fields 14 and 15, rss (pages) field 24.
	if len(f) < 22 {
		return procUsage{}, false
	}
	utime, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	rss, err3 := strconv.ParseInt(string(f[21]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procUsage{}, false
	}
	u := procUsage{
		cpu: time.Duration(utime+stime) * time.Second / userHZ,
		rss: rss * int64(os.Getpagesize()),
		fds: -1,
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "fd")); err == nil {
		u.fds = len(ents)
	}
	return u, true
}
