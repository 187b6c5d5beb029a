package config

import (
	"strings"
	"testing"
)

func TestDSNAddress(t *testing.T) {
	f := func(dsn, want, wantErr string) {
		t.Helper()
		got, err := dsnAddress(dsn)
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("dsnAddress(%q) = %q, %v; want error %q", dsn, got, err, wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("dsnAddress(%q): error shows the password: %v", dsn, err)
			}
			return
		}
		if err != nil || got != want {
			t.Errorf("dsnAddress(%q) = %q, %v; want %q", dsn, got, err, want)
		}
	}
	f("postgres://monitor@127.0.0.1:5433/postgres?sslmode=disable", "127.0.0.1:5433", "")
	f("postgresql://u:s3cret@db.example.com/app", "db.example.com:5432", "")
	f("postgres://u:p%40ss@[::1]:6000/x", "[::1]:6000", "")
	f("postgres://[::1]/x", "[::1]:5432", "")
	f("postgres://h1:5432,h2:5433/x", "h1:5432", "")
	f("postgres:///postgres?host=/run/postgresql", "/run/postgresql/.s.PGSQL.5432", "")
	f("postgres://%2Frun%2Fpostgresql:5434/db", "/run/postgresql/.s.PGSQL.5434", "")
	f("postgres://", "localhost:5432", "")
	f("host=/run/postgresql/ port=5433 user=monitor", "/run/postgresql/.s.PGSQL.5433", "")
	f("user=monitor password='s3 cr\\'et' host = db1 dbname=postgres", "db1:5432", "")
	f("hostaddr=10.0.0.1 port=6432", "10.0.0.1:6432", "")
	f("dbname=postgres", "localhost:5432", "")
	f("postgres://u:s3cret@h:port/x", "", "the port is not a number")
	f("postgres://u:s3cret@h:99999/x", "", "the port is not a number")
	f("s3cret", "", "neither a postgres:// URL nor key=value pairs")
	f("password='s3cret", "", "a quoted value is not closed")
	f("postgres://h/x?a=%zz&password=s3cret", "", "parameters are not valid")
}

// FuzzDSNAddress feeds arbitrary connection strings to the parser: it
// must not panic, and its errors must not quote the DSN.
func FuzzDSNAddress(f *testing.F) {
	for _, s := range []string{
		"postgres://monitor:pw@127.0.0.1:5433/postgres?sslmode=disable",
		"postgres:///db?host=/tmp&port=5",
		"host='/a b' port=1 password='x\\'y'",
		"postgres://[::1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		_, err := dsnAddress(dsn)
		if err != nil && len(dsn) > 12 && strings.Contains(err.Error(), dsn) {
			t.Errorf("the error quotes the DSN: %v", err)
		}
	})
}
