// SPDX-License-Identifier: GPL-2.0
/*
 * Test of the kcov dataflow device (/sys/kernel/debug/kcov_dataflow).
 *
 * Build: gcc -static -O2 -pthread -o kcov_dataflow_test kcov_dataflow_test.c
 *
 * Prints TAP ("ok N - name" / "not ok N - name") and exits 1 if any test
 * failed. Tests that need an instrumented kernel expect records unless
 * KCOV_DATAFLOW_TEST_NO_RECORDS=1 is set in the environment, in which case
 * they are skipped when no record shows up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEV_PATH	"/sys/kernel/debug/kcov_dataflow"

#define KCOV_DF_INIT_TRACE	_IOR('d', 1, unsigned long)
#define KCOV_DF_GET_DROPPED	_IOR('d', 2, uint64_t)
#define KCOV_DF_ENABLE		_IO('d', 100)
#define KCOV_DF_DISABLE		_IO('d', 101)

#define MAX_WORDS	(16UL << 20)
#define KTEXT_MIN	0xffffffff80000000ULL

static int test_num;
static int failures;
static int expect_records = 1;

static void report(int ok, const char *name, const char *why)
{
	test_num++;
	printf("%sok %d - %s", ok ? "" : "not ", test_num, name);
	if (why && *why)
		printf(" # %s", why);
	printf("\n");
	if (!ok)
		failures++;
	fflush(stdout);
}

static void skip(const char *name, const char *why)
{
	test_num++;
	printf("ok %d - %s # SKIP %s\n", test_num, name, why);
	fflush(stdout);
}

/* Checks that a call failed with the expected errno. */
static void expect_errno(long ret, int err, const char *name)
{
	char why[96];

	if (ret == -1 && errno == err) {
		report(1, name, NULL);
		return;
	}
	snprintf(why, sizeof(why), "got %ld errno %d (%s), want errno %d",
		 ret, ret == -1 ? errno : 0, ret == -1 ? strerror(errno) : "-",
		 err);
	report(0, name, why);
}

static void expect_ok(long ret, const char *name)
{
	char why[96];

	if (ret != -1) {
		report(1, name, NULL);
		return;
	}
	snprintf(why, sizeof(why), "errno %d (%s)", errno, strerror(errno));
	report(0, name, why);
}

static int open_dev(void)
{
	return open(DEV_PATH, O_RDWR | O_CLOEXEC);
}

struct trace {
	int fd;
	unsigned long words;
	volatile uint64_t *area;
};

static int trace_open(struct trace *t, unsigned long words)
{
	t->fd = open_dev();
	t->words = words;
	t->area = NULL;
	if (t->fd < 0)
		return -1;
	if (ioctl(t->fd, KCOV_DF_INIT_TRACE, words))
		return -1;
	t->area = mmap(NULL, words * 8, PROT_READ | PROT_WRITE, MAP_SHARED,
		       t->fd, 0);
	if (t->area == MAP_FAILED) {
		t->area = NULL;
		return -1;
	}
	return 0;
}

static void trace_close(struct trace *t)
{
	if (t->area)
		munmap((void *)t->area, t->words * 8);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->area = NULL;
}

/* A few syscalls that run instrumented code. */
static void workload(void)
{
	char buf[64];
	int fd;

	syscall(SYS_getpid);
	fd = open("/proc/self/stat", O_RDONLY);
	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf)) < 0)
			buf[0] = 0;
		close(fd);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		close(fd);
}

static int is_header(uint64_t w, uint32_t seq)
{
	uint64_t type = w >> 28;

	return (type == 0xe || type == 0xf) && (w & 0xffffff) == seq &&
	       !(w & 0x0f000000);
}

/*
 * Walks the records of area[1..area[0]]. v1 records carry no length, so the
 * next header is the first word that has the next sequence number and is
 * followed by a kernel text address. Returns the number of records, or -1
 * with @why set when the trace is malformed. *first_seq receives the
 * sequence number of the first record.
 */
