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
. "$(dirname "$0")/lib.sh"
cc -O2 -o "$work/decode_v1" bench/decode_v1.c
"$work/kcovdf" sim --words "$words" --lookalike 0.1 -o "$work/trace.kdf" \
	--raw-out "$work/area.bin" --layout-out "$work/layout.jsonl" >/dev/null
"$work/kcovdf" layout lengths "$work/layout.jsonl" >"$work/lengths.txt"
for r in $(seq "$rounds"); do
	c=$("$work/decode_v1" "$work/area.bin" "$work/lengths.txt" "$runs")
	go=$("$work/kcovdf" decode --format v1 --layout "$work/layout.jsonl" --bench "$runs" "$work/area.bin")
	resync=$("$work/kcovdf" decode --format v1 --bench "$runs" "$work/area.bin")
	same_records "$c" "$go"
	echo "round $r: $c"
	echo "round $r: $go"
	echo "round $r: $resync (no layout)"
	echo "$(gbs <<<"$c") $(gbs <<<"$go") $(gbs <<<"$resync")" >>"$work/rounds"
done
medians 'C|Go|Go without a layout' "$work/rounds"
