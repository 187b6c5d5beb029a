//go:build linux

package process

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestLive runs a child process under a command name of its own, finds it
// in the real /proc by comm and by pid file, and checks that it is gone
// once killed and reaped.
func TestLive(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	// The kernel names a process after the file it executes, here a
	// symlink: at most 15 bytes, unique to this test run.
	name := fmt.Sprintf("argus-t-%d", os.Getpid()%10_000_000)
	dir := t.TempDir()
	exe := filepath.Join(dir, name)
	if err := os.Symlink(sleep, exe); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	pidFile := filepath.Join(dir, "child.pid")
	writeFile(t, pidFile, strconv.Itoa(cmd.Process.Pid)+"\n")
	exited := false
	t.Cleanup(func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})

	// First-match-wins would hide the child from the second group, so
	// each matcher gets a collector of its own.
	matchers := map[string]Matcher{
		"by comm":     {Name: "child", Comm: regexp.MustCompile("^" + regexp.QuoteMeta(name) + "$")},
		"by pid file": {Name: "child", PIDFile: pidFile, Cmdline: regexp.MustCompile(regexp.QuoteMeta(name) + " 30$")},
		"per process": {Name: "child", PIDFile: pidFile, PerProcess: true},
	}
	collectors := map[string]*Collector{}
	for how, m := range matchers {
		c, err := New(Options{Groups: []Matcher{m}})
		if err != nil {
			t.Fatal(err)
		}
		collectors[how] = c
	}
	series := `{group="child"}`
	perProcess := fmt.Sprintf(`{group="child",pid="%d",comm=%q}`, cmd.Process.Pid, name)

	// The child may not have exec'd yet; wait until it has its name.
	deadline := time.Now().Add(10 * time.Second)
	for collect(t, collectors["by comm"])[`process_group_processes{group="child"}`] != 1 {
		if time.Now().After(deadline) {
			t.Fatal("child not found by comm within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for how, c := range collectors {
		got := collect(t, c)
		s := series
		if how == "per process" {
			s = perProcess
		}
		checkSane(t, how, got, s, started)
		checkSane(t, how+", self", got, `{group="argus"}`, time.Time{})
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() // the error is the kill's
	exited = true
	for how, c := range collectors {
		got := collect(t, c)
		if n := got[`process_group_processes{group="child"}`]; n != 0 {
			t.Errorf("%s: %v processes after the kill, want 0", how, n)
		}
		if _, ok := got["process_resident_memory_bytes"+series]; ok {
			t.Errorf("%s: resident memory reported after the kill", how)
		}
		if _, ok := got["process_resident_memory_bytes"+perProcess]; ok {
			t.Errorf("%s: per-process series reported after the kill", how)
		}
	}
}

// checkSane checks the values of one group or process for a live process
// started at started (zero: any time before now).
func checkSane(t *testing.T, how string, got map[string]float64, series string, started time.Time) {
	t.Helper()
	get := func(name string) float64 {
		v, ok := got[name+series]
		if !ok {
			t.Errorf("%s: %s%s missing", how, name, series)
		}
		return v
	}
	now := float64(time.Now().Unix())
	if v := get("process_resident_memory_bytes"); v < 4096 || v > 1<<34 {
		t.Errorf("%s: resident memory %v", how, v)
	}
	if v := get("process_virtual_memory_bytes"); v < get("process_resident_memory_bytes") {
		t.Errorf("%s: virtual memory %v below resident", how, v)
	}
	if v := get("process_threads"); v < 1 {
		t.Errorf("%s: %v threads", how, v)
	}
	// The child has at least stdin, stdout and stderr open (/dev/null).
	if v := get("process_open_fds"); v < 3 || v > get("process_max_fds") {
		t.Errorf("%s: %v open fds, limit %v", how, v, get("process_max_fds"))
	}
	start := get("process_start_time_seconds")
	earliest := now - 3600
	if !started.IsZero() {
		// Clock ticks and the boot time are coarse: allow a few seconds.
		earliest = float64(started.Unix()) - 5
	}
	if start < earliest || start > now+5 {
		t.Errorf("%s: start time %v, want within [%v, %v]", how, start, earliest, now+5)
	}
	if v := get("process_cpu_seconds_total"); v < 0 || v > now-start+60 {
		t.Errorf("%s: %v CPU seconds", how, v)
	}
	get("process_io_read_bytes_total")
	get("process_major_page_faults_total")
}
