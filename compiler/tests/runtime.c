/*
 * The two dataflow callbacks, implemented the way the kernel does
 * (docs/records.md): scalars read min(size, 8) bytes; struct fields read
 * min(size_i, 8) bytes at ptr + offset_i; ERR_PTR pointers give 0xBADADD85
 * per field; NULL and unmapped low addresses read as 0.
 *
 * Every record is also appended to $KCOVDF_TRACE_OUT (one line per call:
 * kind pc idx size num_fields) so that the layout dump can be checked
 * against what the instrumented code really passed.
 *
 * This file is compiled without the plugin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

#define RT_MAX_RECORDS 4096
#define MAX_ERRNO 4095
#define BAD_FIELD 0xBADADD85ull

static struct rt_record records[RT_MAX_RECORDS];
static int nrecords;
static int recording;
static FILE *trace_out;

void __sanitizer_cov_trace_pc(void)
{
}

void rt_reset(void)
{
	nrecords = 0;
	recording = 1;
}

void rt_pause(void)
{
	recording = 0;
}

int rt_count(void)
{
	return nrecords;
}

const struct rt_record *rt_get(int i)
{
	return i >= 0 && i < nrecords ? &records[i] : NULL;
}

static int is_err_ptr(uint64_t p)
{
	return p >= (uint64_t)-MAX_ERRNO;
}

/* Stand-in for copy_from_kernel_nofault: low addresses "fault". */
static uint64_t read_nofault(uint64_t addr, uint64_t size)
{
	uint64_t v = 0;

	if (addr < 65536 || is_err_ptr(addr))
		return 0;
	memcpy(&v, (const void *)addr, size > 8 ? 8 : size);
	return v;
}

static void emit(char kind, uint64_t pc, uint32_t idx, uint32_t size,
		 void *ptr, uint64_t *offsets, uint32_t num_fields)
{
	struct rt_record *r;
	uint64_t p = (uint64_t)ptr;
	uint32_t i;

	if (!trace_out) {
		const char *path = getenv("KCOVDF_TRACE_OUT");

		if (path)
			trace_out = fopen(path, "a");
	}
	if (trace_out)
		fprintf(trace_out, "%c 0x%llx %u %u %u\n", kind,
			(unsigned long long)pc, idx, size, num_fields);
	if (!recording || nrecords == RT_MAX_RECORDS)
		return;
	r = &records[nrecords++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->pc = pc;
	r->idx = idx;
	r->size = size;
	r->ptr = p;
	r->num_fields = num_fields;
	if (num_fields == 0) {
		r->vals[0] = read_nofault(p, size);
		return;
	}
	for (i = 0; i < num_fields && i < RT_MAX_FIELDS; i++) {
		r->offsets[2 * i] = offsets[2 * i];
		r->offsets[2 * i + 1] = offsets[2 * i + 1];
		if (is_err_ptr(p))
			r->vals[i] = BAD_FIELD;
		else
			r->vals[i] = read_nofault(p + offsets[2 * i],
						  offsets[2 * i + 1]);
	}
}

void __sanitizer_cov_trace_args(uint64_t pc, uint32_t arg_idx,
				uint32_t arg_size, void *arg_ptr,
				uint64_t *offsets, uint32_t num_fields)
{
	emit('E', pc, arg_idx, arg_size, arg_ptr, offsets, num_fields);
}

void __sanitizer_cov_trace_ret(uint64_t pc, uint32_t ret_size, void *ret_val,
			       uint64_t *offsets, uint32_t num_fields)
{
	emit('R', pc, 0, ret_size, ret_val, offsets, num_fields);
}
