#!/usr/bin/env bash
# Loading a 16 M-word (128 MiB) trace file from the model: abi.LoadTrace
# in process, then the wall time and peak memory of `kcovdf stats` and of
# `kcovdf decode --bench 1` (one decode, so the rest is loading). Three runs
# each, medians. KCOVDF=path measures another kcovdf binary on the same
# trace.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/kcovdf" ./cmd/kcovdf
kcovdf=${KCOVDF:-$work/kcovdf}
"$work/kcovdf" sim --words 16777216 --lookalike 0.1 -o "$work/trace.kdf" \
	--layout-out "$work/layout.jsonl" >/dev/null
ls -l "$work/trace.kdf" | awk '{ printf "trace file: %d bytes\n", $5 }'

median() { sort -n | sed -n 2p; }

# measure LABEL COMMAND...: three runs, median wall time, CPU time (user
# and system: what a shared machine does not inflate) and peak RSS.
measure() {
	local label=$1 t c m
	shift
	for _ in 1 2 3; do
		/usr/bin/time -o "$work/time" -f '%e %U %S %M' "$@" >/dev/null 2>&1 ||
			{ echo "$label: $* failed" >&2; exit 1; }
		cat "$work/time"
	done >"$work/runs"
	t=$(awk '{ print $1 }' "$work/runs" | median)
	c=$(awk '{ print $2 + $3 }' "$work/runs" | median)
	m=$(awk '{ print $4 }' "$work/runs" | median)
	echo "$label: medians of 3 runs: $t s wall, $c s CPU, peak RSS $((m / 1024)) MiB (wall: $(awk '{ printf "%s ", $1 }' "$work/runs")s)"
}

if [ -z "${KCOVDF:-}" ]; then
	go test ./abi -run '^$' -bench '^BenchmarkLoadTrace$' -count 3 |
		awk '/^BenchmarkLoadTrace/ { print $3 / 1e6 }' | median |
		awk '{ printf "abi.LoadTrace: median of 3 benchmark runs %.1f ms\n", $1 }'
fi
measure "kcovdf stats --layout" "$kcovdf" stats --layout "$work/layout.jsonl" "$work/trace.kdf"
measure "kcovdf decode --bench 1 --layout" "$kcovdf" decode --layout "$work/layout.jsonl" --bench 1 "$work/trace.kdf"
