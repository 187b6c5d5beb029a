package diskio

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomicAndMap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, content := range []string{"first", "second, longer"} {
		if err := WriteFileAtomic(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		m, err := Map(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Bytes()) != content {
			t.Fatalf("mapped %q, want %q", m.Bytes(), content)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left behind: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	m, err := Map(empty)
	if err != nil || len(m.Bytes()) != 0 {
		t.Fatalf("empty file: %v %d", err, len(m.Bytes()))
	}
	m.Close()
	if _, err := Map(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("mapping a missing file succeeded")
	}
}

func TestPublishDirectory(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "x.tmp")
	os.Mkdir(tmp, 0o755)
	os.WriteFile(filepath.Join(tmp, "a"), []byte("12345"), 0o644)
	if err := SyncTree(tmp); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(dir, "x")
	if err := Publish(tmp, final); err != nil {
		t.Fatal(err)
	}
	n, err := DirSize(final)
	if err != nil || n != 5 {
		t.Fatalf("size %d, %v", n, err)
	}
	if err := RemoveAll(final); err != nil {
		t.Fatal(err)
	}
	if err := RemoveAll(final); err != nil {
		t.Fatalf("removing a missing dir: %v", err)
	}
}
