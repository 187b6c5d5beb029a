package remote

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
)

// memStore is a real in-memory implementation of the Appender contract with
// the ordering rules of the storage engine, enough to test the handler.
type memStore struct {
	mu     sync.Mutex
	series map[string][]sample
}

type memAppender struct {
	st      *memStore
	pending map[string][]sample
}

func (m *memStore) Appender() Appender { return &memAppender{st: m, pending: map[string][]sample{}} }

func (a *memAppender) Append(_ uint64, ls labels.Labels, t int64, v float64) (uint64, error) {
	k := ls.String()
	a.st.mu.Lock()
	defer a.st.mu.Unlock()
	all := append(slices.Clone(a.st.series[k]), a.pending[k]...)
	if n := len(all); n > 0 && all[n-1].t >= t {
		return 0, storage.ErrOutOfOrderSample
	}
	a.pending[k] = append(a.pending[k], sample{t, v})
	return 1, nil
}

func (a *memAppender) Commit() error {
	a.st.mu.Lock()
	defer a.st.mu.Unlock()
	for k, s := range a.pending {
		a.st.series[k] = append(a.st.series[k], s...)
	}
	return nil
}

func (a *memAppender) Rollback() error { a.pending = nil; return nil }

func encode(t testing.TB, req *prompb.WriteRequest) []byte {
	t.Helper()
	b, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return snappy.Encode(nil, b)
}

func post(h http.Handler, body []byte, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-protobuf")
	r.Header.Set("Content-Encoding", "snappy")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func ts(name string, extra []prompb.Label, samples ...prompb.Sample) prompb.TimeSeries {
	return prompb.TimeSeries{Labels: append([]prompb.Label{{Name: "__name__", Value: name}}, extra...), Samples: samples}
}

func TestWriteHandler(t *testing.T) {
	st := &memStore{series: map[string][]sample{}}
	h := NewWriteHandler(st.Appender, nil, nil)
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		ts("up", []prompb.Label{{Name: "job", Value: "a"}}, prompb.Sample{Timestamp: 1000, Value: 1}, prompb.Sample{Timestamp: 2000, Value: 0}),
		// Unsorted labels and an empty value are normalised as Prometheus does.
		{Labels: []prompb.Label{{Name: "zone", Value: "z"}, {Name: "__name__", Value: "temp"}, {Name: "empty", Value: ""}}, Samples: []prompb.Sample{{Timestamp: 1000, Value: 21.5}}},
		// No metric name: skipped, counted.
		{Labels: []prompb.Label{{Name: "job", Value: "x"}}, Samples: []prompb.Sample{{Timestamp: 1000, Value: 1}}},
	}, Metadata: []prompb.MetricMetadata{{MetricFamilyName: "up", Help: "ignored"}}}
	if w := post(h, encode(t, req), nil); w.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := st.series[`{__name__="up", job="a"}`]; !slices.Equal(got, []sample{{1000, 1}, {2000, 0}}) {
		t.Fatalf("up: %v", got)
	}
	if got := st.series[`{__name__="temp", zone="z"}`]; len(got) != 1 {
		t.Fatalf("temp: %v (%v)", got, st.series)
	}
	if len(st.series) != 2 {
		t.Fatalf("series %v", st.series)
	}

	// An out-of-order sample rejects the whole request.
	req = &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		ts("new_metric", nil, prompb.Sample{Timestamp: 5000, Value: 1}),
		ts("up", []prompb.Label{{Name: "job", Value: "a"}}, prompb.Sample{Timestamp: 1500, Value: 1}),
	}}
	w := post(h, encode(t, req), nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "out of order") {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if _, ok := st.series[`{__name__="new_metric"}`]; ok {
		t.Fatal("a rejected request was partly applied")
	}
}

func TestWriteHandlerBadRequests(t *testing.T) {
	st := &memStore{series: map[string][]sample{}}
	h := NewWriteHandler(st.Appender, nil, nil)
	hist := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels: []prompb.Label{{Name: "__name__", Value: "h"}}, Histograms: []prompb.Histogram{{Timestamp: 1}},
	}}}
	cases := []struct {
		name string
		body []byte
		hdr  map[string]string
		code int
		msg  string
	}{
		{"not snappy", []byte("hello"), nil, 400, "snappy"},
		{"not protobuf", snappy.Encode(nil, []byte{0x0a, 0xff, 0xff}), nil, 400, "decode write request"},
		{"histogram", encode(t, hist), nil, 400, "native histograms"},
		{"remote write 2.0", encode(t, hist), map[string]string{"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"}, 415, "remote write 1.0"},
		{"json", []byte("{}"), map[string]string{"Content-Type": "application/json"}, 415, "content type"},
		{"gzip", []byte("{}"), map[string]string{"Content-Encoding": "gzip"}, 415, "content encoding"},
		{"too large", bytes.Repeat([]byte{0}, MaxCompressedBytes+10), nil, 413, "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := post(h, c.body, c.hdr)
			if w.Code != c.code || !strings.Contains(w.Body.String(), c.msg) {
				t.Fatalf("got %d %q, want %d containing %q", w.Code, w.Body, c.code, c.msg)
			}
		})
	}
	if len(st.series) != 0 {
		t.Fatalf("bad requests stored %v", st.series)
	}
}

// FuzzDecode checks the hand-written decoder never panics and agrees with the
// generated prompb decoder on what it accepts.
func FuzzDecode(f *testing.F) {
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		ts("up", []prompb.Label{{Name: "job", Value: "a"}}, prompb.Sample{Timestamp: 1000, Value: 1}),
		ts("x", nil, prompb.Sample{Timestamp: -5, Value: math.Inf(1)}),
	}}
	b, _ := req.Marshal()
	f.Add(b)
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []string
		err := forEachSeries(b, func(s *series) error {
			var parts []string
			for _, l := range s.labels {
				parts = append(parts, string(l.name)+"="+string(l.value))
			}
			for _, smp := range s.samples {
				parts = append(parts, fmt.Sprintf("%d:%x", smp.t, math.Float64bits(smp.v)))
			}
			got = append(got, strings.Join(parts, ","))
			return nil
		})
		var want prompb.WriteRequest
		if uerr := want.Unmarshal(b); uerr != nil || err != nil {
			// Where either decoder rejects the input there is nothing to compare
			// (prompb also accepts deprecated group fields, which we refuse).
			return
		}
		var exp []string
		for _, s := range want.Timeseries {
			var parts []string
			for _, l := range s.Labels {
				parts = append(parts, l.Name+"="+l.Value)
			}
			for _, smp := range s.Samples {
				parts = append(parts, fmt.Sprintf("%d:%x", smp.Timestamp, math.Float64bits(smp.Value)))
			}
			exp = append(exp, strings.Join(parts, ","))
		}
		if !slices.Equal(got, exp) {
			t.Fatalf("decoded %q, prompb %q", got, exp)
		}
	})
}
