// On aarch64 clang lowers structs differently ({char, long} is one [2 x i64]
// argument, a 24-byte struct is passed by reference): the tags follow
// clang's own lowering, so the values are still the source parameters'.
// FLAGS: -O2 --target=aarch64-linux-gnu

struct cl {
	char c;
	long l;
};
struct big {
	long a, b, c;
};

static __attribute__((noinline)) long swap(long a, long b)
{
	long t = a;

	a = b;
	b = t;
	return a * 100 + b;
}

long use(long x, long y) { return swap(x, y); }
long pass_cl(struct cl s, int k) { return s.c + s.l + k; }
long pass_big(struct big b) { return b.a + b.c; }

// CHECK: define internal {{.*}}i64 @swap(i64 {{[^%]*}}%[[A:[0-9]+]], i64 {{[^%]*}}%[[B:[0-9]+]])
// CHECK: store i64 %[[A]], ptr %[[SLOT:[0-9]+]]
// CHECK-NEXT: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @swap to i64), i32 0, i32 8, ptr %[[SLOT]]
// CHECK-NEXT: store i64 %[[B]], ptr %[[SLOT]]
// CHECK-NEXT: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @swap to i64), i32 1, i32 8, ptr %[[SLOT]]
// CHECK: define {{.*}}i64 @pass_cl([2 x i64] %[[S:[0-9]+]], i32 {{[^%]*}}%[[K:[0-9]+]])
// CHECK: store i128 0, ptr %[[SLOT2:[0-9]+]]
// CHECK-NEXT: store [2 x i64] %[[S]], ptr %[[SLOT2]]
// CHECK-NEXT: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @pass_cl to i64), i32 0, i32 16, ptr %[[SLOT2]], ptr @__kcovdf_fields.cl, i32 2)
// CHECK: define {{.*}}i64 @pass_big(ptr {{[^%]*}}%[[P:[0-9]+]])
// CHECK: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @pass_big to i64), i32 0, i32 24, ptr %[[P]], ptr @__kcovdf_fields.big, i32 3)
