package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// User is an account. Role is "viewer", "editor" or "admin"; the store
// keeps it as text and leaves its meaning to the caller, but for one
// rule: it never removes the last admin (see ErrLastAdmin), so that
// someone can always manage the users.
type User struct {
	ID           int64
	Name         string
	Role         string
	PasswordHash string
	// MustChange asks the user to change the password at the next login
	// (the generated first admin password).
	MustChange       bool
	Created, Updated time.Time
}

// Session is a login. IDHash is the SHA-256 of the cookie's value.
type Session struct {
	IDHash                     string
	UserID                     int64
	CSRF                       string
	Created, Expires, LastSeen time.Time
}

// Token is an API token. Hash is the SHA-256 of the secret, which only its
// creator ever sees.
type Token struct {
	ID        int64
	Name      string
	Hash      string
	Role      string
	CreatedBy string
	Created   time.Time
	// Expires is zero for a token that does not expire.
	Expires  time.Time
	LastUsed time.Time
	Revoked  bool
}

// AuditEntry is one state change: who, when, what.
type AuditEntry struct {
	ID     int64
	Time   time.Time
	Actor  string
	Action string
	Target string
	Detail string
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// isUniqueViolation reports whether err is a unique-constraint failure on
// either driver.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505")
}

// CreateUser adds a user; ErrUserExists if the name is taken.
func (d *DB) CreateUser(ctx context.Context, u User) (*User, error) {
	now := d.now()
	err := d.tx(ctx, func(tx *txn) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE name = ?`, u.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrUserExists
		}
		id, err := nextID(ctx, tx, "users")
		if err != nil {
			return err
		}
		u.ID, u.Created, u.Updated = id, now, now
		_, err = tx.ExecContext(ctx, `INSERT INTO users (id, name, role, password_hash, must_change, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Name, u.Role, u.PasswordHash, boolInt(u.MustChange), ms(now), ms(now))
		return err
	})
	if err != nil {
		if errors.Is(err, ErrUserExists) || isUniqueViolation(err) {
			return nil, fmt.Errorf("create user %q: %w", u.Name, ErrUserExists)
		}
		return nil, fmt.Errorf("create user %q: %w", u.Name, err)
	}
	return &u, nil
}

const userColumns = `id, name, role, password_hash, must_change, created, updated`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.MustChange, &created, &updated); err != nil {
		return nil, err
	}
	u.Created, u.Updated = fromMS(created), fromMS(updated)
	return &u, nil
}

// GetUser returns the user named name, or ErrNotFound.
func (d *DB) GetUser(ctx context.Context, name string) (*User, error) {
	u, err := scanUser(d.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read user %q: %w", name, err)
	}
	return u, nil
}

// getUserByID returns the user with id, or ErrNotFound.
func (d *DB) getUserByID(ctx context.Context, id int64) (*User, error) {
	u, err := scanUser(d.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	return u, err
}

// Users lists the users by name.
func (d *DB) Users(ctx context.Context) ([]User, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

// CountUsers returns the number of users.
func (d *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// adminRole is the role the store keeps one user in at least.
const adminRole = "admin"

// keepAnAdmin fails with ErrLastAdmin if the user with id, whose role is
// role, is the only admin; within tx, under the write lock.
func keepAnAdmin(ctx context.Context, tx *txn, id int64, role string) error {
	if role != adminRole {
		return nil
	}
	var others int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = ? AND id != ?`, adminRole, id).Scan(&others); err != nil {
		return err
	}
	if others == 0 {
		return ErrLastAdmin
	}
	return nil
}

// UpdateUser changes a user's role and, if PasswordHash is set, password
// (with MustChange). A password change ends the user's sessions, so that
// a stolen session does not outlive it. The last admin stays one.
func (d *DB) UpdateUser(ctx context.Context, name, role, passwordHash string, mustChange bool) (*User, error) {
	err := d.tx(ctx, func(tx *txn) error {
		var id int64
		var cur string
		if err := tx.QueryRowContext(ctx, `SELECT id, role FROM users WHERE name = ?`, name).Scan(&id, &cur); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if role != "" && role != adminRole {
			if err := keepAnAdmin(ctx, tx, id, cur); err != nil {
				return err
			}
		}
		now := ms(d.now())
		if role != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, updated = ? WHERE id = ?`, role, now, id); err != nil {
				return err
			}
		}
		if passwordHash != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, must_change = ?, updated = ? WHERE id = ?`,
				passwordHash, boolInt(mustChange), now, id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update user %q: %w", name, err)
	}
	return d.GetUser(ctx, name)
}

// DeleteUser removes a user and its sessions, but not the last admin; its
// tokens stay until revoked (they are the machines', named by who created
// them).
func (d *DB) DeleteUser(ctx context.Context, name string) error {
	err := d.tx(ctx, func(tx *txn) error {
		var id int64
		var role string
		if err := tx.QueryRowContext(ctx, `SELECT id, role FROM users WHERE name = ?`, name).Scan(&id, &role); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if err := keepAnAdmin(ctx, tx, id, role); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user %q: %w", name, err)
	}
	return nil
}

// CreateSession stores a session of u, the user whose password was just
// checked, if u is still as it was then (same id, name and password):
// else ErrNotFound, so that a user deleted or given a new password while
// logging in, or a new user who got a deleted one's id, gets no session.
func (d *DB) CreateSession(ctx context.Context, s Session, u *User) error {
	res, err := d.db.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf, created, expires, last_seen)
		SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ? AND name = ? AND password_hash = ?)`,
		s.IDHash, u.ID, s.CSRF, ms(s.Created), ms(s.Expires), ms(s.LastSeen), u.ID, u.Name, u.PasswordHash)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("create session: user %q changed while logging in: %w", u.Name, ErrNotFound)
	}
	return nil
}

