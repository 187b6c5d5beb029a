package apiv2

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/alertmanager/matcher/compat"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/alertmanager"
)

// maxBodyBytes bounds a POST body; larger ones get 413.
const maxBodyBytes = 32 << 20

// API serves /api/v2.
type API struct {
	m       *alertmanager.Manager
	logger  *slog.Logger
	version string
}

// New returns the API over m. version is reported by /api/v2/status.
func New(m *alertmanager.Manager, version string, logger *slog.Logger) *API {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &API{m: m, logger: logger, version: version}
}

// Mux is where Register adds the routes: an *http.ServeMux, or the
// server's router, which guards each route with the access it needs.
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Register adds the routes to mux.
func (a *API) Register(mux Mux) {
	mux.HandleFunc("GET /api/v2/alerts", a.getAlerts)
	mux.HandleFunc("POST /api/v2/alerts", a.postAlerts)
	mux.HandleFunc("GET /api/v2/alerts/groups", a.getGroups)
	mux.HandleFunc("GET /api/v2/silences", a.getSilences)
	mux.HandleFunc("POST /api/v2/silences", a.postSilences)
	mux.HandleFunc("GET /api/v2/silence/{id}", a.getSilence)
	mux.HandleFunc("DELETE /api/v2/silence/{id}", a.deleteSilence)
	mux.HandleFunc("GET /api/v2/status", a.getStatus)
	mux.HandleFunc("GET /api/v2/receivers", a.getReceivers)
	mux.HandleFunc("GET /api/v2/history", a.getHistory)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// writeError writes msg as Alertmanager does: a JSON string.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, msg)
}

// boolParam reads a boolean query parameter with a default.
func boolParam(r *http.Request, name string, def bool) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("bad %s parameter %q: want true or false", name, v)
	}
	return b, nil
}

