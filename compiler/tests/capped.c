/*
 * Built with -kcovdf-dataflow-max-fields=3 (run.sh): every struct expansion
 * records its first three fields only, in declaration order, with exactly
 * the values it would record without the cap; structs of three fields or
 * fewer are expanded whole. cases.c's main runs test_capped().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime.h"

#define NOINLINE __attribute__((noinline))
#define HARNESS __attribute__((no_sanitize("coverage")))
#define BAD_FIELD 0xBADADD85ull
#define CALL(fn) ((__typeof__(&fn))cap_hide((void *)&fn))

typedef uint64_t u64;
typedef uint32_t u32;

static int *passed, *failed;
static const char *current;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (cond) {                                                  \
			(*passed)++;                                         \
		} else {                                                     \
			(*failed)++;                                         \
			printf("FAIL capped %s (line %d): ", current,        \
			       __LINE__);                                    \
			printf(__VA_ARGS__);                                 \
			printf("\n");                                        \
		}                                                            \
	} while (0)

static volatile u64 cap_sink;

HARNESS static inline void *cap_hide(void *p)
{
	__asm__("" : "+r"(p));
	return p;
}

HARNESS static const struct rt_record *cap_find(char kind, const void *fn,
						u32 idx)
{
	for (int i = 0; i < rt_count(); i++) {
		const struct rt_record *r = rt_get(i);

		if (r->kind == kind && r->pc == (u64)(uintptr_t)fn &&
		    (kind == 'R' || r->idx == idx))
			return r;
	}
	return NULL;
}

HARNESS static void cap_expect(const struct rt_record *r, u32 size, u64 ptr,
			       u32 n, const u64 *pairs, const u64 *vals)
{
	CHECK(r != NULL, "struct record missing");
	if (!r)
		return;
	CHECK(r->size == size, "size %u, want %u", r->size, size);
	if (ptr)
		CHECK(r->ptr == ptr, "ptr %#llx, want %#llx",
		      (unsigned long long)r->ptr, (unsigned long long)ptr);
	CHECK(r->num_fields == n, "num_fields %u, want %u", r->num_fields, n);
	if (r->num_fields != n)
		return;
	for (u32 i = 0; i < n; i++) {
		CHECK(r->offsets[2 * i] == pairs[2 * i] &&
			      r->offsets[2 * i + 1] == pairs[2 * i + 1],
		      "field %u pair (%llu,%llu), want (%llu,%llu)", i,
		      (unsigned long long)r->offsets[2 * i],
		      (unsigned long long)r->offsets[2 * i + 1],
		      (unsigned long long)pairs[2 * i],
		      (unsigned long long)pairs[2 * i + 1]);
		CHECK(r->vals[i] == vals[i], "field %u value %#llx, want %#llx",
		      i, (unsigned long long)r->vals[i],
		      (unsigned long long)vals[i]);
	}
}

HARNESS static void cap_begin(const char *name)
{
	current = name;
	rt_reset();
}

/* Five fields: a, a nested struct, an array, two bitfields' bytes, tail. */
struct cap5 {
	long a;			/* 0, 8 */
	struct {
		int x, y;
	} in;			/* 8, 8 */
	int arr[3];		/* 16, 12: the first 8 bytes are read */
	unsigned b1 : 3;	/* 28, 1 */
	long tail;		/* 32, 8 */
};

/* Bitfields first: the first three fields are the two bitfields and n. */
struct capbits {
	unsigned lo : 3;	/* 0, 1 */
	unsigned hi : 9;	/* 0, 2 */
	int n;			/* 4, 4 */
	long x, y;		/* 8, 16: cut */
};

struct cap3 {
	int u, v, w;
};

struct cap2 {
	char c;
	long l;
};

static const u64 cap5_pairs[] = { 0, 8, 8, 8, 16, 12 };

NOINLINE long cap_ptr(struct cap5 *p, int k)
{
	if (!p || (uintptr_t)p >= (uintptr_t)-4095)
		return k;
	return p->tail + k;
}

NOINLINE struct cap5 *cap_ret_ptr(struct cap5 *p)
{
	p->a++;
	return p;
}

NOINLINE long cap_byval(struct cap5 s) { return s.a + s.tail + s.b1; }

NOINLINE struct cap5 cap_ret_val(long a, long tail)
{
	struct cap5 s = { .a = a, .in = { 1, 2 }, .arr = { 3, 4, 5 },
			  .b1 = 6, .tail = tail };

	return s;
}