// GetSession returns the session with idHash and its user, or
// ErrNotFound.
func (d *DB) GetSession(ctx context.Context, idHash string) (*Session, *User, error) {
	var s Session
	var created, expires, seen int64
	err := d.db.QueryRowContext(ctx, `SELECT id_hash, user_id, csrf, created, expires, last_seen FROM sessions WHERE id_hash = ?`, idHash).
		Scan(&s.IDHash, &s.UserID, &s.CSRF, &created, &expires, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read session: %w", err)
	}
	s.Created, s.Expires, s.LastSeen = fromMS(created), fromMS(expires), fromMS(seen)
	u, err := d.getUserByID(ctx, s.UserID)
	if err != nil {
		return nil, nil, err
	}
	return &s, u, nil
}

// TouchSession records that a session was used at t.
func (d *DB) TouchSession(ctx context.Context, idHash string, t time.Time) error {
	_, err := d.db.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id_hash = ?`, ms(t), idHash)
	return err
}

// DeleteSession ends a session; a missing one is no error.
func (d *DB) DeleteSession(ctx context.Context, idHash string) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of the user named name (a
// revocation) and returns how many there were.
func (d *DB) DeleteUserSessions(ctx context.Context, name string) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = ?)`, name)
	if err != nil {
		return 0, fmt.Errorf("end the sessions of %q: %w", name, err)
	}
	return res.RowsAffected()
}

// ExpireSessions deletes the sessions that expired before now or were
// last used before idleBefore.
func (d *DB) ExpireSessions(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires < ? OR last_seen < ?`, ms(now), ms(idleBefore))
	if err != nil {
		return 0, fmt.Errorf("expire sessions: %w", err)
	}
	return res.RowsAffected()
}

// CreateToken stores a token and returns it with its id.
func (d *DB) CreateToken(ctx context.Context, t Token) (*Token, error) {
	t.Created = d.now()
	err := d.tx(ctx, func(tx *txn) error {
		id, err := nextID(ctx, tx, "tokens")
		if err != nil {
			return err
		}
		t.ID = id
		_, err = tx.ExecContext(ctx, `INSERT INTO tokens (id, name, hash, role, created_by, created, expires) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Name, t.Hash, t.Role, t.CreatedBy, ms(t.Created), ms(t.Expires))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return &t, nil
}

const tokenColumns = `id, name, hash, role, created_by, created, expires, last_used, revoked`

func scanToken(row interface{ Scan(...any) error }) (*Token, error) {
	var t Token
	var created, expires, used int64
	if err := row.Scan(&t.ID, &t.Name, &t.Hash, &t.Role, &t.CreatedBy, &created, &expires, &used, &t.Revoked); err != nil {
		return nil, err
	}
	t.Created, t.Expires, t.LastUsed = fromMS(created), fromMS(expires), fromMS(used)
	return &t, nil
}

// GetTokenByHash returns the token whose secret hashes to hash, or
// ErrNotFound.
func (d *DB) GetTokenByHash(ctx context.Context, hash string) (*Token, error) {
	t, err := scanToken(d.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	return t, nil
}

// Tokens lists the tokens, newest first, without their hashes.
func (d *DB) Tokens(ctx context.Context) ([]Token, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.Hash = ""
		out = append(out, *t)
	}
	return out, rows.Err()
}

// TouchToken records that a token was used at t.
func (d *DB) TouchToken(ctx context.Context, id int64, t time.Time) error {
	_, err := d.db.ExecContext(ctx, `UPDATE tokens SET last_used = ? WHERE id = ?`, ms(t), id)
	return err
}

// RevokeToken revokes the token with id; ErrNotFound if there is none.
func (d *DB) RevokeToken(ctx context.Context, id int64) (*Token, error) {
	res, err := d.db.ExecContext(ctx, `UPDATE tokens SET revoked = 1 WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("revoke token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("token %d: %w", id, ErrNotFound)
	}
	t, err := scanToken(d.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("read token %d: %w", id, err)
	}
	t.Hash = ""
	return t, nil
}

// AppendAudit records a state change.
func (d *DB) AppendAudit(ctx context.Context, e AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = d.now()
	}
	_, err := d.db.ExecContext(ctx, `INSERT INTO audit (time, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)`,
		ms(e.Time), e.Actor, e.Action, e.Target, e.Detail)
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

// AuditQuery selects audit entries; zero fields do not filter.
type AuditQuery struct {
	Actor, Action string
	Since, Until  time.Time
	// Limit bounds the entries returned, newest first; 0 means 1000.
	Limit int
}

// Audit returns the entries q selects, newest first.
func (d *DB) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	var where []string
	var args []any
	if q.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, q.Actor)
	}
	if q.Action != "" {
		where, args = append(where, "action = ?"), append(args, q.Action)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, ms(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "time <= ?"), append(args, ms(q.Until))
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	query := `SELECT id, time, actor, action, target, detail FROM audit`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.Time = fromMS(t)
		out = append(out, e)
	}
	return out, rows.Err()
}
