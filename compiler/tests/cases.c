/*
 * Functional tests of the dataflow plugin: every function below is compiled
 * with the plugin, called with known values, and the records the runtime
 * captured are compared with what was passed and returned.
 *
 * A parameter checked with required=false may be dropped by the plugin when
 * the optimiser removed it, or when callers in this file may pass an
 * undefined value for it; if it is recorded, its value must still be exact.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "runtime.h"

#define NOINLINE __attribute__((noinline))
#define BAD_FIELD 0xBADADD85ull
/* The checks themselves must not record. */
#define HARNESS __attribute__((no_sanitize("coverage")))
/*
 * A parameter that may legitimately have no record says why; a recorded
 * value must be exact all the same.
 */
#define OPTIONAL(why) false

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

/*
 * Calls through a pointer the optimiser cannot see through, so that it can
 * neither specialise nor constant-fold the callee for a test's constants.
 */
#define CALL(fn) ((__typeof__(&fn))hide((void *)&fn))
/*
 * The pc of a function whose address C never takes, as fn_pc: an
 * assembler alias, which the optimiser does not see, so that it still
 * treats every use of fn as a direct call and may rewrite its signature.
 */
#define PC_OF(fn)                                                            \
	__asm__(".set " #fn "_pc, " #fn);                                    \
	extern const char fn##_pc[]

static int passed, failed;
static const char *current;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (cond) {                                                  \
			passed++;                                            \
		} else {                                                     \
			failed++;                                            \
			printf("FAIL %s (line %d): ", current, __LINE__);   \
			printf(__VA_ARGS__);                                 \
			printf("\n");                                        \
		}                                                            \
	} while (0)

volatile u64 sink;
/* Values the optimiser cannot fold, defined with the tests that use most. */
extern volatile int vol_a;
extern volatile long vol_big;

HARNESS static inline void *hide(void *p)
{
	__asm__("" : "+r"(p));
	return p;
}

HARNESS static u64 addr(const void *fn)
{
	return (u64)(uintptr_t)fn;
}

HARNESS static const struct rt_record *find(char kind, const void *fn, u32 idx)
{
	for (int i = 0; i < rt_count(); i++) {
		const struct rt_record *r = rt_get(i);

		if (r->kind == kind && r->pc == addr(fn) &&
		    (kind == 'R' || r->idx == idx))
			return r;
	}
	return NULL;
}

HARNESS static int count_for(const void *fn)
{
	int n = 0;

	for (int i = 0; i < rt_count(); i++)
		if (rt_get(i)->pc == addr(fn))
			n++;
	return n;
}

HARNESS static void expect_arg(const void *fn, u32 idx, u32 size, u64 value,
		       bool required)
{
	const struct rt_record *r = find('E', fn, idx);

	/* The no-parameter marker records no parameter. */
	if (r && r->size == 0 && r->ptr == 0 && r->num_fields == 0)
		r = NULL;
	if (!r) {
		CHECK(!required, "arg %u not recorded", idx);
		return;
	}
	CHECK(r->size == size, "arg %u size %u, want %u", idx, r->size, size);
	CHECK(r->num_fields == 0, "arg %u num_fields %u, want 0", idx,
	      r->num_fields);
	CHECK(r->vals[0] == value, "arg %u value %#llx, want %#llx", idx,
	      (unsigned long long)r->vals[0], (unsigned long long)value);
}

HARNESS static void expect_ret(const void *fn, u32 size, u64 value)
{
	const struct rt_record *r = find('R', fn, 0);

	CHECK(r != NULL, "ret not recorded");
	if (!r)
		return;
	CHECK(r->size == size, "ret size %u, want %u", r->size, size);
	CHECK(r->num_fields == 0, "ret num_fields %u", r->num_fields);
	CHECK(r->vals[0] == value, "ret value %#llx, want %#llx",
	      (unsigned long long)r->vals[0], (unsigned long long)value);
}

/*
 * True if the record is there; a record that may be absent is checked with
 * required = OPTIONAL("why"), and when present checked all the same.
 */
HARNESS static bool present(const struct rt_record *r, bool required)
{
	if (!r)
		CHECK(!required, "record missing");
	return r != NULL;
}

