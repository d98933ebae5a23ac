// SPDX-License-Identifier: MIT
/*
 * kcovdf-threads: a process of four threads, each with a syscall mix of its
 * own, for tracing a whole process in follow mode. Each thread's stream
 * must hold only its own system calls' entry functions:
 *
 *   getpid   getpid() in a loop             __x64_sys_getpid
 *   open     open and close /etc/passwd     do_sys_openat2
 *   read     read /dev/zero into a buffer   ksys_read (main opened it)
 *   stat     fstat and uname                __x64_sys_newfstatat (glibc's
 *                                           fstat), __x64_sys_newuname
 *
 * Each thread names itself (comm) after its mix, so that a trace shows
 * which stream is which (its first chunk may still carry the process's
 * name: the rename is itself a system call); main starts them, joins them
 * and exits.
 *
 * Usage: kcovdf-threads [ROUNDS]   (default 20)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static long rounds = 20;

static void name(const char *comm) { prctl(PR_SET_NAME, comm, 0, 0, 0); }

static void *getpid_loop(void *arg)
{
	name("getpid");
	for (long i = 0; i < rounds; i++)
		syscall(SYS_getpid); /* not glibc's: it may not enter the kernel */
	return arg;
}

static void *open_loop(void *arg)
{
	name("open");
	for (long i = 0; i < rounds; i++) {
		int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);

		if (fd >= 0)
			close(fd);
	}
	return arg;
}

/* Opened by main: the read thread only reads. */
static int zero = -1;

static void *read_loop(void *arg)
{
	static char buf[4096];

	name("read");
	for (long i = 0; i < rounds; i++)
		if (read(zero, buf, sizeof(buf)) < 0)
			break;
	return arg;
}

static void *stat_loop(void *arg)
{
	struct utsname u;
	struct stat st;

	name("stat");
	for (long i = 0; i < rounds; i++) {
		fstat(0, &st);
		uname(&u);
	}
	return arg;
}

int main(int argc, char **argv)
{
	void *(*mixes[])(void *) = { getpid_loop, open_loop, read_loop, stat_loop };
	pthread_t th[4];

	if (argc > 2 || (argc == 2 && (rounds = strtol(argv[1], NULL, 10)) <= 0)) {
		fprintf(stderr, "usage: %s [ROUNDS]\n", argv[0]);
		return 2;
	}
	zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (zero < 0) {
		perror("/dev/zero");
		return 1;
	}
	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, mixes[i], NULL)) {
			perror("pthread_create");
			return 1;
		}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	return 0;
}
