#!/usr/bin/env bash
# Runs every fuzz target of every package for FUZZTIME each (make fuzz,
# make fuzz-short). A failing input is written to the package's
# testdata/fuzz/<target>, which plain go test replays, and fails the run.
#
# Go's fuzz coordinator (up to Go 1.26) can fail a target at the end of a
# -fuzztime window with a bare "context deadline exceeded" when a loaded
# machine delays a worker's shutdown: nothing was found and nothing was
# written. Such a run is retried, and fails only if it happens again.
set -uo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-60s}
cd "$(dirname "$0")/.."

failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for dir in $($GO list -f '{{.Dir}}' ./...); do
	for t in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$dir"/*_test.go 2>/dev/null); do
		for try in 1 2; do
			echo "fuzz: $t in ./${dir#"$PWD"/} for $FUZZTIME (try $try)"
			before=$(ls "$dir/testdata/fuzz/$t" 2>/dev/null | wc -l)
			$GO test "$dir" -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" 2>&1 | tee "$log"
			rc=${PIPESTATUS[0]}
			[ "$rc" = 0 ] && break
			after=$(ls "$dir/testdata/fuzz/$t" 2>/dev/null | wc -l)
			if [ "$try" = 1 ] && [ "$after" = "$before" ] &&
				grep -q '^    context deadline exceeded$' "$log" &&
				! grep -q 'Failing input written to' "$log"; then
				echo "fuzz: $t stopped at its deadline with no failing input (a Go fuzz coordinator race); running it again"
				continue
			fi
			echo "fuzz: $t FAILED"
			failed=1
			break
		done
	done
done
exit $failed
