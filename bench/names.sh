#!/usr/bin/env bash
# Names: kcovdf's index against llvm-symbolizer-19 and addr2line on the
# same 100,000 random addresses inside the functions of a vmlinux, then
# `kcovdf show` on full 16 M-word traces.
#
#   VMLINUX=path/to/vmlinux [TRACE=full.kdf] [RUNS=3] bash bench/names.sh
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
	# --lines: each address's own line, from the DWARF line table.
	read -r ln_s ln_kb ln_cpu < <(time_of "$K" symbolize --lines --symbols "$VMLINUX" --cache-dir "$tmp/cache" <"$tmp/pcs")
	awk '{ print $3 }' "$tmp/out" >"$tmp/ours-lines"
	llvm-symbolizer-19 --obj="$VMLINUX" --no-inlines <"$tmp/pcs" | awk 'NR % 3 == 2' | sed 's/:[0-9]*$//' >"$tmp/llvm-lines"
	# The same file (paths compared once cleaned of dir/../) and line.
	clean() { awk -F: '{ n = split($1, p, "/"); k = 0; for (i = 1; i <= n; i++) { if (p[i] == ".." && k > 0) k--; else q[++k] = p[i] } s = q[1]; for (i = 2; i <= k; i++) s = s "/" q[i]; print s ":" $2 }' "$1"; }
	lsame=$(paste -d' ' <(clean "$tmp/ours-lines") <(clean "$tmp/llvm-lines") | awk '$1 == $2 { n++ } END { print n + 0 }')
	printf '%-34s %8s %8s %6d   file:line equal to llvm-symbolizer --no-inlines for %s of %s\n' "kcovdf symbolize --lines (cached)" "$ln_s" "$ln_cpu" $((ln_kb / 1024)) "$lsame" "$N"
fi
echo

# show on full 16 M-word buffers, RUNS times each (the range is printed):
# a simulated trace with its JSON layout, and, with TRACE, a real one of
# the VMLINUX kernel with --symbols alone, e.g.
#   kcovdf lab trace --words 16777216 -o full.kdf -- ls -lR /
RUNS=${RUNS:-3}
"$K" sim --words 16777216 --seed 7 -o "$tmp/big.kdf" --layout-out "$tmp/big.jsonl" >/dev/null
show_runs() { # LABEL TRACE ARGS...: RUNS runs of kcovdf show, their range
	local label=$1 trace=$2
	shift 2
	local size_mb=$(( $(stat -c %s "$trace") / 1048576 )) secs=() cpus=() mbs=() ratios=()
	for _ in $(seq "$RUNS"); do
		# COLD=1: an empty index cache each run.
		local cache=${XDG_CACHE_HOME:-$HOME/.cache}
		[ -z "${COLD:-}" ] || cache=$(mktemp -d)
		read -r s_s s_kb s_cpu < <(time_of env XDG_CACHE_HOME="$cache" "$K" show --color never "$@" "$trace")
		[ -z "${COLD:-}" ] || rm -rf "$cache"
		secs+=("$s_s") cpus+=("$s_cpu") mbs+=($((s_kb / 1024))) ratios+=("$(awk -v a=$((s_kb / 1024)) -v b="$size_mb" 'BEGIN { printf "%.2f", a / b }')")
	done
	range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print (lo == hi ? lo : lo "-" hi) }'; }
	echo "kcovdf show $label ($size_mb MB trace, $(wc -l <"$tmp/out") lines), $RUNS runs: $(range "${secs[@]}") s, $(range "${cpus[@]}") CPU-s, peak $(range "${mbs[@]}") MB = $(range "${ratios[@]}")x the trace"
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
show_runs "--layout (simulated)" "$tmp/big.kdf" --layout "$tmp/big.jsonl"
if [ -n "${TRACE:-}" ]; then
	show_runs "--symbols vmlinux (lab trace $(basename "$TRACE"))" "$TRACE" --symbols "$VMLINUX"
	COLD=1 show_runs "--symbols vmlinux, index not cached" "$TRACE" --symbols "$VMLINUX"
else
	echo "(set TRACE to a full lab trace of this vmlinux's kernel to time show --symbols on it)"
fi
