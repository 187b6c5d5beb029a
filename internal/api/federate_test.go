package api

import (
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/model/value"
)

func federate(t *testing.T, e *env, form url.Values, accept string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+"/federate?"+form.Encode(), nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestFederate(t *testing.T) {
	e := newEnv(t, envOptions{config: "global:\n  external_labels: {dc: fra, job: ignored-when-set}\n"})
	// A series whose newest sample is a staleness marker is left out; one
	// whose samples are all older than the lookback delta too.
	app := e.db.Appender()
	stale := labels.FromStrings("__name__", "up", "job", "gone", "instance", "d:1")
	old := labels.FromStrings("__name__", "up", "job", "old", "instance", "e:1")
	noInstance := labels.FromStrings("__name__", "agg:sum", "job", "rules")
	for _, s := range []struct {
		lset labels.Labels
		t    time.Time
		v    float64
	}{
		{stale, e.now.Add(-time.Minute), 1},
		{stale, e.now, math.Float64frombits(value.StaleNaN)},
		{old, e.now.Add(-10 * time.Minute), 1},
		{noInstance, e.now, 42},
	} {
		if _, err := app.Append(0, s.lset, timestamp.FromTime(s.t), s.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}

	code, ctype, body := federate(t, e, url.Values{"match[]": {`up{job=~"node|db|gone|old"}`, `{__name__=~"node_load1|agg:sum"}`}}, "")
	if code != 200 || !strings.HasPrefix(ctype, "text/plain; version=0.0.4") {
		t.Fatalf("federate: %d %s\n%s", code, ctype, body)
	}
	ms := timestamp.FromTime(e.now)
	// Sorted by name; the latest sample with its timestamp; external labels
	// added where missing; an empty instance on series without one.
	want := strings.Join([]string{
		`# TYPE agg:sum untyped`,
		`agg:sum{job="rules",dc="fra",instance=""} 42 ` + itoa(ms),
		`# TYPE node_load1 untyped`,
		`node_load1{cpu_model="x86",instance="a:9100",job="node",dc="fra"} 3 ` + itoa(ms),
		`# TYPE up untyped`,
		`up{instance="a:9100",job="node",dc="fra"} 0 ` + itoa(ms),
		`up{instance="b:9100",job="node",dc="fra"} 1 ` + itoa(ms),
		`up{instance="c:9187",job="db",dc="fra"} 2 ` + itoa(ms),
	}, "\n") + "\n"
	if body != want {
		t.Errorf("federate body:\n%s\nwant\n%s", body, want)
	}
	// The text parses as an exposition.
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil || len(fams) != 3 || len(fams["up"].Metric) != 3 {
		t.Errorf("parse federation output: %v %v", fams, err)
	}

	// Protobuf when asked for it.
	code, ctype, body = federate(t, e, url.Values{"match[]": {`up`}}, `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited`)
	if code != 200 || !strings.Contains(ctype, "application/vnd.google.protobuf") || len(body) == 0 {
		t.Errorf("protobuf federation: %d %s", code, ctype)
	}
	// No match[]: nothing; a bad one: 400 with the parse error.
	if code, _, body = federate(t, e, nil, ""); code != 200 || body != "" {
		t.Errorf("federate without match[]: %d %q", code, body)
	}
	if code, _, body = federate(t, e, url.Values{"match[]": {`up{`}}, ""); code != 400 || !strings.Contains(body, "parse error") {
		t.Errorf("federate with a bad selector: %d %q", code, body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
