#!/bin/sh
# Builds the test programs with the plugin at -O0, -O1, -O2, -O3 and -Os
# (x86-64, and aarch64 under qemu-user when installed), runs them, checks
# the layout records against the recorded calls, the stats lines, the
# weak-function pc scheme, a C++ link and the IR of tests/ir.
# Prints "N passed, N failed" last; exits non-zero on any failure.
#
# Environment: CC (clang-19), PLUGIN (the .so), OUT (scratch directory),
# OPT_LEVELS (default "O0 O1 O2 O3 Os").
set -u
: "${CC:=clang-19}"
: "${PLUGIN:?PLUGIN must name kcovdf-dataflow.so}"
: "${OUT:?OUT must name a scratch directory}"
HERE=$(cd "$(dirname "$0")" && pwd)
# The LLVM tools beside the real clang (clang-19 in /usr/bin is a link
# into /usr/lib/llvm-19/bin, where the unversioned names are LLVM 19's).
BINDIR=$(dirname "$(readlink -f "$(command -v "$CC")")")
OBJDUMP=$BINDIR/llvm-objdump
[ -x "$OBJDUMP" ] || OBJDUMP=llvm-objdump-19
FILECHECK=$BINDIR/FileCheck
[ -x "$FILECHECK" ] || FILECHECK=FileCheck-19
NM=$BINDIR/llvm-nm
[ -x "$NM" ] || NM=llvm-nm-19
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
# capped.c is built with a cap on the fields of a struct expansion.
CAP_FLAGS="-mllvm -kcovdf-dataflow-max-fields=3"

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

