// decode_v1: the C reference for kcovdf's exact v1 decoder. It does the
// same job as the Go fast path with the same table: open addressing on
// the pc with a one-entry cache, a header check of the record and of the
// word after it, one record struct filled per record, the same counters.
// Nothing reads the record, so at -O2 the compiler drops those stores: the
// C loop does less than the Go one, which hands each record to its caller.
//
//   cc -O2 -o decode_v1 bench/decode_v1.c
//   ./decode_v1 AREA LENGTHS [RUNS]
//
// Runs are timed in CPU time of the thread (harness.h).
//
// AREA is a raw dump of the area (little-endian words, area[0] first);
// LENGTHS has one "pc kind arg words" line per known record shape, as
// `kcovdf layout lengths` prints it.
#include <string.h>

#include "harness.h"

#define SEQ_MASK 0xffffffULL
#define RET_SLOT 256

struct lengths {
	uint32_t len[RET_SLOT + 1];
};

struct table {
	uint64_t *keys;
	int32_t *blocks;
	struct lengths *lens;
	int nlens, cap;
	unsigned shift;
	uint64_t last_pc;
	struct lengths *last;
};

struct record {
	int offset;
	uint8_t kind, arg, size;
	uint32_t seq;
	uint64_t pc, ptr;
	const uint64_t *values;
	int nvalues;
};

struct summary {
	long records, by_kind[16], record_words, max_record_words, seq_gaps;
};

static size_t slot_of(const struct table *t, uint64_t pc)
{
	return (size_t)((pc * 0x9E3779B97F4A7C15ULL) >> t->shift);
}

static struct lengths *lookup(struct table *t, uint64_t pc)
{
	size_t mask = ((size_t)1 << (64 - t->shift)) - 1;

	if (pc == t->last_pc && t->last)
		return t->last;
	for (size_t i = slot_of(t, pc);; i = (i + 1) & mask) {
		if (t->keys[i] == pc) {
			t->last_pc = pc;
			t->last = &t->lens[t->blocks[i]];
			return t->last;
		}
		if (t->keys[i] == 0)
			return NULL;
	}
}

static struct lengths *insert(struct table *t, uint64_t pc)
{
	size_t mask = ((size_t)1 << (64 - t->shift)) - 1;

	for (size_t i = slot_of(t, pc);; i = (i + 1) & mask) {
		if (t->keys[i] == pc)
			return &t->lens[t->blocks[i]];
		if (t->keys[i] == 0) {
			t->keys[i] = pc;
			t->blocks[i] = t->nlens;
			return &t->lens[t->nlens++];
		}
	}
}

static int header_ok(uint64_t w)
{
	return (w & ~(0xfULL << 28 | SEQ_MASK)) == 0 && (w >> 28 == 0xe || w >> 28 == 0xf);
}

static uint64_t canonical(uint64_t p)
{
	return (uint64_t)((int64_t)(p << 16) >> 16);
}

// decode walks the area as the Go fast path does and returns a checksum.
static uint64_t decode(const uint64_t *w, size_t n, struct table *t, struct summary *s)
{
	size_t end = n, p = 1;
	uint64_t sum = 0, prev_h = 0;
	int have_prev = 0;
	struct record r;

	if (n == 0)
		return 0;
	if (w[0] < n - 1)
		end = w[0] + 1;
	memset(s, 0, sizeof(*s));
	while (p + 3 < end) {
		uint64_t h = w[p], pc = w[p + 1], meta = w[p + 2];
		struct lengths *b;
		unsigned i;
		size_t q;

		if (!header_ok(h))
			break;
		b = lookup(t, pc);
		if (!b)
			break;
		i = h >> 28 == 0xf ? RET_SLOT : (unsigned)(meta >> 56);
		q = p + b->len[i];
		if (b->len[i] == 0 || q > end || (q < end && !header_ok(w[q])))
			break;
		r.offset = (int)p;
		r.kind = (uint8_t)(h >> 28);
		r.seq = (uint32_t)(h & SEQ_MASK);
		r.pc = pc;
		r.arg = (uint8_t)(meta >> 56);
		r.size = (uint8_t)(meta >> 48);
		r.ptr = canonical(meta & 0xffffffffffffULL);
		r.values = &w[p + 3];
		r.nvalues = (int)(q - p - 3);
		s->records++;
		s->by_kind[r.kind]++;
		s->record_words += q - p;
		if ((long)(q - p) > s->max_record_words)
			s->max_record_words = q - p;
		if (have_prev && ((h - prev_h - 1) & SEQ_MASK) != 0)
			s->seq_gaps++;
		prev_h = h;
		have_prev = 1;
		sum += r.seq + r.nvalues;
		p = q;
	}
	return sum;
}

// v1run is one timed run: the area, its table, the counters.
struct v1run {
	const uint64_t *w;
	size_t n;
	struct table *t;
	struct summary s;
};

static uint64_t run_v1(void *ctx)
{
	struct v1run *r = ctx;

	return decode(r->w, r->n, r->t, &r->s);
}

int main(int argc, char **argv)
{
	FILE *f;
	uint64_t pc, sum = 0;
	struct table t = { 0 };
	struct v1run r = { .t = &t };
	unsigned kind, arg, words;
	int runs = argc > 3 ? atoi(argv[3]) : 11;
	double med;

	if (argc < 3 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: %s AREA LENGTHS [RUNS<=%d]\n", argv[0], MAX_RUNS);
		return 2;
	}
	r.w = read_area(argv[1], &r.n);

	t.cap = 1 << 16;
	t.shift = 64 - 17;
	t.keys = calloc((size_t)1 << 17, sizeof(*t.keys));
	t.blocks = calloc((size_t)1 << 17, sizeof(*t.blocks));
	t.lens = calloc(t.cap, sizeof(*t.lens));
	f = fopen(argv[2], "r");
	if (!f) {
		fprintf(stderr, "%s: cannot read\n", argv[2]);
		return 1;
	}
	while (fscanf(f, "%lx %u %u %u", &pc, &kind, &arg, &words) == 4) {
		if (t.nlens == t.cap) {
			fprintf(stderr, "%s: more than %d functions\n", argv[2], t.cap);
			return 1;
		}
		insert(&t, pc)->len[kind == 0xf ? RET_SLOT : arg] = words;
	}
	fclose(f);

	med = median_cpu(runs, run_v1, &r, &sum);
	report("v1", r.s.records, r.n, runs, med, sum);
	return 0;
}
