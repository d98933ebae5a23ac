// SPDX-License-Identifier: MIT
/*
 * kcovdf-treetask: a task that the conformance target drives over a socket,
 * so that a followed tree can be built task by task on a real kernel.
 *
 * A new thread or process joins a followed tree because the task that
 * cloned it is in the tree: the clone must be done by that very task. Go's
 * scheduler cannot start a thread on a chosen thread, hence this program.
 *
 * Usage: kcovdf-treetask FD            (FD: a SOCK_SEQPACKET socket)
 *        COMM FD DIR                   (after "exec COMM": DIR/COMM is the
 *                                       symlink it was started through)
 *
 * Each message on FD is one command; each gets one reply "ERRNO VALUE"
 * (ERRNO 0 for success). Commands that need a descriptor carry it as
 * SCM_RIGHTS:
 *
 *   work N        N times open, read and close /proc/version
 *   fork          [socket] fork a child process driven over the socket;
 *                 VALUE is its tid
 *   thread        [socket] start a thread driven over the socket; VALUE is
 *                 its tid
 *   exec COMM     execve this program again through a symlink named COMM,
 *                 so that /proc/self/comm reads COMM; the new program
 *                 replies, VALUE is its tid
 *   ioctl CMD ARG [file] ioctl(file, CMD, ARG); VALUE is its result
 *   ioctlp CMD    [file] ioctl(file, CMD, &u64); VALUE is the u64
 *   close         [file] close it (the caller closed its own copy first,
 *                 so this task's close drops the last reference)
 *   kcov          classic kcov (trace-pc) around some work: VALUE is the
 *                 number of pcs
 *   forkwork      fork a shell that does some work and wait for it
 *   exit          reply, then end this thread (the process ends with its
 *                 last thread)
 *
 * A task whose socket is closed ends too. Descriptors received for one
 * command are closed before the reply: a task holds no reference to the
 * caller's files between commands, so the caller's close stays the one
 * that releases them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSG_MAX 256

/* Classic kcov's ioctls (include/uapi/linux/kcov.h). */
#define KCOV_INIT_TRACE _IOR('c', 1, unsigned long)
#define KCOV_ENABLE _IO('c', 100)
#define KCOV_DISABLE _IO('c', 101)
#define KCOV_TRACE_PC 0

static pid_t gettid_(void) { return (pid_t)syscall(SYS_gettid); }

/* recv_cmd reads one command into buf and the descriptor it carries (or
 * -1) into fd. It returns the command's length, 0 at end of file, -1 on
 * error. */
