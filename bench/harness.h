// harness.h: what the C references share: reading the area dump and
// timing runs in CPU time of the thread, as kcovdf decode --bench does
// (other jobs on a shared machine do not count; on an idle one it is the
// wall time).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_RUNS 101

// read_area reads a raw dump of the area (little-endian words, area[0]
// first) into *n words; it exits on failure.
static uint64_t *read_area(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	long size;
	uint64_t *w;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 8) {
		fprintf(stderr, "%s: cannot read\n", path);
		exit(1);
	}
	rewind(f);
	*n = (size_t)size / 8;
	w = malloc(*n * 8);
	if (!w || fread(w, 8, *n, f) != *n) {
		fprintf(stderr, "%s: short read\n", path);
		exit(1);
	}
	fclose(f);
	return w;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

// median_cpu calls run(ctx) runs times (1 to MAX_RUNS), adds the
// checksums it returns to *sum, and returns the median CPU time of one
// call in seconds. The indirect call is once a run, not once a record.
static double median_cpu(int runs, uint64_t (*run)(void *), void *ctx, uint64_t *sum)
{
	double times[MAX_RUNS];

	for (int i = 0; i < runs; i++) {
		struct timespec a, b;

		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
		*sum += run(ctx);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
		times[i] = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	}
	qsort(times, runs, sizeof(times[0]), cmp_double);
	return times[runs / 2];
}

// report prints the line the bench scripts read (records and GB/s).
static void report(const char *what, long records, size_t n, int runs, double t, uint64_t sum)
{
	printf("c %s decode: %ld records, %zu words, median of %d runs %.3fms CPU, %.2f GB/s (checksum %llu)\n",
	       what, records, n, runs, t * 1e3, (double)n * 8 / t / 1e9, (unsigned long long)(sum / runs));
}
