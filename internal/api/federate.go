package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// federatedSample is the latest sample of one series.
type federatedSample struct {
	lset labels.Labels
	t    int64
	v    float64
}

// federate answers /federate: the latest sample, within the lookback delta,
// of every series matching a match[] selector, in the exposition format the
// client asks for (text by default), with the external labels added to
// series that lack them, as Prometheus does.
func (a *API) federate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, fmt.Sprintf("error parsing form values: %v", err), http.StatusBadRequest)
		return
	}
	sets, err := a.parser.ParseMetricSelectors(r.Form["match[]"])
	if err == nil && len(sets) > maxSelectors {
		err = fmt.Errorf("too many match[] selectors: %d, at most %d", len(sets), maxSelectors)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if a.opts.Queryable == nil {
		http.Error(w, "no storage", http.StatusServiceUnavailable)
		return
	}
	now := time.Now()
	maxt := timestamp.FromTime(now)
	mint := timestamp.FromTime(now.Add(-a.opts.LookbackDelta))
	samples, err := a.latestSamples(r, sets, mint, maxt)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	format := expfmt.NegotiateAccept(r.Header, expfmt.NewFormat(expfmt.TypeProtoDelim),
		expfmt.NewFormat(expfmt.TypeProtoText), expfmt.NewFormat(expfmt.TypeProtoCompact),
		expfmt.NewFormat(expfmt.TypeTextPlain))
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range a.families(samples) {
		if err := enc.Encode(mf); err != nil {
			// The status line is out already; the client sees a cut body.
			a.logger.Warn("Federation response failed", "err", err)
			return
		}
	}
}

// latestSamples reads the newest sample in [mint, maxt] of every series
// matching one of sets, leaving out series whose newest sample is a
// staleness marker (the exposition formats cannot carry them). They are
// sorted by metric name, and by labels within a name.
func (a *API) latestSamples(r *http.Request, sets [][]*labels.Matcher, mint, maxt int64) ([]federatedSample, error) {
	q, err := a.opts.Queryable.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	ctx := r.Context()
	hints := &storage.SelectHints{Start: mint, End: maxt}
	var ss []storage.SeriesSet
	for _, ms := range sets {
		ss = append(ss, q.Select(ctx, true, hints, ms...))
	}
	set := storage.NewMergeSeriesSet(ss, 0, storage.ChainedSeriesMerge)
	var out []federatedSample
	var it chunkenc.Iterator
	for i := 1; set.Next(); i++ {
		if i%checkContextEvery == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s := set.At()
		it = s.Iterator(it)
		t, v, ok := int64(0), 0.0, false
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			if vt != chunkenc.ValFloat {
				continue // argus stores floats only
			}
			if st, sv := it.At(); st <= maxt {
				t, v, ok = st, sv, true
			}
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		if ok && !value.IsStaleNaN(v) {
			out = append(out, federatedSample{lset: s.Labels(), t: t, v: v})
		}
	}
	if err := set.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b federatedSample) int {
		return strings.Compare(a.lset.Get(labels.MetricName), b.lset.Get(labels.MetricName))
	})
	return out, nil
}

// families groups samples, sorted by name, into untyped metric families. A
// series gets the external labels it does not have itself, and an empty
// instance label if it has none and no external label sets one: Prometheus
// does the same, so that the scraping server's honor_labels keeps them empty
// instead of filling in its own target's instance.
func (a *API) families(samples []federatedSample) []*dto.MetricFamily {
	external := map[string]string{}
	for name, v := range a.opts.Config().Global.ExternalLabels {
		external[string(name)] = string(v)
	}
	if _, ok := external[model.InstanceLabel]; !ok {
		external[model.InstanceLabel] = ""
	}
	externalNames := make([]string, 0, len(external))
	for name := range external {
		externalNames = append(externalNames, name)
	}
	slices.Sort(externalNames)

	var out []*dto.MetricFamily
	for _, s := range samples {
		name := s.lset.Get(labels.MetricName)
		if name == "" {
			a.logger.Warn("Ignoring nameless series during federation", "series", s.lset.String())
			continue
		}
		if len(out) == 0 || out[len(out)-1].GetName() != name {
			out = append(out, &dto.MetricFamily{Name: new(name), Type: dto.MetricType_UNTYPED.Enum()})
		}
		m := &dto.Metric{TimestampMs: new(s.t), Untyped: &dto.Untyped{Value: new(s.v)}}
		s.lset.Range(func(l labels.Label) {
			if l.Name != labels.MetricName && l.Value != "" {
				m.Label = append(m.Label, &dto.LabelPair{Name: new(l.Name), Value: new(l.Value)})
			}
		})
		for _, n := range externalNames {
			if s.lset.Get(n) == "" {
				m.Label = append(m.Label, &dto.LabelPair{Name: new(n), Value: new(external[n])})
			}
		}
		mf := out[len(out)-1]
		mf.Metric = append(mf.Metric, m)
	}
	return out
}
