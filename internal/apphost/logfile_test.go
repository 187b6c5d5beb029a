package apphost

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLogFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	l, err := openLogFile(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"one\n", "two\n", "three\n", "four\n"} {
		if _, err := l.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// "one\ntwo\n" fits in 10 bytes; "three\n" would not, so it starts a
	// new file; "four\n" would not fit beside it either.
	for file, want := range map[string]string{path: "four\n", path + ".1": "three\n"} {
		if b, err := os.ReadFile(file); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", filepath.Base(file), b, err, want)
		}
	}
	if _, err := l.Write([]byte("late\n")); err == nil {
		t.Error("write after Close succeeded")
	}
}
