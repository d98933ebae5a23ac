#!/bin/sh
# Shows that tagging arguments at the start of the pipeline changes no
# generated code: recompiles the objects of a kernel build (their commands
# from kbuild's .o.cmd files) without the plugin and with the plugin in
# -kcovdf-dataflow-tag-only mode, and compares their disassembly.
#
# usage: compiler/tests/check-nochange.sh OBJDIR PLUGIN [MAX_OBJECTS [DIR...]]
#   OBJDIR  a configured and built kernel object directory (make O=...)
#   DIR     only objects under these subdirectories of OBJDIR
# Prints one line per differing object and a summary; exits 1 on any
# difference.
set -u
obj=$(cd "$1" && pwd)
plugin=$2
max=${3:-100000}
shift 2
[ $# -gt 0 ] && shift
dirs=${*:-.}
command -v llvm-objdump-19 >/dev/null || { echo "llvm-objdump-19 not found" >&2; exit 2; }
[ -f "$plugin" ] || { echo "$plugin: no such plugin" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 same=0 differ=0 failed=0
for cmdf in $(cd "$obj" && find $dirs -name '*.o.cmd' | sort); do
	[ "$n" -ge "$max" ] && break
	o=${cmdf%.cmd}
	o=$(dirname "$o")/$(basename "$o" | sed 's/^\.//')
	line=$(sed -n 's/^savedcmd_[^ ]* := //p' "$obj/$cmdf" | head -1)
	line=${line%%;*} # kbuild runs objtool and others after a ";"
	line=$(printf "%s" "$line" | sed "s/[[:space:]]*$//")
	case $line in
	*clang*" -c "*".c") ;;
	*) continue ;;
	esac
	# The compile without any plugin flags, then with the tagging pass only.
	base=$(printf '%s\n' "$line" | sed -e 's/ -fplugin=[^ ]*//g' \
		-e 's/ -fpass-plugin=[^ ]*//g' -e 's/ -mllvm -kcovdf-[^ ]*//g' \
		-e 's/ -Wp,-MMD,[^ ]*//' -e 's/ -o [^ ]*/ -o OUT/')
	tag="$base -fplugin=$plugin -fpass-plugin=$plugin -mllvm -kcovdf-dataflow-tag-only"
	a=$tmp/a.o b=$tmp/b.o
	if ! (cd "$obj" && eval "$(echo "$base" | sed "s| -o OUT| -o $a|")") 2>/dev/null ||
	   ! (cd "$obj" && eval "$(echo "$tag" | sed "s| -o OUT| -o $b|")") 2>/dev/null; then
		failed=$((failed + 1))
		continue
	fi
	n=$((n + 1))
	llvm-objdump-19 -d -r --no-show-raw-insn "$a" >"$tmp/a.dis" &&
		llvm-objdump-19 -d -r --no-show-raw-insn "$b" >"$tmp/b.dis" ||
		{ echo "llvm-objdump-19 failed on $o" >&2; exit 2; }
	# Past the first two lines (the file names), the disassembly.
	tail -n +3 "$tmp/a.dis" >"$tmp/a.body"
	tail -n +3 "$tmp/b.dis" >"$tmp/b.body"
	if cmp -s "$tmp/a.body" "$tmp/b.body"; then
		same=$((same + 1))
	else
		differ=$((differ + 1))
		echo "differs: $o"
	fi
done
echo "objects compared: $n, identical code: $same, different: $differ (not recompiled: $failed)"
# Nothing compared proves nothing.
[ "$n" -gt 0 ] && [ "$differ" -eq 0 ]
