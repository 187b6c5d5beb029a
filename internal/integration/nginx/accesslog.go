package nginx

import (
	"bytes"
	"errors"
	"slices"
	"strconv"

	"github.com/argus-mon/argus/internal/integration"
)

// The access log format (docs/integrations.md gives the nginx.conf lines):
// tab-separated, one request a line,
//
//	$server_name \t $argus_location \t $status \t $request_time \t $bytes_sent \t $upstream_response_time
//
// Tabs separate because values may hold spaces ($upstream_response_time
// lists attempts as "0.002, 0.010 : 0.001"), while nginx writes a tab
// inside a value as \x09, so a tab is always a separator.
const logFields = 6

// durationBounds are the upper bounds of the duration histograms:
// client_golang's default buckets, which dashboards for request latency
// commonly assume.
var durationBounds = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// maxSeries bounds the (server name, location, status class) combinations
// kept: a misconfigured $argus_location (set from the URI, say) must not
// grow memory without end. Lines of further combinations are counted as
// errors with reason too_many_series.
const maxSeries = 2000

// entry is one parsed access log line.
type entry struct {
	key         seriesKey
	duration    float64
	bytes       float64
	upstream    float64
	hasUpstream bool
}

type seriesKey struct {
	server, location, class string
}

var errMalformed = errors.New("malformed access log line")

// parseLine parses one line (without its newline) in the argus format.
func parseLine(line []byte) (entry, error) {
	var f [logFields][]byte
	rest := line
	for i := range logFields - 1 {
		var ok bool
		f[i], rest, ok = bytes.Cut(rest, []byte{'\t'})
		if !ok {
			return entry{}, errMalformed
		}
	}
	f[logFields-1] = rest
	if bytes.IndexByte(rest, '\t') >= 0 {
		return entry{}, errMalformed
	}
	e := entry{key: seriesKey{server: string(f[0]), location: string(f[1])}}
	status := f[2]
	if len(status) != 3 || status[0] < '1' || status[0] > '5' || !digits(status[1:]) {
		return entry{}, errMalformed
	}
	e.key.class = string(status[0]) + "xx"
	var err error
	if e.duration, err = nonNegative(f[3]); err != nil {
		return entry{}, errMalformed
	}
	if e.bytes, err = nonNegative(f[4]); err != nil {
		return entry{}, errMalformed
	}
	e.upstream, e.hasUpstream, err = upstreamTime(f[5])
	if err != nil {
		return entry{}, errMalformed
	}
	return e, nil
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func nonNegative(b []byte) (float64, error) {
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || v < 0 || v != v || v > 1e15 {
		return 0, errMalformed
	}
	return v, nil
}

// upstreamTime adds up $upstream_response_time: "-" without an upstream,
// else the times of each upstream tried, separated by ", " (the next
// server of a group) or " : " (an internal redirect to another group),
// with "-" for an attempt that got no response.
func upstreamTime(b []byte) (float64, bool, error) {
	total, any := 0.0, false
	for _, word := range bytes.FieldsFunc(b, func(r rune) bool { return r == ',' || r == ':' || r == ' ' }) {
		if string(word) == "-" {
			continue
		}
		v, err := nonNegative(word)
		if err != nil {
			return 0, false, err
		}
		total += v
		any = true
	}
	return total, any, nil
}

// histogram counts observations per bucket (not cumulative) and their sum.
type histogram struct {
	buckets [11]uint64 // len(durationBounds)
	count   uint64
	sum     float64
}

func (h *histogram) observe(v float64) {
	if i, _ := slices.BinarySearch(durationBounds, v); i < len(h.buckets) {
		h.buckets[i]++
	}
	h.count++
	h.sum += v
}

func (h *histogram) add(m *integration.Metrics, name, help string, labels ...string) {
	cum := make([]uint64, len(h.buckets))
	n := uint64(0)
	for i, b := range h.buckets {
		n += b
		cum[i] = n
	}
	m.Histogram(name, help, h.count, h.sum, durationBounds, cum, labels...)
}

// requestSeries are the per-request totals of one combination of server
// name, location and status class.
type requestSeries struct {
	duration histogram
	bytes    float64
}

// upstreamKey is the series of upstream times; the status class is left
// out, as the upstream's time matters whatever nginx answered.
type upstreamKey struct{ server, location string }

// logStats are the totals read from the access log since the collector
// started. Not safe for concurrent use; the tailer guards it.
type logStats struct {
	requests  map[seriesKey]*requestSeries
	upstreams map[upstreamKey]*histogram
	lines     uint64
	errs      map[string]uint64 // by reason
}

// Reasons of nginx_access_log_errors_total.
const (
	reasonMalformed     = "malformed"
	reasonTooLong       = "too_long"
	reasonTooManySeries = "too_many_series"
	reasonCut           = "cut"
)

func newLogStats() *logStats {
	return &logStats{
		requests:  map[seriesKey]*requestSeries{},
		upstreams: map[upstreamKey]*histogram{},
		errs: map[string]uint64{reasonMalformed: 0, reasonTooLong: 0,
			reasonTooManySeries: 0, reasonCut: 0},
	}
}

// line accounts one complete line.
func (s *logStats) line(line []byte) {
	s.lines++
	e, err := parseLine(line)
	if err != nil {
		s.errs[reasonMalformed]++
		return
	}
	rs, ok := s.requests[e.key]
	if !ok {
		if len(s.requests) >= maxSeries {
			s.errs[reasonTooManySeries]++
			return
		}
		rs = &requestSeries{}
		s.requests[e.key] = rs
	}
	rs.duration.observe(e.duration)
	rs.bytes += e.bytes
	if !e.hasUpstream {
		return
	}
	uk := upstreamKey{e.key.server, e.key.location}
	h, ok := s.upstreams[uk]
	if !ok {
		// At most one upstream series per request series.
		h = &histogram{}
		s.upstreams[uk] = h
	}
	h.observe(e.upstream)
}

func (s *logStats) add(m *integration.Metrics) {
	for k, rs := range s.requests {
		labels := []string{"server_name", k.server, "location", k.location, "status_class", k.class}
		rs.duration.add(m, "nginx_http_request_duration_seconds",
			"Time from the first byte read from the client to the log write after the last byte sent ($request_time), from the access log.", labels...)
		m.Counter("nginx_http_response_size_bytes_total", "Bytes sent to clients ($bytes_sent), from the access log.", rs.bytes, labels...)
	}
	for k, h := range s.upstreams {
		h.add(m, "nginx_http_upstream_response_duration_seconds",
			"Time spent receiving responses from upstream servers, all attempts of a request together ($upstream_response_time), from the access log.",
			"server_name", k.server, "location", k.location)
	}
	m.Counter("nginx_access_log_lines_total", "Access log lines read.", float64(s.lines))
	for reason, n := range s.errs {
		m.Counter("nginx_access_log_errors_total", "Access log lines not counted, by reason.", float64(n), "reason", reason)
	}
}