static long parse(volatile uint64_t *area, unsigned long words,
		  uint32_t *first_seq, uint32_t *last_seq, char *why, size_t len)
{
	uint64_t n = area[0];
	uint64_t pos = 1, end = n + 1;
	uint32_t seq;
	long count = 0;

	if (n > words - 1) {
		snprintf(why, len, "area[0] = %llu > size - 1 = %lu",
			 (unsigned long long)n, words - 1);
		return -1;
	}
	if (!n)
		return 0;
	seq = area[1] & 0xffffff;
	if (first_seq)
		*first_seq = seq;
	while (pos < end) {
		uint64_t next;

		if (end - pos < 4 || !is_header(area[pos], seq)) {
			snprintf(why, len,
				 "bad header %#llx at word %llu (want seq %u)",
				 (unsigned long long)area[pos],
				 (unsigned long long)pos, seq);
			return -1;
		}
		if (area[pos + 1] < KTEXT_MIN) {
			snprintf(why, len, "pc %#llx at word %llu not in kernel text",
				 (unsigned long long)area[pos + 1],
				 (unsigned long long)pos + 1);
			return -1;
		}
		count++;
		if (last_seq)
			*last_seq = seq;
		seq = (seq + 1) & 0xffffff;
		for (next = pos + 4; next < end; next++) {
			if (next + 1 < end && is_header(area[next], seq) &&
			    area[next + 1] >= KTEXT_MIN)
				break;
		}
		pos = next;
	}
	return count;
}

/* Returns 1 when a records test should be skipped because there are none. */
static int no_records(const char *name, uint64_t count)
{
	if (count || expect_records)
		return 0;
	printf("# no records: kernel not instrumented\n");
	skip(name, "no records");
	return 1;
}

static void test_errnos(void)
{
	struct trace t;
	void *p;
	int fd, fd2;

	fd = open_dev();
	expect_errno(ioctl(fd, KCOV_DF_ENABLE, 0), EINVAL,
		     "ENABLE without a buffer is EINVAL");
	expect_errno(ioctl(fd, KCOV_DF_INIT_TRACE, 1UL), EINVAL,
		     "INIT_TRACE(1) is EINVAL");
	expect_errno(ioctl(fd, KCOV_DF_INIT_TRACE, MAX_WORDS + 1), EINVAL,
		     "INIT_TRACE(16777217) is EINVAL");
	expect_errno(ioctl(fd, _IO('d', 77), 0), ENOTTY,
		     "unknown ioctl is ENOTTY");
	expect_errno(ioctl(fd, KCOV_DF_DISABLE, 0), EINVAL,
		     "DISABLE of an untraced fd is EINVAL");
	expect_ok(ioctl(fd, KCOV_DF_INIT_TRACE, 2UL), "INIT_TRACE(2) succeeds");
	expect_errno(ioctl(fd, KCOV_DF_INIT_TRACE, 2UL), EBUSY,
		     "second INIT_TRACE is EBUSY");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	expect_errno(p == MAP_FAILED ? -1 : 0, EINVAL,
		     "mmap longer than a 2-word buffer is EINVAL");
	close(fd);

	fd = open_dev();
	expect_ok(ioctl(fd, KCOV_DF_INIT_TRACE, MAX_WORDS),
		  "INIT_TRACE(16777216) succeeds");
	close(fd);

	fd = open_dev();
	ioctl(fd, KCOV_DF_INIT_TRACE, 1024UL);
	p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 4096);
	expect_errno(p == MAP_FAILED ? -1 : 0, EINVAL,
		     "mmap at a non-zero offset is EINVAL");
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	expect_errno(p == MAP_FAILED ? -1 : 0, EINVAL,
		     "mmap of a wrong length is EINVAL");
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	expect_errno(p == MAP_FAILED ? -1 : 0, EINVAL,
		     "MAP_PRIVATE mmap is EINVAL");
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	expect_ok(p == MAP_FAILED ? -1 : 0, "MAP_SHARED mmap succeeds");
	if (p != MAP_FAILED)
		munmap(p, 8192);
	close(fd);

	if (trace_open(&t, 1024)) {
		report(0, "ENABLE", "cannot set up a buffer");
		return;
	}
	expect_ok(ioctl(t.fd, KCOV_DF_ENABLE, 0), "ENABLE succeeds");
	expect_errno(ioctl(t.fd, KCOV_DF_ENABLE, 0), EINVAL,
		     "second ENABLE on the same fd is EINVAL");
	fd2 = open_dev();
	ioctl(fd2, KCOV_DF_INIT_TRACE, 1024UL);
	expect_errno(ioctl(fd2, KCOV_DF_ENABLE, 0), EBUSY,
		     "ENABLE on a second fd from a traced task is EBUSY");
	close(fd2);
	expect_ok(ioctl(t.fd, KCOV_DF_DISABLE, 0), "DISABLE succeeds");
	expect_errno(ioctl(t.fd, KCOV_DF_DISABLE, 0), EINVAL,
		     "second DISABLE is EINVAL");
	trace_close(&t);
}

struct thread_arg {
	int fd;
	int ret;
	int err;
	int enable;
	int ret2;
	int err2;
};

