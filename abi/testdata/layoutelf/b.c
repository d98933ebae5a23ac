/* See a.c. */
static __attribute__((noinline)) int type_show(int v) { return v - 1; }

__attribute__((noinline)) int defaulted(int x, int y, int z) { return x * y * z; }

int b_entry(int v) { return type_show(v) + defaulted(v, 2, 3); }

/* The callbacks, so that the fixture links on its own. */
__attribute__((no_sanitize("coverage"))) void __sanitizer_cov_trace_pc(void) {}
__attribute__((no_sanitize("coverage"))) void
__sanitizer_cov_trace_args(unsigned long pc, unsigned idx, unsigned size,
			   void *p, unsigned long *off, unsigned n) {}
__attribute__((no_sanitize("coverage"))) void
__sanitizer_cov_trace_ret(unsigned long pc, unsigned size, void *p,
			  unsigned long *off, unsigned n) {}
