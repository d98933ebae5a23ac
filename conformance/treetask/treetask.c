// SPDX-License-Identifier: MIT
/*
 * kcovdf-treetask: a task that the conformance target drives over a pair
 * of pipes, so that a followed tree can be built task by task on a real
 * kernel.
 *
 * A new thread or process joins a followed tree because the task that
 * cloned it is in the tree: the clone must be done by that very task. Go's
 * scheduler cannot start a thread on a chosen thread, hence this program.
 *
 * Usage: kcovdf-treetask RFD WFD           (commands on RFD, replies on WFD)
 *        COMM RFD WFD DIR                  (after "exec COMM": DIR/COMM is
 *                                           the symlink it was started by)
 *
 * Each command is a line; each gets one reply line "ERRNO VALUE" (ERRNO 0
 * for success). Descriptors are taken from the driving process PID with
 * pidfd_getfd(), so they are the same open file descriptions as the
 * caller's (the lab kernel has no AF_UNIX to pass them with SCM_RIGHTS):
 *
 *   work N                 N times open, read and close /proc/version
 *   fork PID RFD WFD       fork a child process driven over PID's RFD and
 *                          WFD; VALUE is its tid
 *   thread PID RFD WFD     start a thread driven over them; VALUE is its tid
 *   exec COMM              execve this program again through a symlink
 *                          named COMM, so that /proc/self/comm reads COMM;
 *                          the new program replies, VALUE is its tid
 *   ioctl PID FD CMD ARG   ioctl(PID's FD, CMD, ARG); VALUE is its result
 *   ioctlp PID FD CMD      ioctl(PID's FD, CMD, &u64); VALUE is the u64
 *   take PID FD            take PID's FD and keep it; VALUE is its number
 *                          here (the caller then closes its own copy ...)
 *   close FD               ... and has this task close the last one)
 *   kcov                   classic kcov (trace-pc) around some work; VALUE
 *                          is the number of pcs
 *   forkwork               fork a shell that does some work, wait for it
 *   exit                   reply, then end this thread (the process ends
 *                          with its last thread)
 *
 * A task whose command pipe is closed ends too. Descriptors taken for an
 * ioctl are closed before the reply: a task holds no reference to the
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

/* read_line reads one command line into buf, without its newline. It
 * returns its length, 0 at end of file, -1 on error. Commands and replies
 * alternate, so the pipe never holds more than one line. */
static ssize_t read_line(int fd, char *buf, size_t size)
{
	size_t have = 0;

	while (have < size - 1) {
		ssize_t n = read(fd, buf + have, size - 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n;
		have += n;
		if (buf[have - 1] == '\n') {
			buf[have - 1] = 0;
			return have;
		}
	}
	errno = EMSGSIZE;
	return -1;
}

/* take_fd duplicates descriptor fd of process pid into this one
 * (close-on-exec): the same open file description. It returns the new
 * descriptor or a negative errno. */
static int take_fd(long pid, long fd)
{
	int pidfd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
	int r, e;

	if (pidfd < 0)
		return -errno;
	r = syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
	e = errno;
	close(pidfd);
	return r < 0 ? -e : r;
}

static void reply(int wfd, int err, unsigned long long value)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%d %llu\n", err, value);

	while (write(wfd, buf, n) < 0 && errno == EINTR)
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

/* only_fds makes r and w descriptors 3 and 4 and closes every other one
 * from 3 up: a forked child must not keep its parent's files and pipes
 * open. */
static void only_fds(int *r, int *w)
{
	int a = fcntl(*r, F_DUPFD_CLOEXEC, 256), b = fcntl(*w, F_DUPFD_CLOEXEC, 256);

	dup3(a, 3, O_CLOEXEC);
	dup3(b, 4, O_CLOEXEC);
	*r = 3;
	*w = 4;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 5, ~0U, 0) == 0)
		return;
#endif
	for (int fd = 5; fd < 4096; fd++)
		close(fd);
}

static void serve(int rfd, int wfd);