/* Field table and values of a struct record. */
HARNESS static void expect_fields(const struct rt_record *r, u32 size, u64 ptr,
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

/* Entry records of one call come in parameter order, before its return. */
HARNESS static void expect_order(const void *fn)
{
	int last_idx = -1, seen_ret = 0, ok = 1;

	for (int i = 0; i < rt_count(); i++) {
		const struct rt_record *r = rt_get(i);

		if (r->pc != addr(fn))
			continue;
		if (r->kind == 'R') {
			seen_ret++;
		} else {
			if (seen_ret || (int)r->idx <= last_idx)
				ok = 0;
			last_idx = r->idx;
		}
	}
	CHECK(ok && seen_ret == 1, "records out of order (%d rets)", seen_ret);
}

HARNESS static void begin(const char *name)
{
	current = name;
	rt_reset();
}

/* ---- scalars -------------------------------------------------------- */

enum color { RED = 1, GREEN = 7, BLUE = 0x40000000 };

NOINLINE u8 sc_u8(u8 a) { return a + 1; }
NOINLINE u16 sc_u16(u16 a) { return a ^ 0xff; }
NOINLINE u32 sc_u32(u32 a) { return a * 3; }
NOINLINE u64 sc_u64(u64 a) { return ~a; }
NOINLINE signed char sc_s8(signed char a) { return a - 1; }
NOINLINE short sc_s16(short a) { return a * 2; }
NOINLINE int sc_int(int a) { return a; }
NOINLINE enum color sc_enum(enum color c) { return c == GREEN ? BLUE : RED; }
NOINLINE bool sc_bool(bool b, int x) { return !b && x > 3; }
NOINLINE const char *sc_ptr(const char *p) { return p + 1; }
NOINLINE double sc_double(double d) { return d * 2; }
NOINLINE unsigned __int128 sc_u128(unsigned __int128 v) { return v + 1; }

HARNESS static void test_scalars(void)
{
	static const char text[] = "kcovdf";
	union {
		double d;
		u64 bits;
	} dv = { .d = 1.5 }, dr = { .d = 3.0 };
	unsigned __int128 big = ((unsigned __int128)0x1122334455667788ull << 64) |
				0x99aabbccddeeff00ull;

	begin("scalar u8");
	sink = CALL(sc_u8)(0xfe);
	expect_arg(sc_u8, 0, 1, 0xfe, true);
	expect_ret(sc_u8, 1, 0xff);
	expect_order(sc_u8);

	begin("scalar u16");
	sink = CALL(sc_u16)(0xbeef);
	expect_arg(sc_u16, 0, 2, 0xbeef, true);
	expect_ret(sc_u16, 2, 0xbe10);

	begin("scalar u32");
	sink = CALL(sc_u32)(0x10000001);
	expect_arg(sc_u32, 0, 4, 0x10000001, true);
	expect_ret(sc_u32, 4, 0x30000003);

	begin("scalar u64");
	sink = CALL(sc_u64)(0x0123456789abcdefull);
	expect_arg(sc_u64, 0, 8, 0x0123456789abcdefull, true);
	expect_ret(sc_u64, 8, ~0x0123456789abcdefull);

	begin("scalar s8");
	sink = CALL(sc_s8)(-5);
	expect_arg(sc_s8, 0, 1, 0xfb, true);
	expect_ret(sc_s8, 1, 0xfa);

	begin("scalar s16");
	sink = CALL(sc_s16)(-2);
	expect_arg(sc_s16, 0, 2, 0xfffe, true);
	expect_ret(sc_s16, 2, 0xfffc);

	begin("scalar int");
	sink = CALL(sc_int)(-1);
	expect_arg(sc_int, 0, 4, 0xffffffff, true);
	expect_ret(sc_int, 4, 0xffffffff);

	begin("enum");
	sink = CALL(sc_enum)(GREEN);
	expect_arg(sc_enum, 0, 4, GREEN, true);
	expect_ret(sc_enum, 4, BLUE);

	begin("bool");
	sink = CALL(sc_bool)(false, 9);
	expect_arg(sc_bool, 0, 1, 0, true);
	expect_arg(sc_bool, 1, 4, 9, true);
	expect_ret(sc_bool, 1, 1);
	begin("bool true");
	sink = CALL(sc_bool)(true, 9);
	expect_arg(sc_bool, 0, 1, 1, true);
	expect_ret(sc_bool, 1, 0);

	begin("plain pointer");
	sink = (u64)(uintptr_t)CALL(sc_ptr)(text);
	expect_arg(sc_ptr, 0, 8, addr(text), true);
	expect_ret(sc_ptr, 8, addr(text) + 1);

	begin("double");
	sink = (u64)CALL(sc_double)(dv.d);
	expect_arg(sc_double, 0, 8, dv.bits, true);
	expect_ret(sc_double, 8, dr.bits);

	begin("int128 low 8 bytes");
	sink = (u64)CALL(sc_u128)(big);
	expect_arg(sc_u128, 0, 16, 0x99aabbccddeeff00ull, true);
	expect_ret(sc_u128, 16, 0x99aabbccddeeff01ull);
}

/* ---- struct pointers ------------------------------------------------ */

struct inner {
	int x;
	int y;
};

struct outer {
	char c;			/* 0, 1 */
	struct inner in;	/* 4, 8 */
	int arr[3];		/* 12, 12 */
	unsigned b1 : 3;	/* bits 192..194: 24, 1 */
	unsigned b2 : 9;	/* bits 195..203: 24, 2 */
	char zero[0];		/* skipped */
	long tail;		/* 32, 8 */
	union {
		int u1;
		short u2;
	} un;			/* 40, 4 */
};

typedef const struct inner inner_t;
struct opaque;

static const u64 outer_pairs[] = { 0, 1, 4, 8, 12, 12, 24, 1, 24, 2,
				   32, 8, 40, 4 };

NOINLINE long sp_outer(struct outer *o, int k)
{
	if (!o || (uintptr_t)o >= (uintptr_t)-4095)
		return k;
	return o->tail + k;
}

NOINLINE int sp_typedef(inner_t *p) { return p->x - p->y; }
NOINLINE u64 sp_opaque(struct opaque *p) { return (u64)(uintptr_t)p >> 4; }
NOINLINE struct inner *sp_ret(struct inner *p, int dx)
{
	p->x += dx;
	return p;
}

HARNESS static void test_struct_pointers(void)
{
	static struct outer o;
	static struct inner in = { 10, 3 };
	u64 vals[7];

	o.c = 'K';
	o.in.x = 0x11111111;
	o.in.y = 0x22222222;
	o.arr[0] = 5;
	o.arr[1] = 6;
	o.arr[2] = 7;
	o.b1 = 5;
	o.b2 = 300;
	o.tail = -3;
	o.un.u1 = 0x7f7f;

	begin("struct pointer: nested, array, bitfield, zero-size, union");
	sink = CALL(sp_outer)(&o, 4);
	CHECK(offsetof(struct outer, tail) == 32 && sizeof(o) == 48,
	      "unexpected C layout");
	vals[0] = 'K';
	vals[1] = 0x2222222211111111ull;
	vals[2] = 5 | (6ull << 32);
	vals[3] = (5 | (300 << 3)) & 0xff;
	vals[4] = 5 | (300 << 3);
	vals[5] = (u64)-3;
	vals[6] = 0x7f7f;
	expect_fields(find('E', sp_outer, 0), 8, addr(&o), 7, outer_pairs,
		      vals);
	expect_arg(sp_outer, 1, 4, 4, true);
	expect_ret(sp_outer, 8, 1);

	begin("struct pointer NULL");
	sink = CALL(sp_outer)(NULL, 9);
	memset(vals, 0, sizeof(vals));
	expect_fields(find('E', sp_outer, 0), 8, 0, 7, outer_pairs, vals);
	CHECK(find('E', sp_outer, 0) && find('E', sp_outer, 0)->ptr == 0,
	      "NULL not passed through");
	expect_ret(sp_outer, 8, 9);

	begin("struct pointer ERR_PTR");
	sink = CALL(sp_outer)((struct outer *)(intptr_t)-22, 0);
	for (int i = 0; i < 7; i++)
		vals[i] = BAD_FIELD;
	expect_fields(find('E', sp_outer, 0), 8, (u64)-22, 7, outer_pairs,
		      vals);

	begin("typedef const struct pointer");
	sink = CALL(sp_typedef)(&in);
	{
		const u64 pairs[] = { 0, 4, 4, 4 };
		const u64 v[] = { 10, 3 };

		expect_fields(find('E', sp_typedef, 0), 8, addr(&in), 2, pairs,
			      v);
	}
	expect_ret(sp_typedef, 4, 7);

	begin("opaque struct pointer is a plain pointer");
	sink = CALL(sp_opaque)((struct opaque *)&in);
	{
		const struct rt_record *r = find('E', sp_opaque, 0);

		CHECK(r && r->num_fields == 0 && r->size == 8 &&
			      r->ptr != addr(&in),
		      "opaque pointer not spilled as a scalar");
	}
	expect_arg(sp_opaque, 0, 8, addr(&in), true);

	begin("struct pointer return reads fields at return");
	{
		const u64 pairs[] = { 0, 4, 4, 4 };
		const u64 at_entry[] = { 10, 3 }, at_ret[] = { 15, 3 };

		sink = (u64)(uintptr_t)CALL(sp_ret)(&in, 5);
		expect_fields(find('E', sp_ret, 0), 8, addr(&in), 2, pairs,
			      at_entry);
		expect_fields(find('R', sp_ret, 0), 8, addr(&in), 2, pairs,
			      at_ret);
		in.x = 10;
	}
}

/* ---- structs by value ------------------------------------------------ */

struct pair {
	int a;
	int b;
};
struct three {
	int a, b, c;
};
struct ptrlen {
	const char *p;
	long n;
};
struct large {
	long w[4];
	short s;
};
struct packed_small {
	char c[3];
};

NOINLINE int bv_pair(struct pair p) { return p.a * p.b; }
NOINLINE int bv_three(int k, struct three t) { return t.a + t.b + t.c + k; }
NOINLINE long bv_ptrlen(struct ptrlen pl) { return pl.n + (pl.p != 0); }
NOINLINE long bv_large(struct large l) { return l.w[0] + l.w[3] + l.s; }
NOINLINE int bv_small3(struct packed_small s) { return s.c[0] + s.c[2]; }
NOINLINE struct pair rv_pair(int a) { return (struct pair){ a, a + 1 }; }
NOINLINE struct ptrlen rv_ptrlen(const char *p) {
	return (struct ptrlen){ p, 42 };
}
NOINLINE struct three rv_three(int a) { return (struct three){ a, 2, 3 }; }
NOINLINE struct large rv_large(long x)
{
	struct large l = { { x, 2, 3, 4 }, 5 };

	return l;
}

/*
 * Above 255 bytes: the kernel writes 255 in the record's size field, and
 * the layout says "clamped" (check_layout.py).
 */
struct huge {
	long first;
	char pad[280];
	long last;
};
NOINLINE long bv_huge(struct huge h) { return h.first - h.last; }
NOINLINE struct huge rv_huge(long x)
{
	struct huge h = { .first = x, .last = -x };

	return h;
}

/*
 * Dead only late: __builtin_constant_p of a parameter is decided after the
 * simplification pipeline's last GlobalDCE, so late_dead is still defined
 * at OptimizerLast and deleted after it. run.sh checks that it has no
 * layout record unless the object has its code.
 */
static NOINLINE int late_dead(int x) { return x * 3; }
NOINLINE int late_user(int x)
{
	if (__builtin_constant_p(x))
		return late_dead(x);
	return x + 1;
}

HARNESS static void test_by_value(void)
{
	static const char text[] = "abc";

	begin("by-value struct above 255 bytes, both ways");
	{
		struct huge h = { .first = vol_big, .last = 9 };
		const u64 pairs[] = { 0, 8, 8, 280, 288, 8 };
		const u64 in[] = { 0x100000005ull, 0, 9 };
		const u64 out[] = { 0x100000005ull, 0,
				    (u64)-0x100000005l };

		sink = CALL(bv_huge)(h);
		expect_fields(find('E', bv_huge, 0), 296, 0, 3, pairs, in);
		expect_ret(bv_huge, 8, 0x100000005ull - 9);
		sink = CALL(rv_huge)(vol_big).last;
		expect_arg(rv_huge, 0, 8, 0x100000005ull, true);
		expect_fields(find('R', rv_huge, 0), 296, 0, 3, pairs, out);
	}

	begin("a function deleted after OptimizerLast");
	sink = CALL(late_user)(vol_a);
	expect_arg(late_user, 0, 4, 11, true);
	expect_ret(late_user, 4, 12);

	begin("by-value pair");
	sink = CALL(bv_pair)((struct pair){ 6, 7 });
	{
		const u64 pairs[] = { 0, 4, 4, 4 }, v[] = { 6, 7 };

		expect_fields(find('E', bv_pair, 0), 8, 0, 2, pairs, v);
	}
	expect_ret(bv_pair, 4, 42);

	begin("by-value three (two registers)");
	sink = CALL(bv_three)(1, (struct three){ 10, 20, 30 });
	expect_arg(bv_three, 0, 4, 1, true);
	{
		const u64 pairs[] = { 0, 4, 4, 4, 8, 4 }, v[] = { 10, 20, 30 };

		expect_fields(find('E', bv_three, 1), 12, 0, 3, pairs, v);
	}
	expect_order(bv_three);

	begin("by-value pointer+length");
	sink = CALL(bv_ptrlen)((struct ptrlen){ text, 3 });
	{
		const u64 pairs[] = { 0, 8, 8, 8 }, v[] = { addr(text), 3 };

		expect_fields(find('E', bv_ptrlen, 0), 16, 0, 2, pairs, v);
	}

	begin("by-value large (in memory)");
	sink = CALL(bv_large)((struct large){ { 1, 2, 3, 4 }, -1 });
	{
		const u64 pairs[] = { 0, 32, 32, 2 }, v[] = { 1, 0xffff };

		expect_fields(find('E', bv_large, 0), 40, 0, 2, pairs, v);
	}
	expect_ret(bv_large, 8, 4);

	begin("by-value 3-byte struct");
	sink = CALL(bv_small3)((struct packed_small){ { 1, 2, 3 } });
	{
		const u64 pairs[] = { 0, 3 }, v[] = { 0x030201 };

		expect_fields(find('E', bv_small3, 0), 3, 0, 1, pairs, v);
	}

	begin("returned pair");
	sink = CALL(rv_pair)(8).b;
	{
		const u64 pairs[] = { 0, 4, 4, 4 }, v[] = { 8, 9 };

		expect_fields(find('R', rv_pair, 0), 8, 0, 2, pairs, v);
	}

	begin("returned pointer+length");
	sink = CALL(rv_ptrlen)(text).n;
	{
		const u64 pairs[] = { 0, 8, 8, 8 }, v[] = { addr(text), 42 };

		expect_fields(find('R', rv_ptrlen, 0), 16, 0, 2, pairs, v);
	}

	begin("returned three");
	sink = CALL(rv_three)(5).c;
	{
		const u64 pairs[] = { 0, 4, 4, 4, 8, 4 }, v[] = { 5, 2, 3 };

		expect_fields(find('R', rv_three, 0), 12, 0, 3, pairs, v);
	}

	begin("returned large (sret)");
	sink = CALL(rv_large)(77).s;
	{
		const u64 pairs[] = { 0, 32, 32, 2 }, v[] = { 77, 5 };

		expect_fields(find('R', rv_large, 0), 40, 0, 2, pairs, v);
	}
	expect_arg(rv_large, 0, 8, 77, true);
}

/* ---- many parameters, void, no parameters -------------------------- */

NOINLINE long many(char a0, short a1, int a2, long a3, u8 a4, u16 a5,
		   struct inner *a6, u64 a7, int a8, bool a9)
{
	return a0 + a1 + a2 + a3 + a4 + a5 + a6->x + a7 + a8 + a9;
}

volatile int void_target;
NOINLINE void void_fn(int v) { void_target = v; }
NOINLINE int no_params(void) { return void_target + 1; }
NOINLINE void void_no_params(void) { void_target = 3; }

HARNESS static void test_shapes(void)
{
	static struct inner in = { 100, 200 };

	begin("ten parameters");
	sink = CALL(many)(1, 2, 3, 4, 5, 6, &in, 8, 9, true);
	expect_arg(many, 0, 1, 1, true);
	expect_arg(many, 1, 2, 2, true);
	expect_arg(many, 2, 4, 3, true);
	expect_arg(many, 3, 8, 4, true);
	expect_arg(many, 4, 1, 5, true);
	expect_arg(many, 5, 2, 6, true);
	{
		const u64 pairs[] = { 0, 4, 4, 4 }, v[] = { 100, 200 };

		expect_fields(find('E', many, 6), 8, addr(&in), 2, pairs, v);
	}
	expect_arg(many, 7, 8, 8, true);
	expect_arg(many, 8, 4, 9, true);
	expect_arg(many, 9, 1, 1, true);
	expect_ret(many, 8, 1 + 2 + 3 + 4 + 5 + 6 + 100 + 8 + 9 + 1);
	expect_order(many);
	CHECK(count_for(many) == 11, "%d records, want 11", count_for(many));

	begin("void function");
	CALL(void_fn)(12);
	expect_arg(void_fn, 0, 4, 12, true);
	{
		const struct rt_record *r = find('R', void_fn, 0);

		CHECK(r && r->size == 0 && r->ptr == 0 && r->num_fields == 0,
		      "void return marker wrong");
	}

	begin("no parameters");
	void_target = 4;
	sink = CALL(no_params)();
	{
		const struct rt_record *r = find('E', no_params, 0);

		CHECK(r && r->size == 0 && r->ptr == 0 && r->num_fields == 0,
		      "entry marker wrong");
	}
	expect_ret(no_params, 4, 5);
	expect_order(no_params);

	begin("void, no parameters");
	CALL(void_no_params)();
	CHECK(count_for(void_no_params) == 2, "%d records, want 2",
	      count_for(void_no_params));
}

/* ---- static functions, weak functions, call chain ------------------ */

volatile int vol_a = 11, vol_b = 22, vol_c = 33;

static NOINLINE int st_add(int a, int b) { return a * 100 + b; }
/*
 * The checks find these through PC_OF: the optimiser may rewrite their
 * signatures (dead arguments removed, constants propagated, pointers
 * promoted, fastcc).
 */
static NOINLINE int st_unused(int a, int unused, int c)
{
	return a - c;
}
PC_OF(st_unused);
static NOINLINE long st_const(int k, long v) { return v * k; }
PC_OF(st_const);
static NOINLINE int st_struct(struct pair p, int k) { return p.a + k; }
PC_OF(st_struct);
/* Same-file callers of an unused parameter may pass an undefined value. */
NOINLINE int ext_unused(int a, int unused, int c) { return a * c; }
NOINLINE int ext_unused_piece(struct ptrlen pl, int k) { return pl.n + k; }

/* Reached through pointers only: every caller passes real values. */
NOINLINE int ext_indirect_unused(int a, int unused) { return a + 1; }
static NOINLINE int cb_unused(int a, int unused) { return a * 2; }
static NOINLINE int cb_mixed(int a, int unused) { return a * 3; }
int (*volatile callbacks[])(int, int) = { cb_unused, cb_mixed };

static NOINLINE int st_shift(struct pair s, int unused, int x)
{
	return s.b + x;
}
PC_OF(st_shift);
static NOINLINE int st_promote(const struct inner *p, int k)
{
	return p->x + k;
}
PC_OF(st_promote);
static NOINLINE int st_reassign(int x, int y)
{
	x = y;
	return x * 2 + y;
}
PC_OF(st_reassign);

__attribute__((weak)) NOINLINE int weak_default(int x) { return x + 1000; }
/* Overridden by weak_override.c. */
__attribute__((weak)) NOINLINE int weak_overridden(int x) { return -x; }

NOINLINE int chain_c(int x) { return x * 2; }
NOINLINE int chain_b(int x) { return chain_c(x + 1) + 1; }
NOINLINE int chain_a(int x) { return chain_b(x + 1) + 1; }

HARNESS static void test_linkage(void)
{
	begin("static function");
	sink = st_add(vol_a, vol_b);
	sink = st_add(vol_b, vol_c);
	expect_arg(st_add, 0, 4, 11, true);
	expect_arg(st_add, 1, 4, 22, true);
	expect_ret(st_add, 4, 1122);

	begin("static function with an unused parameter");
	sink = st_unused(vol_a, vol_b, vol_c);
	sink = st_unused(vol_c, vol_a, vol_b);
	expect_arg(st_unused_pc, 0, 4, 11, true);
	expect_arg(st_unused_pc, 1, 4, 22,
		   OPTIONAL("unused: dead-argument elimination removes it"));
	expect_arg(st_unused_pc, 2, 4, 33, true);
	expect_ret(st_unused_pc, 4, (u32)(11 - 33));

	begin("static function with a constant argument");
	sink = st_const(3, vol_a);
	sink = st_const(3, vol_b);
	expect_arg(st_const_pc, 0, 4, 3,
		   OPTIONAL("constant at every call: propagated, then removed"));
	expect_arg(st_const_pc, 1, 8, 11, true);
	expect_ret(st_const_pc, 8, 33);

	begin("static function with a by-value struct");
	sink = st_struct((struct pair){ vol_a, vol_b }, vol_c);
	sink = st_struct((struct pair){ vol_c, vol_a }, vol_b);
	{
		const struct rt_record *r = find('E', st_struct_pc, 0);
		const u64 pairs[] = { 0, 4, 4, 4 }, v[] = { 11, 22 };

		if (present(r, true))
			expect_fields(r, 8, 0, 2, pairs, v);
	}
	expect_arg(st_struct_pc, 1, 4, 33, true);

	begin("unused parameter of a global function, direct call");
	sink = ext_unused(vol_a, vol_b, vol_c);
	expect_arg(ext_unused, 0, 4, 11, true);
	expect_arg(ext_unused, 1, 4, 22,
		   OPTIONAL("unused: callers in this file pass poison"));
	expect_arg(ext_unused, 2, 4, 33, true);
	expect_ret(ext_unused, 4, 363);

	begin("unused parameter of a global function, indirect call");
	sink = CALL(ext_indirect_unused)(vol_a, vol_b);
	expect_arg(ext_indirect_unused, 0, 4, 11, true);
	expect_arg(ext_indirect_unused, 1, 4, 22, true);
	expect_ret(ext_indirect_unused, 4, 12);

	begin("unused parameter of a static callback");
	sink = callbacks[0](vol_a, vol_b);
	expect_arg(cb_unused, 0, 4, 11, true);
	expect_arg(cb_unused, 1, 4, 22, true);
	expect_ret(cb_unused, 4, 22);

	begin("unused parameter of a static callback also called directly");
	sink = cb_mixed(vol_c, vol_a);
	sink = callbacks[1](vol_a, vol_b);
	expect_arg(cb_mixed, 0, 4, 33, true);
	expect_arg(cb_mixed, 1, 4, 11,
		   OPTIONAL("unused: the direct caller passes poison"));
	expect_ret(cb_mixed, 4, 99);

	begin("unused half of a two-register struct, direct call");
	{
		static const char text[] = "xyz";
		struct ptrlen pl = { (const char *)hide((void *)text), vol_a };
		const struct rt_record *r;
		const u64 pairs[] = { 0, 8, 8, 8 }, v[] = { addr(text), 11 };

		sink = ext_unused_piece(pl, vol_b);
		r = find('E', ext_unused_piece, 0);
		if (present(r, OPTIONAL("the pointer half is unused: the direct "
					"caller passes poison for it")))
			expect_fields(r, 16, 0, 2, pairs, v);
		expect_arg(ext_unused_piece, 1, 4, 22, true);
		expect_ret(ext_unused_piece, 4, 33);
	}

	begin("static function, dead arguments removed");
	sink = st_shift((struct pair){ vol_a, 2 }, vol_b, vol_c);
	sink = st_shift((struct pair){ vol_b, 2 }, vol_a, vol_a);
	{
		const struct rt_record *r = find('E', st_shift_pc, 0);
		const u64 pairs[] = { 0, 4, 4, 4 }, v[] = { 11, 2 };

		if (present(r, OPTIONAL("s.a is unused and s.b is 2 at both "
					"calls: the argument is gone")))
			expect_fields(r, 8, 0, 2, pairs, v);
	}
	expect_arg(st_shift_pc, 1, 4, 22,
		   OPTIONAL("unused: dead-argument elimination removes it"));
	expect_arg(st_shift_pc, 2, 4, 33, true);
	expect_ret(st_shift_pc, 4, 35);

	begin("static function, promoted pointer argument");
	{
		static struct inner in = { 40, 50 };
		const struct rt_record *r;
		const u64 pairs[] = { 0, 4, 4, 4 }, v[] = { 40, 50 };

		sink = st_promote(&in, vol_a);
		sink = st_promote(&in, vol_b);
		r = find('E', st_promote_pc, 0);
		if (present(r, OPTIONAL("the same pointer at both calls: "
					"propagated, then removed")))
			expect_fields(r, 8, addr(&in), 2, pairs, v);
		expect_arg(st_promote_pc, 1, 4, 11, true);
		expect_ret(st_promote_pc, 4, 51);
	}

	begin("static function, parameter overwritten before use");
	sink = st_reassign(vol_a, vol_b);
	sink = st_reassign(vol_c, vol_a);
	expect_arg(st_reassign_pc, 0, 4, 11,
		   OPTIONAL("never read: dead-argument elimination removes it"));
	expect_arg(st_reassign_pc, 1, 4, 22, true);
	expect_ret(st_reassign_pc, 4, 66);

	begin("weak function");
	sink = CALL(weak_default)(vol_a);
	expect_arg(weak_default, 0, 4, 11, true);
	expect_ret(weak_default, 4, 1011);

	begin("overridden weak function");
	sink = CALL(weak_overridden)(vol_a);
	expect_arg(weak_overridden, 0, 4, 11, true);
	expect_ret(weak_overridden, 4, 11 * 7);
	CHECK(count_for(weak_overridden) == 2, "%d records, want 2",
	      count_for(weak_overridden));

	begin("call chain");
	sink = CALL(chain_a)(vol_a);
	{
		static const struct {
			const void *fn;
			char kind;
			u64 val;
		} want[] = {
			{ chain_a, 'E', 11 }, { chain_b, 'E', 12 },
			{ chain_c, 'E', 13 }, { chain_c, 'R', 26 },
			{ chain_b, 'R', 27 }, { chain_a, 'R', 28 },
		};

		CHECK(rt_count() == 6, "%d records, want 6", rt_count());
		for (int i = 0; i < 6 && i < rt_count(); i++) {
			const struct rt_record *r = rt_get(i);

			CHECK(r->pc == addr(want[i].fn) &&
				      r->kind == want[i].kind &&
				      r->vals[0] == want[i].val,
			      "chain record %d: %c %#llx", i, r->kind,
			      (unsigned long long)r->vals[0]);
		}
	}
}

/* ---- several returns ------------------------------------------------ */

NOINLINE int multi_ret(int x)
{
	if (x < 0)
		return -1;
	if (x == 0)
		return 100;
	return x * 3;
}

HARNESS static void test_multi_ret(void)
{
	static const int in[] = { -5, 0, 7 }, out[] = { -1, 100, 21 };

	for (int i = 0; i < 3; i++) {
		begin("several returns");
		sink = CALL(multi_ret)(in[i]);
		expect_arg(multi_ret, 0, 4, (u32)in[i], true);
		expect_ret(multi_ret, 4, (u32)out[i]);
		expect_order(multi_ret);
	}
}

/* ---- exclusions ----------------------------------------------------- */

NOINLINE __attribute__((no_sanitize("coverage"))) int ex_nocov(int x)
{
	return x + 1;
}
NOINLINE __attribute__((disable_sanitizer_instrumentation)) int
ex_nosan(int x)
{
	return x + 2;
}
NOINLINE __attribute__((section(".noinstr.text"))) int ex_noinstr(int x)
{
	return x + 3;
}
__attribute__((naked)) int ex_naked(int x)
{
#if defined(__x86_64__)
	__asm__("leal 4(%rdi), %eax\n\tret");
#elif defined(__aarch64__)
	__asm__("add w0, w0, #4\n\tret");
#endif
}
NOINLINE int ex_variadic(int n, ...)
{
	__builtin_va_list ap;
	int s = 0;

	__builtin_va_start(ap, n);
	for (int i = 0; i < n; i++)
		s += __builtin_va_arg(ap, int);
	__builtin_va_end(ap);
	return s;
}
int nodebug_fn(int x);	/* nodebug.c, built without -g */

HARNESS static void test_exclusions(void)
{
	begin("exclusions");
	sink = CALL(ex_nocov)(vol_a);
	sink = CALL(ex_nosan)(vol_a);
	sink = CALL(ex_noinstr)(vol_a);
	sink = CALL(ex_naked)(vol_a);
	sink = CALL(ex_variadic)(2, vol_a, vol_b);
	sink = CALL(nodebug_fn)(vol_a);
	CHECK(count_for(ex_nocov) == 0, "no_sanitize(coverage) instrumented");
	CHECK(count_for(ex_nosan) == 0,
	      "disable_sanitizer_instrumentation instrumented");
	CHECK(count_for(ex_noinstr) == 0, ".noinstr.text instrumented");
	CHECK(count_for(ex_naked) == 0, "naked instrumented");
	CHECK(count_for(ex_variadic) == 0, "variadic instrumented");
	CHECK(count_for(nodebug_fn) == 0, "function without debug info");
	CHECK(rt_count() == 0, "%d records from excluded functions",
	      rt_count());
}


/* ---- parameters reassigned before use -------------------------------- */

/*
 * Static functions called directly with values the optimiser cannot fold.
 * Their parameters' debug records describe the values after the
 * reassignment, not at entry. The checks below take their addresses, so
 * the optimiser keeps their signatures: the rw_ functions further down are
 * the same ones with signatures it rewrites.
 */
volatile int vol_1 = 1, vol_2 = 2, vol_3 = 3, vol_4 = 4, vol_3b = 3,
	     vol_5 = 5, vol_8 = 8, vol_10 = 10;
volatile long vol_big = 0x100000005l;

static NOINLINE int swap2(int a, int b)
{
	int t = a;

	a = b;
	b = t;
	return a * 100 + b;
}
static NOINLINE int rot3(int a, int b, int c)
{
	int t = a;

	a = b;
	b = c;
	c = t;
	return a * 10000 + b * 100 + c;
}
static NOINLINE int rot4(int a, int b, int c, int d)
{
	int t = a;

	a = b;
	b = c;
	c = d;
	d = t;
	return a * 1000 + b * 100 + c * 10 + d;
}
static NOINLINE int cswap(int a, int b)
{
	if (a < b) {
		int t = a;

		a = b;
		b = t;
	}
	return a * 100 + b;
}
static NOINLINE int tri(int n, int step)
{
	int s = 0;

	for (; n > 0; n -= step)
		s += n;
	return s;
}
static NOINLINE long nswap(long a, int b)
{
	int t = (int)a;

	a = b;
	b = t;
	return a * 1000 + b;
}

/*
 * The same functions, each called from one site and with its address never
 * taken in C, so that the optimiser rewrites them as it would in a kernel:
 * GlobalOpt gives them fastcc, dead-argument elimination removes the unused
 * parameters (the IR arguments after one shift down), and at -O3 argument
 * promotion passes the value behind a read-only pointer instead of the
 * pointer. The checks find their pc through PC_OF, an assembler alias the
 * optimiser does not see.
 */
static NOINLINE int rw_swap2(int unused, int a, int b)
{
	int t = a;

	a = b;
	b = t;
	return a * 100 + b;
}
PC_OF(rw_swap2);
static NOINLINE int rw_rot3(int a, int b, int c, const int *scale)
{
	int t = a;

	a = b;
	b = c;
	c = t;
	return (a * 10000 + b * 100 + c) * *scale;
}
PC_OF(rw_rot3);
/* The other way round from rot4. */
static NOINLINE int rw_rot4(int a, int unused, int b, int c, int d)
{
	int t = d;

	d = c, c = b, b = a, a = t;
	return a * 1000 + b * 100 + c * 10 + d;
}
PC_OF(rw_rot4);
/* Only the second half of the exchange is conditional. */
static NOINLINE int rw_cswap(const int *scale, int a, int b)
{
	int t = a;

	a = b;
	if (t < a)
		b = t;
	return (a * 100 + b) * *scale;
}
PC_OF(rw_cswap);
/* n counts from step up to its own entry value. */
static NOINLINE int rw_tri(int unused, int n, int step)
{
	int s = 0, limit = n;

	for (n = step; n <= limit; n += step)
		s += n;
	return s;
}
PC_OF(rw_tri);
static NOINLINE long rw_nswap(long a, int unused, long b)
{
	long t = a;

	a = b;
	b = (int)t;
	return a * 1000 + b;
}
PC_OF(rw_nswap);

/* A struct whose first eightbyte is a single char: {i8, i64} in IR. */
struct cl {
	char c;
	long l;
};
NOINLINE long ex_cl(int a, int b, struct cl s)
{
	int t = a;

	a = b;
	b = t;
	return a * 10 + b + s.c + s.l;
}

/*
 * What an rw_ function must record: each parameter, or, where "may" says
 * why, nothing for it; a value recorded must be exact all the same.
 */
struct rw_want {
	const char *name;
	const void *pc;
	u32 ret_size;
	u64 ret;
	struct {
		u32 size;
		u64 value;
		const char *may;
	} args[5];
};

#define UNUSED_MAY "unused: dead-argument elimination removes it"
#define PROMOTED_MAY "-O3 promotes it: the pointee is passed"

HARNESS static void expect_rw(const struct rw_want *w)
{
	current = w->name;
	for (u32 i = 0; i < 5 && w->args[i].size; i++)
		expect_arg(w->pc, i, w->args[i].size, w->args[i].value,
			   w->args[i].may == NULL);
	expect_ret(w->pc, w->ret_size, w->ret);
}

HARNESS static void test_reassigned(void)
{
	int scale = vol_1;

	begin("swap of two parameters");
	sink = swap2(vol_a, vol_b);
	sink = swap2(vol_c, vol_a);
	expect_arg(swap2, 0, 4, 11, true);
	expect_arg(swap2, 1, 4, 22, true);
	expect_ret(swap2, 4, 2211);

	begin("rotation of three parameters");
	sink = rot3(vol_1, vol_2, vol_3);
	sink = rot3(vol_3, vol_1, vol_2);
	expect_arg(rot3, 0, 4, 1, true);
	expect_arg(rot3, 1, 4, 2, true);
	expect_arg(rot3, 2, 4, 3, true);
	expect_ret(rot3, 4, 20301);

	begin("rotation of four parameters");
	sink = rot4(vol_1, vol_2, vol_3, vol_4);
	sink = rot4(vol_4, vol_3, vol_2, vol_1);
	expect_arg(rot4, 0, 4, 1, true);
	expect_arg(rot4, 1, 4, 2, true);
	expect_arg(rot4, 2, 4, 3, true);
	expect_arg(rot4, 3, 4, 4, true);
	expect_ret(rot4, 4, 2341);

	begin("conditional swap");
	sink = cswap(vol_3b, vol_8);
	sink = cswap(vol_8, vol_3b);
	expect_arg(cswap, 0, 4, 3, true);
	expect_arg(cswap, 1, 4, 8, true);
	expect_ret(cswap, 4, 803);

	begin("parameter reused as a loop counter");
	sink = tri(vol_10, vol_3);
	sink = tri(vol_8, vol_1);
	expect_arg(tri, 0, 4, 10, true);
	expect_arg(tri, 1, 4, 3, true);
	expect_ret(tri, 4, 22);

	begin("narrowing swap");
	sink = nswap(vol_big, vol_a + 0 * vol_1 - 4);
	sink = nswap(vol_a, vol_b);
	expect_arg(nswap, 0, 8, 0x100000005ull, true);
	expect_arg(nswap, 1, 4, 7, true);
	expect_ret(nswap, 8, 7005);

	/* All six are called first, then checked by their pcs. */
	begin("rewritten signatures");
	sink = rw_swap2(vol_4, vol_a, vol_b);
	sink = rw_rot3(vol_1, vol_2, vol_3, &scale);
	sink = rw_rot4(vol_1, vol_8, vol_2, vol_3, vol_4);
	sink = rw_cswap(&scale, vol_3b, vol_8);
	sink = rw_tri(vol_5, vol_10, vol_3);
	sink = rw_nswap(vol_big, vol_10, vol_a - 4l);
	{
		const u64 pscale = addr(&scale);
		const struct rw_want wants[] = {
			{ "rewritten: swap of two parameters after an unused one",
			  rw_swap2_pc, 4, 2211,
			  { { 4, 4, UNUSED_MAY }, { 4, 11 }, { 4, 22 } } },
			{ "rewritten: rotation of three, and a promoted pointer",
			  rw_rot3_pc, 4, 20301,
			  { { 4, 1 }, { 4, 2 }, { 4, 3 },
			    { 8, pscale, PROMOTED_MAY } } },
			{ "rewritten: rotation of four around an unused parameter",
			  rw_rot4_pc, 4, 4123,
			  { { 4, 1 }, { 4, 8, UNUSED_MAY }, { 4, 2 }, { 4, 3 },
			    { 4, 4 } } },
			{ "rewritten: half-conditional swap after a promoted pointer",
			  rw_cswap_pc, 4, 803,
			  { { 8, pscale, PROMOTED_MAY }, { 4, 3 }, { 4, 8 } } },
			{ "rewritten: loop counter after an unused parameter",
			  rw_tri_pc, 4, 3 + 6 + 9,
			  { { 4, 5, UNUSED_MAY }, { 4, 10 }, { 4, 3 } } },
			{ "rewritten: narrowing swap around an unused parameter",
			  rw_nswap_pc, 8, 7005,
			  { { 8, 0x100000005ull }, { 4, 10, UNUSED_MAY },
			    { 8, 7 } } },
		};

		for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++)
			expect_rw(&wants[i]);
	}

	begin("exported function with a {char, long} parameter");
	{
		struct cl s = { 'x', vol_big };
		const u64 pairs[] = { 0, 1, 8, 8 }, v[] = { 'x', 0x100000005ull };

		sink = ex_cl(vol_a, vol_b, s);
		expect_arg(ex_cl, 0, 4, 11, true);
		expect_arg(ex_cl, 1, 4, 22, true);
		expect_fields(find('E', ex_cl, 2), 16, 0, 2, pairs, v);
		expect_ret(ex_cl, 8, 22 * 10 + 11 + 'x' + 0x100000005l);
	}
}

