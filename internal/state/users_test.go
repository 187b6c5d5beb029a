package state

import (
	"context"
	"errors"
	"testing"
	"time"
)

func testUsers(t *testing.T, tg target) {
	ctx := context.Background()
	db := tg.open(t)
	u, err := db.CreateUser(ctx, User{Name: "ann", Role: "editor", PasswordHash: "h1"})
	if err != nil || u.ID != 1 {
		t.Fatalf("create: %+v %v", u, err)
	}
	if _, err := db.CreateUser(ctx, User{Name: "ann", Role: "viewer", PasswordHash: "h"}); !errors.Is(err, ErrUserExists) {
		t.Errorf("duplicate: %v", err)
	}
	now := time.Now()
	if err := db.CreateSession(ctx, Session{IDHash: "s1", UserID: u.ID, CSRF: "c", Created: now, Expires: now.Add(time.Hour), LastSeen: now}, u); err != nil {
		t.Fatal(err)
	}
	s, su, err := db.GetSession(ctx, "s1")
	if err != nil || su.Name != "ann" || s.CSRF != "c" || !s.Expires.Equal(now.Add(time.Hour).Truncate(time.Millisecond)) {
		t.Fatalf("session: %+v %+v %v", s, su, err)
	}
	// A new password ends the sessions; a role change does not.
	if _, err := db.UpdateUser(ctx, "ann", "viewer", "", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.GetSession(ctx, "s1"); err != nil {
		t.Errorf("session after a role change: %v", err)
	}
	u, err = db.UpdateUser(ctx, "ann", "", "h2", true)
	if err != nil || u.Role != "viewer" || u.PasswordHash != "h2" || !u.MustChange {
		t.Fatalf("update: %+v %v", u, err)
	}
	if _, _, err := db.GetSession(ctx, "s1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("session after a password change: %v", err)
	}
	if _, err := db.UpdateUser(ctx, "bob", "viewer", "", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
	// Sessions expire by age and by idleness.
	for i, s := range []Session{
		{IDHash: "old", Expires: now.Add(-time.Minute), LastSeen: now},
		{IDHash: "idle", Expires: now.Add(time.Hour), LastSeen: now.Add(-2 * time.Hour)},
		{IDHash: "live", Expires: now.Add(time.Hour), LastSeen: now},
	} {
		s.UserID, s.Created, s.CSRF = u.ID, now, "c"
		if err := db.CreateSession(ctx, s, u); err != nil {
			t.Fatal(i, err)
		}
	}
	if n, err := db.ExpireSessions(ctx, now, now.Add(-time.Hour)); err != nil || n != 2 {
		t.Errorf("expire sessions: %d %v", n, err)
	}
	if n, err := db.DeleteUserSessions(ctx, "ann"); err != nil || n != 1 {
		t.Errorf("revoke sessions: %d %v", n, err)
	}
	// Tokens.
	tok, err := db.CreateToken(ctx, Token{Name: "ci", Hash: "th", Role: "viewer", CreatedBy: "ann", Expires: now.Add(time.Hour)})
	if err != nil || tok.ID != 1 {
		t.Fatalf("token: %+v %v", tok, err)
	}
	got, err := db.GetTokenByHash(ctx, "th")
	if err != nil || got.Name != "ci" || got.Revoked {
		t.Fatalf("token by hash: %+v %v", got, err)
	}
	if err := db.TouchToken(ctx, tok.ID, now); err != nil {
		t.Fatal(err)
	}
	if r, err := db.RevokeToken(ctx, tok.ID); err != nil || !r.Revoked || r.LastUsed.IsZero() || r.Hash != "" {
		t.Errorf("revoke: %+v %v", r, err)
	}
	if ts, _ := db.Tokens(ctx); len(ts) != 1 || ts[0].Hash != "" {
		t.Errorf("tokens: %+v", ts)
	}
	// Users and the audit log.
	if err := db.DeleteUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountUsers(ctx); n != 0 {
		t.Errorf("%d users after delete", n)
	}
	for _, a := range []string{"user.create", "silence.create", "user.delete"} {
		if err := db.AppendAudit(ctx, AuditEntry{Actor: "ann", Action: a, Target: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	es, err := db.Audit(ctx, AuditQuery{Action: "user.delete"})
	if err != nil || len(es) != 1 || es[0].Actor != "ann" {
		t.Errorf("audit: %+v %v", es, err)
	}
	if es, _ := db.Audit(ctx, AuditQuery{Limit: 2}); len(es) != 2 || es[0].Action != "user.delete" {
		t.Errorf("audit newest first: %+v", es)
	}
}

// testLastAdmin: the store never removes the last admin, by a role
// change or a deletion; a session is made only for the user as checked.
func testLastAdmin(t *testing.T, tg target) {
	ctx := context.Background()
	db := tg.open(t)
	a, _ := db.CreateUser(ctx, User{Name: "a", Role: "admin", PasswordHash: "h"})
	if _, err := db.UpdateUser(ctx, "a", "viewer", "", false); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("demote the last admin: %v", err)
	}
	if err := db.DeleteUser(ctx, "a"); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("delete the last admin: %v", err)
	}
	if _, err := db.CreateUser(ctx, User{Name: "b", Role: "admin", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateUser(ctx, "a", "viewer", "", false); err != nil {
		t.Errorf("demote one of two admins: %v", err)
	}
	if err := db.DeleteUser(ctx, "b"); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("delete the last admin left: %v", err)
	}
	// A session for a user whose password changed meanwhile, or who is
	// gone and whose id another user got, is not made.
	now := time.Now()
	s := Session{IDHash: "x", CSRF: "c", Created: now, Expires: now.Add(time.Hour), LastSeen: now}
	stale := *a
	stale.PasswordHash = "old"
	if err := db.CreateSession(ctx, s, &stale); !errors.Is(err, ErrNotFound) {
		t.Errorf("session for a changed user: %v", err)
	}
	if err := db.CreateSession(ctx, s, a); err != nil {
		t.Errorf("session for the user as checked: %v", err)
	}
}