for opt in ${OPT_LEVELS:-O0 O1 O2 O3 Os}; do
	d=$OUT/$opt
	rm -rf "$d"
	mkdir -p "$d/layout"
	cflags="-$opt -fsanitize-coverage=trace-pc -fno-pic -Wall"
	if ! $CC -O2 -Wall -c "$HERE/runtime.c" -o "$d/runtime.o" ||
	   ! build cases -g || ! build weak_override -g || ! build nodebug ||
	   ! build lineonly -gline-tables-only || ! build many_structs -g ||
	   ! build capped -g $CAP_FLAGS ||
	   ! $CC -no-pie -o "$d/cases" "$d/cases.o" "$d/weak_override.o" \
		"$d/nodebug.o" "$d/capped.o" "$d/runtime.o"; then
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

	# Functions without debug info, or with line tables only (no types),
	# are skipped and counted, and leave no layout record.
	for u in nodebug lineonly; do
		if grep -q 'instrumented 0, .*no debug info 1); args 0 .*rets 0 ' \
			"$d/$u.stats" &&
		   ! "$OBJDUMP" -h "$d/$u.o" | grep -q kcovdf_layout; then
			pass
		else
			fail "$opt: $u.c stats: $(cat "$d/$u.stats")"
		fi
	done

	# The stats line of the test module, asserted whole.
	want=$(sed -n "s/^$opt: //p" "$HERE/cases.stats")
	got=$(grep -o 'functions .*' "$d/cases.stats")
	if [ -z "$want" ]; then
		fail "$opt: tests/cases.stats has no line for $opt"
	elif [ "$got" = "$want" ]; then
		pass
	else
		fail "$opt: stats changed: got '$got', want '$want'"
	fi

	# The capped module's stats line counts the expansions it cut.
	want=$(sed -n "s/^capped $opt: //p" "$HERE/cases.stats")
	got=$(grep -o 'functions .*' "$d/capped.stats")
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		pass
	else
		fail "$opt: capped stats: got '$got', want '$want'"
	fi

	# No cap (0) is the default: the same object and the same layout,
	# byte for byte, as without the option.
	c=$d/cap0
	mkdir -p "$c/default" "$c/zero"
	if $CC $cflags -g $PLUGIN_FLAGS -mllvm -kcovdf-dataflow-layout-dir="$c/default" \
		-c "$HERE/cases.c" -o "$c/default.o" 2>/dev/null &&
	   $CC $cflags -g $PLUGIN_FLAGS -mllvm -kcovdf-dataflow-max-fields=0 \
		-mllvm -kcovdf-dataflow-layout-dir="$c/zero" \
		-c "$HERE/cases.c" -o "$c/zero.o" 2>/dev/null &&
	   cat "$c/default"/*.jsonl >"$c/default.jsonl" &&
	   cat "$c/zero"/*.jsonl >"$c/zero.jsonl" &&
	   [ -s "$c/default.jsonl" ] && cmp -s "$c/default.o" "$c/zero.o" &&
	   cmp -s "$c/default.jsonl" "$c/zero.jsonl"; then
		pass
	else
		fail "$opt: -kcovdf-dataflow-max-fields=0 changed cases.o or its layout"
	fi

	# No layout record without code: late_dead, deleted by GlobalDCE
	# after OptimizerLast above -O0, must not be described (its record
	# would keep it alive).
	in_layout=$(cat "$d/layout"/*.jsonl | grep -c '"func":"late_dead"')
	in_obj=$("$NM" "$d/cases.o" | grep -c ' late_dead$')
	if [ "$in_layout" = "$in_obj" ] &&
	   { [ "$opt" = O0 ] || [ "$in_obj" = 0 ]; }; then
		pass
	else
		fail "$opt: late_dead: $in_layout layout records, $in_obj symbols"
	fi

	# The functions cases.c finds through PC_OF must really be rewritten,
	# or their checks test nothing more than the address-taken ones:
	# fastcc, the unused or constant parameters removed, and at -O3 the
	# read-only pointers promoted (no ptr argument left in rw_rot3 and
	# rw_cswap).
	if [ "$opt" != O0 ] &&
	   $CC $cflags -g $PLUGIN_FLAGS -S -emit-llvm -o "$d/cases.ll" \
		"$HERE/cases.c" 2>/dev/null; then
		for want in rw_swap2:2 rw_rot3:4 rw_rot4:4 rw_cswap:3 rw_tri:2 \
			rw_nswap:2 st_unused:2 st_const:1 st_struct:2 st_shift:1 \
			st_promote:1 st_reassign:1; do
			fn=${want%:*}
			line=$(grep "^define internal fastcc .*@$fn(" "$d/cases.ll")
			n=$(printf '%s\n' "$line" | grep -o '%[0-9][0-9]*' | wc -l)
			ptrs=$(printf '%s\n' "$line" | grep -c 'ptr ')
			case $opt:$fn in
			O3:rw_rot3 | O3:rw_cswap) wptrs=0 ;;
			*:rw_rot3 | *:rw_cswap) wptrs=1 ;;
			*) wptrs=0 ;;
			esac
			if [ "$n" -eq "${want#*:}" ] && [ "$ptrs" -eq "$wptrs" ]; then
				pass
			else
				fail "$opt: $fn not rewritten as expected: $line"
			fi
		done
	elif [ "$opt" != O0 ]; then
		fail "$opt: cases.c to IR"
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

# Another target: aarch64 lowers parameters differently (HFAs, [2 x i64],
# structs above 16 bytes by reference). Its values must be exact too; run
# under qemu-user when the cross libc and qemu-aarch64 are installed.
XTARGET=aarch64-linux-gnu
if command -v qemu-aarch64 >/dev/null &&
   [ -d /usr/aarch64-linux-gnu/lib ]; then
	for opt in ${OPT_LEVELS:-O0 O1 O2 O3 Os}; do
		d=$OUT/$XTARGET-$opt
		rm -rf "$d"
		mkdir -p "$d/layout"
		cflags="--target=$XTARGET -$opt -fsanitize-coverage=trace-pc -Wall"
		if ! $CC --target=$XTARGET -O2 -c "$HERE/runtime.c" \
			-o "$d/runtime.o" ||
		   ! build cases -g || ! build weak_override -g ||
		   ! build nodebug || ! build capped -g $CAP_FLAGS ||
		   ! $CC --target=$XTARGET -fuse-ld=lld -static -o "$d/cases" \
			"$d/cases.o" "$d/weak_override.o" "$d/nodebug.o" \
			"$d/capped.o" "$d/runtime.o"; then
			fail "$XTARGET $opt: build"
			continue
		fi
		KCOVDF_TRACE_OUT=$d/trace.txt qemu-aarch64 "$d/cases" \
			>"$d/cases.out" 2>&1
		rc=$?
		grep '^FAIL' "$d/cases.out"
		tally "$d/cases.out" "$XTARGET $opt cases"
		[ $rc -eq 0 ] || fail "$XTARGET $opt: cases exited with $rc"
		"$OBJCOPY" --dump-section .kcovdf_layout="$d/cases.layout" \
			"$d/cases" /dev/null
		python3 "$HERE/check_layout.py" "$d/layout" "$d/cases.layout" \
			"$d/trace.txt" ex_nocov ex_nosan ex_noinstr ex_naked \
			ex_variadic nodebug_fn >"$d/layout.out" 2>&1
		grep '^FAIL' "$d/layout.out"
		tally "$d/layout.out" "$XTARGET $opt layout"
	done
else
	echo "$XTARGET: skipped (needs qemu-user and libc6-dev-arm64-cross)"
fi

# C++: inline functions are emitted in every unit in COMDAT groups; their
# layout records must be discarded with the groups the linker drops.
CXX=${CXX:-$BINDIR/clang++}
[ -x "$CXX" ] || CXX=clang++-19
d=$OUT/cxx
mkdir -p "$d"
if $CXX -O2 -g -fsanitize-coverage=trace-pc $PLUGIN_FLAGS -c \
	"$HERE/inline_a.cpp" -o "$d/a.o" 2>"$d/err" &&
   $CXX -O2 -g -fsanitize-coverage=trace-pc $PLUGIN_FLAGS -c \
	"$HERE/inline_b.cpp" -o "$d/b.o" 2>>"$d/err" &&
   $CC -O2 -c "$HERE/runtime.c" -o "$d/runtime.o" &&
   $CXX -fuse-ld=lld -no-pie -o "$d/inline" "$d/a.o" "$d/b.o" \
	"$d/runtime.o" 2>>"$d/err" && "$d/inline"; then
	pass
else
	fail "C++ inline functions in two units: $(head -5 "$d/err")"
fi

# IR-level checks of the emitted calls (FileCheck), one file each, with the
# clang flags its "// FLAGS:" line gives.
for f in "$HERE"/ir/*.c; do
	flags=$(sed -n 's|^// FLAGS: ||p' "$f")
	name=$(basename "$f" .c)
	# Compiled to an object too: the backend must accept what was emitted.
	if $CC $flags -g -fsanitize-coverage=trace-pc $PLUGIN_FLAGS -S -emit-llvm \
		-o "$OUT/ir-$name.ll" "$f" 2>"$OUT/ir-$name.err" &&
	   $CC $flags -g -fsanitize-coverage=trace-pc $PLUGIN_FLAGS -c \
		-o "$OUT/ir-$name.o" "$f" 2>>"$OUT/ir-$name.err" &&
	   "$FILECHECK" --input-file="$OUT/ir-$name.ll" "$f" \
		>"$OUT/ir-$name.out" 2>&1; then
		pass
	else
		fail "ir/$name.c: $(cat "$OUT/ir-$name.err" "$OUT/ir-$name.out" | head -20)"
	fi
done

# abi's fixture (abi/testdata/layoutelf/layout.elf) is a checked-in image
# built with the plugin: rebuilt with this one, its layout records (pc and
# JSON) must be the checked-in ones, or the fixture has drifted; rebuild it
# with its build.sh.
FIXTURE=$HERE/../../abi/testdata/layoutelf
if [ -f "$FIXTURE/build.sh" ]; then
	if CC=$CC STRIP=$BINDIR/llvm-strip PLUGIN=$PLUGIN \
		sh "$FIXTURE/build.sh" "$OUT/layout.elf" 2>"$OUT/layout-elf.err" &&
	   "$OBJCOPY" --dump-section .kcovdf_layout="$OUT/layout-elf.new" \
		"$OUT/layout.elf" /dev/null &&
	   "$OBJCOPY" --dump-section .kcovdf_layout="$OUT/layout-elf.old" \
		"$FIXTURE/layout.elf" /dev/null &&
	   python3 "$HERE/same_records.py" "$OUT/layout-elf.old" \
		"$OUT/layout-elf.new" >"$OUT/layout-elf.out" 2>&1; then
		pass
	else
		fail "abi/testdata/layoutelf/layout.elf differs from a rebuild (rebuild it with its build.sh): $(cat "$OUT/layout-elf.err" "$OUT/layout-elf.out" | head -20)"
	fi
fi

# IR-level checks of the planning on hand-written IR (tags a C compile
# cannot produce): opt runs the instrumentation alone, FileCheck checks the
# calls, and the stats line must be the file's "; STATS:" line.
OPT=$BINDIR/opt
[ -x "$OPT" ] || OPT=opt-19
for f in "$HERE"/ir/*.ll; do
	name=$(basename "$f" .ll)
	want=$(sed -n 's|^; STATS: ||p' "$f")
	if "$OPT" -load-pass-plugin="$PLUGIN" -passes=kcovdf-dataflow \
		-kcovdf-dataflow-stats -S -o "$OUT/ir-$name.out.ll" "$f" \
		2>"$OUT/ir-$name.err" &&
	   "$FILECHECK" --input-file="$OUT/ir-$name.out.ll" "$f" \
		>"$OUT/ir-$name.out" 2>&1 &&
	   [ "$(grep -o 'functions .*' "$OUT/ir-$name.err")" = "$want" ]; then
		pass
	else
		fail "ir/$name.ll: $(cat "$OUT/ir-$name.err" "$OUT/ir-$name.out" | head -20)"
	fi
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
