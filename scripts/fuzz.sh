#!/bin/sh
# Runs every fuzz target in the module for a short time each. `go test -fuzz`
# accepts one target per invocation, so this finds them and loops.
#
#   FUZZTIME=2m ./scripts/fuzz.sh          # longer runs
#   ./scripts/fuzz.sh ./internal/textparse  # one package
set -eu

fuzztime="${FUZZTIME:-20s}"
pkgs="${*:-./...}"
failed=0

for pkg in $(go list $pkgs); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
	for target in $targets; do
		echo "== $pkg $target ($fuzztime)"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"; then
			failed=1
		fi
	done
done

exit "$failed"
