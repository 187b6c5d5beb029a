package api

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-mon/argus/internal/promql"
)

func TestAppendValue(t *testing.T) {
	cases := []struct {
		v    parser.Value
		want string
	}{
		{promql.Scalar{T: 1500, V: 2}, `[1.500,"2"]`},
		{promql.Scalar{T: -1001, V: math.Inf(1)}, `[-1.001,"+Inf"]`},
		{promql.Scalar{T: 1700000000000, V: math.NaN()}, `[1700000000,"NaN"]`},
		{promql.Scalar{T: 7, V: 1e-9}, `[0.007,"1e-09"]`},
		{promql.Scalar{T: 70, V: 3e21}, `[0.070,"3e+21"]`},
		{promql.Scalar{T: 0, V: 123456789012}, `[0,"123456789012"]`},
		{promql.String{T: 1000, V: "a\"<\n"}, `[1,"a\"\u003c\n"]`},
		{promql.Vector{}, `[]`},
		{promql.Vector{{Metric: labels.FromStrings("__name__", "up", "job", "a&b"), T: 1000, F: -0.5}}, `[{"metric":{"__name__":"up","job":"a\u0026b"},"value":[1,"-0.5"]}]`},
		{promql.Matrix{{Metric: labels.EmptyLabels(), Floats: []promql.FPoint{{T: 1, F: 1}, {T: 2, F: 2}}}}, `[{"metric":{},"values":[[0.001,"1"],[0.002,"2"]]}]`},
	}
	for _, c := range cases {
		b, err := appendValue(nil, c.v)
		if err != nil || string(b) != c.want {
			t.Errorf("%v: %s %v, want %s", c.v, b, err, c.want)
		}
	}
}

// FuzzAppendString checks the hand-written JSON strings against
// encoding/json: valid JSON that decodes to what encoding/json's encoding
// decodes to (invalid UTF-8 replaced the same way).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "<>&", "\x00\x1f\x7f", "\u2028\u2029", "\xff\xfeé", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q encoded as %s: %v", s, b, err)
		}
		std, _ := json.Marshal(s)
		var want string
		json.Unmarshal(std, &want)
		if got != want {
			t.Fatalf("%q: decodes to %q, encoding/json's to %q", s, got, want)
		}
	})
}

// FuzzAppendPoint checks timestamps and values decode to what they encode.
func FuzzAppendPoint(f *testing.F) {
	f.Add(int64(0), 0.0)
	f.Add(int64(-1), -1e-7)
	f.Add(int64(1700000000123), 1e300)
	f.Fuzz(func(t *testing.T, ts int64, v float64) {
		if ts == math.MinInt64 {
			return // no such timestamp in storage
		}
		b := appendPoint(nil, ts, v)
		var p [2]json.RawMessage
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("%d %v: %s: %v", ts, v, b, err)
		}
		// The timestamp: seconds, then exactly three digits of milliseconds
		// if any.
		sec := string(p[0])
		neg := strings.HasPrefix(sec, "-")
		sec = strings.TrimPrefix(sec, "-")
		whole, frac, hasFrac := strings.Cut(sec, ".")
		w, err := strconv.ParseInt(whole, 10, 64)
		ms, ferr := strconv.ParseInt(frac, 10, 64)
		if err != nil || (hasFrac && (ferr != nil || len(frac) != 3 || ms == 0)) {
			t.Fatalf("timestamp %d encoded as %s", ts, p[0])
		}
		got := w*1000 + ms
		if neg {
			got = -got
		}
		if got != ts {
			t.Fatalf("timestamp %d encoded as %s", ts, p[0])
		}
		var val string
		json.Unmarshal(p[1], &val)
		f, err := strconv.ParseFloat(val, 64)
		if err != nil || !(f == v || math.IsNaN(f) && math.IsNaN(v)) {
			t.Fatalf("%v encoded as %q, decodes to %v (%v)", v, val, f, err)
		}
	})
}
