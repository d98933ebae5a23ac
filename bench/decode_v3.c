// decode_v3: the C reference for kcovdf's v3 decoder. It does the job of
// the Go fast path: a header check of each record (no bits in 24-27, a
// known type), the length from the header's count, the record inside the
// counted words, one record struct filled per record, the same counters
// (records by kind, words, the longest record, sequence gaps). As in
// decode_v1.c, the compiler drops the stores to the unread record.
//
//   cc -O2 -o decode_v3 bench/decode_v3.c
//   ./decode_v3 AREA [RUNS]
//
// Runs are timed in CPU time of the thread (harness.h).
//
// AREA is a raw dump of the area (little-endian words, area[0] first).
#include <string.h>

#include "harness.h"

#define SEQ_MASK 0xffffffULL

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

static int known_kind(unsigned k)
{
	return k == 0xc || k == 0xe || k == 0xf;
}

// decode walks the area as the Go fast path does and returns a checksum.
static uint64_t decode(const uint64_t *w, size_t n, struct summary *s)
{
	size_t end = n, p = 1;
	uint64_t sum = 0;
	uint32_t expect = 0;
	int have_prev = 0;
	struct record r;

	if (n == 0)
		return 0;
	if (w[0] < n - 1)
		end = w[0] + 1;
	memset(s, 0, sizeof(*s));
	while (p + 3 <= end) {
		uint64_t h = w[p];
		unsigned kind = (unsigned)(h >> 28 & 0xf);
		size_t q = p + 3 + (size_t)(h >> 32 & 0xffff);

		if ((h >> 24 & 0xf) != 0 || !known_kind(kind) || q > end)
			break;
		r.offset = (int)p;
		r.kind = (uint8_t)kind;
		r.seq = (uint32_t)(h & SEQ_MASK);
		r.pc = w[p + 1];
		r.ptr = w[p + 2];
		r.size = (uint8_t)(h >> 48);
		r.arg = (uint8_t)(h >> 56);
		r.values = &w[p + 3];
		r.nvalues = (int)(q - p - 3);
		s->records++;
		s->by_kind[kind]++;
		s->record_words += q - p;
		if ((long)(q - p) > s->max_record_words)
			s->max_record_words = q - p;
		if (have_prev && r.seq != expect)
			s->seq_gaps++;
		expect = (r.seq + 1) & SEQ_MASK;
		have_prev = 1;
		sum += r.seq + r.nvalues;
		p = q;
	}
	return sum;
}

// v3run is one timed run: the area and the counters.
struct v3run {
	const uint64_t *w;
	size_t n;
	struct summary s;
};

static uint64_t run_v3(void *ctx)
{
	struct v3run *r = ctx;

	return decode(r->w, r->n, &r->s);
}

int main(int argc, char **argv)
{
	struct v3run r = { 0 };
	uint64_t sum = 0;
	int runs = argc > 2 ? atoi(argv[2]) : 11;
	double med;

	if (argc < 2 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: %s AREA [RUNS<=%d]\n", argv[0], MAX_RUNS);
		return 2;
	}
	r.w = read_area(argv[1], &r.n);
	med = median_cpu(runs, run_v3, &r, &sum);
	report("v3", r.s.records, r.n, runs, med, sum);
	return 0;
}