// parseFilter parses filter matchers as Alertmanager does (both the
// classic and the UTF-8 syntax).
func parseFilter(filter []string) (labels.Matchers, error) {
	out := make(labels.Matchers, 0, len(filter))
	for _, s := range filter {
		m, err := compat.Matcher(s, "api")
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// alertFilter is what GET /alerts and /alerts/groups select on.
type alertFilter struct {
	matchers                    labels.Matchers
	receiver                    *regexp.Regexp
	active, silenced, inhibited bool
	muted                       bool
}

func parseAlertFilter(r *http.Request) (*alertFilter, error) {
	f := &alertFilter{}
	var err error
	if f.matchers, err = parseFilter(r.URL.Query()["filter"]); err != nil {
		return nil, err
	}
	if rc := r.URL.Query().Get("receiver"); rc != "" {
		if f.receiver, err = regexp.Compile("^(?:" + rc + ")$"); err != nil {
			return nil, fmt.Errorf("failed to parse receiver param: %w", err)
		}
	}
	for _, p := range []struct {
		name string
		dst  *bool
	}{{"active", &f.active}, {"silenced", &f.silenced}, {"inhibited", &f.inhibited}, {"muted", &f.muted}} {
		if *p.dst, err = boolParam(r, p.name, true); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *alertFilter) keep(v alertmanager.AlertView) bool {
	if f.receiver != nil && !slices.ContainsFunc(v.Receivers, f.receiver.MatchString) {
		return false
	}
	st := v.Status
	if !f.active && st.State == "active" {
		return false
	}
	if !f.silenced && len(st.SilencedBy) > 0 {
		return false
	}
	if !f.inhibited && len(st.InhibitedBy) > 0 {
		return false
	}
	if !f.muted && len(st.MutedBy) > 0 {
		return false
	}
	return f.matchers.Matches(v.Labels)
}

func (a *API) getAlerts(w http.ResponseWriter, r *http.Request) {
	f, err := parseAlertFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := models.GettableAlerts{}
	for _, v := range a.m.Alerts() {
		if f.keep(v) {
			out = append(out, gettableAlert(v))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func dt(t time.Time) *strfmt.DateTime {
	d := strfmt.DateTime(t)
	return &d
}

func labelSet(ls model.LabelSet) models.LabelSet {
	out := make(models.LabelSet, len(ls))
	for k, v := range ls {
		out[string(k)] = string(v)
	}
	return out
}

func gettableAlert(v alertmanager.AlertView) *models.GettableAlert {
	fp := v.Fingerprint().String()
	state := v.Status.State
	recv := make([]*models.ReceiverReference, 0, len(v.Receivers))
	for _, name := range v.Receivers {
		recv = append(recv, &models.ReceiverReference{Name: &name})
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return &models.GettableAlert{
		Annotations: labelSet(v.Annotations),
		EndsAt:      dt(v.EndsAt),
		Fingerprint: &fp,
		Receivers:   recv,
		StartsAt:    dt(v.StartsAt),
		UpdatedAt:   dt(v.UpdatedAt),
		Status: &models.AlertStatus{
			State:       &state,
			SilencedBy:  nonNil(v.Status.SilencedBy),
			InhibitedBy: nonNil(v.Status.InhibitedBy),
			MutedBy:     nonNil(v.Status.MutedBy),
		},
		Alert: models.Alert{Labels: labelSet(v.Labels), GeneratorURL: strfmt.URI(v.GeneratorURL)},
	}
}

// readRaw reads a body of at most maxBodyBytes, answering the request
// itself when that fails.
func readRaw(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxBodyBytes))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return nil, false
	}
	return body, true
}

// readBody reads a JSON body of at most maxBodyBytes into v, answering the
// request itself when that fails.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readRaw(w, r)
	if !ok {
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "parse body: "+err.Error())
		return false
	}
	return true
}

// postableAlert is models.PostableAlert decoded with encoding/json alone:
// the generated type's UnmarshalJSON decodes each alert twice through
// go-openapi's adapters, which was a tenth of the CPU under load. The
// times keep strfmt.DateTime's lenient formats.
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     strfmt.DateTime   `json:"startsAt"`
	EndsAt       strfmt.DateTime   `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
}

// toModel converts and checks what the API spec requires (labels present,
// generatorURL a URI); Manager.Put checks the rest.
func (pa *postableAlert) toModel() (model.Alert, error) {
	if pa.Labels == nil {
		return model.Alert{}, errors.New("labels in body is required")
	}
	if pa.GeneratorURL != "" {
		if _, err := url.Parse(pa.GeneratorURL); err != nil {
			return model.Alert{}, fmt.Errorf("generatorURL in body must be of type uri: %w", err)
		}
	}
	ma := model.Alert{
		Labels:       make(model.LabelSet, len(pa.Labels)),
		Annotations:  make(model.LabelSet, len(pa.Annotations)),
		StartsAt:     time.Time(pa.StartsAt),
		EndsAt:       time.Time(pa.EndsAt),
		GeneratorURL: pa.GeneratorURL,
	}
	for k, v := range pa.Labels {
		// Alertmanager drops labels with empty values.
		if v != "" {
			ma.Labels[model.LabelName(k)] = model.LabelValue(v)
		}
	}
	for k, v := range pa.Annotations {
		ma.Annotations[model.LabelName(k)] = model.LabelValue(v)
	}
	return ma, nil
}

// decodeAlerts decodes a POST /api/v2/alerts body: the valid alerts, and
// one error per invalid one.
func decodeAlerts(body []byte) ([]model.Alert, []error, error) {
	var in []*postableAlert
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, nil, fmt.Errorf("parse body: %w", err)
	}
	alerts := make([]model.Alert, 0, len(in))
	var errs []error
	for i, pa := range in {
		if pa == nil {
			errs = append(errs, fmt.Errorf("alert %d: null", i))
			continue
		}
		ma, err := pa.toModel()
		if err != nil {
			errs = append(errs, fmt.Errorf("alert %d: %w", i, err))
			continue
		}
		alerts = append(alerts, ma)
	}
	return alerts, errs, nil
}

func (a *API) postAlerts(w http.ResponseWriter, r *http.Request) {
	body, ok := readRaw(w, r)
	if !ok {
		return
	}
	alerts, errs, err := decodeAlerts(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := a.m.Put(r.Context(), alerts...); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		writeError(w, http.StatusBadRequest, errors.Join(errs...).Error())
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *API) getGroups(w http.ResponseWriter, r *http.Request) {
	f, err := parseAlertFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := models.AlertGroups{}
	for _, g := range a.m.Groups() {
		if f.receiver != nil && !f.receiver.MatchString(g.Receiver) {
			continue
		}
		ag := &models.AlertGroup{Labels: labelSet(g.Labels), Receiver: &models.ReceiverReference{Name: &g.Receiver}, Alerts: []*models.GettableAlert{}}
		for _, v := range g.Alerts {
			fv := *f
			fv.receiver = nil
			if fv.keep(v) {
				ag.Alerts = append(ag.Alerts, gettableAlert(v))
			}
		}
		if len(ag.Alerts) > 0 {
			out = append(out, ag)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getStatus(w http.ResponseWriter, r *http.Request) {
	disabled := "disabled"
	text := a.m.ConfigText()
	version, goVersion, empty := a.version, runtime.Version(), ""
	writeJSON(w, http.StatusOK, &models.AlertmanagerStatus{
		Cluster: &models.ClusterStatus{Status: &disabled, Peers: []*models.PeerStatus{}},
		Config:  &models.AlertmanagerConfig{Original: &text},
		Uptime:  dt(a.m.Started()),
		VersionInfo: &models.VersionInfo{
			Version: &version, GoVersion: &goVersion,
			Branch: &empty, BuildDate: &empty, BuildUser: &empty, Revision: &empty,
		},
	})
}

func (a *API) getReceivers(w http.ResponseWriter, r *http.Request) {
	out := []*models.Receiver{}
	for _, name := range a.m.Receivers() {
		out = append(out, &models.Receiver{Name: &name})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	hq := alertmanager.HistoryQuery{Kind: q.Get("kind"), Fingerprint: q.Get("fingerprint"), Receiver: q.Get("receiver")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &hq.Since}, {"until", &hq.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("bad %s parameter %q: want RFC 3339", p.name, v))
				return
			}
			*p.dst = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxHistoryLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("bad limit parameter %q: want 0 to %d", v, maxHistoryLimit))
			return
		}
		hq.Limit = n
	}
	evs, err := a.m.History(r.Context(), hq)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if evs == nil {
		evs = []alertmanager.Event{}
	}
	writeJSON(w, http.StatusOK, evs)
}

// maxHistoryLimit bounds one history answer: the events are read into
// memory on the state store's only connection, which every silence and
// notification log write waits for.
const maxHistoryLimit = 10000
