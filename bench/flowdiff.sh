#!/usr/bin/env bash
# Value flow and trace diff on a full 16 M-word simulated trace: the
# commands end to end (load, decode, call tree, search or compare), then
# the packages' benchmarks on trees already built.
#
#   bash bench/flowdiff.sh
#
# With VMLINUX, A and B set (two lab traces of one command and their
# kernel's vmlinux), both commands are timed on them too:
#
#   ./kcovdf lab trace --words 16777216 -o a.kdf -- ls -lR /sys /proc/self /bin /etc /sys/kernel /sys/devices
#   ./kcovdf lab trace --words 16777216 -o b.kdf -- ls -lR /sys /proc/self /bin /etc /sys/kernel /sys/devices
#   VMLINUX=…/vmlinux A=a.kdf B=b.kdf bash bench/flowdiff.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/kcovdf" ./cmd/kcovdf
K="$tmp/kcovdf"

# time_of CMD...: prints "wall_seconds maxrss_kb cpu_seconds" of one run.
time_of() {
	/usr/bin/time -f '%e %M %U %S' -o "$tmp/t" "$@" >"$tmp/out" 2>"$tmp/err" || true
	tail -1 "$tmp/t" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }'
}

"$K" sim --words 16777216 --seed 7 -o "$tmp/big.kdf" --layout-out "$tmp/big.jsonl" >/dev/null
size_mb=$(( $(stat -c %s "$tmp/big.kdf") / 1048576 ))
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
read -r f_s f_kb f_cpu < <(time_of "$K" flow --layout "$tmp/big.jsonl" "$tmp/big.kdf" 0xffff888004000150)
echo "kcovdf flow, 16 M-word trace ($size_mb MB): $(head -1 "$tmp/out" | sed 's/ (looked.*//') in $f_s s ($f_cpu CPU-s), peak $((f_kb / 1024)) MB"
read -r d_s d_kb d_cpu < <(time_of "$K" diff --layout "$tmp/big.jsonl" "$tmp/big.kdf" "$tmp/big.kdf")
echo "kcovdf diff of that trace with itself (every call aligned and compared): $(sed -n 3p "$tmp/out") in $d_s s ($d_cpu CPU-s), peak $((d_kb / 1024)) MB"
if [ -n "${VMLINUX:-}" ] && [ -n "${A:-}" ] && [ -n "${B:-}" ]; then
	read -r f_s f_kb f_cpu < <(time_of "$K" flow --symbols "$VMLINUX" "$A" 0x8000)
	echo "kcovdf flow --symbols, $A: $(head -1 "$tmp/out" | sed 's/ (looked.*//') in $f_s s ($f_cpu CPU-s), peak $((f_kb / 1024)) MB"
	read -r d_s d_kb d_cpu < <(time_of "$K" diff --symbols "$VMLINUX" "$A" "$B")
	echo "kcovdf diff --symbols $A $B: $(sed -n 3p "$tmp/out") in $d_s s ($d_cpu CPU-s), peak $((d_kb / 1024)) MB"
fi
echo
go test -run '^$' -bench 'Find16M|Compare16M' -benchtime 3x ./flow ./tracediff | grep -E '^Benchmark'
