// -kcovdf-dataflow-max-fields=0 is no cap: every field, and no "capped" key.
// (run.sh also requires objects and layouts built with it to be identical
// to those built without the option.)
// FLAGS: -O2 -mllvm -kcovdf-dataflow-max-fields=0

struct five {
	long a;
	int b, c;
	char d[6];
	long e;
};

long all_ptr(struct five *f) { return f->a + f->e; }

// CHECK: @__kcovdf_fields.five = private unnamed_addr constant [10 x i64] [i64 0, i64 8, i64 8, i64 4, i64 12, i64 4, i64 16, i64 6, i64 24, i64 8], align 8
// CHECK-NOT: capped
// CHECK: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @all_ptr to i64), i32 0, i32 8, ptr %{{[0-9a-z.]+}}, ptr @__kcovdf_fields.five, i32 5)
