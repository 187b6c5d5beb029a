package nginx

import (
	"testing"
)

func TestParseLine(t *testing.T) {
	f := func(line string, want entry, wantErr bool) {
		t.Helper()
		got, err := parseLine([]byte(line))
		if (err != nil) != wantErr {
			t.Fatalf("parseLine(%q): error %v, want error %v", line, err, wantErr)
		}
		if !wantErr && got != want {
			t.Errorf("parseLine(%q) = %+v, want %+v", line, got, want)
		}
	}
	f("web\tapi\t200\t0.012\t150\t-", entry{key: seriesKey{"web", "api", "2xx"}, duration: 0.012, bytes: 150}, false)
	f("\t\t499\t1.5\t0\t-", entry{key: seriesKey{"", "", "4xx"}, duration: 1.5}, false)
	f("web\t\t502\t0.300\t300\t0.100, 0.150 : 0.050", entry{key: seriesKey{"web", "", "5xx"}, duration: 0.3, bytes: 300,
		upstream: 0.3, hasUpstream: true}, false)
	f("web\t\t502\t0.300\t300\t-, 0.150", entry{key: seriesKey{"web", "", "5xx"}, duration: 0.3, bytes: 300,
		upstream: 0.15, hasUpstream: true}, false)
	f("web\tapi\t200\t0.012\t150", entry{}, true)                                         // a field short
	f("web\tapi\t200\t0.012\t150\t-\textra", entry{}, true)                               // a field more
	f("web\tapi\t600\t0.012\t150\t-", entry{}, true)                                      // no such status
	f("web\tapi\t20\t0.012\t150\t-", entry{}, true)                                       // too short
	f("web\tapi\t2x0\t0.012\t150\t-", entry{}, true)                                      // not a number
	f("web\tapi\t200\t-0.1\t150\t-", entry{}, true)                                       // negative time
	f("web\tapi\t200\tNaN\t150\t-", entry{}, true)                                        // not a time
	f("web\tapi\t200\t0.1\tmany\t-", entry{}, true)                                       // bytes
	f("web\tapi\t200\t0.1\t1\tslow", entry{}, true)                                       // upstream time
	f(`127.0.0.1 - - [27/Nov/2026:07:46:56 +0000] "GET / HTTP/1.1" 200 5`, entry{}, true) // the combined format
}

func TestParseStubStatus(t *testing.T) {
	s, err := parseStubStatus([]byte("Active connections: 291 \nserver accepts handled requests\n 16630948 16630947 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n"))
	if err != nil {
		t.Fatal(err)
	}
	want := stubStatus{active: 291, accepts: 16630948, handled: 16630947, requests: 31070465, reading: 6, writing: 179, waiting: 106}
	if *s != want {
		t.Errorf("got %+v, want %+v", *s, want)
	}
	for _, bad := range []string{
		"",
		"Active connections: 1\n",
		"Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1\n",
		"Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0\nmore\n",
		"Active connections: -1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0\n",
	} {
		if _, err := parseStubStatus([]byte(bad)); err == nil {
			t.Errorf("parseStubStatus(%q): no error", bad)
		}
	}
}
