package nginx

import (
	"bytes"
	"math"
	"testing"

	"github.com/argus-mon/argus/internal/integration"
)

// FuzzStubStatus: whatever page a server sends, the parser must not
// panic.
func FuzzStubStatus(f *testing.F) {
	f.Add([]byte("Active connections: 1 \nserver accepts handled requests\n 3 3 3 \nReading: 0 Writing: 1 Waiting: 0 \n"))
	f.Add([]byte("Active connections: \n\n\n\n"))
	f.Add([]byte("<html>\n<body>Welcome</body>\n</html>\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseStubStatus(data)
		if err == nil {
			var m integration.Metrics
			addStubStatus(&m, s)
		}
	})
}

// FuzzAccessLog feeds arbitrary bytes to the log reader as what a
// collection reads, cut in two reads at split: lines must be accounted
// whatever the split, nothing may panic, and every value reported must be
// a finite, non-negative number.
func FuzzAccessLog(f *testing.F) {
	f.Add([]byte("web.example\tapi\t200\t0.012\t150\t-\nweb.example\t\t502\t0.3\t300\t0.1, 0.2 : -\n"), 20)
	f.Add([]byte("\t\t\t\t\t\n\n\n"), 3)
	f.Add([]byte("web\tx\t200\t1e308\t1e308\t1e308\n"), 0)
	f.Add([]byte("127.0.0.1 - - \"GET / HTTP/1.1\" 200 5\n"), 7)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		split = min(max(split, 0), len(data))
		tl := newTailer("")
		fl := &follow{}
		tl.lines(fl, data[:split])
		tl.lines(fl, data[split:])
		whole := newTailer("")
		whole.lines(&follow{}, data)
		if tl.stats.lines != whole.stats.lines || len(tl.stats.requests) != len(whole.stats.requests) {
			t.Fatalf("split at %d: %d lines, %d series; whole: %d lines, %d series", split,
				tl.stats.lines, len(tl.stats.requests), whole.stats.lines, len(whole.stats.requests))
		}
		if n := uint64(bytes.Count(data, []byte("\n"))); tl.stats.lines > n {
			t.Fatalf("%d lines accounted of %d", tl.stats.lines, n)
		}
		var m integration.Metrics
		tl.stats.add(&m)
		for _, fam := range m.Families() {
			for _, s := range fam.Metric {
				v := s.GetCounter().GetValue() + s.GetHistogram().GetSampleSum()
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					t.Fatalf("%s: %v", fam.GetName(), v)
				}
			}
		}
	})
}
