#!/usr/bin/env bash
# v3 decoding, Go against C, on one 16 M-word (128 MiB) buffer from the
# model written in the v3 layout, same machine. ROUNDS rounds (default 3),
# each timing C then Go (RUNS runs each, default 11, median; CPU time of
# the decoding thread, as in decode-vs-c.sh). Prints every
# round, then the medians over the rounds and the ratio. WORDS sets the
# buffer size, as in decode-vs-c.sh.
. "$(dirname "$0")/lib.sh"
cc -O2 -o "$work/decode_v3" bench/decode_v3.c
"$work/kcovdf" sim --words "$words" --lookalike 0.1 --out-format v3 -o "" \
	--raw-out "$work/area.bin" >/dev/null
for r in $(seq "$rounds"); do
	c=$("$work/decode_v3" "$work/area.bin" "$runs")
	go=$("$work/kcovdf" decode --format v3 --bench "$runs" "$work/area.bin")
	same_records "$c" "$go"
	echo "round $r: $c"
	echo "round $r: $go"
	echo "$(gbs <<<"$c") $(gbs <<<"$go")" >>"$work/rounds"
done
medians 'C|Go' "$work/rounds"
