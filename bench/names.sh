#!/usr/bin/env bash
# Names: kcovdf's index against llvm-symbolizer-19 and addr2line on the
# same 100,000 random addresses inside the functions of a vmlinux, then
# `kcovdf show` on a full 16 M-word simulated trace.
#
#   VMLINUX=path/to/vmlinux bash bench/names.sh
#
# Without VMLINUX the newest lab kernel's vmlinux is used.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-100000}
VMLINUX=${VMLINUX:-$( (ls -t "${XDG_CACHE_HOME:-$HOME/.cache}"/kcovdf/kernels/*/vmlinux 2>/dev/null || true) | head -1)}
[ -n "$VMLINUX" ] && [ -f "$VMLINUX" ] || { echo "set VMLINUX to a vmlinux with debug info" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/kcovdf" ./cmd/kcovdf
K="$tmp/kcovdf"

# time_of CMD...: prints "wall_seconds maxrss_kb cpu_seconds" of one run
# (CPU time says more than wall time on a loaded machine).
time_of() {
	/usr/bin/time -f '%e %M %U %S' -o "$tmp/t" "$@" >"$tmp/out" 2>"$tmp/err"
	awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$tmp/t"
}

"$K" symbolize --cache-dir - --symbols "$VMLINUX" --random "$N" >"$tmp/pcs"
echo "vmlinux $VMLINUX ($(du -m "$VMLINUX" | cut -f1) MB), $N random addresses inside functions"
echo

read -r cold_s cold_kb cold_cpu < <(time_of "$K" symbolize --stats --cache-dir "$tmp/cache" --symbols "$VMLINUX" <"$tmp/pcs")
cold_note=$(cat "$tmp/err")
read -r warm_s warm_kb warm_cpu < <(time_of "$K" symbolize --stats --cache-dir "$tmp/cache" --symbols "$VMLINUX" <"$tmp/pcs")
warm_note=$(cat "$tmp/err")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %8s %8s %6s\n' tool seconds cpu-s MB
printf '%-34s %8s %8s %6d   %s\n' "kcovdf symbolize (cold)" "$cold_s" "$cold_cpu" $((cold_kb / 1024)) "$cold_note"
printf '%-34s %8s %8s %6d   %s\n' "kcovdf symbolize (cached index)" "$warm_s" "$warm_cpu" $((warm_kb / 1024)) "$warm_note"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }'; }
if command -v llvm-symbolizer-19 >/dev/null; then
	read -r l_s l_kb l_cpu < <(time_of llvm-symbolizer-19 --obj="$VMLINUX" <"$tmp/pcs")
	printf '%-34s %8s %8s %6d   %s the CPU time of kcovdf cold, %s cached\n' "llvm-symbolizer-19 --obj" "$l_s" "$l_cpu" $((l_kb / 1024)) "$(ratio "$l_cpu" "$cold_cpu")" "$(ratio "$l_cpu" "$warm_cpu")"
fi
if command -v addr2line >/dev/null; then
	read -r a_s a_kb a_cpu < <(time_of addr2line -f -e "$VMLINUX" <"$tmp/pcs")
	printf '%-34s %8s %8s %6d   %s the CPU time of kcovdf cold, %s cached\n' "addr2line -f" "$a_s" "$a_cpu" $((a_kb / 1024)) "$(ratio "$a_cpu" "$cold_cpu")" "$(ratio "$a_cpu" "$warm_cpu")"
fi
# The names must agree with llvm-symbolizer's outermost function (kcovdf
# names the function an address is in, not the inlined callee).
if command -v llvm-symbolizer-19 >/dev/null; then
	llvm-symbolizer-19 --obj="$VMLINUX" --no-inlines <"$tmp/pcs" | awk 'NR % 3 == 1' >"$tmp/llvm"
	"$K" symbolize --symbols "$VMLINUX" --cache-dir "$tmp/cache" <"$tmp/pcs" | awk '{ sub(/\+0x[0-9a-f]+$/, "", $2); print $2 }' >"$tmp/ours"
	same=$(paste "$tmp/ours" "$tmp/llvm" | awk '$1 == $2 || index($1, $2 ".") == 1 { n++ } END { print n + 0 }')
	echo "names equal to llvm-symbolizer --no-inlines (or a clone of its name): $same of $N"
fi
echo

# show on a full 16 M-word buffer.
"$K" sim --words 16777216 --seed 7 -o "$tmp/big.kdf" --layout-out "$tmp/big.jsonl" >/dev/null
size_mb=$(( $(stat -c %s "$tmp/big.kdf") / 1048576 ))
read -r s_s s_kb s_cpu < <(time_of "$K" show --color never --layout "$tmp/big.jsonl" "$tmp/big.kdf")
lines=$(wc -l <"$tmp/out")
echo "kcovdf show, 16 M-word trace ($size_mb MB): $lines lines in $s_s s ($s_cpu CPU-s), peak $((s_kb / 1024)) MB ($(ratio $((s_kb / 1024)) "$size_mb") the trace)"
