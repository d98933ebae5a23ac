#!/bin/sh
# Rebuilds fixture.elf (DWARF 5, symbols, build id) and fixture.map from
# the C sources beside it.
set -e
cd "$(dirname "$0")"
clang-19 -g -gdwarf-5 -O1 -fno-inline -nostdlib -static -fno-pic \
	-fdebug-prefix-map="$PWD"=. -Wl,--build-id=sha1 -o fixture.elf fixture_a.c fixture_b.c
# The same image with BTF instead of DWARF (pahole turns the DWARF into BTF).
cp fixture.elf fixture-btf.elf
pahole -J fixture-btf.elf
llvm-objcopy-19 --strip-debug fixture-btf.elf
# A relocatable object with two text sections, like a kernel module.
clang-19 -g -gdwarf-5 -O1 -fno-inline -fdebug-prefix-map="$PWD"=. -c -o fixture.ko fixture_mod.c
# The image with zlib-compressed debug sections.
llvm-objcopy-19 --compress-debug-sections=zlib fixture.elf fixture-z.elf
