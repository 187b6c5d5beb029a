package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/auth"
	"github.com/argus-mon/argus/internal/state"
)

// storeFlags are the flags every command on the state store takes, as
// `argus server` does.
type storeFlags struct {
	config, data *string
}

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		config: fs.String("config", "", "config file, for its state section"),
		data:   fs.String("data", "data", "data directory holding the state store (unless the config puts it elsewhere)"),
	}
}

func (f storeFlags) open(ctx context.Context) (*state.DB, error) {
	cfg, err := loadConfig(*f.config)
	if err != nil {
		return nil, err
	}
	return openState(ctx, cfg, *f.data)
}

// checkArgs checks that sub is one of the subcommands and has as many
// arguments as it takes.
func checkArgs(sub string, pos []string, takes map[string]int, use string) error {
	if n, ok := takes[sub]; !ok || len(pos) != n {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	return nil
}

// cliActor names the command line in the audit log, with the OS user.
func cliActor() string {
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

// readPassword reads a password from the first line of in (a pipe, or
// the terminal, where it echoes: pipe it to keep it off the screen).
func readPassword(in io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin; pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | argus user add ...")
	}
	return pw, nil
}

// userCmd is `argus user add|passwd|role|del|list`.
func userCmd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	const use = "argus user add NAME --role ROLE | passwd NAME | role NAME ROLE | del NAME | list [--config F] [--data DIR]"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := newFlagSet("user " + args[0])
	sf := addStoreFlags(fs)
	roleFlag := fs.String("role", "", "the user's role: viewer, editor or admin")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if err := checkArgs(args[0], pos, map[string]int{"add": 1, "passwd": 1, "role": 2, "del": 1, "list": 0}, use); err != nil {
		return err
	}
	db, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	audit := func(action, target string) {
		if err := db.AppendAudit(ctx, state.AuditEntry{Actor: cliActor(), Action: action, Target: target}); err != nil {
			fmt.Fprintf(os.Stderr, "argus: warning: %v\n", err)
		}
	}
	switch args[0] {
	case "add":
		role, err := auth.ParseRole(*roleFlag)
		if err != nil {
			return fmt.Errorf("%w: --role: %v", errUsage, err)
		}
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		if _, err := auth.AddUser(ctx, db, pos[0], role, pw, false); err != nil {
			return err
		}
		audit("user add", pos[0])
		fmt.Fprintf(stdout, "user %s added with role %s\n", pos[0], role)
	case "passwd":
		pw, err := readPassword(stdin)
		if err != nil {
			return err
		}
		if err := auth.SetPassword(ctx, db, pos[0], pw); err != nil {
			return err
		}
		audit("user passwd", pos[0])
		fmt.Fprintf(stdout, "password of %s changed; its sessions ended\n", pos[0])
	case "role":
		role, err := auth.ParseRole(pos[1])
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if _, err := db.UpdateUser(ctx, pos[0], role.String(), "", false); err != nil {
			return err
		}
		audit("user role", pos[0])
		fmt.Fprintf(stdout, "user %s is now %s\n", pos[0], role)
	case "del":
		if err := db.DeleteUser(ctx, pos[0]); err != nil {
			return err
		}
		audit("user del", pos[0])
		fmt.Fprintf(stdout, "user %s deleted\n", pos[0])
	case "list":
		users, err := db.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tNOTE")
		for _, u := range users {
			note := ""
			if u.MustChange {
				note = "must change password"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, u.Created.UTC().Format(time.RFC3339), note)
		}
		return tw.Flush()
	}
	return nil
}

// tokenCmd is `argus token create|list|revoke`.
func tokenCmd(ctx context.Context, args []string, stdout io.Writer) error {
	const use = "argus token create NAME --role ROLE [--expires 30d] | list | revoke ID [--config F] [--data DIR]"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := newFlagSet("token " + args[0])
	sf := addStoreFlags(fs)
	roleFlag := fs.String("role", "", "the token's role: viewer, editor or admin")
	expires := fs.String("expires", "", "lifetime, such as 30d; default: does not expire")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if err := checkArgs(args[0], pos, map[string]int{"create": 1, "list": 0, "revoke": 1}, use); err != nil {
		return err
	}
	db, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "create":
		role, err := auth.ParseRole(*roleFlag)
		if err != nil {
			return fmt.Errorf("%w: --role: %v", errUsage, err)
		}
		var lifetime time.Duration
		if *expires != "" {
			d, err := model.ParseDuration(*expires)
			if err != nil || d <= 0 {
				return fmt.Errorf("%w: --expires %q: want a duration such as 30d", errUsage, *expires)
			}
			lifetime = time.Duration(d)
		}
		t, secret, err := auth.NewToken(ctx, db, pos[0], role, cliActor(), lifetime, time.Now())
		if err != nil {
			return err
		}
		db.AppendAudit(ctx, state.AuditEntry{Actor: cliActor(), Action: "token create", Target: fmt.Sprint(t.ID)})
		// The secret goes to stdout alone, so that a script can capture
		// it; it is not stored and cannot be shown again.
		fmt.Fprintln(stdout, secret)
	case "list":
		ts, err := db.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED BY\tEXPIRES\tLAST USED\tREVOKED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%v\n", t.ID, t.Name, t.Role, t.CreatedBy, orNever(t.Expires), orNever(t.LastUsed), t.Revoked)
		}
		return tw.Flush()
	case "revoke":
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return fmt.Errorf("%w: token id %q is not a number (see argus token list)", errUsage, pos[0])
		}
		if _, err := db.RevokeToken(ctx, id); err != nil {
			return err
		}
		db.AppendAudit(ctx, state.AuditEntry{Actor: cliActor(), Action: "token revoke", Target: pos[0]})
		fmt.Fprintf(stdout, "token %d revoked\n", id)
	}
	return nil
}

func orNever(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// stateCmd is `argus state backup FILE` and `argus state migrate --to
// postgres --dsn DSN`.
func stateCmd(ctx context.Context, args []string, stdout io.Writer) error {
	const use = "argus state backup FILE | migrate --to postgres --dsn DSN [--config F] [--data DIR]"
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, use)
	}
	fs := newFlagSet("state " + args[0])
	sf := addStoreFlags(fs)
	to := fs.String("to", "", "the destination's driver: postgres")
	dsn := fs.String("dsn", "", "the destination's connection string (or ARGUS_STATE_DSN)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	db, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	switch {
	case args[0] == "backup" && len(pos) == 1:
		if err := db.Backup(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "state store backed up to %s\n", pos[0])
		return nil
	case args[0] == "migrate" && len(pos) == 0:
		if *to != state.DriverPostgres {
			return fmt.Errorf("%w: --to postgres is the one destination", errUsage)
		}
		d := *dsn
		if d == "" {
			d = os.Getenv("ARGUS_STATE_DSN")
		}
		dst, err := state.OpenPostgres(ctx, d)
		if err != nil {
			return err
		}
		defer dst.Close()
		counts, err := db.CopyTo(ctx, dst)
		if err != nil {
			return err
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		fmt.Fprintf(stdout, "copied %d rows (%d dashboards, %d users, %d silences and notification log records, %d history events); now set state.driver: postgres with its dsn in the config\n",
			total, counts["dashboards"], counts["users"], counts["records"], counts["events"])
		return nil
	}
	return fmt.Errorf("%w: %s", errUsage, use)
}
