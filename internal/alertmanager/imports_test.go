package alertmanager

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOwnEngine holds the design's line: the alert manager's engine is
// argus's, so no non-test file of the module imports Alertmanager's
// dispatch, inhibit, silence or nflog packages (its notify package, which
// the receiver integrations need, imports them; that is not ours to cut).
func TestOwnEngine(t *testing.T) {
	forbidden := []string{"dispatch", "inhibit", "silence", "nflog", "provider"}
	root := filepath.Join("..", "..")
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, pkg := range forbidden {
				up := "github.com/prometheus/alertmanager/" + pkg
				if p == up || strings.HasPrefix(p, up+"/") {
					t.Errorf("%s imports %s: the alert manager engine is argus's own", path, p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d Go files found under %s: wrong root?", checked, root)
	}
}
