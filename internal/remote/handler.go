package remote

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// Appender is what the handler needs from the storage: the upstream appender
// contract restricted to float samples. Append must not keep ls beyond the call
// (the handler reuses its memory); Commit and Rollback end the appender.
type Appender interface {
	Append(ref uint64, ls labels.Labels, t int64, v float64) (uint64, error)
	Commit() error
	Rollback() error
}

// Limits on a request.
const (
	// MaxCompressedBytes bounds the request body.
	MaxCompressedBytes = 32 << 20
	// MaxDecodedBytes bounds the decompressed request.
	MaxDecodedBytes = 256 << 20
)

// WriteHandler serves POST /api/v1/write.
type WriteHandler struct {
	newAppender func() Appender
	logger      *slog.Logger
	bufs        sync.Pool

	requests      *prometheus.CounterVec
	samples       prometheus.Counter
	invalidSeries prometheus.Counter
}

// NewWriteHandler returns a handler that appends with appenders from
// newAppender. A nil logger discards; a nil registerer does not register the
// handler's metrics.
func NewWriteHandler(newAppender func() Appender, logger *slog.Logger, reg prometheus.Registerer) *WriteHandler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &WriteHandler{
		newAppender: newAppender,
		logger:      logger,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_remote_write_requests_total",
			Help: "Remote-write requests received, by HTTP status code.",
		}, []string{"code"}),
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_remote_write_samples_total",
			Help: "Samples committed from remote-write requests.",
		}),
		invalidSeries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_remote_write_invalid_series_total",
			Help: "Series skipped because their labels are invalid.",
		}),
	}
	if reg != nil {
		reg.MustRegister(h.requests, h.samples, h.invalidSeries)
	}
	return h
}

type buffers struct {
	body, decoded []byte
	sb            labels.ScratchBuilder
	ls            labels.Labels
}

// httpError is an error with the status code to answer it with.
type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }

func badRequest(format string, args ...any) error {
	return &httpError{code: http.StatusBadRequest, err: fmt.Errorf(format, args...)}
}

// ServeHTTP implements http.Handler.
func (h *WriteHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code := http.StatusNoContent
	if err := h.serve(r); err != nil {
		code = http.StatusInternalServerError
		var he *httpError
		if errors.As(err, &he) {
			code = he.code
		}
		if code >= 500 {
			h.logger.Error("Remote write failed", "err", err)
		} else {
			h.logger.Debug("Remote write rejected", "err", err, "code", code)
		}
		http.Error(w, err.Error(), code)
	} else {
		w.WriteHeader(code)
	}
	h.requests.WithLabelValues(fmt.Sprint(code)).Inc()
}

func (h *WriteHandler) serve(r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-protobuf" {
			return &httpError{code: http.StatusUnsupportedMediaType, err: fmt.Errorf("unsupported content type %q: want application/x-protobuf", ct)}
		}
		if p := params["proto"]; p != "" && p != "prometheus.WriteRequest" {
			return &httpError{code: http.StatusUnsupportedMediaType, err: fmt.Errorf("unsupported remote-write message %q: argus accepts remote write 1.0 (prometheus.WriteRequest)", p)}
		}
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "snappy") {
		return &httpError{code: http.StatusUnsupportedMediaType, err: fmt.Errorf("unsupported content encoding %q: want snappy", enc)}
	}
	bufs, _ := h.bufs.Get().(*buffers)
	if bufs == nil {
		bufs = &buffers{sb: labels.NewScratchBuilder(16)}
	}
	defer h.bufs.Put(bufs)

	body, err := readAll(bufs.body[:0], io.LimitReader(r.Body, MaxCompressedBytes+1))
	bufs.body = body
	if err != nil {
		return badRequest("read body: %w", err)
	}
	if len(body) > MaxCompressedBytes {
		return &httpError{code: http.StatusRequestEntityTooLarge, err: fmt.Errorf("request body larger than %d bytes", MaxCompressedBytes)}
	}
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return badRequest("snappy: %w", err)
	}
	if n > MaxDecodedBytes {
		return &httpError{code: http.StatusRequestEntityTooLarge, err: fmt.Errorf("decompressed request of %d bytes is larger than %d", n, MaxDecodedBytes)}
	}
	if cap(bufs.decoded) < n {
		bufs.decoded = make([]byte, n)
	}
	req, err := snappy.Decode(bufs.decoded[:n], body)
	if err != nil {
		return badRequest("snappy: %w", err)
	}
	return h.write(req, bufs)
}

// readAll reads r into buf, growing it as needed.
func readAll(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// yolo views b as a string without copying; the string must not outlive b.
// Labels built from it are copied by ScratchBuilder.Overwrite.
func yolo(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (h *WriteHandler) write(req []byte, bufs *buffers) error {
	app := h.newAppender()
	appended, invalid := 0, 0
	err := forEachSeries(req, func(s *series) error {
		if s.histograms > 0 {
			return badRequest("native histograms are not supported by argus yet")
		}
		sb := &bufs.sb
		sb.Reset()
		for _, l := range s.labels {
			if len(l.value) > 0 {
				sb.Add(yolo(l.name), yolo(l.value))
			}
		}
		sb.Sort()
		sb.Overwrite(&bufs.ls)
		ls := bufs.ls
		if !ls.Has(labels.MetricName) || !ls.IsValid(model.UTF8Validation) {
			invalid++
			return nil
		}
		if _, dup := ls.HasDuplicateLabelNames(); dup {
			invalid++
			return nil
		}
		var ref uint64
		for _, smp := range s.samples {
			var err error
			ref, err = app.Append(ref, ls, smp.t, smp.v)
			if err != nil {
				if errors.Is(err, storage.ErrOutOfOrderSample) || errors.Is(err, storage.ErrOutOfBounds) ||
					errors.Is(err, storage.ErrDuplicateSampleForTimestamp) {
					return badRequest("%w for series %s at timestamp %d", err, ls, smp.t)
				}
				return &storageError{err}
			}
		}
		appended += len(s.samples)
		return nil
	})
	if invalid > 0 {
		h.invalidSeries.Add(float64(invalid))
		h.logger.Warn("Skipped series with invalid labels in a remote-write request", "series", invalid)
	}
	if err != nil {
		app.Rollback()
		var he *httpError
		var se *storageError
		if errors.As(err, &he) || errors.As(err, &se) {
			return err
		}
		// Anything else came from decoding: the client's fault.
		return badRequest("decode write request: %w", err)
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	h.samples.Add(float64(appended))
	return nil
}

// storageError wraps an unexpected append error so it is answered with 500.
type storageError struct{ err error }

func (e *storageError) Error() string { return e.err.Error() }
func (e *storageError) Unwrap() error { return e.err }
