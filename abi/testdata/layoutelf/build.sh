#!/bin/sh
# Rebuilds layout.elf, a static non-PIE image (its layout pcs are link-time
# addresses): PLUGIN=/path/to/kcovdf-dataflow.so sh build.sh [OUTPUT]
# compiler/tests/run.sh builds it into a scratch file and fails if its
# layout records differ from the checked-in image's.
set -eu
: "${PLUGIN:?PLUGIN must name kcovdf-dataflow.so}"
: "${CC:=clang-19}"
: "${STRIP:=llvm-strip-19}"
out=$(realpath -m "${1:-$(dirname "$0")/layout.elf}")
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
F="-O2 -g -fno-pic -fsanitize-coverage=trace-pc -fplugin=$PLUGIN -fpass-plugin=$PLUGIN"
$CC $F -c a.c -o "$tmp/a.o"
$CC $F -c b.c -o "$tmp/b.o"
$CC -static -no-pie -nostdlib -fuse-ld=lld -Wl,-e,a_entry \
	-Wl,--build-id=none -o "$out" "$tmp/a.o" "$tmp/b.o"
$STRIP --strip-debug "$out"
