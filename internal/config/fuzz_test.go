package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, whatever the input, and that
// an accepted config survives a Marshal/Parse round trip. The seed corpus
// is every fixture in testdata. Run it with
//
//	go test ./internal/config -run '^$' -fuzz FuzzParse -fuzztime 1m
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("scrape_configs: [{job_name: a, <<: {scheme: https}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yml")
		if err != nil {
			return
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("Marshal of an accepted config: %v", err)
		}
		if _, err := Parse(out, "marshalled.yml"); err != nil {
			t.Fatalf("Parse(Marshal()) = %v\ninput:\n%s\nmarshalled:\n%s", err, data, out)
		}
	})
}
