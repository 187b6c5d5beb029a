package tsdb

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// The crash test runs the test binary itself as a child that appends to a DB
// and prints the number of every batch it has committed ("ack N"); the parent
// kills it with SIGKILL at random moments, some of them during a flush or a
// compaction, reopens the DB and checks that every acknowledged batch is there
// with the right values, that an unacknowledged batch is there entirely or not
// at all, and that nothing else is. In the buffered variant the child commits
// through a BufferedAppender and prints "held N": a kill may lose the batches
// of the last BufferedDelay, but only a suffix of whole batches, and none held
// for long before the kill.

const (
	crashChildEnv    = "ARGUS_TSDB_CRASH_CHILD_DIR"
	crashStartEnv    = "ARGUS_TSDB_CRASH_CHILD_START"
	crashBufferedEnv = "ARGUS_TSDB_CRASH_CHILD_BUFFERED"
	crashSeries      = 50
	crashStepMillis  = 10
	crashBlockMillis = 1000
)

func crashOptions() Options {
	return Options{
		BlockDuration:   crashBlockMillis * time.Millisecond,
		FlushInterval:   time.Hour,
		WALSyncInterval: time.Hour,
		Retention:       365 * 24 * time.Hour,
		// Small segments so that rotation and truncation happen often too.
		WALSegmentSize: 64 << 10,
		BufferedDelay:  20 * time.Millisecond,
	}
}

// crashHeldMargin is how long before the kill a buffered batch must have been
// committed to be required after the restart: far more than BufferedDelay,
// so that a busy machine's late timer does not fail the test.
const crashHeldMargin = 500 * time.Millisecond

func crashLabels(i int) labels.Labels {
	return labels.FromStrings("__name__", "crash_test", "series", strconv.Itoa(i))
}

func crashValue(series, batch int) float64 { return float64(batch)*1000 + float64(series) }

// crashChild is the child's main.
func crashChild() {
	dir := os.Getenv(crashChildEnv)
	start, _ := strconv.Atoi(os.Getenv(crashStartEnv))
	buffered := os.Getenv(crashBufferedEnv) != ""
	db, err := Open(context.Background(), dir, crashOptions())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	say := func(s string) {
		mu.Lock()
		os.Stdout.WriteString(s + "\n")
		mu.Unlock()
	}
	go func() {
		for i := 0; ; i++ {
			time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
			if i%3 == 0 {
				say("compacting")
				db.Compact()
			} else {
				say("flushing")
				db.Flush()
			}
		}
	}()
	say("ready")
	refs := make([]uint64, crashSeries)
	for batch := start; ; batch++ {
		app, ack := db.Appender(), "ack "
		if buffered {
			app, ack = db.BufferedAppender(), "held "
		}
		for s := range crashSeries {
			refs[s], _ = app.Append(refs[s], crashLabels(s), int64(batch)*crashStepMillis, crashValue(s, batch))
		}
		if err := app.Commit(); err != nil {
			say("error " + err.Error())
			os.Exit(1)
		}
		say(ack + strconv.Itoa(batch))
		// Pace the writer (10 ms of sample time per 0.5 ms) so flushes and
		// compactions keep up and a kill lands on every kind of work.
		time.Sleep(500 * time.Microsecond)
	}
}

func TestCrashRecovery(t *testing.T) { crashRecovery(t, false) }

func TestCrashRecoveryBuffered(t *testing.T) { crashRecovery(t, true) }

