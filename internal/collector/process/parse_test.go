package process

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	f := func(line string, want procStat) {
		t.Helper()
		got, err := parseStat([]byte(line))
		if err != nil {
			t.Errorf("parseStat(%q): %v", line, err)
			return
		}
		if !bytes.Equal(got.comm, want.comm) {
			t.Errorf("parseStat(%q) comm %q, want %q", line, got.comm, want.comm)
		}
		got.comm, want.comm = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parseStat(%q) = %+v, want %+v", line, got, want)
		}
	}
	f("1 (init) S 0 1 1 0 -1 4194560 100 200 7 3 11 12 0 0 20 0 2 0 30 4096 5 18446744073709551615 1 2\n",
		procStat{comm: []byte("init"), state: 'S', majflt: 7, utime: 11, stime: 12, threads: 2, starttime: 30, vsize: 4096, rss: 5})
	// A command name with spaces, parentheses and a newline.
	f("42 (a) b) (c\n) R 1 1 1 0 -1 0 0 0 1 0 2 3 0 0 20 0 1 0 4 5 6",
		procStat{comm: []byte("a) b) (c\n"), state: 'R', majflt: 1, utime: 2, stime: 3, threads: 1, starttime: 4, vsize: 5, rss: 6})
	f("7 () Z 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0 -1",
		procStat{comm: []byte{}, state: 'Z', threads: 1, starttime: 9})

	for _, bad := range []string{
		"",
		"1 init S 0",
		"1 (init S 0 1",
		"1 (init) S 0 1 1 0 -1 4194560 100 200 7 3 11 12 0 0 20 0 2 0 30 4096",                   // 23 fields
		"1 (init) S 0 1 1 0 -1 4194560 100 200 x 3 11 12 0 0 20 0 2 0 30 4096 5",                 // majflt
		"1 (init) S 0 1 1 0 -1 4194560 100 200 7 3 11 12 0 0 20 0 2 0 30 99999999999999999999 5", // overflow
		"1 )init( S 0 1 1 0 -1 4194560 100 200 7 3 11 12 0 0 20 0 2 0 30 4096 5",
		"1 (init) SS 0 1 1 0 -1 4194560 100 200 7 3 11 12 0 0 20 0 2 0 30 4096 5",
	} {
		if s, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) = %+v, want an error", bad, s)
		}
	}
}

func TestParseStatus(t *testing.T) {
	b, err := os.ReadFile("testdata/proc/9271/status")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := (procStatus{euid: 0, voluntary: 10, nonvoluntary: 3}); got != want {
		t.Errorf("parseStatus = %+v, want %+v", got, want)
	}
	got, err = parseStatus([]byte("Uid:\t1000\t1001\t1000\t1000\nvoluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t6\n"))
	if want := (procStatus{euid: 1001, voluntary: 5, nonvoluntary: 6}); err != nil || got != want {
		t.Errorf("parseStatus = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{
		"",
		"Uid:\t1000\n",
		"Uid:\t1000\t1000\t1000\t1000\nvoluntary_ctxt_switches:\t5\n",
		"Uid:\t1000\tx\t1000\t1000\nvoluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t6\n",
		"voluntary_ctxt_switches:\t5\nnonvoluntary_ctxt_switches:\t6\n",
	} {
		if s, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q) = %+v, want an error", bad, s)
		}
	}
}

