package config

import (
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// State is the state section (argus only): the SQL store of everything
// that is not time series (users, sessions, tokens, dashboards,
// silences, notification log, alert history, audit log). It is opened at
// start; a reload that changes it logs that a restart is needed.
type State struct {
	// Driver is "sqlite" (default: a file in the data directory) or
	// "postgres".
	Driver string `yaml:"driver"`
	// Path is the SQLite file; default state.db in the data directory.
	// Relative to the config file.
	Path string `yaml:"path,omitempty"`
	// DSN is PostgreSQL's connection string, a postgres:// URL or
	// key=value pairs; or DSNFile, a file holding it (read at start), so
	// that the password stays out of the config.
	DSN     commoncfg.Secret `yaml:"dsn,omitempty"`
	DSNFile string           `yaml:"dsn_file,omitempty"`
}

// State drivers.
const (
	StateSQLite   = "sqlite"
	StatePostgres = "postgres"
)

// Auth is the auth section (argus only): who may read and change what.
type Auth struct {
	// Enabled turns access control on; default true. Off, anyone who
	// reaches the port may do anything, as with Prometheus.
	Enabled bool `yaml:"enabled"`
	// Anonymous is what a request without credentials may do: "viewer"
	// (default; reading stays open as with Prometheus, changing needs a
	// login) or "none".
	Anonymous string `yaml:"anonymous"`
	// InitialAdminPasswordFile holds the password of the admin user
	// created on first start when there are no users; without it (or the
	// ARGUS_ADMIN_PASSWORD environment variable) the password is random
	// and printed once to the log. Relative to the config file.
	InitialAdminPasswordFile string `yaml:"initial_admin_password_file,omitempty"`
	// SessionLifetime is how long a login lasts at most; default 30d.
	SessionLifetime model.Duration `yaml:"session_lifetime"`
	// SessionIdleTimeout ends a session not used for that long; default
	// 7d.
	SessionIdleTimeout model.Duration `yaml:"session_idle_timeout"`
}

// Anonymous access levels.
const (
	AnonymousViewer = "viewer"
	AnonymousNone   = "none"
)

func defaultState() State { return State{Driver: StateSQLite} }

func defaultAuth() Auth {
	return Auth{
		Enabled:            true,
		Anonymous:          AnonymousViewer,
		SessionLifetime:    model.Duration(30 * 24 * 3600e9),
		SessionIdleTimeout: model.Duration(7 * 24 * 3600e9),
	}
}

func (s *State) setDirectory(dir string) {
	if s.Path != "" {
		s.Path = commoncfg.JoinDir(dir, s.Path)
	}
	s.DSNFile = commoncfg.JoinDir(dir, s.DSNFile)
}

func (a *Auth) setDirectory(dir string) {
	a.InitialAdminPasswordFile = commoncfg.JoinDir(dir, a.InitialAdminPasswordFile)
}

func (v *validator) state(s *State) {
	switch s.Driver {
	case StateSQLite:
		if s.DSN != "" || s.DSNFile != "" {
			v.errorf("state.dsn", "state: dsn and dsn_file are for driver postgres; driver is sqlite")
		}
	case StatePostgres:
		if s.Path != "" {
			v.errorf("state.path", "state: path is for driver sqlite; driver is postgres")
		}
		switch {
		case s.DSN == "" && s.DSNFile == "":
			v.errorf("state.driver", "state: driver postgres needs dsn or dsn_file")
		case s.DSN != "" && s.DSNFile != "":
			v.errorf("state.dsn_file", "state: set dsn or dsn_file, not both")
		case s.DSN != "":
			// The message never quotes the DSN: it may hold a password.
			if _, err := dsnAddress(string(s.DSN)); err != nil && s.DSN != secretMarker {
				v.errorf("state.dsn", "state: %v", err)
			}
		}
	default:
		v.errorf("state.driver", "state: unknown driver %q; want %q or %q", s.Driver, StateSQLite, StatePostgres)
	}
}

func (v *validator) auth(a *Auth) {
	if a.Anonymous != AnonymousViewer && a.Anonymous != AnonymousNone {
		v.errorf("auth.anonymous", "auth: anonymous is %q; want %q or %q", a.Anonymous, AnonymousViewer, AnonymousNone)
	}
	if a.SessionLifetime <= 0 {
		v.errorf("auth.session_lifetime", "auth: session_lifetime must be positive")
	}
	if a.SessionIdleTimeout <= 0 {
		v.errorf("auth.session_idle_timeout", "auth: session_idle_timeout must be positive")
	}
}
