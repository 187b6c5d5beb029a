package node

import (
	"os"
	"path/filepath"
	"testing"
)

// Fuzz targets for the procfs parsers: whatever a file contains, parsing
// must return an error or a result, never panic. Run one with e.g.
//
//	go test ./internal/collector/node -run '^$' -fuzz FuzzParseStat -fuzztime 30s

// addFixtureSeed seeds f with the fixture copy of a real procfs file.
func addFixtureSeed(f *testing.F, rel string) {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/fixture/proc", rel))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
}

func FuzzParseStat(f *testing.F) {
	addFixtureSeed(f, "stat")
	f.Add("cpu0 1 2 3\n")
	f.Add("cpu18446744073709551616 1 2 3 4\nintr")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parseStat(s)
		if err != nil {
			return
		}
		for _, cpu := range st.cpus {
			if cpu.id == "" {
				t.Errorf("cpu without id from %q", s)
			}
		}
	})
}

func FuzzParseNetDev(f *testing.F) {
	addFixtureSeed(f, "net/dev")
	f.Add("eth0:")
	f.Add(":1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseNetDev(s)
	})
}

func FuzzParseMounts(f *testing.F) {
	addFixtureSeed(f, "mounts")
	f.Add(`a \ b c`)
	f.Add("a \\04 b c\n\\777 \\1 x y")
	f.Fuzz(func(t *testing.T, s string) {
		mounts, err := parseMounts(s)
		if err != nil {
			return
		}
		for _, m := range mounts {
			if m.device == "" || m.mountPoint == "" || m.fsType == "" || m.options == "" {
				t.Errorf("mount with an empty field %+v from %q", m, s)
			}
			_ = m.readOnly()
		}
	})
}

func FuzzParseMeminfo(f *testing.F) {
	addFixtureSeed(f, "meminfo")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseMeminfo(s)
	})
}

func FuzzParseDiskstats(f *testing.F) {
	addFixtureSeed(f, "diskstats")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseDiskstats(s)
	})
}

func FuzzParseNetstat(f *testing.F) {
	addFixtureSeed(f, "net/netstat")
	addFixtureSeed(f, "net/snmp")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseNetstat(s, nil)
		_, _ = parseSNMP6(s, nil)
	})
}

func FuzzParseCPUList(f *testing.F) {
	f.Add("0-3,5")
	f.Add("-1")
	f.Fuzz(func(t *testing.T, s string) {
		cpus, err := parseCPUList(s)
		if err == nil && len(cpus) > 1<<20 {
			t.Errorf("%d cpus from %q", len(cpus), s)
		}
	})
}
