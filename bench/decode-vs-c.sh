#!/usr/bin/env bash
# Exact v1 decoding, Go against C, on one 16 M-word (128 MiB) buffer from
# the model, same layout table, same machine, same run. Prints both
# throughputs (medians) and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-11}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/kcovdf" ./cmd/kcovdf
cc -O2 -o "$work/decode_v1" bench/decode_v1.c
"$work/kcovdf" sim --words 16777216 --lookalike 0.1 -o "$work/trace.kdf" \
	--raw-out "$work/area.bin" --layout-out "$work/layout.jsonl" >/dev/null
"$work/kcovdf" layout lengths "$work/layout.jsonl" >"$work/lengths.txt"
c=$("$work/decode_v1" "$work/area.bin" "$work/lengths.txt" "$runs")
go=$("$work/kcovdf" decode --format v1 --layout "$work/layout.jsonl" --bench "$runs" "$work/area.bin")
resync=$("$work/kcovdf" decode --format v1 --bench "$runs" "$work/area.bin")
echo "$c"
echo "$go"
echo "$resync (no layout)"
gc=$(sed -n 's/.* \([0-9.]*\) GB\/s.*/\1/p' <<<"$c")
gg=$(sed -n 's/.* \([0-9.]*\) GB\/s.*/\1/p' <<<"$go")
awk -v c="$gc" -v g="$gg" 'BEGIN { printf "Go/C time ratio: %.2f\n", c / g }'
