package alertmanager

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/state"
)

func matchers(t *testing.T, kv ...string) labels.Matchers {
	t.Helper()
	var out labels.Matchers
	for i := 0; i < len(kv); i += 2 {
		m, err := labels.NewMatcher(labels.MatchEqual, kv[i], kv[i+1])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestSilenceLifecycle(t *testing.T) {
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, _ := newSilences(ctx, db, time.Hour)
	now := time.Now()
	id, _, err := s.set(ctx, Silence{Matchers: matchers(t, "a", "b"), StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour), CreatedBy: "x", Comment: "y"}, now)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.get(id)
	if !got.StartsAt.Equal(now) {
		t.Fatalf("a new silence starting in the past starts now; got %v", got.StartsAt)
	}
	if ids := s.mutes(model.LabelSet{"a": "b", "c": "d"}, now); len(ids) != 1 || ids[0] != id {
		t.Fatalf("mutes = %v", ids)
	}
	// Extending an active silence keeps its ID.
	upd := got
	upd.EndsAt = now.Add(2 * time.Hour)
	upd.Comment = "longer"
	if id2, expired, err := s.set(ctx, upd, now); err != nil || id2 != id || expired != "" {
		t.Fatalf("update in place: %v %v", id2, err)
	}
	// A client sends back the start as the API wrote it, in milliseconds;
	// that is still the same start (Alertmanager compares whole seconds).
	ms := upd
	ms.StartsAt = time.UnixMilli(upd.StartsAt.UnixMilli())
	ms.Comment = "edited"
	if id2, expired, err := s.set(ctx, ms, now); err != nil || id2 != id || expired != "" {
		t.Fatalf("update with the start in milliseconds: %v %v %v", id2, expired, err)
	}
	// A replacement that would end before it starts (now) is refused and
	// leaves the silence as it was.
	past := upd
	past.Matchers = matchers(t, "a", "other")
	past.StartsAt, past.EndsAt = now.Add(-2*time.Hour), now.Add(-time.Hour)
	if _, expired, err := s.set(ctx, past, now); err == nil || expired != "" {
		t.Fatalf("replacement ending in the past: %v, expired %q", err, expired)
	}
	if cur, _ := s.get(id); cur.State(now) != SilenceStateActive {
		t.Fatalf("a refused replacement expired the silence: %+v", cur)
	}
	// Changing the matchers replaces it: the old one expires.
	upd.Matchers = matchers(t, "a", "other")
	id3, expired, err := s.set(ctx, upd, now)
	if err != nil || id3 == id || expired != id {
		t.Fatalf("replace: %v %v (expired %q)", id3, err, expired)
	}
	if old, _ := s.get(id); old.State(now.Add(time.Millisecond)) != SilenceStateExpired {
		t.Fatalf("replaced silence not expired: %+v", old)
	}
	// Unknown IDs are not found.
	if _, _, err := s.set(ctx, Silence{ID: "nope", Matchers: matchers(t, "a", "b"), StartsAt: now, EndsAt: now.Add(time.Hour)}, now); err != ErrSilenceNotFound {
		t.Fatalf("unknown ID: %v", err)
	}
	// Invalid silences are refused.
	for name, bad := range map[string]Silence{
		"no matchers": {StartsAt: now, EndsAt: now.Add(time.Hour)},
		"match empty": {Matchers: matchers(t, "a", ""), StartsAt: now, EndsAt: now.Add(time.Hour)},
		"ends first":  {Matchers: matchers(t, "a", "b"), StartsAt: now, EndsAt: now.Add(-time.Hour)},
		"zero end":    {Matchers: matchers(t, "a", "b"), StartsAt: now},
	} {
		if _, _, err := s.set(ctx, bad, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Reloaded from the store; expired ones are dropped after retention.
	s2, err := newSilences(ctx, db, time.Hour)
	if err != nil || len(s2.list()) != 2 {
		t.Fatalf("reloaded %d silences, %v", len(s2.list()), err)
	}
	s2.gc(now.Add(3 * time.Hour))
	if n := len(s2.list()); n != 1 {
		t.Fatalf("after retention: %d silences, want 1", n)
	}
	if _, err := db.Expire(ctx, now.Add(3*time.Hour), now, 0); err != nil {
		t.Fatal(err)
	}
	if recs, _ := db.List(ctx, silenceBucket); len(recs) != 1 {
		t.Fatalf("store keeps %d silences after expiry, want 1", len(recs))
	}
}

func TestNeedsUpdate(t *testing.T) {
	now := time.Now()
	set := func(hs ...uint64) map[uint64]struct{} { return toSet(hs) }
	entry := func(firing, resolved []uint64, age time.Duration) *nflogEntry {
		return &nflogEntry{Firing: firing, Resolved: resolved, Timestamp: now.Add(-age)}
	}
	for _, c := range []struct {
		name         string
		e            *nflogEntry
		firing, res  map[uint64]struct{}
		sendResolved bool
		want         notify.NotifyReason
	}{
		{"first", nil, set(1), set(), false, notify.ReasonFirstNotification},
		{"first only resolved", nil, set(), set(1), true, notify.ReasonDoNotNotify},
		{"same", entry([]uint64{1}, nil, time.Minute), set(1), set(), false, notify.ReasonDoNotNotify},
		{"new firing", entry([]uint64{1}, nil, time.Minute), set(1, 2), set(), false, notify.ReasonNewAlertsInGroup},
		{"fewer firing", entry([]uint64{1, 2}, nil, time.Minute), set(1), set(2), false, notify.ReasonDoNotNotify},
		{"fewer firing, send resolved", entry([]uint64{1, 2}, nil, time.Minute), set(1), set(2), true, notify.ReasonNewResolvedAlerts},
		{"all resolved", entry([]uint64{1}, nil, time.Minute), set(), set(1), false, notify.ReasonAllAlertsResolved},
		{"all resolved, known", entry(nil, []uint64{1}, time.Minute), set(), set(1), true, notify.ReasonDoNotNotify},
		{"repeat", entry([]uint64{1}, nil, 2*time.Hour), set(1), set(), false, notify.ReasonRepeatIntervalElapsed},
	} {
		if got := needsUpdate(c.e, c.firing, c.res, c.sendResolved, time.Hour, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRouting(t *testing.T) {
	cfg := loadConfig(t, `
route:
  receiver: root
  group_by: [a]
  routes:
    - matchers: [team="x"]
      receiver: x
      continue: true
      group_by: ['...']
    - match_re: {team: "x|y"}
      receiver: xy
      routes:
        - matchers: [sev="page"]
          receiver: xy-page
    - matchers: [team="x"]
      receiver: unreachable
receivers: [{name: root}, {name: x}, {name: xy}, {name: xy-page}, {name: unreachable}]
`)
	root := newRouteTree(cfg.Route)
	recv := func(lset model.LabelSet) []string {
		var out []string
		for _, r := range root.match(lset) {
			out = append(out, r.receiver)
		}
		return out
	}
	for _, c := range []struct {
		lset model.LabelSet
		want string
	}{
		{model.LabelSet{"team": "z"}, "[root]"},
		{model.LabelSet{"team": "x"}, "[x xy]"},
		{model.LabelSet{"team": "y", "sev": "page"}, "[xy-page]"},
	} {
		if got := recv(c.lset); fmtList(got) != c.want {
			t.Errorf("%v: %v, want %s", c.lset, got, c.want)
		}
	}
	rs := root.match(model.LabelSet{"team": "x", "b": "1"})
	if !rs[0].groupByAll || len(rs[1].groupLabels(model.LabelSet{"a": "1", "b": "2"})) != 1 {
		t.Fatalf("group_by: %+v %+v", rs[0], rs[1])
	}
	if rs[0].key != `{}/{team="x"}` || rs[0].id != `{}/{team="x"}/0` {
		t.Fatalf("route key %q id %q", rs[0].key, rs[0].id)
	}
}

func fmtList(s []string) string {
	out := "["
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}