static void *thread_ioctl(void *p)
{
	struct thread_arg *a = p;

	a->ret = ioctl(a->fd, a->enable ? KCOV_DF_ENABLE : KCOV_DF_DISABLE, 0);
	a->err = errno;
	if (a->enable)
		workload();
	return NULL;
}

static void test_threads(void)
{
	struct thread_arg a = { 0 };
	pthread_t th;
	struct trace t;
	long ret;

	if (trace_open(&t, 1024)) {
		report(0, "thread tests", "cannot set up a buffer");
		return;
	}
	ioctl(t.fd, KCOV_DF_ENABLE, 0);
	a.fd = t.fd;
	pthread_create(&th, NULL, thread_ioctl, &a);
	pthread_join(th, NULL);
	errno = a.err;
	expect_errno(a.ret, EINVAL, "DISABLE from another thread is EINVAL");
	ioctl(t.fd, KCOV_DF_DISABLE, 0);

	/* A traced thread that exits unbinds the fd. */
	a.enable = 1;
	pthread_create(&th, NULL, thread_ioctl, &a);
	pthread_join(th, NULL);
	errno = a.err;
	expect_ok(a.ret, "ENABLE from a thread succeeds");
	ret = ioctl(t.fd, KCOV_DF_ENABLE, 0);
	expect_ok(ret, "ENABLE after the traced thread exited succeeds");
	if (!ret)
		ioctl(t.fd, KCOV_DF_DISABLE, 0);
	trace_close(&t);
}

/* Closing the file while another thread is traced must be safe. */
static void *thread_traced(void *p)
{
	struct thread_arg *a = p;
	int i, fd;

	a->ret = ioctl(a->fd, KCOV_DF_ENABLE, 0);
	a->err = errno;
	__atomic_store_n(&a->enable, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&a->enable, __ATOMIC_SEQ_CST) == 1)
		workload();
	for (i = 0; i < 100; i++)
		workload();
	/* The closed file no longer holds this thread. */
	fd = open_dev();
	ioctl(fd, KCOV_DF_INIT_TRACE, 1024UL);
	a->ret2 = ioctl(fd, KCOV_DF_ENABLE, 0);
	a->err2 = errno;
	ioctl(fd, KCOV_DF_DISABLE, 0);
	close(fd);
	return NULL;
}

