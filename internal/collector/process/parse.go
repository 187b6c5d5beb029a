package process

import (
	"bytes"
	"errors"
	"fmt"
	"math"
)

// The parsers read the text of one proc file (proc(5)) without allocating
// on success; every one of them is fuzzed.

// errParse marks content that is not what proc(5) describes; the collector
// counts it as reason "parse".
var errParse = errors.New("unexpected content")

func parseErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errParse}, args...)...)
}

// procStat is what the collector uses of /proc/PID/stat.
type procStat struct {
	comm      []byte // aliases the parsed text
	state     byte   // R, S, D, Z...
	majflt    uint64
	utime     uint64 // clock ticks
	stime     uint64 // clock ticks
	threads   uint64
	starttime uint64 // clock ticks after boot
	vsize     uint64 // bytes
	rss       uint64 // pages
}

// parseStat parses /proc/PID/stat. The command name is between the first
// "(" and the last ")": it may hold spaces and parentheses itself, and no
// later field can hold a ")".
func parseStat(b []byte) (procStat, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, parseErrorf("stat: no (command name)")
	}
	s := procStat{comm: b[open+1 : end]}
	rest := b[end+1:]
	// Fields are numbered from 1 as in proc(5); the state, field 3, is the
	// first after the command name, and rss, field 24, the last we use.
	for n := 3; n <= 24; n++ {
		var f []byte
		f, rest = nextField(rest)
		if f == nil {
			return procStat{}, parseErrorf("stat: %d fields, want at least 24", n-1)
		}
		var ok bool
		switch n {
		case 3:
			s.state, ok = f[0], len(f) == 1
		case 12:
			s.majflt, ok = parseUint(f)
		case 14:
			s.utime, ok = parseUint(f)
		case 15:
			s.stime, ok = parseUint(f)
		case 20:
			s.threads, ok = parseNonNegative(f)
		case 22:
			s.starttime, ok = parseUint(f)
		case 23:
			s.vsize, ok = parseUint(f)
		case 24:
			s.rss, ok = parseNonNegative(f)
		default:
			continue
		}
		if !ok {
			return procStat{}, parseErrorf("stat: field %d is %q", n, f)
		}
	}
	return s, nil
}

// nextField returns the first space-separated field of b and the rest, or
// nil when b holds no field.
func nextField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
		i++
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\n' {
		j++
	}
	if i == j {
		return nil, nil
	}
	return b[i:j], b[j:]
}

// procStatus is what the collector uses of /proc/PID/status.
type procStatus struct {
	euid         uint64
	voluntary    uint64
	nonvoluntary uint64
}

// parseStatus parses /proc/PID/status: the effective uid and the context
// switch counts, which kernels have had since 2.6.23.
func parseStatus(b []byte) (procStatus, error) {
	var s procStatus
	var uid, vol, nonvol bool
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		var good bool
		switch string(key) {
		case "Uid":
			// Real, effective, saved and filesystem uid.
			_, rest := nextTabField(val)
			var f []byte
			f, _ = nextTabField(rest)
			s.euid, good = parseUint(f)
			uid = good
		case "voluntary_ctxt_switches":
			f, _ := nextTabField(val)
			s.voluntary, good = parseUint(f)
			vol = good
		case "nonvoluntary_ctxt_switches":
			f, _ := nextTabField(val)
			s.nonvoluntary, good = parseUint(f)
			nonvol = good
		default:
			continue
		}
		if !good {
			return procStatus{}, parseErrorf("status: %s is %q", key, val)
		}
	}
	if !uid || !vol || !nonvol {
		return procStatus{}, parseErrorf("status: no Uid or context switch lines")
	}
	return s, nil
}

// nextTabField is nextField for tab- or space-separated values.
func nextTabField(b []byte) (field, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == '\t' || b[i] == ' ') {
		i++
	}
	j := i
	for j < len(b) && b[j] != '\t' && b[j] != ' ' {
		j++
	}
	return b[i:j], b[j:]
}

// procIO is what the collector uses of /proc/PID/io.
type procIO struct {
	readBytes  uint64
	writeBytes uint64
}

// parseIO parses /proc/PID/io: the bytes read from and written to storage
// (read_bytes, write_bytes), not rchar and wchar, which count every read and
// write call, sockets and page cache hits included.
func parseIO(b []byte) (procIO, error) {
	var p procIO
	var r, w bool
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		var dst *uint64
		switch string(key) {
		case "read_bytes":
			dst, r = &p.readBytes, true
		case "write_bytes":
			dst, w = &p.writeBytes, true
		default:
			continue
		}
		f, _ := nextTabField(val)
		if *dst, ok = parseUint(f); !ok {
			return procIO{}, parseErrorf("io: %s is %q", key, val)
		}
	}
	if !r || !w {
		return procIO{}, parseErrorf("io: no read_bytes or write_bytes")
	}
	return p, nil
}

// parseMaxFDs returns the soft limit on open files from /proc/PID/limits,
// +Inf for "unlimited".
func parseMaxFDs(b []byte) (float64, error) {
	const prefix = "Max open files"
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		rest, ok := bytes.CutPrefix(line, []byte(prefix))
		if !ok {
			continue
		}
		f, _ := nextTabField(rest)
		if string(f) == "unlimited" {
			return math.Inf(1), nil
		}
		n, ok := parseUint(f)
		if !ok {
			return 0, parseErrorf("limits: max open files is %q", f)
		}
		return float64(n), nil
	}
	return 0, parseErrorf("limits: no %q line", prefix)
}

// parsePID parses a pid file: a positive decimal number, maybe surrounded
// by white space.
func parsePID(b []byte) (int, error) {
	f := bytes.TrimSpace(b)
	n, ok := parseUint(f)
	if !ok || n == 0 || n > math.MaxInt32 {
		return 0, parseErrorf("pid file holds %q, want a pid", truncate(f, 32))
	}
	return int(n), nil
}

// parseBootTime returns the btime line of /proc/stat: the boot time in
// seconds since the Unix epoch.
func parseBootTime(b []byte) (uint64, error) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		if rest, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			if n, ok := parseUint(bytes.TrimSpace(rest)); ok {
				return n, nil
			}
			return 0, parseErrorf("stat: btime is %q", truncate(rest, 32))
		}
	}
	return 0, parseErrorf("stat: no btime line")
}

// parseUint parses a non-empty decimal number that fits in 64 bits.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// parseNonNegative parses a field the kernel prints as signed but never
// negative in practice (rss, thread count); a negative value reads as 0.
func parseNonNegative(b []byte) (uint64, bool) {
	if len(b) > 1 && b[0] == '-' {
		_, ok := parseUint(b[1:])
		return 0, ok
	}
	return parseUint(b)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