NOINLINE int cap_bits(struct capbits *b) { return b->lo + b->hi + b->n; }
NOINLINE int cap_three(struct cap3 *t) { return t->u + t->v + t->w; }
NOINLINE long cap_small(struct cap2 s) { return s.c + s.l; }

HARNESS void test_capped(int *npassed, int *nfailed)
{
	static struct cap5 s = { .a = -7, .in = { 0x11111111, 0x22222222 },
				 .arr = { 5, 6, 7 }, .b1 = 5, .tail = 99 };
	static struct capbits b = { .lo = 5, .hi = 300, .n = -2, .x = 1,
				    .y = 2 };
	static struct cap3 t = { 10, 20, 30 };
	const u64 vals[] = { (u64)-7, 0x2222222211111111ull, 5 | (6ull << 32) };

	passed = npassed;
	failed = nfailed;
	current = "C layout";
	CHECK(offsetof(struct cap5, tail) == 32 && sizeof(s) == 40 &&
		      offsetof(struct capbits, x) == 8,
	      "unexpected C layout");

	cap_begin("pointer to a five-field struct: three fields");
	cap_sink = CALL(cap_ptr)(&s, 1);
	cap_expect(cap_find('E', cap_ptr, 0), 8, (u64)(uintptr_t)&s, 3,
		   cap5_pairs, vals);

	cap_begin("NULL pointer: three zeros");
	cap_sink = CALL(cap_ptr)(NULL, 1);
	{
		const u64 zero[3] = { 0 };

		cap_expect(cap_find('E', cap_ptr, 0), 8, 0, 3, cap5_pairs,
			   zero);
	}

	cap_begin("ERR_PTR: three 0xBADADD85");
	cap_sink = CALL(cap_ptr)((struct cap5 *)(intptr_t)-12, 1);
	{
		const u64 bad[3] = { BAD_FIELD, BAD_FIELD, BAD_FIELD };

		cap_expect(cap_find('E', cap_ptr, 0), 8, (u64)-12, 3,
			   cap5_pairs, bad);
	}

	cap_begin("returned pointer: three fields read at return");
	cap_sink = (u64)(uintptr_t)CALL(cap_ret_ptr)(&s);
	{
		const u64 after[] = { (u64)-6, vals[1], vals[2] };

		cap_expect(cap_find('E', cap_ret_ptr, 0), 8, (u64)(uintptr_t)&s,
			   3, cap5_pairs, vals);
		cap_expect(cap_find('R', cap_ret_ptr, 0), 8, (u64)(uintptr_t)&s,
			   3, cap5_pairs, after);
		s.a = -7;
	}

	cap_begin("by value: three fields of the copy");
	cap_sink = CALL(cap_byval)(s);
	cap_expect(cap_find('E', cap_byval, 0), sizeof(s), 0, 3, cap5_pairs,
		   vals);

	cap_begin("returned by value (sret): three fields");
	{
		struct cap5 r = CALL(cap_ret_val)(41, 42);
		const u64 want[] = { 41, 1 | (2ull << 32), 3 | (4ull << 32) };

		cap_sink = r.tail;
		cap_expect(cap_find('R', cap_ret_val, 0), sizeof(r), 0, 3,
			   cap5_pairs, want);
	}

	cap_begin("bitfields among the first three");
	cap_sink = CALL(cap_bits)(&b);
	{
		const u64 pairs[] = { 0, 1, 0, 2, 4, 4 };
		const u64 want[] = { (5 | (300 << 3)) & 0xff, 5 | (300 << 3),
				     (u32)-2 };

		cap_expect(cap_find('E', cap_bits, 0), 8, (u64)(uintptr_t)&b,
			   3, pairs, want);
	}

	cap_begin("exactly three fields: whole");
	cap_sink = CALL(cap_three)(&t);
	{
		const u64 pairs[] = { 0, 4, 4, 4, 8, 4 };
		const u64 want[] = { 10, 20, 30 };

		cap_expect(cap_find('E', cap_three, 0), 8, (u64)(uintptr_t)&t,
			   3, pairs, want);
	}

	cap_begin("fewer fields than the cap: whole");
	cap_sink = CALL(cap_small)((struct cap2){ 'q', -5 });
	{
		const u64 pairs[] = { 0, 1, 8, 8 };
		const u64 want[] = { 'q', (u64)-5 };

		cap_expect(cap_find('E', cap_small, 0), 16, 0, 2, pairs, want);
	}
	rt_pause();
}