/* ---- structs the ABI splits unevenly, unions, bitfields, complex ----- */

struct idbl {
	int i;
	double d;
};
struct fdbl {
	float f;
	double d;
};
union word {
	long l;
	char c[8];
};
struct bits {
	unsigned a : 3;
	unsigned b : 9;
	unsigned short c;
};

NOINLINE long bv_cl(struct cl s, int k) { return s.c + s.l + k; }
NOINLINE double bv_idbl(struct idbl s) { return s.i + s.d; }
NOINLINE double bv_fdbl(struct fdbl s) { return s.f + s.d; }
NOINLINE long bv_union(union word w) { return w.l + 1; }
NOINLINE int bv_bits(struct bits b) { return b.a + b.b + b.c; }
NOINLINE struct cl rv_cl(long l) { return (struct cl){ 'q', l }; }
NOINLINE struct idbl rv_idbl(int i) { return (struct idbl){ i, 0.5 }; }
NOINLINE struct fdbl rv_fdbl(double d) { return (struct fdbl){ 2.0f, d }; }
NOINLINE _Complex double cx_double(_Complex double z) { return z * 2; }
NOINLINE _Complex float cx_float(_Complex float z) { return z + 1; }
/* _BitInt values stored in fewer bytes than they occupy. */
NOINLINE unsigned _BitInt(24) bi24(unsigned _BitInt(24) a, long b)
{
	return a + (b != 0);
}
NOINLINE _BitInt(37) bi37(int a) { return a - 11; }
/* A 16-byte vector: its natural alignment exceeds the slot's. */
typedef float v4f __attribute__((vector_size(16)));
struct vec {
	v4f v;
};
NOINLINE struct vec bv_vec(struct vec s, int k)
{
	s.v[0] += k;
	return s;
}
/* Calling conventions that lower structs differently. */
#if defined(__x86_64__)
__attribute__((ms_abi)) NOINLINE long ms_ptrlen(struct ptrlen pl, int x)
{
	return pl.n + x;
}
__attribute__((regcall)) NOINLINE long rc_three(struct three t, int x)
{
	return t.a + t.b + t.c + x;
}
#endif

