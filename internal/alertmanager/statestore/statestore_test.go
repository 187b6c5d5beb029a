package statestore

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := db.Put(ctx, "silences", "a", []byte("1"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Put(ctx, "silences", "a", []byte("2"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Put(ctx, "silences", "old", []byte("x"), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Put(ctx, "nflog", "a", []byte("y"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	recs, err := db.List(ctx, "silences")
	if err != nil || len(recs) != 2 || string(recs[0].Value) != "2" {
		t.Fatalf("List = %v, %v", recs, err)
	}
	n, err := db.Expire(ctx, now, now.Add(-time.Hour), 0)
	if err != nil || n != 1 {
		t.Fatalf("Expire = %d, %v; want 1", n, err)
	}
	db.Close()

	// Reopened, the data is still there.
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, _ = db.List(ctx, "silences")
	if len(recs) != 1 || recs[0].Key != "a" {
		t.Fatalf("after reopen: %v", recs)
	}
	if err := db.Delete(ctx, "silences", "a"); err != nil {
		t.Fatal(err)
	}
	recs, _ = db.List(ctx, "silences")
	if len(recs) != 0 {
		t.Fatalf("after delete: %v", recs)
	}
}

func TestEvents(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := time.UnixMilli(1_700_000_000_000)
	var evs []Event
	for i := range 10 {
		kind := "state"
		if i%2 == 1 {
			kind = "notification"
		}
		evs = append(evs, Event{Time: base.Add(time.Duration(i) * time.Second), Kind: kind, Fingerprint: "fp1", Receiver: "r"})
	}
	if err := db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	got, err := db.Events(ctx, EventQuery{Kind: "notification", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Time.Equal(base.Add(9*time.Second)) || string(got[0].Data) != "{}" {
		t.Fatalf("Events = %+v", got)
	}
	got, _ = db.Events(ctx, EventQuery{Since: base.Add(8 * time.Second)})
	if len(got) != 2 {
		t.Fatalf("since: %d events, want 2", len(got))
	}
	if _, err := db.Expire(ctx, base, base.Add(5*time.Second), 0); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Events(ctx, EventQuery{})
	if len(got) != 5 {
		t.Fatalf("after expire: %d events, want 5", len(got))
	}
	// A size bound keeps the newest events, whatever their age.
	n, err := db.Expire(ctx, base, base, 3)
	if err != nil || n != 2 {
		t.Fatalf("trim to 3: %d deleted, %v; want 2", n, err)
	}
	got, _ = db.Events(ctx, EventQuery{})
	if len(got) != 3 || !got[0].Time.Equal(base.Add(9*time.Second)) || !got[2].Time.Equal(base.Add(7*time.Second)) {
		t.Fatalf("after trim: %+v", got)
	}
	// New events after a trim are kept, the oldest go.
	if err := db.AppendEvents(ctx, []Event{{Time: base.Add(10 * time.Second), Kind: "state"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Expire(ctx, base, base, 3); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Events(ctx, EventQuery{})
	if len(got) != 3 || !got[0].Time.Equal(base.Add(10*time.Second)) || !got[2].Time.Equal(base.Add(8*time.Second)) {
		t.Fatalf("after a second trim: %+v", got)
	}
	// An empty log is no error.
	if _, err := db.Expire(ctx, base, base.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Expire(ctx, base, base, 3); err != nil {
		t.Fatal(err)
	}
}

// TestSurvivesKill writes from a child process that is killed with
// SIGKILL right after its commits, and checks every commit is there.
func TestSurvivesKill(t *testing.T) {
	if os.Getenv("STATESTORE_CHILD") != "" {
		ctx := context.Background()
		db, err := Open(ctx, os.Getenv("STATESTORE_CHILD"))
		if err != nil {
			os.Exit(3)
		}
		for i := range 100 {
			if err := db.Put(ctx, "b", string(rune('a'+i%26))+string(rune('0'+i/26)), []byte("v"), time.Now().Add(time.Hour)); err != nil {
				os.Exit(4)
			}
		}
		os.Stdout.WriteString("done\n")
		os.Stdout.Sync()
		time.Sleep(time.Hour)
	}
	path := filepath.Join(t.TempDir(), "state.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSurvivesKill$")
	cmd.Env = append(os.Environ(), "STATESTORE_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "done\n" {
		cmd.Process.Kill()
		t.Fatalf("child: %q %v", buf, err)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.List(context.Background(), "b")
	if err != nil || len(recs) != 100 {
		t.Fatalf("after kill -9: %d records, %v; want 100", len(recs), err)
	}
}

func FuzzEventQuery(f *testing.F) {
	db, err := Open(context.Background(), filepath.Join(f.TempDir(), "state.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	f.Add("state", "fp", "r'; DROP TABLE events; --", 10)
	f.Fuzz(func(t *testing.T, kind, fp, recv string, limit int) {
		if _, err := db.Events(context.Background(), EventQuery{Kind: kind, Fingerprint: fp, Receiver: recv, Limit: limit}); err != nil {
			t.Fatal(err)
		}
	})
}
