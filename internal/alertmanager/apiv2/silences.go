package apiv2

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/argus-mon/argus/internal/alertmanager"
)

var stateOrder = map[string]int{
	alertmanager.SilenceStateActive:  1,
	alertmanager.SilenceStatePending: 2,
	alertmanager.SilenceStateExpired: 3,
}

func gettableSilence(s alertmanager.Silence, now time.Time) *models.GettableSilence {
	state := s.State(now)
	id, createdBy, comment := s.ID, s.CreatedBy, s.Comment
	gs := &models.GettableSilence{
		ID:        &id,
		Status:    &models.SilenceStatus{State: &state},
		UpdatedAt: dt(s.UpdatedAt),
		Silence: models.Silence{
			Comment:   &comment,
			CreatedBy: &createdBy,
			StartsAt:  dt(s.StartsAt),
			EndsAt:    dt(s.EndsAt),
			Matchers:  models.Matchers{},
		},
	}
	for _, m := range s.Matchers {
		name, value := m.Name, m.Value
		isRegex := m.Type == labels.MatchRegexp || m.Type == labels.MatchNotRegexp
		isEqual := m.Type == labels.MatchEqual || m.Type == labels.MatchRegexp
		gs.Matchers = append(gs.Matchers, &models.Matcher{Name: &name, Value: &value, IsRegex: &isRegex, IsEqual: &isEqual})
	}
	return gs
}

// sortSilences orders silences as Alertmanager does: active by end time,
// then pending by start time, then expired, latest first.
func sortSilences(sils models.GettableSilences) {
	sort.Slice(sils, func(i, j int) bool {
		s1, s2 := *sils[i].Status.State, *sils[j].Status.State
		if s1 != s2 {
			return stateOrder[s1] < stateOrder[s2]
		}
		switch s1 {
		case alertmanager.SilenceStatePending:
			return time.Time(*sils[i].StartsAt).Before(time.Time(*sils[j].StartsAt))
		case alertmanager.SilenceStateExpired:
			return time.Time(*sils[i].EndsAt).After(time.Time(*sils[j].EndsAt))
		}
		return time.Time(*sils[i].EndsAt).Before(time.Time(*sils[j].EndsAt))
	})
}

// silenceHasMatchers reports whether the silence has every filter matcher
// (same name, type and value), Alertmanager's silence filter.
func silenceHasMatchers(s alertmanager.Silence, filter labels.Matchers) bool {
	for _, f := range filter {
		found := false
		for _, m := range s.Matchers {
			if m.Name == f.Name && m.Type == f.Type && m.Value == f.Value {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (a *API) getSilences(w http.ResponseWriter, r *http.Request) {
	filter, err := parseFilter(r.URL.Query()["filter"])
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := time.Now()
	out := models.GettableSilences{}
	for _, s := range a.m.Silences() {
		if silenceHasMatchers(s, filter) {
			out = append(out, gettableSilence(s, now))
		}
	}
	sortSilences(out)
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getSilence(w http.ResponseWriter, r *http.Request) {
	s, ok := a.m.Silence(r.PathValue("id"))
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, gettableSilence(s, time.Now()))
}

func (a *API) deleteSilence(w http.ResponseWriter, r *http.Request) {
	err := a.m.ExpireSilence(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, alertmanager.ErrSilenceNotFound):
		w.WriteHeader(http.StatusNotFound)
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		w.WriteHeader(http.StatusOK)
	}
}

// postableToSilence converts and checks an API silence.
func postableToSilence(ps *models.PostableSilence) (alertmanager.Silence, error) {
	if err := ps.Validate(strfmt.Default); err != nil {
		return alertmanager.Silence{}, err
	}
	s := alertmanager.Silence{
		ID:        ps.ID,
		StartsAt:  time.Time(*ps.StartsAt),
		EndsAt:    time.Time(*ps.EndsAt),
		CreatedBy: *ps.CreatedBy,
		Comment:   *ps.Comment,
	}
	for i, m := range ps.Matchers {
		// The generated validation skips null entries.
		if m == nil || m.IsRegex == nil {
			return alertmanager.Silence{}, fmt.Errorf("matcher %d: missing or without isRegex", i)
		}
		isEqual := m.IsEqual == nil || *m.IsEqual
		t := labels.MatchEqual
		switch {
		case *m.IsRegex && isEqual:
			t = labels.MatchRegexp
		case *m.IsRegex:
			t = labels.MatchNotRegexp
		case !isEqual:
			t = labels.MatchNotEqual
		}
		lm, err := labels.NewMatcher(t, *m.Name, *m.Value)
		if err != nil {
			return alertmanager.Silence{}, fmt.Errorf("matcher %s: %w", *m.Name, err)
		}
		s.Matchers = append(s.Matchers, lm)
	}
	return s, nil
}

func (a *API) postSilences(w http.ResponseWriter, r *http.Request) {
	var ps models.PostableSilence
	if !readBody(w, r, &ps) {
		return
	}
	s, err := postableToSilence(&ps)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("failed to convert API silence to internal silence: %v", err))
		return
	}
	if !s.StartsAt.Before(s.EndsAt) {
		writeError(w, http.StatusBadRequest, "Failed to create silence: start time must be before end time")
		return
	}
	if s.EndsAt.Before(time.Now()) {
		writeError(w, http.StatusBadRequest, "Failed to create silence: end time can't be in the past")
		return
	}
	id, err := a.m.SetSilence(r.Context(), s)
	switch {
	case errors.Is(err, alertmanager.ErrSilenceNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		writeJSON(w, http.StatusOK, map[string]string{"silenceID": id})
	}
}
