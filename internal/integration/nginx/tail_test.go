package nginx

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
)

// logLine is a line in the argus format for location loc.
func logLine(loc string) string {
	return "web.example\t" + loc + "\t200\t0.012\t150\t-\n"
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// collectTail runs one collection of tl and returns its families.
func collectTail(t *testing.T, tl *tailer) []*dto.MetricFamily {
	t.Helper()
	var m integration.Metrics
	if err := tl.collect(&m); err != nil {
		t.Fatal(err)
	}
	return m.Families()
}

func requests(fams []*dto.MetricFamily, loc string) int {
	return max(histogramCount(fams, "nginx_http_request_duration_seconds", "location", loc), 0)
}

func errorsOf(fams []*dto.MetricFamily, reason string) float64 {
	v, _ := integrationtest.Value(fams, "nginx_access_log_errors_total", "reason", reason)
	return v
}

func TestTailer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	appendTo(t, path, logLine("old")+logLine("old"))
	tl := newTailer(path)
	t.Cleanup(func() { tl.close() })
	fams := collectTail(t, tl)
	if n := requests(fams, "old"); n != 0 {
		t.Errorf("the backlog at start was counted: %d", n)
	}

	// A line written in parts is counted once it is complete.
	full := logLine("a")
	appendTo(t, path, logLine("a")+full[:10])
	if n := requests(collectTail(t, tl), "a"); n != 1 {
		t.Errorf("after a line and a half: %d requests, want 1", n)
	}
	appendTo(t, path, full[10:])
	if n := requests(collectTail(t, tl), "a"); n != 2 {
		t.Errorf("after the line's end: %d requests, want 2", n)
	}

	// Malformed and over-long lines are counted as errors, and the lines
	// after them are read.
	appendTo(t, path, "127.0.0.1 - - [27/Nov/2026] \"GET / HTTP/1.1\" 200 5\n"+
		"web.example\tb\t999\t0.1\t1\t-\n"+
		strings.Repeat("x", 3*maxLine)+"\n"+
		logLine("b"))
	fams = collectTail(t, tl)
	if n := requests(fams, "b"); n != 1 {
		t.Errorf("%d requests of location b, want 1", n)
	}
	if e := errorsOf(fams, "malformed"); e != 2 {
		t.Errorf("%v malformed lines, want 2", e)
	}
	if e := errorsOf(fams, "too_long"); e != 1 {
		t.Errorf("%v too long lines, want 1", e)
	}

	// Truncated in place with half a line pending: the half line is lost
	// (reason cut), the file is read from its start.
	appendTo(t, path, full[:5])
	collectTail(t, tl)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, logLine("c"))
	fams = collectTail(t, tl)
	if n := requests(fams, "c"); n != 1 {
		t.Errorf("after truncation: %d requests of location c, want 1", n)
	}
	if e := errorsOf(fams, "cut"); e != 1 {
		t.Errorf("%v cut lines, want 1", e)
	}

	// Removed without a replacement: the open file is still read.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if n := requests(collectTail(t, tl), "c"); n != 1 {
		t.Errorf("after removal: %d requests of location c, want 1", n)
	}
}

func TestTailerRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	appendTo(t, path, "")
	tl := newTailer(path)
	t.Cleanup(func() { tl.close() })
	collectTail(t, tl)
	appendTo(t, path, logLine("r"))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, logLine("r")+logLine("r"))
	if n := requests(collectTail(t, tl), "r"); n != 3 {
		t.Errorf("after rotation: %d requests, want 3", n)
	}
	// The writer had not reopened yet: its late line still counts.
	appendTo(t, path+".1", logLine("r"))
	if n := requests(collectTail(t, tl), "r"); n != 4 {
		t.Errorf("after a late line in the rotated file: %d requests, want 4", n)
	}
	// Nothing new there: the rotated file is closed.
	collectTail(t, tl)
	if tl.prev != nil {
		t.Error("the rotated file is still open")
	}
}

// TestTailerBoundedRead: one collection reads at most maxReadPerCollect;
// the next ones read the rest.
func TestTailerBoundedRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	appendTo(t, path, "")
	tl := newTailer(path)
	t.Cleanup(func() { tl.close() })
	collectTail(t, tl)
	line := logLine("big")
	n := maxReadPerCollect/len(line) + 1000
	appendTo(t, path, strings.Repeat(line, n))
	first := requests(collectTail(t, tl), "big")
	if first >= n || first < n-2000 {
		t.Errorf("first collection read %d of %d lines", first, n)
	}
	if got := requests(collectTail(t, tl), "big"); got != n {
		t.Errorf("second collection: %d of %d lines", got, n)
	}
	if e := errorsOf(collectTail(t, tl), "malformed"); e != 0 {
		t.Errorf("%v malformed lines at the read boundary", e)
	}
}

// TestTailerNotRegular: a FIFO is refused at once rather than blocking on
// open until a writer comes.
func TestTailerNotRegular(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	tl := newTailer(path)
	start := time.Now()
	var m integration.Metrics
	err := tl.collect(&m)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("got %v, want an error saying it is not a regular file", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
	if !m.Has("nginx_access_log_lines_total") {
		t.Error("no nginx_access_log_lines_total while the log cannot be read")
	}
}

func TestTooManySeries(t *testing.T) {
	s := newLogStats()
	for i := range maxSeries + 10 {
		s.line([]byte("web.example\tloc" + strconv.Itoa(i) + "\t200\t0.1\t1\t-"))
	}
	if len(s.requests) != maxSeries || s.errs[reasonTooManySeries] != 10 {
		t.Errorf("%d series, %d lines refused; want %d and 10", len(s.requests), s.errs[reasonTooManySeries], maxSeries)
	}
}
