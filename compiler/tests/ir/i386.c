// 32-bit targets: the calls are emitted (the pc widened to 64 bits), and
// no layout record, whose pc word is a 64-bit relocation, is made.
// FLAGS: -O2 --target=i386-linux-gnu

long f(long a, int b) { return a * b; }

// CHECK: call void @__sanitizer_cov_trace_args(i64 ptrtoint (ptr @f to i64), i32 0, i32 4,
// CHECK-NOT: .kcovdf_layout
