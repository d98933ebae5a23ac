// The entry values of reassigned parameters come from the arguments, never
// from debug records that describe the values after the reassignment.
// FLAGS: -O2

static __attribute__((noinline)) int swap(int a, int b)
{
	int t = a;

	a = b;
	b = t;
	return a * 100 + b;
}

int use(int x, int y) { return swap(x, y); }

// CHECK: define internal {{.*}}i32 @swap(i32 {{[^%]*}}%[[A:[0-9]+]], i32 {{[^%]*}}%[[B:[0-9]+]])
// CHECK-NEXT: %[[SLOT:[0-9]+]] = alloca i128, align 8
// CHECK: store i32 %[[A]], ptr %[[SLOT]]
// CHECK-NEXT: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @swap to i64), i32 0, i32 4, ptr %[[SLOT]], ptr null, i32 0)
// CHECK-NEXT: store i32 %[[B]], ptr %[[SLOT]]
// CHECK-NEXT: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @swap to i64), i32 1, i32 4, ptr %[[SLOT]], ptr null, i32 0)
