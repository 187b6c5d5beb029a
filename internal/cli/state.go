package cli

import (
	"context"
	"fmt"
	"net/http"

	commoncfg "github.com/prometheus/common/config"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/server"
	"github.com/argus-mon/argus/internal/state"
)

// roundTripper returns the HTTP transport of an --http.config.file (basic
// auth, a bearer token, TLS), as promtool reads it; nil, the default
// transport, when file is empty.
func roundTripper(file string) (http.RoundTripper, error) {
	if file == "" {
		return nil, nil
	}
	cfg, _, err := commoncfg.LoadHTTPConfigFile(file)
	if err != nil {
		return nil, fmt.Errorf("--http.config.file %s: %w", file, err)
	}
	rt, err := commoncfg.NewRoundTripperFromConfig(*cfg, "argus")
	if err != nil {
		return nil, fmt.Errorf("--http.config.file %s: %w", file, err)
	}
	return rt, nil
}

// loadConfig reads the config file, or returns the defaults when there is
// none, as `argus server` does.
func loadConfig(file string) (*config.Config, error) {
	if file == "" {
		return config.Default(), nil
	}
	return config.LoadFile(file)
}

// openState opens the state store the config's state section selects, as
// `argus server` with the same --config and --data would: the commands
// that change users, tokens or dashboards work on the server's store,
// also while it runs.
func openState(ctx context.Context, cfg *config.Config, dataDir string) (*state.DB, error) {
	opts, err := server.StateOptions(cfg, dataDir)
	if err != nil {
		return nil, err
	}
	return state.OpenWith(ctx, opts)
}
