package server

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// TestQueryRangeGrid runs range queries on the real engine and checks that
// the grid encoding the web UI asks for says what the standard encoding
// says: the same series, and each point's time and value where the grid
// puts them.
func TestQueryRangeGrid(t *testing.T) {
	r := start(t, Options{DataDir: t.TempDir(), EnableRemoteWriteReceiver: true})
	end := time.Now().Truncate(time.Second).Add(-time.Minute)
	pushRemoteWrite(t, r.base, queryTestData(end))
	at := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(end.Add(d).UnixMilli())/1000) }
	get := func(params url.Values, accept string) (string, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", r.base+"/api/v1/query_range?"+params.Encode(), nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%v: %d %s", params, resp.StatusCode, b)
		}
		return resp.Header.Get("Content-Type"), b
	}
	for _, q := range []string{
		`http_requests_total{instance="h1:80"}`,
		`sum by (job) (http_requests_total) / 3`,
		`odd_gauge`,
		`odd_gauge / 0`,
		`odd_gauge - odd_gauge + NaN`,
		// Points on some steps only.
		`http_requests_total > 100`,
		`rate(http_requests_total{job="api"}[1m] offset 7s)`,
	} {
		for _, step := range []string{"37.5", "60", "15"} {
			params := url.Values{"query": {q}, "start": {at(-10*time.Minute + 123*time.Millisecond)}, "end": {at(0)}, "step": {step}}
			_, stdBody := get(params, "")
			ctype, gridBody := get(params, "application/vnd.argus.grid+json")
			if ctype != "application/vnd.argus.grid+json" {
				t.Fatalf("%s step %s: Content-Type %q: %s", q, step, ctype, gridBody)
			}
			var std struct {
				Data struct {
					Result []struct {
						Metric map[string]string `json:"metric"`
						Values [][2]any          `json:"values"`
					} `json:"result"`
				} `json:"data"`
			}
			var grid struct {
				Data struct {
					Start, Step float64
					Result      []struct {
						Metric map[string]string `json:"metric"`
						Offset int               `json:"offset"`
						Grid   []any             `json:"grid"`
					} `json:"result"`
				} `json:"data"`
			}
			if err := json.Unmarshal(stdBody, &std); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(gridBody, &grid); err != nil {
				t.Fatalf("%s: %v: %s", q, err, gridBody)
			}
			if len(grid.Data.Result) != len(std.Data.Result) {
				t.Fatalf("%s step %s: %d series in the grid, %d in the standard answer", q, step, len(grid.Data.Result), len(std.Data.Result))
			}
			if len(std.Data.Result) == 0 {
				t.Fatalf("%s step %s: no series", q, step)
			}
			startMs := int64(math.Round(grid.Data.Start * 1000))
			stepMs := int64(math.Round(grid.Data.Step * 1000))
			for i, g := range grid.Data.Result {
				// Back to the standard encoding's pairs.
				var pairs [][2]any
				for j, v := range g.Grid {
					var s string
					switch v := v.(type) {
					case nil:
						continue
					case string:
						s = v
					case float64:
						s = strconv.FormatFloat(v, 'f', -1, 64)
						if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
							s = strconv.FormatFloat(v, 'e', -1, 64)
						}
					}
					ms := startMs + int64(g.Offset+j)*stepMs
					pairs = append(pairs, [2]any{float64(ms) / 1000, s})
				}
				want := std.Data.Result[i]
				if !reflect.DeepEqual(g.Metric, want.Metric) || !reflect.DeepEqual(pairs, want.Values) {
					t.Errorf("%s step %s, series %d:\ngrid     %v %v\nstandard %v %v", q, step, i, g.Metric, pairs, want.Metric, want.Values)
				}
			}
		}
	}
}
