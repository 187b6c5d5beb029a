package api

import (
	"context"
	"math"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/argus-mon/argus/internal/tsdb"
)

func TestAdminSnapshot(t *testing.T) {
	e := newEnv(t, envOptions{admin: true})
	ctx := context.Background()
	for _, skipHead := range []bool{false, true} {
		snap, err := e.client.Snapshot(ctx, skipHead)
		if err != nil {
			t.Fatal(err)
		}
		// The snapshot is a data directory argus opens.
		db, err := tsdb.Open(ctx, filepath.Join(e.db.Dir(), "snapshots", snap.Name), tsdb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		q, err := db.Querier(math.MinInt64, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		ss := q.Select(ctx, false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "up"), labels.MustNewMatcher(labels.MatchEqual, "job", "node"))
		for ss.Next() {
			it := ss.At().Iterator(nil)
			for it.Next() == chunkenc.ValFloat {
				n++
			}
		}
		q.Close()
		db.Close()
		// The seeded samples are all in the head: skip_head leaves them out.
		if want := map[bool]int{false: 4, true: 0}[skipHead]; n != want {
			t.Errorf("skip_head=%v: %d samples of up{job=\"node\"} in the snapshot, want %d", skipHead, n, want)
		}
	}
	code, r := e.do("POST", "/api/v1/admin/tsdb/snapshot", url.Values{"skip_head": {"maybe"}})
	if code != 400 || r.Error != `invalid parameter "skip_head": unable to parse boolean: strconv.ParseBool: parsing "maybe": invalid syntax` {
		t.Errorf("bad skip_head: %d %q", code, r.Error)
	}
}

func TestAdminDeleteAndTombstones(t *testing.T) {
	e := newEnv(t, envOptions{admin: true})
	ctx := context.Background()
	// There are never tombstones, so cleaning them succeeds with nothing to do.
	if err := e.client.CleanTombstones(ctx); err != nil {
		t.Errorf("clean tombstones: %v", err)
	}
	code, r := e.do("POST", "/api/v1/admin/tsdb/delete_series", url.Values{"match[]": {"up"}})
	if code != 500 || r.ErrorType != "unavailable" || r.Error != "deleting series is not supported yet by argus's storage" {
		t.Errorf("delete series: %d %s %q", code, r.ErrorType, r.Error)
	}
	// Bad parameters are reported before that, as Prometheus checks them.
	for form, want := range map[string]string{
		"":                   "no match[] parameter provided",
		"match[]=up&start=x": `invalid parameter "start": invalid time value for 'start': cannot parse "x" to a valid timestamp`,
		"match[]=up{":        `invalid parameter "match[]": 1:4: parse error: unexpected end of input inside braces`,
	} {
		v, _ := url.ParseQuery(form)
		code, r := e.do("PUT", "/api/v1/admin/tsdb/delete_series", v)
		if code != 400 || r.ErrorType != "bad_data" || r.Error != want {
			t.Errorf("delete series %q: %d %s %q", form, code, r.ErrorType, r.Error)
		}
	}
}