struct thread_start {
	int rfd, wfd;
	pid_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cond;
};

static void *thread_start(void *arg)
{
	struct thread_start *ts = arg;
	int rfd = ts->rfd, wfd = ts->wfd;

	pthread_mutex_lock(&ts->mu);
	ts->tid = gettid_();
	pthread_cond_signal(&ts->cond);
	pthread_mutex_unlock(&ts->mu);
	/* ts lives on the creator's stack: not used past this point. */
	serve(rfd, wfd);
	return NULL;
}

/* new_thread starts a thread that serves rfd and wfd; it returns its tid
 * or a negative errno. */
static long new_thread(int rfd, int wfd)
{
	struct thread_start ts = { .rfd = rfd, .wfd = wfd, .tid = 0,
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
static int do_exec(int rfd, int wfd, const char *comm)
{
	char self[PATH_MAX], dir[PATH_MAX - 32], link[PATH_MAX], rarg[16], warg[16];
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
	snprintf(rarg, sizeof(rarg), "%d", rfd);
	snprintf(warg, sizeof(warg), "%d", wfd);
	if (symlink(self, link) < 0) {
		err = errno;
		rmdir(dir);
		return err;
	}
	/* The pipes are the descriptors that survive the exec. */
	fcntl(rfd, F_SETFD, 0);
	fcntl(wfd, F_SETFD, 0);
	char *argv[] = { (char *)comm, rarg, warg, dir, NULL };
	extern char **environ;
	execve(link, argv, environ);
	err = errno;
	fcntl(rfd, F_SETFD, FD_CLOEXEC);
	fcntl(wfd, F_SETFD, FD_CLOEXEC);
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

/* The children of "fork", reaped by pid (never with waitpid(-1), which
 * would take fork_work's child) before each command of any thread. */
static pthread_mutex_t kids_mu = PTHREAD_MUTEX_INITIALIZER;
static pid_t kids[1024];
static int nkids;

static void reap_kids(void)
{
	pthread_mutex_lock(&kids_mu);
	for (int i = 0; i < nkids;) {
		pid_t r = waitpid(kids[i], NULL, WNOHANG);

		if (r == kids[i] || (r < 0 && errno == ECHILD))
			kids[i] = kids[--nkids];
		else
			i++;
	}
	pthread_mutex_unlock(&kids_mu);
}

static void add_kid(pid_t pid)
{
	pthread_mutex_lock(&kids_mu);
	if (nkids < (int)(sizeof(kids) / sizeof(kids[0])))
		kids[nkids++] = pid;
	pthread_mutex_unlock(&kids_mu);
}

/* fork_work runs a shell that does some work and waits for it. */
static int fork_work(void)
{
	static char *const argv[] = { "sh", "-c", "cat /proc/version /proc/self/stat >/dev/null; ls / >/dev/null", NULL };
	extern char **environ;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return errno;
	if (pid == 0) {
		execve("/bin/sh", argv, environ);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : ECHILD;
}

/* take2 takes two descriptors of pid for a new task's pipes. */
static int take2(long pid, long r, long w, int *rfd, int *wfd)
{
	*rfd = take_fd(pid, r);
	if (*rfd < 0)
		return -*rfd;
	*wfd = take_fd(pid, w);
	if (*wfd < 0) {
		close(*rfd);
		return -*wfd;
	}
	return 0;
}

static void serve(int rfd, int wfd)
{
	char buf[MSG_MAX], verb[16], arg[MSG_MAX];
	long long a, b, c, d;
	unsigned long long value;
	int err;

	for (;;) {
		if (read_line(rfd, buf, sizeof(buf)) <= 0)
			break;
		reap_kids();
		err = 0;
		value = 0;
		arg[0] = 0;
		if (sscanf(buf, "%15s %255[^\n]", verb, arg) < 1)
			verb[0] = 0;
		if (!strcmp(verb, "work") && sscanf(arg, "%lld", &a) == 1) {
			err = work(a);
		} else if ((!strcmp(verb, "fork") || !strcmp(verb, "thread")) &&
			   sscanf(arg, "%lld %lld %lld", &a, &b, &c) == 3) {
			int r, w;

			err = take2(a, b, c, &r, &w);
			if (!err && verb[0] == 'f') {
				pid_t pid = fork();

				if (pid == 0) {
					nkids = 0; /* its parent's children */
					/* A sibling thread may have held it at the fork. */
					pthread_mutex_init(&kids_mu, NULL);
					only_fds(&r, &w);
					serve(r, w);
					pthread_exit(NULL);
				}
				err = pid < 0 ? errno : 0;
				value = pid > 0 ? pid : 0;
				if (pid > 0)
					add_kid(pid);
				close(r);
				close(w);
			} else if (!err) {
				long tid = new_thread(r, w);

				if (tid < 0) {
					err = -tid;
					close(r);
					close(w);
				} else {
					value = tid;
				}
			}
		} else if (!strcmp(verb, "exec") && arg[0]) {
			err = do_exec(rfd, wfd, arg);
		} else if (!strcmp(verb, "ioctl") && sscanf(arg, "%lld %lld %lld %lld", &a, &b, &c, &d) == 4) {
			int fd = take_fd(a, b), r;

			if (fd < 0) {
				err = -fd;
			} else {
				r = ioctl(fd, (unsigned long)c, (unsigned long)d);
				err = r < 0 ? errno : 0;
				value = r < 0 ? 0 : r;
				close(fd);
			}
		} else if (!strcmp(verb, "ioctlp") && sscanf(arg, "%lld %lld %lld", &a, &b, &c) == 3) {
			int fd = take_fd(a, b);
			uint64_t out = 0;

			if (fd < 0) {
				err = -fd;
			} else {
				err = ioctl(fd, (unsigned long)c, &out) < 0 ? errno : 0;
				value = out;
				close(fd);
			}
		} else if (!strcmp(verb, "take") && sscanf(arg, "%lld %lld", &a, &b) == 2) {
			int fd = take_fd(a, b);

			err = fd < 0 ? -fd : 0;
			value = fd < 0 ? 0 : fd;
		} else if (!strcmp(verb, "close") && sscanf(arg, "%lld", &a) == 1 && a > 2 && a != rfd && a != wfd) {
			err = close(a) < 0 ? errno : 0;
		} else if (!strcmp(verb, "kcov")) {
			err = classic_kcov(&value);
		} else if (!strcmp(verb, "forkwork")) {
			err = fork_work();
		} else if (!strcmp(verb, "exit")) {
			reply(wfd, 0, 0);
			break;
		} else {
			err = EINVAL;
		}
		reply(wfd, err, value);
	}
	close(rfd);
	close(wfd);
}

/* fd_arg parses a descriptor argument. */
static int fd_arg(const char *prog, const char *s)
{
	char *end;
	long fd = strtol(s, &end, 10);

	if (*end || end == s || fd < 0 || fd > INT_MAX || fcntl((int)fd, F_GETFD) < 0) {
		fprintf(stderr, "%s: %s is not an open descriptor\n", prog, s);
		exit(2);
	}
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return (int)fd;
}

int main(int argc, char **argv)
{
	int rfd, wfd;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s RFD WFD\n(a task driven over the pipes RFD and WFD; see conformance/treetask/treetask.c)\n", argv[0]);
		return 2;
	}
	rfd = fd_arg(argv[0], argv[1]);
	wfd = fd_arg(argv[0], argv[2]);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4) {
		/* Started by "exec COMM": remove the symlink and answer the
		 * command. */
		char link[PATH_MAX];

		snprintf(link, sizeof(link), "%s/%s", argv[3], argv[0]);
		unlink(link);
		rmdir(argv[3]);
		reply(wfd, 0, gettid_());
	}
	serve(rfd, wfd);
	/* Ends this thread only: the process ends with its last one. */
	pthread_exit(NULL);
}
