#!/usr/bin/env bash
# Exact v1 decoding, Go against C, on one 16 M-word (128 MiB) buffer from
# the model, same layout table, same machine. ROUNDS rounds (default 3),
# each timing C, Go with the layout and Go without it (RUNS runs each,
# default 11, median); C and Go alternate so that both see the same load.
# WORDS=262144 RUNS=101 times a 2 MiB buffer that stays in the caches: the
# loops' own cost, without memory.
# Both time the CPU of the decoding thread, so other jobs on a shared
# machine do not count. Prints every round, then the medians over the
# rounds and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-11}
words=${WORDS:-16777216}
rounds=${ROUNDS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/kcovdf" ./cmd/kcovdf
cc -O2 -o "$work/decode_v1" bench/decode_v1.c
"$work/kcovdf" sim --words "$words" --lookalike 0.1 -o "$work/trace.kdf" \
	--raw-out "$work/area.bin" --layout-out "$work/layout.jsonl" >/dev/null
"$work/kcovdf" layout lengths "$work/layout.jsonl" >"$work/lengths.txt"
gbs() { sed -n 's/.* \([0-9.]*\) GB\/s.*/\1/p'; }
# Both sides must have decoded the same records, or the times compare
# different work.
records() { sed -n 's/.*: \([0-9]*\) records,.*/\1/p'; }
for r in $(seq "$rounds"); do
	c=$("$work/decode_v1" "$work/area.bin" "$work/lengths.txt" "$runs")
	go=$("$work/kcovdf" decode --format v1 --layout "$work/layout.jsonl" --bench "$runs" "$work/area.bin")
	resync=$("$work/kcovdf" decode --format v1 --bench "$runs" "$work/area.bin")
	if [ -z "$(records <<<"$c")" ] || [ "$(records <<<"$c")" != "$(records <<<"$go")" ]; then
		echo "C and Go decoded different record counts:" >&2
		echo "$c" >&2
		echo "$go" >&2
		exit 1
	fi
	echo "round $r: $c"
	echo "round $r: $go"
	echo "round $r: $resync (no layout)"
	echo "$(gbs <<<"$c") $(gbs <<<"$go") $(gbs <<<"$resync")" >>"$work/rounds"
done
awk -v n="$rounds" '
	{ c[NR] = $1; g[NR] = $2; s[NR] = $3; q[NR] = $1 / $2 }
	function med(a,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		printf "Go/C time ratio by round:"; for (i = 1; i <= n; i++) printf " %.2f", q[i]; print ""
		printf "medians of %d rounds: C %.2f GB/s, Go %.2f GB/s, Go without a layout %.2f GB/s, Go/C time ratio %.2f\n", n, med(c), med(g), med(s), med(q)
	}' "$work/rounds"
