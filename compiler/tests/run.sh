#!/bin/sh
# Builds the test programs with the plugin at -O0, -O2 and -Os (the kernel's
# levels), runs them, checks the layout dump against the recorded calls and
# the weak-function pc scheme.
# Prints "N passed, N failed" last; exits non-zero on any failure.
#
# Environment: CC (clang-19), PLUGIN (the .so), OUT (scratch directory),
# OPT_LEVELS (default "O0 O2 Os").
set -u
: "${CC:=clang-19}"
: "${PLUGIN:?PLUGIN must name kcovdf-dataflow.so}"
: "${OUT:?OUT must name a scratch directory}"
HERE=$(cd "$(dirname "$0")" && pwd)
BINDIR=$(dirname "$(command -v "$CC")")
OBJDUMP=$BINDIR/llvm-objdump
[ -x "$OBJDUMP" ] || OBJDUMP=llvm-objdump-19
OBJCOPY=$BINDIR/llvm-objcopy
[ -x "$OBJCOPY" ] || OBJCOPY=llvm-objcopy-19

PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }
# Adds the counts of a "N passed, N failed" line found in file $1.
tally() {
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		fail "$2: no result line"
		return
	fi
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed}
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	echo "$2: $line"
}

PLUGIN_FLAGS="-fplugin=$PLUGIN -fpass-plugin=$PLUGIN"
PLUGIN_FLAGS="$PLUGIN_FLAGS -mllvm -kcovdf-dataflow-stats"

# build NAME [FLAGS...]: compiles tests/NAME.c with the plugin into $d,
# stderr (the stats line among it) into $d/NAME.stats.
build() {
	name=$1
	shift
	$CC $cflags "$@" $PLUGIN_FLAGS \
		-mllvm -kcovdf-dataflow-layout-dir="$d/layout" \
		-c "$HERE/$name.c" -o "$d/$name.o" 2>"$d/$name.stats" ||
		{ cat "$d/$name.stats"; return 1; }
}

for opt in ${OPT_LEVELS:-O0 O2 Os}; do
	d=$OUT/$opt
	rm -rf "$d"
	mkdir -p "$d/layout"
	cflags="-$opt -fsanitize-coverage=trace-pc -fno-pic -Wall"
	if ! $CC -O2 -Wall -c "$HERE/runtime.c" -o "$d/runtime.o" ||
	   ! build cases -g || ! build weak_override -g || ! build nodebug ||
	   ! $CC -no-pie -o "$d/cases" "$d/cases.o" "$d/weak_override.o" \
		"$d/nodebug.o" "$d/runtime.o"; then
		fail "$opt: build"
		continue
	fi
	grep kcovdf-dataflow "$d/cases.stats" | sed "s/^/$opt: /"

	# Functional checks.
	rm -f "$d/trace.txt"
	KCOVDF_TRACE_OUT=$d/trace.txt "$d/cases" >"$d/cases.out" 2>&1
	rc=$?
	grep '^FAIL' "$d/cases.out"
	tally "$d/cases.out" "$opt cases"
	[ $rc -eq 0 ] || fail "$opt: cases exited with $rc"

	# Layout dump against the trace.
	"$OBJCOPY" --dump-section .kcovdf_layout="$d/cases.layout" "$d/cases" \
		/dev/null
	python3 "$HERE/check_layout.py" "$d/layout" "$d/cases.layout" "$d/trace.txt" \
		ex_nocov ex_nosan ex_noinstr ex_naked ex_variadic nodebug_fn \
		>"$d/layout.out" 2>&1
	grep '^FAIL' "$d/layout.out"
	tally "$d/layout.out" "$opt layout"

	# Functions without debug info are skipped and counted.
	if grep -q 'instrumented 0, .*no debug info 1)' "$d/nodebug.stats"; then
		pass
	else
		fail "$opt: nodebug.c stats: $(cat "$d/nodebug.stats")"
	fi

	# The weak definition names itself through a local symbol, never
	# through the global one another object overrides; a strong function
	# may use its own symbol.
	"$OBJDUMP" -dr --disassemble-symbols=weak_overridden "$d/cases.o" \
		>"$d/weak.dis"
	if grep -q 'R_X86_64.*weak_overridden' "$d/weak.dis"; then
		fail "$opt: weak function references its overridable symbol"
	elif grep -q 'R_X86_64.*\.text' "$d/weak.dis"; then
		pass
	else
		fail "$opt: weak function pc reference not found"
	fi
	"$OBJDUMP" -dr --disassemble-symbols=sc_u8 "$d/cases.o" >"$d/strong.dis"
	if grep -q 'R_X86_64.*sc_u8' "$d/strong.dis"; then
		pass
	else
		fail "$opt: strong function pc reference not found"
	fi
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
