package integrationtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// PostgresPassword is the password of the superuser postgres of the
// clusters Postgres starts.
const PostgresPassword = "argus-test-pw"

// PostgresServer is a PostgreSQL cluster started by a test.
type PostgresServer struct {
	// Addr is the loopback host:port; Socket the unix socket's path.
	Addr, Socket string
	// Dir holds the data directory and the socket.
	Dir string

	bin string
}

// DSN returns a URL for the superuser, with the password.
func (s *PostgresServer) DSN() string {
	return fmt.Sprintf("postgres://postgres:%s@%s/postgres?sslmode=disable", PostgresPassword, s.Addr)
}

// postgresBin returns the directory of the newest PostgreSQL server
// installed: Debian keeps initdb and postgres out of PATH.
func postgresBin(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	t.Fatal("PostgreSQL is needed by this test; install the Debian package postgresql (.ci/run does)")
	return ""
}

// unprivileged is the user the servers run as when the tests run as root,
// which PostgreSQL refuses: nobody.
const unprivileged = 65534

// postgresCmd returns a command of the PostgreSQL installation, run as
// nobody when the test runs as root.
func (s *PostgresServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: unprivileged, Gid: unprivileged}}
	}
	return cmd
}

// ownedDir makes a directory the servers' user owns, in a temporary
// directory it can reach.
func ownedDir(t testing.TB, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, unprivileged, unprivileged); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// postgresTempDir returns a temporary directory the servers' user can
// reach: the test's own are private to root.
func postgresTempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Postgres starts a PostgreSQL cluster on a free loopback port, with a
// superuser postgres whose password is PostgresPassword (scram-sha-256 for
// TCP and the socket), and returns it. settings are more "name=value"
// server settings.
func Postgres(t testing.TB, settings ...string) *PostgresServer {
	t.Helper()
	s := &PostgresServer{bin: postgresBin(t), Dir: postgresTempDir(t)}
	pwFile := filepath.Join(s.Dir, "pw")
	if err := os.WriteFile(pwFile, []byte(PostgresPassword+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := ownedDir(t, s.Dir, "data")
	initdb := s.command("initdb", "-D", data, "-U", "postgres", "--auth=scram-sha-256", "--pwfile="+pwFile, "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.start(t, data, settings)
	return s
}

// PostgresReplica starts a streaming replica of primary, made with
// pg_basebackup, which holds the replication slot slot.
func PostgresReplica(t testing.TB, primary *PostgresServer, slot string) *PostgresServer {
	t.Helper()
	s := &PostgresServer{bin: primary.bin, Dir: postgresTempDir(t)}
	data := ownedDir(t, s.Dir, "data")
	host, port, _ := net.SplitHostPort(primary.Addr)
	bb := s.command("pg_basebackup", "-h", host, "-p", port, "-U", "postgres", "-D", data, "-R", "-C", "-S", slot, "--no-sync")
	bb.Env = append(os.Environ(), "PGPASSWORD="+PostgresPassword)
	if out, err := bb.CombinedOutput(); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	s.start(t, data, nil)
	return s
}

func (s *PostgresServer) start(t testing.TB, data string, settings []string) {
	t.Helper()
	s.Addr = FreeAddr(t)
	host, port, _ := net.SplitHostPort(s.Addr)
	sockDir := ownedDir(t, s.Dir, "sock")
	s.Socket = filepath.Join(sockDir, ".s.PGSQL."+port)
	args := []string{"-D", data, "-p", port, "-c", "listen_addresses=" + host,
		"-c", "unix_socket_directories=" + sockDir, "-c", "fsync=off"}
	for _, kv := range settings {
		args = append(args, "-c", kv)
	}
	cmd := s.command("postgres", args...)
	// A smart shutdown (SIGTERM) waits for clients to leave; a fast one
	// (SIGINT) ends their sessions. Cleanups run last-in first-out, so
	// this runs before StartCmd's SIGTERM.
	StartCmd(t, cmd, "postgres", s.Dir, "tcp", s.Addr)
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGINT) })
	// The port accepts connections before the server takes sessions.
	waitReady(t, s)
}

// waitReady waits until the server accepts sessions, with pg_isready.
func waitReady(t testing.TB, s *PostgresServer) {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.Addr)
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := exec.Command(filepath.Join(s.bin, "pg_isready"), "-h", host, "-p", port, "-t", "5").CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL at %s does not take sessions after 60s: %s", s.Addr, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
