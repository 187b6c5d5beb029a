package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/argus-mon/argus/internal/auth"
	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/state"
)

// legacyAlertmanagerFile is the SQLite database the alert manager kept by
// itself before its state moved into the state store; it is imported
// once at start.
const legacyAlertmanagerFile = "alertmanager.db"

// StateOptions returns the state store cfg's state section selects; the
// DSN of dsn_file is read here, at start. The CLI's commands on the store
// use it too.
func StateOptions(cfg *config.Config, dataDir string) (state.Options, error) {
	sec := cfg.State
	opts := state.Options{Driver: sec.Driver, Path: sec.Path, DataDir: dataDir, DSN: string(sec.DSN)}
	if sec.DSNFile != "" {
		b, err := os.ReadFile(sec.DSNFile)
		if err != nil {
			return opts, fmt.Errorf("state.dsn_file: %w", err)
		}
		opts.DSN = strings.TrimSpace(string(b))
	}
	return opts, nil
}

// openState opens the state store and imports the alert manager's old
// database if the data directory still has one.
func (s *Server) openState(ctx context.Context, cfg *config.Config) (*state.DB, error) {
	opts, err := StateOptions(cfg, s.opts.DataDir)
	if err != nil {
		return nil, err
	}
	db, err := state.OpenWith(ctx, opts)
	if err != nil {
		return nil, err
	}
	legacy := filepath.Join(s.opts.DataDir, legacyAlertmanagerFile)
	recs, evs, err := db.ImportAlertmanagerFile(ctx, legacy)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		db.Close()
		return nil, err
	default:
		s.logger.Info("Imported the alert manager's state into the state store", "file", legacy, "records", recs, "events", evs)
	}
	return db, nil
}

// buildAuth sets up access control on the state store and, on first
// start, creates the admin user.
func (s *Server) buildAuth(ctx context.Context, cfg *config.Config) error {
	sec := cfg.Auth
	anon := auth.Viewer
	if sec.Anonymous == config.AnonymousNone {
		anon = auth.Public
	}
	static := s.web.users()
	// A web config with users protects the server as it does Prometheus,
	// even with auth.enabled: false.
	enabled := (sec.Enabled || len(static) > 0) && !s.opts.AuthOff
	if len(static) > 0 && enabled && anon != auth.Public {
		// Prometheus refuses every request without one of the web
		// config's users; so does argus, whatever auth.anonymous says.
		s.logger.Info("--web.config.file has basic_auth_users: anonymous access is off")
		anon = auth.Public
	}
	s.auth = auth.New(auth.Options{
		StaticUsers:     static,
		SecureCookies:   strings.HasPrefix(s.opts.ExternalURL, "https://"),
		Store:           s.state,
		Enabled:         enabled,
		Anonymous:       anon,
		SessionLifetime: time.Duration(sec.SessionLifetime),
		SessionIdle:     time.Duration(sec.SessionIdleTimeout),
		Logger:          s.logger.With("component", "auth"),
	})
	if !enabled {
		s.logger.Warn("Access control is off: anyone who reaches the port may change anything (auth.enabled: false)")
		return nil
	}
	pw := s.opts.InitialAdminPassword
	if pw == "" && sec.InitialAdminPasswordFile != "" {
		b, err := os.ReadFile(sec.InitialAdminPasswordFile)
		if err != nil {
			return fmt.Errorf("auth.initial_admin_password_file: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	}
	generated, err := auth.Bootstrap(ctx, s.state, pw)
	if err != nil {
		return err
	}
	if generated != "" {
		// Printed once, as the issue of a first password must be: it is
		// random, and must be changed at the first login.
		s.logger.Warn("Created the first user, admin, with a random password; log in and change it", "user", "admin", "password", generated)
	}
	return nil
}