HARNESS static u64 bits_of_double(double d)
{
	union {
		double d;
		u64 u;
	} x = { .d = d };

	return x.u;
}

HARNESS static u64 bits_of_float(float f)
{
	union {
		float f;
		u32 u;
	} x = { .f = f };

	return x.u;
}

HARNESS static void test_abi_shapes(void)
{
	const u64 pairs8[] = { 0, 1, 8, 8 }, pairs48[] = { 0, 4, 8, 8 };

	begin("by-value {char, long}");
	{
		struct cl s = { 'x', vol_big };
		const u64 v[] = { 'x', 0x100000005ull };

		sink = CALL(bv_cl)(s, vol_a);
		expect_fields(find('E', bv_cl, 0), 16, 0, 2, pairs8, v);
		expect_arg(bv_cl, 1, 4, 11, true);
	}

	begin("by-value {int, double}");
	{
		struct idbl s = { -7, 2.25 };
		const u64 v[] = { 0xfffffff9, bits_of_double(2.25) };

		sink = (u64)CALL(bv_idbl)(s);
		expect_fields(find('E', bv_idbl, 0), 16, 0, 2, pairs48, v);
	}

	begin("by-value {float, double}");
	{
		struct fdbl s = { 1.5f, -3.0 };
		const u64 v[] = { bits_of_float(1.5f), bits_of_double(-3.0) };

		sink = (u64)CALL(bv_fdbl)(s);
		expect_fields(find('E', bv_fdbl, 0), 16, 0, 2, pairs48, v);
	}

	begin("union by value");
	{
		union word w = { .l = 0x0102030405060708l };

		sink = CALL(bv_union)(w);
		expect_arg(bv_union, 0, 8, 0x0102030405060708ull, true);
	}

	begin("bitfields by value");
	{
		struct bits b = { 5, 300, 0xbeef };
		const u64 pairs[] = { 0, 1, 0, 2, 2, 2 };
		const u64 v[] = { (5 | (300 << 3)) & 0xff, 5 | (300 << 3),
				  0xbeef };

		sink = CALL(bv_bits)(b);
		expect_fields(find('E', bv_bits, 0), 4, 0, 3, pairs, v);
	}

	begin("returned {char, long}");
	{
		const u64 v[] = { 'q', 0x100000005ull };

		sink = CALL(rv_cl)(vol_big).l;
		expect_fields(find('R', rv_cl, 0), 16, 0, 2, pairs8, v);
	}

	begin("returned {int, double}");
	{
		const u64 v[] = { 11, bits_of_double(0.5) };

		sink = CALL(rv_idbl)(vol_a).i;
		expect_fields(find('R', rv_idbl, 0), 16, 0, 2, pairs48, v);
	}

	begin("returned {float, double}");
	{
		const u64 v[] = { bits_of_float(2.0f), bits_of_double(-1.25) };

		sink = (u64)CALL(rv_fdbl)(-1.25).d;
		expect_fields(find('R', rv_fdbl, 0), 16, 0, 2, pairs48, v);
	}

	begin("complex double");
	{
		_Complex double z = 1.5 + 2.5 * __builtin_complex(0.0, 1.0);

		sink = (u64)__real__ CALL(cx_double)(z);
		expect_arg(cx_double, 0, 16, bits_of_double(1.5), true);
		expect_ret(cx_double, 16, bits_of_double(3.0));
	}

	begin("complex float");
	{
		_Complex float z = __builtin_complex(1.5f, -2.0f);
		u64 in = bits_of_float(1.5f) | (u64)bits_of_float(-2.0f) << 32;
		u64 out = bits_of_float(2.5f) | (u64)bits_of_float(-2.0f) << 32;

		sink = (u64)__real__ CALL(cx_float)(z);
		expect_arg(cx_float, 0, 8, in, true);
		expect_ret(cx_float, 8, out);
	}

	begin("_BitInt returns stored in fewer bytes than they occupy");
	{
		volatile unsigned _BitInt(24) a = 5;
		volatile _BitInt(37) r37 = CALL(bi37)(vol_5);
		const struct rt_record *r;

		sink = CALL(bi24)(a, vol_big);
		r = find('R', bi24, 0);
		if (present(r, OPTIONAL("returned as i24: 3 of the 4 bytes read")))
			CHECK(r->size == 4 && r->vals[0] == 6,
			      "bi24 ret size %u value %#llx", r->size,
			      (unsigned long long)r->vals[0]);
		/* The bits above a _BitInt's width are padding (clang
		 * zero-extends in the callee, the caller sign-extends). */
		r = find('R', bi37, 0);
#if defined(__x86_64__)
		if (present(r, true))
#else
		if (present(r, OPTIONAL("aarch64 returns it as i37: 5 of the 8 "
					"bytes read")))
#endif
			CHECK(r->size == 8 && ((r->vals[0] ^ (u64)(long)r37) &
					       ((1ull << 37) - 1)) == 0,
			      "bi37 ret size %u value %#llx, want %#llx",
			      r->size, (unsigned long long)r->vals[0],
			      (unsigned long long)(long)r37);
	}

	begin("16-byte vector struct, both ways");
	{
		struct vec v = { { 1.0f, 2.0f, 3.0f, 4.0f } }, w;
		const u64 pairs[] = { 0, 16 };
		const u64 in[] = { bits_of_float(1.0f) |
				   (u64)bits_of_float(2.0f) << 32 };
		const u64 out[] = { bits_of_float(12.0f) |
				    (u64)bits_of_float(2.0f) << 32 };

		w = CALL(bv_vec)(v, vol_a);
		sink = (u64)w.v[1];
		expect_fields(find('E', bv_vec, 0), 16, 0, 1, pairs, in);
		expect_fields(find('R', bv_vec, 0), 16, 0, 1, pairs, out);
	}

#if defined(__x86_64__)
	begin("ms_abi: a 16-byte struct passed by reference");
	{
		static const char text[] = "ms";
		struct ptrlen pl = { (const char *)hide((void *)text), 40 };
		const u64 pairs[] = { 0, 8, 8, 8 }, v[] = { addr(text), 40 };

		sink = CALL(ms_ptrlen)(pl, vol_a);
		expect_fields(find('E', ms_ptrlen, 0), 16, 0, 2, pairs, v);
		expect_arg(ms_ptrlen, 1, 4, 11, true);
		expect_ret(ms_ptrlen, 8, 51);
	}

	begin("regcall: a 12-byte struct");
	{
		struct three t = { 1, 2, 3 };
		const u64 pairs[] = { 0, 4, 4, 4, 8, 4 }, v[] = { 1, 2, 3 };

		sink = CALL(rc_three)(t, vol_a);
		/* Each member in its own register: stored back at its offset. */
		expect_fields(find('E', rc_three, 0), 12, 0, 3, pairs, v);
		expect_arg(rc_three, 1, 4, 11, true);
		expect_ret(rc_three, 8, 17);
	}
#endif
}

/* capped.c, built with a cap on the fields of a struct expansion. */
void test_capped(int *npassed, int *nfailed);

HARNESS int main(void)
{
	test_scalars();
	test_struct_pointers();
	test_by_value();
	test_shapes();
	test_linkage();
	test_multi_ret();
	test_reassigned();
	test_abi_shapes();
	test_exclusions();
	test_capped(&passed, &failed);
	rt_pause();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
