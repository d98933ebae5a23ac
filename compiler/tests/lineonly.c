/*
 * Built with -gline-tables-only: the subprograms have no types, so the
 * plugin must treat the unit as having no debug info rather than record a
 * no-parameter marker and a void return for these functions.
 */
struct pair {
	long a, b;
};

long lineonly_fn(long x, struct pair *p)
{
	return x + (p ? p->a : 0);
}