func TestParseIO(t *testing.T) {
	got, err := parseIO([]byte("rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 6\ncancelled_write_bytes: 7\n"))
	if want := (procIO{readBytes: 5, writeBytes: 6}); err != nil || got != want {
		t.Errorf("parseIO = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"", "read_bytes: 5\n", "read_bytes: x\nwrite_bytes: 6\n"} {
		if p, err := parseIO([]byte(bad)); err == nil {
			t.Errorf("parseIO(%q) = %+v, want an error", bad, p)
		}
	}
}

func TestParseMaxFDs(t *testing.T) {
	b, err := os.ReadFile("testdata/proc/2/limits")
	if err != nil {
		t.Fatal(err)
	}
	f := func(in string, want float64) {
		t.Helper()
		if got, err := parseMaxFDs([]byte(in)); err != nil || got != want {
			t.Errorf("parseMaxFDs(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	f(string(b), 1024)
	f("Max open files            unlimited            unlimited            files     \n", math.Inf(1))
	for _, bad := range []string{"", "Max processes 5 5 processes\n", "Max open files   many  many files\n"} {
		if n, err := parseMaxFDs([]byte(bad)); err == nil {
			t.Errorf("parseMaxFDs(%q) = %v, want an error", bad, n)
		}
	}
}

func TestParsePID(t *testing.T) {
	for in, want := range map[string]int{"1": 1, "4242\n": 4242, "  77 \n": 77} {
		if got, err := parsePID([]byte(in)); err != nil || got != want {
			t.Errorf("parsePID(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "12 13", "abc", "99999999999"} {
		if n, err := parsePID([]byte(bad)); err == nil {
			t.Errorf("parsePID(%q) = %d, want an error", bad, n)
		}
	}
}

func TestParseBootTime(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "proc", "stat"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := parseBootTime(b); err != nil || got != 1795724524 {
		t.Errorf("parseBootTime = %d, %v; want 1795724524", got, err)
	}
	for _, bad := range []string{"", "cpu 1 2 3\n", "btime soon\n"} {
		if n, err := parseBootTime([]byte(bad)); err == nil {
			t.Errorf("parseBootTime(%q) = %d, want an error", bad, n)
		}
	}
}

func TestParseUint(t *testing.T) {
	f := func(in string, want uint64, wantOK bool) {
		t.Helper()
		if got, ok := parseUint([]byte(in)); got != want || ok != wantOK {
			t.Errorf("parseUint(%q) = %d, %v; want %d, %v", in, got, ok, want, wantOK)
		}
	}
	f("0", 0, true)
	f("18446744073709551615", math.MaxUint64, true)
	f("18446744073709551616", 0, false)
	f("", 0, false)
	f("-1", 0, false)
	f("1 ", 0, false)
}

// FuzzParseStat formats a stat line as the kernel does around any command
// name and checks that the fields come back.
func FuzzParseStat(f *testing.F) {
	f.Add("sleep", uint64(1), uint64(2), uint64(3), uint64(4), uint64(5), uint64(6), uint64(7))
	f.Add("my (weird) app", uint64(0), uint64(0), uint64(977126), uint64(2990080), uint64(417), uint64(1), uint64(0))
	f.Add(") S 1 2 (", uint64(math.MaxUint64), uint64(0), uint64(1), uint64(0), uint64(0), uint64(0), uint64(0))
	f.Add("", uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, comm string, utime, stime, start, vsize, rss, threads, majflt uint64) {
		if strings.IndexByte(comm, 0) >= 0 {
			return // the kernel's names end at a NUL
		}
		line := fmt.Sprintf("4242 (%s) S 1 1 1 0 -1 4194304 210 0 %d 0 %d %d 0 0 20 0 %d 0 %d %d %d 18446744073709551615 1 2 3\n",
			comm, majflt, utime, stime, threads, start, vsize, rss)
		got, err := parseStat([]byte(line))
		if err != nil {
			t.Fatalf("parseStat(%q): %v", line, err)
		}
		want := procStat{state: 'S', majflt: majflt, utime: utime, stime: stime, threads: threads, starttime: start, vsize: vsize, rss: rss}
		if string(got.comm) != comm {
			t.Errorf("comm %q, want %q", got.comm, comm)
		}
		got.comm = nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parseStat(%q) = %+v, want %+v", line, got, want)
		}
	})
}

// FuzzParse feeds any bytes to every parser: none may panic, and the
// command name parseStat returns is always inside its input.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"stat", "status", "io", "limits"} {
		b, err := os.ReadFile(filepath.Join("testdata", "proc", "9271", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("1 (a) b) S 1 2 3"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := parseStat(b); err == nil && !bytes.Contains(b, s.comm) {
			t.Errorf("comm %q is not in the input", s.comm)
		}
		parseStatus(b)
		parseIO(b)
		parseMaxFDs(b)
		parsePID(b)
		parseBootTime(b)
	})
}
