#!/usr/bin/env bash
# v3 decoding, Go against C, on one 16 M-word (128 MiB) buffer from the
# model written in the v3 layout, same machine. ROUNDS rounds (default 3),
# each timing C then Go (RUNS runs each, default 11, median; CPU time of
# the decoding thread, as in decode-vs-c.sh). Prints every
# round, then the medians over the rounds and the ratio. WORDS sets the
# buffer size, as in decode-vs-c.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-11}
words=${WORDS:-16777216}
rounds=${ROUNDS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/kcovdf" ./cmd/kcovdf
cc -O2 -o "$work/decode_v3" bench/decode_v3.c
"$work/kcovdf" sim --words "$words" --lookalike 0.1 --out-format v3 -o "" \
	--raw-out "$work/area.bin" >/dev/null
gbs() { sed -n 's/.* \([0-9.]*\) GB\/s.*/\1/p'; }
# Both sides must have decoded the same records, or the times compare
# different work.
records() { sed -n 's/.*: \([0-9]*\) records,.*/\1/p'; }
for r in $(seq "$rounds"); do
	c=$("$work/decode_v3" "$work/area.bin" "$runs")
	go=$("$work/kcovdf" decode --format v3 --bench "$runs" "$work/area.bin")
	if [ -z "$(records <<<"$c")" ] || [ "$(records <<<"$c")" != "$(records <<<"$go")" ]; then
		echo "C and Go decoded different record counts:" >&2
		echo "$c" >&2
		echo "$go" >&2
		exit 1
	fi
	echo "round $r: $c"
	echo "round $r: $go"
	echo "$(gbs <<<"$c") $(gbs <<<"$go")" >>"$work/rounds"
done
awk -v n="$rounds" '
	{ c[NR] = $1; g[NR] = $2; q[NR] = $1 / $2 }
	function med(a,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		printf "Go/C time ratio by round:"; for (i = 1; i <= n; i++) printf " %.2f", q[i]; print ""
		printf "medians of %d rounds: C %.2f GB/s, Go %.2f GB/s, Go/C time ratio %.2f\n", n, med(c), med(g), med(q)
	}' "$work/rounds"