static void test_close_while_traced(void)
{
	struct thread_arg a = { 0 };
	pthread_t th;

	a.fd = open_dev();
	ioctl(a.fd, KCOV_DF_INIT_TRACE, 1024UL);
	pthread_create(&th, NULL, thread_traced, &a);
	while (__atomic_load_n(&a.enable, __ATOMIC_SEQ_CST) != 1)
		usleep(1000);
	close(a.fd);
	__atomic_store_n(&a.enable, 2, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	errno = a.err;
	expect_ok(a.ret, "close from another thread while traced is safe");
	errno = a.err2;
	expect_ok(a.ret2, "after that close, the thread can ENABLE a new fd");
}

static void test_records(void)
{
	char why[160] = "";
	uint32_t first = 0, last = 0, first2 = 0;
	uint64_t dropped = ~0ULL, n;
	struct trace t;
	unsigned long i;
	long count;

	if (trace_open(&t, 64 * 1024)) {
		report(0, "records", "cannot set up a buffer");
		return;
	}
	/* The buffer is fresh: the first record is the first after ENABLE. */
	ioctl(t.fd, KCOV_DF_ENABLE, 0);
	workload();
	ioctl(t.fd, KCOV_DF_DISABLE, 0);
	n = t.area[0];
	printf("# traced workload: %llu words\n", (unsigned long long)n);

	count = parse(t.area, t.words, &first, &last, why, sizeof(why));
	for (i = 1; i <= n && i <= 12; i += 4)
		printf("# area[%lu..]: %#018llx %#018llx %#018llx %#018llx\n", i,
		       (unsigned long long)t.area[i],
		       (unsigned long long)t.area[i + 1],
		       (unsigned long long)t.area[i + 2],
		       (unsigned long long)t.area[i + 3]);
	if (!no_records("traced syscalls yield records", n)) {
		report(count > 0 && first == 1, "traced syscalls yield records "
		       "with sequence 1, 2, 3, ... and kernel pcs", why);
		printf("# %ld records, last sequence %u\n", count, last);
	}
	expect_ok(ioctl(t.fd, KCOV_DF_GET_DROPPED, &dropped),
		  "GET_DROPPED succeeds");
	report(dropped == 0, "nothing dropped in a large buffer", NULL);
	n = t.area[0];
	usleep(1000);
	workload();
	report(t.area[0] == n, "nothing recorded after DISABLE", NULL);

	/* Restart by storing 0: sequence numbers go on. */
	ioctl(t.fd, KCOV_DF_ENABLE, 0);
	workload();
	t.area[0] = 0;
	workload();
	ioctl(t.fd, KCOV_DF_DISABLE, 0);
	count = parse(t.area, t.words, &first2, &last, why, sizeof(why));
	if (!no_records("storing 0 into area[0] restarts", t.area[0]))
		report(count > 0 && first2 > 1, "storing 0 into area[0] restarts "
		       "at area[1], sequence continuing", why);
	trace_close(&t);
}

static void test_overflow(void)
{
	char why[160] = "";
	uint64_t dropped = 0, n;
	struct trace t;
	long count;
	int i;

	if (trace_open(&t, 512)) {
		report(0, "overflow", "cannot set up a buffer");
		return;
	}
	ioctl(t.fd, KCOV_DF_ENABLE, 0);
	t.area[0] = 0;
	for (i = 0; i < 20; i++)
		workload();
	ioctl(t.fd, KCOV_DF_DISABLE, 0);
	ioctl(t.fd, KCOV_DF_GET_DROPPED, &dropped);
	n = t.area[0];
	printf("# 512-word buffer: %llu words, %llu records dropped\n",
	       (unsigned long long)n, (unsigned long long)dropped);
	report(n <= t.words - 1, "area[0] never exceeds size - 1", NULL);
	if (!no_records("full buffer counts drops", n)) {
		report(dropped > 0, "full buffer counts dropped records", NULL);
		count = parse(t.area, t.words, NULL, NULL, why, sizeof(why));
		report(count > 0, "kept records are whole and consecutive",
		       why);
	}
	/* ENABLE resets the drop counter (with room for what it records). */
	t.area[0] = 0;
	ioctl(t.fd, KCOV_DF_ENABLE, 0);
	ioctl(t.fd, KCOV_DF_DISABLE, 0);
	ioctl(t.fd, KCOV_DF_GET_DROPPED, &dropped);
	report(dropped == 0, "ENABLE resets the drop counter", NULL);
	trace_close(&t);
}

static void test_fork(void)
{
	char why[160] = "";
	int pipefd[2], status, i;
	struct trace t;
	uint64_t n;
	pid_t pid;
	long count;
	char c = 0;

	if (trace_open(&t, 64 * 1024) || pipe(pipefd)) {
		report(0, "fork", "cannot set up a buffer");
		return;
	}
	ioctl(t.fd, KCOV_DF_ENABLE, 0);
	t.area[0] = 0;
	pid = fork();
	if (pid == 0) {
		/* Wait until the parent stopped tracing, then run. */
		if (read(pipefd[0], &c, 1) != 1)
			_exit(2);
		for (i = 0; i < 50; i++)
			workload();
		/* The child is not traced: DISABLE must fail. */
		_exit(ioctl(t.fd, KCOV_DF_DISABLE, 0) == -1 &&
		      errno == EINVAL ? 0 : 1);
	}
	ioctl(t.fd, KCOV_DF_DISABLE, 0);
	n = t.area[0];
	if (write(pipefd[1], &c, 1) != 1)
		c = 1;
	waitpid(pid, &status, 0);
	report(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "forked child is not traced", NULL);
	report(t.area[0] == n, "forked child does not write into the "
	       "parent's buffer", NULL);
	count = parse(t.area, t.words, NULL, NULL, why, sizeof(why));
	report(count >= 0, "parent's records around fork are consecutive",
	       why);
	close(pipefd[0]);
	close(pipefd[1]);
	trace_close(&t);
}

int main(void)
{
	const char *env = getenv("KCOV_DATAFLOW_TEST_NO_RECORDS");
	int fd;

	if (env && *env == '1')
		expect_records = 0;
	fd = open_dev();
	if (fd < 0 && errno == ENOENT) {
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
		fd = open_dev();
	}
	printf("TAP version 13\n");
	if (fd < 0) {
		report(0, "device " DEV_PATH " exists", strerror(errno));
		printf("1..%d\n", test_num);
		return 1;
	}
	close(fd);
	report(1, "device " DEV_PATH " exists", NULL);

	test_errnos();
	test_threads();
	test_close_while_traced();
	test_records();
	test_overflow();
	test_fork();

	printf("1..%d\n", test_num);
	return failures ? 1 : 0;
}
