/* A tiny kernel-like image for debuginfo's tests: build with make-fixture.sh. */
typedef unsigned short umode_t;
typedef _Bool bool;

enum state { STATE_IDLE, STATE_RUN = 3, STATE_DEAD = -1 };

struct open_how {
	unsigned long long flags;
	unsigned long long mode;
	unsigned long long resolve;
};

struct flags {
	unsigned int ro : 1;
	unsigned int mode : 3;
	signed int delta : 5;
	unsigned char tail;
	struct open_how inner;
	int empty[0];
};

union word { long l; char c[8]; };

volatile long sink;

__attribute__((noinline)) long do_open(int dfd, const char *filename, struct open_how *how)
{
	sink = dfd + (long)filename;
	return how ? (long)how->flags : -2;
}

__attribute__((noinline)) static int helper(int x)
{
	sink = x;
	return x + 1;
}

__attribute__((noinline)) bool set_flags(struct flags *f, enum state s, umode_t mode)
{
	sink = f->ro + s + mode;
	return f->delta < 0;
}

__attribute__((noinline)) void no_args(void)
{
	sink = 0;
}

__attribute__((noinline)) long by_value(struct open_how how, union word w, signed char c)
{
	return (long)how.mode + w.l + c;
}

int fb(void *p);

void _start(void)
{
	struct open_how how = { 0x8000, 0, 0 };
	struct flags f = { 0 };
	union word w = { 1 };
	do_open(-100, "x", &how);
	set_flags(&f, STATE_RUN, 0644);
	no_args();
	by_value(how, w, -1);
	sink = helper(1) + fb(0);
	for (;;)
		;
}
