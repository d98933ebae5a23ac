#!/bin/sh
# Do the reassigned-parameter cases catch a plugin that records wrong
# values? Builds tests/cases.c with the given plugin (for example one built
# from an older revision) at -O1, -O2, -O3 and -Os, runs it, and counts per
# level the failed checks of each such case: the six whose address the
# checks take, so that the optimiser keeps their signatures, and their rw_
# variants, whose signatures it rewrites. Exits 0 only if every rw_ case
# failed at every level.
#
# usage: catches.sh PLUGIN OUT     (CC: clang-19)
set -u
: "${CC:=clang-19}"
PLUGIN=${1:?usage: catches.sh PLUGIN OUT}
OUT=${2:?usage: catches.sh PLUGIN OUT}
HERE=$(cd "$(dirname "$0")" && pwd)
CASES="swap2:swap of two parameters
rot3:rotation of three parameters
rot4:rotation of four parameters
cswap:conditional swap
tri:parameter reused as a loop counter
nswap:narrowing swap
rw_swap2:rewritten: swap of two parameters after an unused one
rw_rot3:rewritten: rotation of three, and a promoted pointer
rw_rot4:rewritten: rotation of four around an unused parameter
rw_cswap:rewritten: half-conditional swap after a promoted pointer
rw_tri:rewritten: loop counter after an unused parameter
rw_nswap:rewritten: narrowing swap around an unused parameter"

missed=0
printf '%-4s' ""
printf '%s\n' "$CASES" | while IFS=: read -r short name; do
	printf ' %8s' "$short"
done
echo
for opt in O1 O2 O3 Os; do
	d=$OUT/$opt
	mkdir -p "$d"
	# capped.c is built without its field cap: its checks are not counted.
	flags="-$opt -g -fsanitize-coverage=trace-pc -fno-pic"
	flags="$flags -fplugin=$PLUGIN -fpass-plugin=$PLUGIN"
	if ! $CC -O2 -c "$HERE/runtime.c" -o "$d/runtime.o" ||
	   ! $CC -c "$HERE/nodebug.c" -o "$d/nodebug.o" ||
	   ! $CC $flags -c "$HERE/cases.c" -o "$d/cases.o" ||
	   ! $CC $flags -c "$HERE/weak_override.c" -o "$d/weak_override.o" ||
	   ! $CC $flags -c "$HERE/capped.c" -o "$d/capped.o" ||
	   ! $CC -no-pie -o "$d/cases" "$d/cases.o" "$d/weak_override.o" \
		"$d/nodebug.o" "$d/capped.o" "$d/runtime.o"; then
		echo "$opt: build failed" >&2
		exit 2
	fi
	"$d/cases" >"$d/cases.out" 2>&1
	printf '%-4s' "$opt"
	# One column per case: its failed checks.
	while IFS=: read -r short name; do
		n=$(grep -cF "FAIL $name (line" "$d/cases.out")
		printf ' %8s' "$n"
		case $short in rw_*) [ "$n" -gt 0 ] || missed=$((missed + 1)) ;; esac
	done <<CASES_EOF
$CASES
CASES_EOF
	echo
done
echo "rw_ cases that did not fail: $missed"
[ "$missed" -eq 0 ]
