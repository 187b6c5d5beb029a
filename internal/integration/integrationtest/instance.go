package integrationtest

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
)

// NewInstance builds an instance of cfg with the type's constructor and
// closes it when the test ends. A test's config names only what the test
// is about: the interval defaults to a minute (tests collect by hand) and
// the timeout to 10s.
func NewInstance(t testing.TB, cfg config.Integration, newFunc integration.NewFunc) *integration.Instance {
	t.Helper()
	if cfg.Interval == 0 {
		cfg.Interval = model.Duration(time.Minute)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = model.Duration(10 * time.Second)
	}
	in, err := integration.New(&cfg, newFunc, nil)
	if err != nil {
		t.Fatalf("integration %s (%s): %v", cfg.Name, cfg.Type, err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}
