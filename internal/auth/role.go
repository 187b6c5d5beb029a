package auth

import "fmt"

// Role is what a principal may do; each role may do what the ones below
// it may.
type Role int

// Roles, lowest first. Public is no role: what anyone may do, even with
// anonymous access off (the login page, health checks).
const (
	Public Role = iota
	Viewer
	Editor
	Admin
)

var roleNames = [...]string{Public: "none", Viewer: "viewer", Editor: "editor", Admin: "admin"}

func (r Role) String() string {
	if r < Public || r > Admin {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole parses "viewer", "editor" or "admin".
func ParseRole(s string) (Role, error) {
	switch s {
	case "viewer":
		return Viewer, nil
	case "editor":
		return Editor, nil
	case "admin":
		return Admin, nil
	}
	return Public, fmt.Errorf("unknown role %q; want viewer, editor or admin", s)
}

// MarshalText writes the role's name.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }
