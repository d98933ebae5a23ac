#!/bin/sh
# Build Linux 6.12 with the kcov dataflow series, boot it under QEMU (TCG)
# with a busybox initramfs and run the kselftest of the series.
#
# usage: kernel/dev-build.sh WORKDIR [plain|df|kasan]
#
#   plain  the device alone, no plugin (the test expects no records)
#   df     KCOV_DATAFLOW_INSTRUMENT_ALL with the plugin
#   kasan  KASAN + PROVE_LOCKING, the plugin, KCOV_DATAFLOW_SELECT
#
# Environment: PLUGIN (path of kcovdf-dataflow.so, needed by df and kasan),
# SELECT (KCOV_DATAFLOW_SELECT for kasan), SRC_TAR (kernel source tarball),
# JOBS (make -j, default 2), STATS=1 (the plugin's per-object counts in the
# build log).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
work=$1
kind=${2:-plain}
SRC_TAR=${SRC_TAR:-/usr/src/linux-source-6.12.tar.xz}
JOBS=${JOBS:-2}
SELECT=${SELECT:-fs/ kernel/ mm/ lib/ ipc/ security/}
PLUGIN=${PLUGIN:-}
STATS=${STATS:-}

mkdir -p "$work"
work=$(cd "$work" && pwd)
src=$work/linux-source-6.12
out=$work/out-$kind

if [ ! -d "$src" ]; then
	tar -C "$work" -xf "$SRC_TAR"
	for p in "$here"/patches/*.patch; do
		patch -d "$src" -p1 -s < "$p"
	done
fi

extra=
disable=
makevars=
testenv=
case $kind in
plain)
	testenv=KCOV_DATAFLOW_TEST_NO_RECORDS=1
	;;
df)
	extra=KCOV_DATAFLOW_INSTRUMENT_ALL
	makevars="KCOV_DATAFLOW_PLUGIN=$PLUGIN"
	;;
kasan)
	# KASAN depends on !SLUB_TINY, which tinyconfig sets.
	disable=SLUB_TINY
	extra="DEBUG_KERNEL KASAN KASAN_GENERIC KASAN_OUTLINE STACKTRACE"
	extra="$extra PROVE_LOCKING DEBUG_ATOMIC_SLEEP"
	makevars="KCOV_DATAFLOW_PLUGIN=$PLUGIN"
	;;
*)
	echo "unknown kind $kind" >&2
	exit 2
	;;
esac
if [ -n "$STATS" ]; then
	makevars="$makevars KCOV_DATAFLOW_STATS=1"
fi
if [ "$kind" != plain ] && [ ! -f "$PLUGIN" ]; then
	echo "set PLUGIN to the kcovdf-dataflow.so pass plugin" >&2
	exit 2
fi

if [ ! -f "$out/.config" ]; then
	make -C "$src" LLVM=-19 O="$out" tinyconfig >/dev/null
	for o in $disable; do
		"$src"/scripts/config --file "$out/.config" -d "$o"
	done
	for o in 64BIT PRINTK TTY SERIAL_8250 SERIAL_8250_CONSOLE DEVTMPFS \
		DEVTMPFS_MOUNT DEBUG_FS KCOV BLK_DEV_INITRD BINFMT_ELF \
		BINFMT_SCRIPT PROC_FS SYSFS MULTIUSER FUTEX SHMEM TMPFS PCI SMP \
		ACPI KCOV_DATAFLOW_ARGS KCOV_DATAFLOW_RET $extra; do
		"$src"/scripts/config --file "$out/.config" -e "$o"
	done
	make -C "$src" LLVM=-19 O="$out" olddefconfig >/dev/null
	# olddefconfig silently drops an option whose dependencies fail.
	for o in KCOV DEBUG_FS KCOV_DATAFLOW_ARGS KCOV_DATAFLOW_RET $extra; do
		if ! grep -q "^CONFIG_$o=y" "$out/.config"; then
			echo "CONFIG_$o did not stick in $out/.config" >&2
			rm -f "$out/.config"
			exit 1
		fi
	done
fi

start=$(date +%s)
if [ "$kind" = kasan ]; then
	make -C "$src" LLVM=-19 O="$out" -j"$JOBS" $makevars \
		KCOV_DATAFLOW_SELECT="$SELECT" bzImage > "$out/build.log" 2>&1
else
	make -C "$src" LLVM=-19 O="$out" -j"$JOBS" $makevars \
		bzImage > "$out/build.log" 2>&1
fi
echo "build: $(($(date +%s) - start)) s"

# The series' kselftest, against the tree's uapi headers (KHDR_INCLUDES).
make -C "$src" LLVM=-19 O="$out" headers >/dev/null
gcc -static -O2 -pthread -isystem "$out/usr/include" -o "$work/kcov_dataflow_test" \
	"$src"/tools/testing/selftests/kcov_dataflow/kcov_dataflow_test.c

root=$(mktemp -d)
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys"
cp "$(command -v busybox)" "$root/bin/busybox"
cp "$work/kcov_dataflow_test" "$root/bin/"
cat > "$root/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t debugfs debugfs /sys/kernel/debug
$testenv /bin/kcov_dataflow_test
echo "kcov_dataflow_test exit \$?"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) > "$out/initramfs.cpio"
rm -rf "$root"

log=$out/serial.log
start=$(date +%s)
timeout 900 qemu-system-x86_64 -accel tcg -kernel "$out/arch/x86/boot/bzImage" \
	-initrd "$out/initramfs.cpio" -append "console=ttyS0 panic=-1" \
	-m 512 -smp 2 -no-reboot -nographic -serial file:"$log" \
	-monitor none -display none
echo "boot + test: $(($(date +%s) - start)) s"

tr -d '\r' < "$log" | grep -E '^(not )?ok |^# |exit [0-9]' || true
if tr -d '\r' < "$log" | grep -qE 'BUG:|WARNING:|KASAN:|INFO: |possible (recursive|circular) locking|inconsistent lock state|Call Trace'; then
	echo "kernel reports in $log" >&2
	exit 1
fi
tr -d '\r' < "$log" | grep -q '^kcov_dataflow_test exit 0$'
