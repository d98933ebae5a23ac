/* User-space stand-in for the kernel side of kcov dataflow (docs/records.md). */
#ifndef KCOVDF_TEST_RUNTIME_H
#define KCOVDF_TEST_RUNTIME_H

#include <stdint.h>

#define RT_MAX_FIELDS 32

struct rt_record {
	char kind;		/* 'E' entry, 'R' return */
	uint64_t pc;
	uint32_t idx;		/* arg_idx; 0 for returns */
	uint32_t size;
	uint64_t ptr;		/* the raw pointer passed */
	uint32_t num_fields;
	uint64_t offsets[2 * RT_MAX_FIELDS];	/* copied field table */
	uint64_t vals[RT_MAX_FIELDS];	/* max(num_fields, 1) values */
};

/* Start a fresh capture; records are kept until the next reset. */
void rt_reset(void);
int rt_count(void);
const struct rt_record *rt_get(int i);
/* Stop recording (the checks themselves must not record). */
void rt_pause(void);

#endif
