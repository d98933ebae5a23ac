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
// Runs are timed in CPU time of the thread, as kcovdf decode --bench does.
//
// AREA is a raw dump of the area (little-endian words, area[0] first).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	FILE *f;
	long size;
	uint64_t *w;
	size_t n;
	int runs = argc > 2 ? atoi(argv[2]) : 11;
	double times[101];
	struct summary s;
	uint64_t sum = 0;

	if (argc < 2 || runs < 1 || runs > 101) {
		fprintf(stderr, "usage: %s AREA [RUNS<=101]\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 8) {
		fprintf(stderr, "%s: cannot read\n", argv[1]);
		return 1;
	}
	rewind(f);
	n = (size_t)size / 8;
	w = malloc(n * 8);
	if (!w || fread(w, 8, n, f) != n) {
		fprintf(stderr, "%s: short read\n", argv[1]);
		return 1;
	}
	fclose(f);

	for (int i = 0; i < runs; i++) {
		struct timespec a, b;

		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
		sum += decode(w, n, &s);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		times[i] = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	}
	qsort(times, runs, sizeof(times[0]), cmp_double);
	printf("c v3 decode: %ld records, %zu words, median of %d runs %.3fms CPU, %.2f GB/s (checksum %llu)\n",
	       s.records, n, runs, times[runs / 2] * 1e3, (double)n * 8 / times[runs / 2] / 1e9,
	       (unsigned long long)(sum / runs));
	return 0;
}
