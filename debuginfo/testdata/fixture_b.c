/* A second unit with a static helper of another shape. */
struct big { long a, b, c; };

volatile long sinkb;

__attribute__((noinline)) static long helper(struct big *p)
{
	return p ? p->a : 0;
}

int fb(void *p)
{
	sinkb = helper(p);
	return (int)sinkb;
}
