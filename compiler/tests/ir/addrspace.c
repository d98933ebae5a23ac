// The callbacks take flat pointers: a struct reached through another
// address space (%fs, %gs) is not expanded through one, and the function
// gets the no-parameter marker instead.
// FLAGS: -O2 --target=x86_64-linux-gnu

struct S {
	long a, b;
};

long get(struct S __seg_fs *p) { return p->b; }

// CHECK: define {{.*}}i64 @get(ptr addrspace(257)
// CHECK-NOT: ptr addrspace(257) %{{[0-9]+}}, ptr @__kcovdf_fields
// CHECK: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @get to i64), i32 0, i32 0, ptr null, ptr null, i32 0)
