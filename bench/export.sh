#!/usr/bin/env bash
# Exports of a full 16 M-word (128 MiB) trace from the model, each format,
# then a DuckDB aggregate over its Parquet tables: three runs of each
# command, median wall time, CPU time (user and system: what a shared
# machine does not inflate) and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/kcovdf" ./cmd/kcovdf
k="$work/kcovdf"
"$k" sim --words 16777216 -o "$work/trace.kdf" --layout-out "$work/layout.jsonl"
lay=(--layout "$work/layout.jsonl")

median() { sort -n | sed -n 2p; }

run3() {
	local label=$1
	shift
	for _ in 1 2 3; do
		/usr/bin/time -o "$work/time" -f '%e %U %S %M' "$@" >"$work/out" 2>/dev/null ||
			{ echo "$label: $* failed" >&2; exit 1; }
		cat "$work/time"
	done >"$work/runs"
	printf '%s: %s s wall, %s s CPU, peak RSS %s MiB (medians of 3; wall %s)\n' "$label" \
		"$(awk '{ print $1 }' "$work/runs" | median)" \
		"$(awk '{ print $2 + $3 }' "$work/runs" | median)" \
		"$(($(awk '{ print $4 }' "$work/runs" | median) / 1024))" \
		"$(awk '{ printf "%s ", $1 }' "$work/runs")"
}

for f in parquet jsonl perfetto; do
	run3 "export --format $f" "$k" export --format "$f" -o "$work/out.$f" "${lay[@]}" "$work/trace.kdf"
	du -sb "$work/out.$f" | awk '{ printf "  output: %.1f MiB\n", $1 / 1048576 }'
done
"$k" query "SELECT (SELECT count(*) FROM calls) AS calls, (SELECT count(*) FROM args) AS args, (SELECT count(*) FROM fields) AS fields" "$work/out.parquet"
run3 "query: calls, args and errors by function" "$k" query \
	"SELECT c.func, count(*) AS calls, count(a.call_id) AS args, sum(c.errno > 0) AS errors FROM calls c LEFT JOIN args a USING (task_id, call_id) GROUP BY c.func ORDER BY calls DESC" \
	"$work/out.parquet"
run3 "query: every value of one field" "$k" query \
	"SELECT text, count(*) AS n FROM fields WHERE func = (SELECT func FROM calls GROUP BY func ORDER BY count(*) DESC LIMIT 1) AND field = 0 GROUP BY text ORDER BY n DESC LIMIT 10" \
	"$work/out.parquet"
