package alertmanager

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/argus-mon/argus/internal/state"
)

// failingState refuses every write, like a full disk.
type failingState struct{ StateStore }

func (failingState) Put(context.Context, string, string, []byte, time.Time) error {
	return errors.New("disk full")
}

func (failingState) List(context.Context, string) ([]state.Record, error) { return nil, nil }

// TestNflogCountsUnpersistedNotifications: a notification whose log entry
// could not be written still counts as sent; otherwise every later flush
// would send it again (found in review: five webhooks in two seconds).
func TestNflogCountsUnpersistedNotifications(t *testing.T) {
	l := &nflog{entries: map[string]*nflogEntry{}, state: failingState{}, retention: time.Hour}
	now := time.Now()
	if err := l.log(context.Background(), "k", []uint64{1}, nil, now); err == nil {
		t.Fatal("the write error was not returned")
	}
	e := l.get("k")
	if e == nil || len(e.Firing) != 1 || e.Firing[0] != 1 || !e.Timestamp.Equal(now) {
		t.Fatalf("entry after a failed write: %+v", e)
	}
}
