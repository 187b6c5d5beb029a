package cli

import (
	"context"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/server"
	"github.com/argus-mon/argus/internal/state"
)

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