func crashRecovery(t *testing.T, buffered bool) {
	if testing.Short() {
		t.Skip("crash test runs child processes")
	}
	dir := t.TempDir()
	rounds := 24
	if buffered {
		rounds = 8 // Its rounds are longer.
	}
	lastAcked := -1
	next := 0
	killedDuring := map[string]int{}
	heldChecked := 0
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashStartEnv+"="+strconv.Itoa(next))
		if buffered {
			cmd.Env = append(cmd.Env, crashBufferedEnv+"=1")
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		// Kill at a random line: every third round right after the child says it
		// starts a compaction or a flush, otherwise after a random number of acks.
		target := 20 + rand.IntN(400)
		if buffered {
			// Long enough that some batches were held well before the kill.
			target = 400 + rand.IntN(1200)
		}
		// The last batch committed (those before next are in the DB), and
		// when each held batch was read.
		lastCommitted := next - 1
		type heldBatch struct {
			n  int
			at time.Time
		}
		var heldAt []heldBatch
		held := func(line string) bool {
			n, ok := strings.CutPrefix(line, "held ")
			if ok {
				lastCommitted, _ = strconv.Atoi(n)
				heldAt = append(heldAt, heldBatch{lastCommitted, time.Now()})
			}
			return ok
		}
		waitFor := ""
		if round%3 == 1 {
			waitFor = "compacting"
		} else if round%3 == 2 {
			waitFor = "flushing"
		}
		acks, state := 0, ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "ack "):
				n, _ := strconv.Atoi(strings.TrimPrefix(line, "ack "))
				lastAcked, lastCommitted = n, n
				acks++
			case held(line):
				acks++
			case strings.HasPrefix(line, "error"):
				t.Fatalf("child: %s", line)
			case line == "compacting" || line == "flushing":
				state = line
			}
			if acks >= target && (waitFor == "" || line == waitFor) {
				break
			}
		}
		if waitFor != "" && state == waitFor {
			// Let the flush or compaction get going before the kill.
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		}
		killedAt := time.Now()
		cmd.Process.Signal(syscall.SIGKILL)
		// Acks the child printed before it died but we had not read yet count.
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				lastAcked, _ = strconv.Atoi(n)
				lastCommitted = lastAcked
			}
			held(sc.Text())
		}
		cmd.Wait()
		killedDuring[state]++
		// Batches held long before the kill must have been written.
		required := lastAcked
		for _, h := range heldAt {
			if killedAt.Sub(h.at) > crashHeldMargin {
				required = max(required, h.n)
				heldChecked++
			}
		}

		db := openTestDB(t, dir, crashOptions())
		got := query(t, db, math.MinInt64, math.MaxInt64)
		present := verifyCrashData(t, got, required, lastCommitted)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		next = present + 1
	}
	if buffered && heldChecked == 0 {
		t.Fatal("no batch was held long enough before a kill to be checked")
	}
	if !buffered && lastAcked < 1000 {
		t.Fatalf("only %d batches were acknowledged; the test did not exercise enough", lastAcked)
	}
	t.Logf("killed %d times (%v); last acknowledged batch %d; %d held batches checked", rounds, killedDuring, lastAcked, heldChecked)
}

// verifyCrashData checks every series holds batches 0..n for some n with
// required <= n <= lastCommitted+1 (one batch may have been in flight), with
// nothing missing, duplicated or foreign, and returns n.
func verifyCrashData(t *testing.T, got map[string][]sample, required, lastCommitted int) int {
	t.Helper()
	if len(got) != crashSeries {
		t.Fatalf("%d series after restart, want %d", len(got), crashSeries)
	}
	present := -1
	for s := range crashSeries {
		samples := got[crashLabels(s).String()]
		n := len(samples) - 1
		if s == 0 {
			present = n
		} else if n != present {
			t.Fatalf("series %d has batches 0..%d, series 0 has 0..%d: a commit was applied partially", s, n, present)
		}
		for b, smp := range samples {
			if smp.t != int64(b)*crashStepMillis || smp.v != crashValue(s, b) {
				t.Fatalf("series %d sample %d is %v, want t=%d v=%v", s, b, smp, int64(b)*crashStepMillis, crashValue(s, b))
			}
		}
	}
	if present < required {
		t.Fatalf("acknowledged (or long held) batch %d lost: only 0..%d present", required, present)
	}
	if present > lastCommitted+1 {
		t.Fatalf("batches up to %d present but only %d committed and one in flight", present, lastCommitted)
	}
	return present
}
