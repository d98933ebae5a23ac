/*
 * The compat ioctls of kcov_dataflow from a 32-bit process. No libc (the
 * build machine has no 32-bit one), system calls through int $0x80:
 *
 *   gcc -m32 -O2 -static -nostdlib -ffreestanding -fno-stack-protector \
 *       -fno-pic -no-pie -o compat32 compat32.c
 *   kcovdf lab run --config IA32_EMULATION=y --file compat32 -- compat32
 *
 * Exit status: the number of the first failed check, 0 if all pass.
 */
typedef unsigned int u32;
typedef unsigned long long u64;

static long sys(long nr, long a, long b, long c)
{
	long ret;

	asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static void out(const char *s)
{
	long n = 0;

	while (s[n])
		n++;
	sys(4, 1, (long)s, n);
}

static void quit(int code)
{
	sys(252, code, 0, 0);
	for (;;)
		;
}

static int step;

static void check(int ok, const char *what)
{
	step++;
	out(ok ? "ok   " : "FAIL ");
	out(what);
	out("\n");
	if (!ok)
		quit(step);
}

struct mmap_arg { u32 addr, len, prot, flags, fd, offset; };

void _start(void)
{
	static const char dev[] = "/sys/kernel/debug/kcov_dataflow";
	struct mmap_arg m = { 0, 65536 * 8, 3, 1, 0, 0 };
	volatile u64 *area;
	u64 dropped = 1;
	long fd, fd2, r;

	fd = sys(5, (long)dev, 2, 0);
	check(fd >= 0, "open");
	check(sys(54, fd, 0x80046401, 65536) == 0, "INIT_TRACE, 32-bit number");
	check(sys(54, fd, 0x80086401, 512) == -16, "INIT_TRACE, 64-bit number, again: EBUSY");
	fd2 = sys(5, (long)dev, 2, 0);
	check(sys(54, fd2, 0x80086401, 512) == 0, "INIT_TRACE, 64-bit number");
	m.fd = fd;
	r = sys(90, (long)&m, 0, 0);
	check(r < 0 && r > -4096 ? 0 : 1, "mmap");
	area = (volatile u64 *)r;
	check(sys(54, fd, 0x6464, 0) == 0, "ENABLE");
	area[0] = 0;
	sys(64, 0, 0, 0);
	r = (long)area[0];
	check(sys(54, fd, 0x6465, 0) == 0, "DISABLE");
	check(r > 0, "records");
	check(sys(54, fd, 0x80086402, (long)&dropped) == 0, "GET_DROPPED");
	check(dropped == 0, "GET_DROPPED stored 0 (nothing dropped from 64K words)");
	check(sys(54, fd, 0x80086402, 16) == -14, "GET_DROPPED, bad pointer: EFAULT");
	check(sys(54, fd, 0x6499, 0) == -25, "unknown ioctl: ENOTTY");
	sys(6, fd2, 0, 0);
	out("compat32: all passed\n");
	quit(0);
}
