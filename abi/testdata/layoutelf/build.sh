#!/bin/sh
# Rebuilds layout.elf, a static non-PIE image (its layout pcs are link-time
# addresses): PLUGIN=/path/to/kcovdf-dataflow.so sh build.sh
set -eu
cd "$(dirname "$0")"
: "${PLUGIN:?PLUGIN must name kcovdf-dataflow.so}"
F="-O2 -g -fno-pic -fsanitize-coverage=trace-pc -fplugin=$PLUGIN -fpass-plugin=$PLUGIN"
clang-19 $F -c a.c -o /tmp/kcovdf-layout-a.o
clang-19 $F -c b.c -o /tmp/kcovdf-layout-b.o
clang-19 -static -no-pie -nostdlib -fuse-ld=lld -Wl,-e,a_entry \
	-Wl,--build-id=none -o layout.elf \
	/tmp/kcovdf-layout-a.o /tmp/kcovdf-layout-b.o
llvm-strip-19 --strip-debug layout.elf
rm -f /tmp/kcovdf-layout-a.o /tmp/kcovdf-layout-b.o
