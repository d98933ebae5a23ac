#!/usr/bin/env bash
# v3 decoding, Go against C, on one 16 M-word (128 MiB) buffer from the
# model written in the v3 layout, same machine, same run. Prints both
# throughputs (medians) and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-11}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/kcovdf" ./cmd/kcovdf
cc -O2 -o "$work/decode_v3" bench/decode_v3.c
"$work/kcovdf" sim --words 16777216 --lookalike 0.1 --format v3 -o "" \
	--raw-out "$work/area.bin" >/dev/null
c=$("$work/decode_v3" "$work/area.bin" "$runs")
go=$("$work/kcovdf" decode --format v3 --bench "$runs" "$work/area.bin")
echo "$c"
echo "$go"
gc=$(sed -n 's/.* \([0-9.]*\) GB\/s.*/\1/p' <<<"$c")
gg=$(sed -n 's/.* \([0-9.]*\) GB\/s.*/\1/p' <<<"$go")
awk -v c="$gc" -v g="$gg" 'BEGIN { printf "Go/C time ratio: %.2f\n", c / g }'
