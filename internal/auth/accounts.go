package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/argus-mon/argus/internal/state"
)

// userNameRE is what a user or token name may look like: no spaces or
// colons, which basic auth cannot carry in a name.
var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// CheckName returns why name cannot name a user or token, or nil.
func CheckName(name string) error {
	if !userNameRE.MatchString(name) {
		return fmt.Errorf("name %q: want 1 to 64 letters, digits or . _ @ -, starting with a letter or digit", name)
	}
	return nil
}

// AddUser creates a user with a role and password.
func AddUser(ctx context.Context, st Store, name string, role Role, password string, mustChange bool) (*state.User, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if role < Viewer {
		return nil, errors.New("a user needs a role: viewer, editor or admin")
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	return st.CreateUser(ctx, state.User{Name: name, Role: role.String(), PasswordHash: hash, MustChange: mustChange})
}

// SetPassword changes a user's password, ending its sessions.
func SetPassword(ctx context.Context, st Store, name, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	_, err = st.UpdateUser(ctx, name, "", hash, false)
	return err
}

// NewToken creates an API token and returns it with its secret, which is
// shown once and stored only as a hash. expires 0 means never.
func NewToken(ctx context.Context, st Store, name string, role Role, createdBy string, expires time.Duration, now time.Time) (*state.Token, string, error) {
	if err := CheckName(name); err != nil {
		return nil, "", err
	}
	if role < Viewer {
		return nil, "", errors.New("a token needs a role: viewer, editor or admin")
	}
	if expires < 0 {
		return nil, "", errors.New("a token's lifetime must be positive")
	}
	secret := tokenPrefix + RandomSecret(32)
	t := state.Token{Name: name, Hash: hashSecret(secret), Role: role.String(), CreatedBy: createdBy}
	if expires > 0 {
		t.Expires = now.Add(expires)
	}
	created, err := st.CreateToken(ctx, t)
	if err != nil {
		return nil, "", err
	}
	created.Hash = ""
	return created, secret, nil
}

// Bootstrap creates the first user, admin, when there are none: with
// password if given, else with a random one it returns, which must be
// changed at first login. It returns "" when users exist already.
func Bootstrap(ctx context.Context, st Store, password string) (generated string, err error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	mustChange := false
	if password == "" {
		password, mustChange = RandomSecret(15), true
	}
	if _, err := AddUser(ctx, st, "admin", Admin, password, mustChange); err != nil {
		if errors.Is(err, state.ErrUserExists) {
			// Another instance sharing the store created it first.
			return "", nil
		}
		return "", fmt.Errorf("create the first admin: %w", err)
	}
	if mustChange {
		return password, nil
	}
	return "", nil
}