static ssize_t recv_cmd(int sock, char *buf, size_t size, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { buf, size - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n;
	buf[n] = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

static void reply(int sock, int err, unsigned long long value)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%d %llu", err, value);

	while (send(sock, buf, n, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* work is Task.Work: n small syscalls through fs/. */
static int work(long n)
{
	char buf[256];

	for (long i = 0; i < n; i++) {
		int fd = open("/proc/version", O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return errno;
		if (read(fd, buf, sizeof(buf)) < 0) {
			int e = errno;

			close(fd);
			return e;
		}
		close(fd);
	}
	return 0;
}

/* close_from closes every descriptor from lo up except keep. */
static void close_from(int lo, int keep)
{
#ifdef SYS_close_range
	if (keep < lo || syscall(SYS_close_range, lo, keep - 1, 0) == 0) {
		if (syscall(SYS_close_range, keep < lo ? lo : keep + 1, ~0U, 0) == 0)
			return;
	}
#endif
	for (int fd = lo; fd < 65536; fd++)
		if (fd != keep)
			close(fd);
}

static void serve(int sock);

struct thread_start {
	int sock;
	pid_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cond;
};

static void *thread_start(void *arg)
{
	struct thread_start *ts = arg;
	int sock = ts->sock;

	pthread_mutex_lock(&ts->mu);
	ts->tid = gettid_();
	pthread_cond_signal(&ts->cond);
	pthread_mutex_unlock(&ts->mu);
	/* ts lives on the creator's stack: not used past this point. */
	serve(sock);
	return NULL;
}

/* new_thread starts a thread that serves sock; it returns its tid or a
 * negative errno. */
static long new_thread(int sock)
{
	struct thread_start ts = { .sock = sock, .tid = 0,
				   .mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	pthread_attr_t attr;
	pthread_t th;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&ts.mu);
	err = pthread_create(&th, &attr, thread_start, &ts);
	pthread_attr_destroy(&attr);
	if (err) {
		pthread_mutex_unlock(&ts.mu);
		return -err;
	}
	while (!ts.tid)
		pthread_cond_wait(&ts.cond, &ts.mu);
	pthread_mutex_unlock(&ts.mu);
	return ts.tid;
}

/* do_exec runs this program again through DIR/COMM. It returns only on
 * failure, with the errno. */
static int do_exec(int sock, const char *comm)
{
	char self[PATH_MAX], dir[PATH_MAX - 32], link[PATH_MAX], fdarg[16];
	const char *tmp = getenv("TMPDIR");
	ssize_t n;
	int err;

	if (!*comm || strchr(comm, '/') || strlen(comm) > 15)
		return EINVAL;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return errno;
	self[n] = 0;
	snprintf(dir, sizeof(dir), "%s/kcovdf-treetask.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return errno;
	snprintf(link, sizeof(link), "%s/%s", dir, comm);
	snprintf(fdarg, sizeof(fdarg), "%d", sock);
	if (symlink(self, link) < 0) {
		err = errno;
		rmdir(dir);
		return err;
	}
	/* The socket is the one descriptor that survives the exec. */
	fcntl(sock, F_SETFD, 0);
	char *argv[] = { (char *)comm, fdarg, dir, NULL };
	extern char **environ;
	execve(link, argv, environ);
	err = errno;
	fcntl(sock, F_SETFD, FD_CLOEXEC);
	unlink(link);
	rmdir(dir);
	return err;
}

/* classic_kcov collects trace-pc coverage of three rounds of work. */
static int classic_kcov(unsigned long long *pcs)
{
	const unsigned long words = 1 << 16;
	unsigned long *cover;
	int fd, err = 0;

	fd = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (ioctl(fd, KCOV_INIT_TRACE, words)) {
		err = errno;
		goto out;
	}
	cover = mmap(NULL, words * sizeof(unsigned long), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (cover == MAP_FAILED) {
		err = errno;
		goto out;
	}
	if (ioctl(fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		err = errno;
		goto unmap;
	}
	work(3);
	*pcs = __atomic_load_n(&cover[0], __ATOMIC_RELAXED);
	if (ioctl(fd, KCOV_DISABLE, 0))
		err = errno;
unmap:
	munmap(cover, words * sizeof(unsigned long));
out:
	close(fd);
	return err;
}

/* fork_work runs a shell that does some work and waits for it. The child
 * is cloned with no exit signal, so that it is waited for here and
 * nowhere else (the children of "fork" are reaped by SIGCHLD). */
static int fork_work(void)
{
	static char *const argv[] = { "sh", "-c", "cat /proc/version /proc/self/stat >/dev/null; ls / >/dev/null", NULL };
	extern char **environ;
	int status;
	long pid = syscall(SYS_clone, 0UL, NULL, NULL, NULL, 0UL);

	if (pid < 0)
		return errno;
	if (pid == 0) {
		execve("/bin/sh", argv, environ);
		_exit(127);
	}
	while (waitpid(pid, &status, __WCLONE) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : ECHILD;
}

static void serve(int sock)
{
	char buf[MSG_MAX], verb[16], arg[MSG_MAX];
	unsigned long long a, b, value;
	int fd, err;

	for (;;) {
		ssize_t n = recv_cmd(sock, buf, sizeof(buf), &fd);

		if (n <= 0)
			break;
		err = 0;
		value = 0;
		arg[0] = 0;
		sscanf(buf, "%15s %255[^\n]", verb, arg);
		if (!strcmp(verb, "work") && sscanf(arg, "%llu", &a) == 1) {
			err = work((long)a);
		} else if (!strcmp(verb, "fork") && fd >= 0) {
			pid_t pid = fork();

			if (pid == 0) {
				/* Only the new socket: the parent's descriptors
				 * must not keep its files or sockets open. */
				close_from(3, fd);
				fcntl(fd, F_SETFD, FD_CLOEXEC);
				serve(fd);
				pthread_exit(NULL);
			}
			if (pid < 0)
				err = errno;
			value = pid > 0 ? pid : 0;
			close(fd);
			fd = -1;
		} else if (!strcmp(verb, "thread") && fd >= 0) {
			long tid = new_thread(fd);

			if (tid < 0) {
				err = -tid;
			} else {
				value = tid;
				fd = -1; /* the thread's socket now */
			}
		} else if (!strcmp(verb, "exec") && arg[0]) {
			err = do_exec(sock, arg);
		} else if (!strcmp(verb, "ioctl") && fd >= 0 && sscanf(arg, "%llu %llu", &a, &b) == 2) {
			int r = ioctl(fd, (unsigned long)a, (unsigned long)b);

			err = r < 0 ? errno : 0;
			value = r < 0 ? 0 : r;
		} else if (!strcmp(verb, "ioctlp") && fd >= 0 && sscanf(arg, "%llu", &a) == 1) {
			uint64_t out = 0;

			err = ioctl(fd, (unsigned long)a, &out) < 0 ? errno : 0;
			value = out;
		} else if (!strcmp(verb, "close") && fd >= 0) {
			err = close(fd) < 0 ? errno : 0;
			fd = -1;
		} else if (!strcmp(verb, "kcov")) {
			err = classic_kcov(&value);
		} else if (!strcmp(verb, "forkwork")) {
			err = fork_work();
		} else if (!strcmp(verb, "exit")) {
			if (fd >= 0)
				close(fd);
			reply(sock, 0, 0);
			break;
		} else {
			err = EINVAL;
		}
		if (fd >= 0)
			close(fd);
		reply(sock, err, value);
	}
	close(sock);
}

static void reap(int sig)
{
	int e = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = e;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = reap, .sa_flags = SA_RESTART | SA_NOCLDSTOP };
	char *end;
	long sock;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s FD\n(a task driven over the socket FD; see conformance/treetask/treetask.c)\n", argv[0]);
		return 2;
	}
	sock = strtol(argv[1], &end, 10);
	if (*end || sock < 0 || fcntl((int)sock, F_GETFD) < 0) {
		fprintf(stderr, "%s: %s is not an open descriptor\n", argv[0], argv[1]);
		return 2;
	}
	fcntl((int)sock, F_SETFD, FD_CLOEXEC);
	sigaction(SIGCHLD, &sa, NULL);
	if (argc == 3) {
		/* Started by "exec COMM": remove the symlink and answer the
		 * command. */
		char link[PATH_MAX];

		snprintf(link, sizeof(link), "%s/%s", argv[2], argv[0]);
		unlink(link);
		rmdir(argv[2]);
		reply((int)sock, 0, gettid_());
	}
	serve((int)sock);
	/* Ends this thread only: the process ends with its last one. */
	pthread_exit(NULL);
}
